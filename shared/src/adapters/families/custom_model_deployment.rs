//! `JobSource` for on-demand custom model deployments on the `bedrock` control-plane API. A
//! deployment settles (`Active`, `Failed`) and re-opens when it is updated: the update's own
//! status (`updateDetails.updateStatus`: Updating, UpdateCompleted, UpdateFailed) is then the
//! status we watch. Only the Get carries `updateDetails`: a List summary that says `Active` is
//! read again with Get before it is believed.

use aws_sdk_bedrock::types::{CustomModelDeploymentStatus, SortModelsBy, SortOrder};
use aws_sdk_bedrock::Client;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};

use super::provisioned_throughput::detail_time;
use crate::adapters::sdk::{found, from_smithy, Calls};
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, ListedOnce, Page};

/// The statuses `statusEquals` accepts; the update statuses are found among `Active` ones.
const LISTED: [&str; 3] = ["Creating", "Active", "Failed"];

/// Custom model deployments (`ListCustomModelDeployments`, `GetCustomModelDeployment`).
#[derive(Debug, Clone)]
pub struct CustomModelDeploymentSource {
    client: Client,
    calls: Calls,
}

impl CustomModelDeploymentSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, _config: &crate::config::Config) -> Self {
        Self::new(Client::new(sdk))
    }

    /// The List as it is: summaries' own `status`, no update status.
    fn summaries(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        list_pages!(
            self.calls,
            self.client.list_custom_model_deployments(),
            filter,
            after: set_created_after,
            status: CustomModelDeploymentStatus,
            sort: (SortModelsBy::CreationTime, SortOrder::Ascending),
            "ListCustomModelDeployments",
            |page| page.model_deployment_summaries().iter().map(summary)
        )
    }

    /// Reads every `Active` one of a page again with Get (only it shows an update).
    async fn resolve(&self, page: Vec<ObservedJob>) -> Page<ObservedJob> {
        let mut resolved = Vec::with_capacity(page.len());
        for job in page {
            match job.status.as_str() {
                "Active" => resolved.extend(self.get(&job.arn).await?),
                _ => resolved.push(job),
            }
        }
        Ok(resolved)
    }
}

/// A List summary as it is (its own `status`, no update status).
fn summary(d: &aws_sdk_bedrock::types::CustomModelDeploymentSummary) -> ObservedJob {
    let mut details = Details::new();
    if let Some(t) = d.last_updated_at() {
        details.insert("lastUpdatedAt".into(), detail_time(t));
    }
    observed(
        d.custom_model_deployment_arn(),
        d.custom_model_deployment_name(),
        d.status().as_str(),
        d.model_arn(),
        d.failure_message(),
        d.created_at(),
        details,
    )
}

/// An `Active` deployment whose summary's `lastUpdatedAt` is `since` or later: maybe updated.
fn changed_since(job: &ObservedJob, since: DateTime<Utc>) -> bool {
    job.details
        .get("lastUpdatedAt")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t >= since)
}

fn observed(
    arn: &str,
    name: &str,
    status: &str,
    model: &str,
    message: Option<&str>,
    created: &aws_smithy_types::DateTime,
    details: Details,
) -> ObservedJob {
    ObservedJob {
        name: Some(name.to_owned()),
        model_id: Some(model.to_owned()),
        message: message.map(str::to_owned),
        details,
        ..ObservedJob::new(
            JobKind::CustomModelDeployment,
            JobArn::new(arn),
            JobStatus::new(status),
            from_smithy(created),
        )
    }
}

impl JobSource for CustomModelDeploymentSource {
    fn kind(&self) -> JobKind {
        JobKind::CustomModelDeployment
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let wanted = filter.status.clone();
        let mut asked = filter.clone();
        if let Some(status) = &wanted {
            if !LISTED.contains(&status.as_str()) {
                asked.status = Some(JobStatus::new("Active"));
            }
        }
        self.summaries(&asked).then(move |page| {
            let wanted = wanted.clone();
            async move {
                let mut jobs = self.resolve(page?).await?;
                jobs.retain(|j| wanted.as_ref().is_none_or(|w| *w == j.status));
                Ok(jobs)
            }
        })
    }

    /// Every `Active` deployment a List page returns costs a Get (only Get shows an update):
    /// the reconcile Gets the open ones instead of listing.
    fn lists_cheaply(&self) -> bool {
        false
    }

    /// `Active` deployments changed since `since` (their summary's `lastUpdatedAt`), read with
    /// Get. There is no List filter on updates: this pages through the active deployments
    /// (a call per 1000) and Gets only the changed ones.
    fn reopened(&self, since: DateTime<Utc>) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let active = ListFilter {
            status: Some(JobStatus::new("Active")),
            ..Default::default()
        };
        self.summaries(&active).then(move |page| async move {
            let changed = page?
                .into_iter()
                .filter(|j| changed_since(j, since))
                .collect();
            self.resolve(changed).await
        })
    }

    /// Every deployment, unfiltered, in one call: those created since `since` are
    /// discovery's, the older `Active` ones changed since are the maybe re-opened ones; both
    /// read with Get where `Active` (as `list` and `reopened` do). `None` past one page or on
    /// any error.
    async fn listed_once(&self, since: DateTime<Utc>) -> Option<ListedOnce> {
        self.calls.add(1);
        let page = self
            .client
            .list_custom_model_deployments()
            .max_results(super::provisioned_throughput::WHOLE_PAGE)
            .sort_by(SortModelsBy::CreationTime)
            .sort_order(SortOrder::Ascending)
            .send()
            .await
            .ok()?;
        if page.next_token().is_some_and(|t| !t.is_empty()) {
            return None;
        }
        let all = page
            .model_deployment_summaries()
            .iter()
            .map(summary)
            .collect();
        let once = ListedOnce::split(all, since, |j| {
            j.status.as_str() == "Active" && changed_since(j, since)
        });
        Some(ListedOnce {
            discovered: self.resolve(once.discovered).await.ok()?,
            reopened: self.resolve(once.reopened).await.ok()?,
            // Deployments are billed by the token, not by the hour: no idle check
            // (design/cost-and-progress.md section 1.5).
            in_service: Vec::new(),
        })
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_custom_model_deployment()
            .custom_model_deployment_identifier(arn.as_str())
            .send()
            .await;
        found("GetCustomModelDeployment", result, |d| {
            let mut details = Details::new();
            if let Some(t) = d.last_updated_at() {
                details.insert("lastUpdatedAt".into(), detail_time(t));
            }
            let mut status = d.status().as_str();
            if let (Some(update), "Active") = (d.update_details(), status) {
                // An update's own status says where the deployment is now.
                status = update.update_status().as_str();
                details.insert("updateModelArn".into(), update.model_arn().to_owned());
            }
            observed(
                d.custom_model_deployment_arn(),
                d.model_deployment_name(),
                status,
                d.model_arn(),
                d.failure_message(),
                d.created_at(),
                details,
            )
        })
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}
