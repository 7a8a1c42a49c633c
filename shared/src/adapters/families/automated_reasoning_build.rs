//! `JobSource` for Automated Reasoning policy build workflows on the `bedrock` control plane.
//!
//! Build workflows live under a policy, and their List has no filter and no sort. A listing
//! walks every policy (`ListAutomatedReasoningPolicies` without `policyArn`: one row per policy,
//! its DRAFT), a per-run constant, then lists each policy's workflows a page at a time. The
//! order of that List is not documented, so a policy's paging stops at the watermark only once
//! the pages themselves show newest-first order (every page so far sorted by `createdAt`
//! descending); in any other order every page is read, which is still bounded by the policy's
//! own history (small: workflows are policy builds, not traffic).
//!
//! A build workflow has no ARN: it is named by its policy's ARN followed by
//! `/build-workflow/{buildWorkflowId}`, which also says where to Get it.

use aws_sdk_bedrock::error::ProvideErrorMetadata;
use aws_sdk_bedrock::operation::get_automated_reasoning_policy_build_workflow::GetAutomatedReasoningPolicyBuildWorkflowOutput as Full;
use aws_sdk_bedrock::operation::list_automated_reasoning_policy_build_workflows::ListAutomatedReasoningPolicyBuildWorkflowsOutput as ListOutput;
use aws_sdk_bedrock::types::{
    AutomatedReasoningPolicyBuildResultAssetType as AssetType,
    AutomatedReasoningPolicyBuildResultAssets as Assets,
    AutomatedReasoningPolicyBuildWorkflowSummary as Summary,
    AutomatedReasoningPolicyDefinitionQualityReport as QualityReport,
};
use aws_sdk_bedrock::Client;
use futures::Stream;

use super::listing::{child_pages, under_parents};

use crate::adapters::sdk::{bedrock_error, from_smithy, Calls};
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

const KIND: JobKind = JobKind::AutomatedReasoningBuild;

/// Largest page of `ListAutomatedReasoningPolicies`.
const POLICY_PAGE: i32 = 1000;
/// Workflows per page: the model allows 1000, but the operation's documentation says 1-100.
const WORKFLOW_PAGE: i32 = 100;

/// Automated Reasoning policy build workflows (`ListAutomatedReasoningPolicyBuildWorkflows`,
/// `GetAutomatedReasoningPolicyBuildWorkflow`; the build assets of one about to be notified).
#[derive(Debug, Clone)]
pub struct AutomatedReasoningBuildSource {
    client: Client,
    calls: Calls,
}

/// One policy to list.
#[derive(Debug, Clone)]
struct Policy {
    arn: String,
    /// The policy's name: the workflow's name for people.
    name: String,
}

/// A workflow's identity: `{policyArn}/build-workflow/{buildWorkflowId}`.
fn workflow_arn(policy_arn: &str, id: &str) -> JobArn {
    JobArn::new(format!("{policy_arn}/build-workflow/{id}"))
}

/// Reads an identity made by [`workflow_arn`]: (policy ARN, workflow id).
fn locate(arn: &JobArn) -> Option<(&str, &str)> {
    let s = arn.as_str();
    let at = s.find(":automated-reasoning-policy/")? + ":automated-reasoning-policy/".len();
    let (policy_id, rest) = s[at..].split_once('/')?;
    match rest.split_once('/') {
        Some(("build-workflow", id))
            if !policy_id.is_empty() && !id.is_empty() && !id.contains('/') =>
        {
            Some((&s[..at + policy_id.len()], id))
        }
        _ => None,
    }
}

/// The members a summary and a full workflow share.
struct Seen<'a> {
    policy_arn: &'a str,
    id: &'a str,
    status: &'a str,
    kind: &'a str,
    created: &'a aws_smithy_types::DateTime,
    updated: &'a aws_smithy_types::DateTime,
}

