//! `JobSource` for flow executions on the `bedrock-agent-runtime` API, below the flows of
//! `bedrock-agent`.
//!
//! Executions live under a flow, and their List (`ListFlowExecutions`, every alias when none is
//! named) has no sort, time or status filter. A listing therefore walks every flow
//! (`ListFlows`, a per-run constant), then pages each flow's executions and stops after the page
//! that reaches the watermark, as long as the pages come newest first ([`NewestFirst`]): a steady
//! run reads one page per flow whatever the history. Without a status filter a List answers an
//! open execution no more cheaply than a settled one, so open executions are followed with
//! `GetFlowExecution` ([`JobSource::lists_cheaply`] is `false`).
//!
//! An execution is named by its ARN, `{flow ARN}/alias/{alias id}/execution/{id}`, which says
//! where to Get it; a summary that names it by id only is given that ARN.

use aws_sdk_bedrockagent::Client as FlowsClient;
use aws_sdk_bedrockagentruntime::operation::list_flow_executions::ListFlowExecutionsOutput;
use aws_sdk_bedrockagentruntime::types::{FlowExecutionError, FlowExecutionSummary};
use aws_sdk_bedrockagentruntime::Client;
use futures::Stream;

use super::listing::{child_pages, under_parents};
use crate::adapters::sdk::{bedrock_error, found, from_smithy, Calls};
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Largest page both Lists allow (the model caps what they answer at 10 items a page).
const PAGE: i32 = 1000;

/// Flow executions (`ListFlowExecutions`, `GetFlowExecution`).
#[derive(Debug, Clone)]
pub struct FlowExecutionSource {
    flows: FlowsClient,
    client: Client,
    calls: Calls,
}

/// One flow to list.
#[derive(Debug, Clone)]
struct Flow {
    id: String,
    arn: String,
    name: String,
}

/// Where an execution's ARN says it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location<'a> {
    flow_arn: &'a str,
    flow: &'a str,
    alias: &'a str,
    execution: &'a str,
}

/// Reads `…:flow/{flow}/alias/{alias}/execution/{execution}`.
fn locate(arn: &JobArn) -> Option<Location<'_>> {
    let s = arn.as_str();
    let at = s.find(":flow/")? + ":flow/".len();
    let parts: Vec<&str> = s[at..].split('/').collect();
    match parts[..] {
        [flow, "alias", alias, "execution", execution]
            if ![flow, alias, execution].contains(&"") =>
        {
            Some(Location {
                flow_arn: &s[..at + flow.len()],
                flow,
                alias,
                execution,
            })
        }
        _ => None,
    }
}

/// What follows the last `/` (an id, whether the API sent an id or an ARN).
fn tail(raw: &str) -> &str {
    raw.rsplit('/').next().unwrap_or(raw)
}

/// The execution's ARN, from the summary's `executionArn` (an ARN, or the bare id).
fn execution_arn(flow: &Flow, summary: &FlowExecutionSummary) -> JobArn {
    let raw = summary.execution_arn();
    if raw.contains(":flow/") && raw.contains("/execution/") {
        return JobArn::new(raw);
    }
    let alias = tail(summary.flow_alias_identifier());
    JobArn::new(format!("{}/alias/{alias}/execution/{raw}", flow.arn))
}

/// `{node}: {message}` for each error, as the notification's message.
fn errors_text(errors: &[FlowExecutionError]) -> Option<String> {
    let texts: Vec<String> = errors
        .iter()
        .map(|e| {
            let what = e.message().unwrap_or("no message");
            match (e.node_name(), e.error()) {
                (Some(node), _) => format!("{node}: {what}"),
                (None, Some(kind)) => format!("{}: {what}", kind.as_str()),
                (None, None) => what.to_owned(),
            }
        })
        .collect();
    (!texts.is_empty()).then(|| texts.join("; "))
}

/// The alias id and the version run: what people need besides the flow's name.
fn details(alias: &str, version: &str) -> Details {
    Details::from([
        ("flowAliasIdentifier".to_owned(), tail(alias).to_owned()),
        ("flowVersion".to_owned(), version.to_owned()),
    ])
}

/// The alias the execution ran, as the notification's location.
fn alias_arn(arn: &JobArn) -> Option<String> {
    let s = arn.as_str();
    s.find("/execution/").map(|at| s[..at].to_owned())
}

fn observe_summary(flow: &Flow, s: &FlowExecutionSummary) -> ObservedJob {
    let arn = execution_arn(flow, s);
    ObservedJob {
        name: Some(flow.name.clone()),
        end_time: s.ended_at().map(from_smithy),
        output_s3_uri: alias_arn(&arn),
        details: details(s.flow_alias_identifier(), s.flow_version()),
        ..ObservedJob::new(
            JobKind::FlowExecution,
            arn,
            JobStatus::new(s.status().as_str()),
            from_smithy(s.created_at()),
        )
    }
}

impl FlowExecutionSource {
    pub fn new(flows: FlowsClient, client: Client) -> Self {
        Self {
            flows,
            client,
            calls: Calls::default(),
        }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, _config: &crate::config::Config) -> Self {
        Self::new(FlowsClient::new(sdk), Client::new(sdk))
    }