fn observe(seen: Seen<'_>, name: Option<String>, document: Option<&str>) -> ObservedJob {
    let status = JobStatus::new(seen.status);
    let mut details = Details::new();
    details.insert("buildWorkflowType".into(), seen.kind.to_owned());
    if let Some(document) = document {
        details.insert("documentName".into(), document.to_owned());
    }
    ObservedJob {
        name,
        // No end time in the API: a finished workflow was last updated when it ended.
        end_time: KIND
            .family()
            .is_terminal(&status)
            .then(|| from_smithy(seen.updated)),
        output_s3_uri: Some(seen.policy_arn.to_owned()),
        details,
        ..ObservedJob::new(
            KIND,
            workflow_arn(seen.policy_arn, seen.id),
            status,
            from_smithy(seen.created),
        )
    }
}

fn observe_summary(w: &Summary, policy: &Policy) -> ObservedJob {
    let seen = Seen {
        policy_arn: &policy.arn,
        id: w.build_workflow_id(),
        status: w.status().as_str(),
        kind: w.build_workflow_type().as_str(),
        created: w.created_at(),
        updated: w.updated_at(),
    };
    observe(seen, Some(policy.name.clone()), None)
}

fn observe_full(w: &Full) -> ObservedJob {
    let seen = Seen {
        policy_arn: w.policy_arn(),
        id: w.build_workflow_id(),
        status: w.status().as_str(),
        kind: w.build_workflow_type().as_str(),
        created: w.created_at(),
        updated: w.updated_at(),
    };
    observe(seen, None, w.document_name())
}

fn not_found<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ResourceNotFoundException")
}

impl AutomatedReasoningBuildSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, _config: &crate::config::Config) -> Self {
        Self::new(Client::new(sdk))
    }

    /// Every policy (its DRAFT: one row per policy), a page per 1000.
    async fn policies(&self) -> Result<Vec<Policy>, Error> {
        let mut pages = self
            .client
            .list_automated_reasoning_policies()
            .max_results(POLICY_PAGE)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.add(1);
            let page = page.map_err(bedrock_error("ListAutomatedReasoningPolicies"))?;
            // `name` is sensitive: read through its accessor, never through Debug.
            found.extend(
                page.automated_reasoning_policy_summaries()
                    .iter()
                    .map(|p| Policy {
                        arn: p.policy_arn().to_owned(),
                        name: p.name().to_owned(),
                    }),
            );
        }
        Ok(found)
    }

    /// One policy's workflows, newest first as far as the order allows.
    fn policy_workflows(
        &self,
        policy: Policy,
        filter: &ListFilter,
    ) -> impl Stream<Item = Page<ObservedJob>> + Send + 'static {
        let pages = self
            .client
            .list_automated_reasoning_policy_build_workflows()
            .policy_arn(&policy.arn)
            .max_results(WORKFLOW_PAGE)
            .into_paginator()
            .send();
        let observe = move |page: &ListOutput| {
            let summaries = page.automated_reasoning_policy_build_workflow_summaries();
            summaries
                .iter()
                .map(|w| observe_summary(w, &policy))
                .collect()
        };
        let operation = "ListAutomatedReasoningPolicyBuildWorkflows";
        child_pages(
            pages,
            operation,
            self.calls.clone(),
            filter.clone(),
            observe,
        )
    }

    /// What a person needs from a finished build: its quality report (a completed build) or
    /// the errors of its build log (a failed one). `None` when the assets cannot be read.
    async fn assets(&self, arn: &JobArn, status: &str) -> Option<String> {
        let (policy_arn, id) = locate(arn)?;
        let asset = match status {
            "COMPLETED" => AssetType::QualityReport,
            "FAILED" => AssetType::BuildLog,
            _ => return None,
        };
        self.calls.add(1);
        let out = self
            .client
            .get_automated_reasoning_policy_build_workflow_result_assets()
            .policy_arn(policy_arn)
            .build_workflow_id(id)
            .asset_type(asset)
            .send()
            .await
            .ok()?;
        match out.build_workflow_assets()? {
            Assets::QualityReport(report) => Some(quality_text(report)),
            Assets::BuildLog(log) => build_errors(log),
            _ => None,
        }
    }
}