    /// Every flow: `ListFlows`, at most 10 a page.
    async fn flows(&self) -> Result<Vec<Flow>, Error> {
        let mut pages = self
            .flows
            .list_flows()
            .max_results(PAGE)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.add(1);
            let page = page.map_err(bedrock_error("ListFlows"))?;
            found.extend(page.flow_summaries().iter().map(|f| Flow {
                id: f.id().to_owned(),
                arn: f.arn().to_owned(),
                name: f.name().to_owned(),
            }));
        }
        Ok(found)
    }

    /// One flow's executions (every alias), newest first as far as the order allows.
    fn flow_executions(
        &self,
        flow: Flow,
        filter: &ListFilter,
    ) -> impl Stream<Item = Page<ObservedJob>> + Send + 'static {
        let pages = self
            .client
            .list_flow_executions()
            .flow_identifier(&flow.id)
            .max_results(PAGE)
            .into_paginator()
            .send();
        let observe = move |page: &ListFlowExecutionsOutput| {
            let summaries = page.flow_execution_summaries().iter();
            summaries.map(|s| observe_summary(&flow, s)).collect()
        };
        child_pages(
            pages,
            "ListFlowExecutions",
            self.calls.clone(),
            filter.clone(),
            observe,
        )
    }
}

impl JobSource for FlowExecutionSource {
    fn kind(&self) -> JobKind {
        JobKind::FlowExecution
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let children = move |flow, filter: &ListFilter| self.flow_executions(flow, filter);
        under_parents(self.flows(), filter, PAGE as usize, children)
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        let Some(at) = locate(arn) else {
            tracing::warn!(job_arn = %arn, "not a flow execution ARN");
            return Ok(None);
        };
        self.calls.add(1);
        let result = self
            .client
            .get_flow_execution()
            .flow_identifier(at.flow)
            .flow_alias_identifier(at.alias)
            .execution_identifier(at.execution)
            .send()
            .await;
        found("GetFlowExecution", result, |out| ObservedJob {
            message: errors_text(out.errors()),
            end_time: out.ended_at().map(from_smithy),
            output_s3_uri: Some(format!("{}/alias/{}", at.flow_arn, at.alias)),
            details: details(out.flow_alias_identifier(), out.flow_version()),
            ..ObservedJob::new(
                JobKind::FlowExecution,
                arn.clone(),
                JobStatus::new(out.status().as_str()),
                from_smithy(out.started_at()),
            )
        })
    }

    /// No status filter on the List: an open execution costs as much to list as the settled
    /// history of its flow, so the open ones are read with Get.
    fn lists_cheaply(&self) -> bool {
        false
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:flow/FLOW123456/alias/ALIAS12345/execution/3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

    #[test]
    fn an_execution_arn_says_where_to_get_it() {
        let arn = JobArn::new(ARN);
        assert_eq!(
            locate(&arn),
            Some(Location {
                flow_arn: "arn:aws:bedrock:us-east-1:123456789012:flow/FLOW123456",
                flow: "FLOW123456",
                alias: "ALIAS12345",
                execution: "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
            })
        );
        assert_eq!(arn.account(), Some("123456789012"));
        assert_eq!(
            alias_arn(&arn).as_deref(),
            Some("arn:aws:bedrock:us-east-1:123456789012:flow/FLOW123456/alias/ALIAS12345")
        );
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in [
            "arn:aws:bedrock:us-east-1:123456789012:flow/FLOW123456",
            "arn:aws:bedrock:us-east-1:123456789012:flow/FLOW123456/alias/A/execution/",
            "arn:aws:bedrock:us-east-1:123456789012:flow/F/alias/A/execution/E/x",
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc",
        ] {
            assert_eq!(locate(&JobArn::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn a_summary_naming_its_execution_by_id_gets_the_full_arn() {
        let flow = Flow {
            id: "FLOW123456".into(),
            arn: "arn:aws:bedrock:us-east-1:123456789012:flow/FLOW123456".into(),
            name: "triage".into(),
        };
        let summary = FlowExecutionSummary::builder()
            .execution_arn("3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b")
            .flow_identifier("FLOW123456")
            .flow_alias_identifier(
                "arn:aws:bedrock:us-east-1:123456789012:flow/FLOW123456/alias/ALIAS12345",
            )
            .flow_version("3")
            .status("Running".into())
            .created_at(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .build()
            .unwrap();
        let job = observe_summary(&flow, &summary);
        assert_eq!(job.arn.as_str(), ARN);
        assert_eq!(job.details["flowAliasIdentifier"], "ALIAS12345");
        assert_eq!(job.name.as_deref(), Some("triage"));
    }

    #[test]
    fn errors_name_their_node_or_their_kind() {
        let errors = [
            FlowExecutionError::builder()
                .node_name("Summarize")
                .message("model timed out")
                .build(),
            FlowExecutionError::builder()
                .error("ExecutionTimedOut".into())
                .message("24 hours passed")
                .build(),
        ];
        assert_eq!(
            errors_text(&errors).as_deref(),
            Some("Summarize: model timed out; ExecutionTimedOut: 24 hours passed")
        );
        assert_eq!(errors_text(&[]), None);
    }
}