/// A quality report as people read it.
pub fn quality_text(r: &QualityReport) -> String {
    let mut text = format!(
        "Quality report: {} rules, {} variables, {} types",
        r.rule_count(),
        r.variable_count(),
        r.type_count()
    );
    for (what, names) in [
        ("conflicting rules", r.conflicting_rules()),
        ("unused variables", r.unused_variables()),
        ("unused types", r.unused_types()),
    ] {
        if !names.is_empty() {
            text.push_str(&format!("; {} {what} ({})", names.len(), names.join(", ")));
        }
    }
    text
}

/// The build log's error messages, the only place a failure's reason is given.
fn build_errors(log: &aws_sdk_bedrock::types::AutomatedReasoningPolicyBuildLog) -> Option<String> {
    let errors: Vec<&str> = log
        .entries()
        .iter()
        .flat_map(|e| e.build_steps())
        .flat_map(|s| s.messages())
        .filter(|m| m.message_type().as_str() == "ERROR")
        .map(|m| m.message())
        .collect();
    (!errors.is_empty()).then(|| format!("Build log errors: {}", errors.join("; ")))
}

impl JobSource for AutomatedReasoningBuildSource {
    fn kind(&self) -> JobKind {
        KIND
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let children = move |policy, filter: &ListFilter| self.policy_workflows(policy, filter);
        under_parents(self.policies(), filter, POLICY_PAGE as usize, children)
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        let Some((policy_arn, id)) = locate(arn) else {
            tracing::warn!(job_arn = %arn, "not an Automated Reasoning build workflow identity");
            return Ok(None);
        };
        self.calls.add(1);
        let result = self
            .client
            .get_automated_reasoning_policy_build_workflow()
            .policy_arn(policy_arn)
            .build_workflow_id(id)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(observe_full(&out))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(bedrock_error("GetAutomatedReasoningPolicyBuildWorkflow")(e)),
        }
    }

    /// No status filter: a sweep by status would page every policy's history once per open
    /// status. Open workflows are read with Get.
    fn lists_cheaply(&self) -> bool {
        false
    }

    /// A finished workflow about to be notified: its build assets (quality report or build log
    /// errors) as the message, and the source document's name (Get only). Best effort.
    async fn enrich(&self, job: &mut ObservedJob) {
        if job.message.is_none() {
            job.message = self.assets(&job.arn, job.status.as_str()).await;
        }
        if job.details.contains_key("documentName") {
            return;
        }
        if let Ok(Some(full)) = self.get(&job.arn).await {
            for (key, value) in full.details {
                job.details.entry(key).or_insert(value);
            }
        }
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str =
        "arn:aws:bedrock:us-east-1:123456789012:automated-reasoning-policy/abcdefghijkl";

    #[test]
    fn a_workflow_identity_says_where_to_get_it() {
        let arn = workflow_arn(POLICY, "9f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f");
        assert_eq!(
            locate(&arn),
            Some((POLICY, "9f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f"))
        );
        assert_eq!(arn.id(), "9f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f");
        assert!(KIND.family().arn.matches(
            arn.as_str()
                .split_once(":123456789012:")
                .map(|(_, r)| r)
                .unwrap()
        ));
    }

    #[test]
    fn identities_of_other_shapes_are_refused() {
        for bad in [
            POLICY,
            &format!("{POLICY}/build-workflow/"),
            &format!("{POLICY}/build-workflow/a/b"),
            &format!("{POLICY}/test-case/a"),
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc",
        ] {
            assert_eq!(locate(&JobArn::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn a_quality_report_names_what_needs_attention() {
        let report = QualityReport::builder()
            .type_count(3)
            .variable_count(12)
            .rule_count(20)
            .set_unused_types(Some(vec![]))
            .set_unused_type_values(Some(vec![]))
            .unused_variables("is_contractor")
            .conflicting_rules("R7")
            .conflicting_rules("R9")
            .set_disjoint_rule_sets(Some(vec![]))
            .build()
            .unwrap();
        assert_eq!(
            quality_text(&report),
            "Quality report: 20 rules, 12 variables, 3 types; 2 conflicting rules (R7, R9); 1 unused variables (is_contractor)"
        );
    }
}
