//! `JobSource` for provisioned throughput on the `bedrock` control-plane API: a resource that
//! settles (`InService`, `Failed`) and re-opens when it is updated (`Updating`).

use aws_sdk_bedrock::types::{ProvisionedModelStatus, SortByProvisionedModels, SortOrder};
use aws_sdk_bedrock::Client;
use futures::{Stream, StreamExt};

use crate::adapters::cloudwatch::CloudWatchInvocations;
use crate::adapters::sdk::{found, from_smithy, Calls};
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, ListedOnce, Page};

/// The API's largest page (botocore: `maxResults` 1 to 1000): a scope's whole listing in one
/// call when it holds no more ([`JobSource::listed_once`]).
pub(super) const WHOLE_PAGE: i32 = 1000;

/// The status in which a throughput serves (and is billed whether invoked or not).
const IN_SERVICE: &str = "InService";

/// Provisioned throughput (`ListProvisionedModelThroughputs`, `GetProvisionedModelThroughput`).
#[derive(Clone)]
pub struct ProvisionedThroughputSource {
    client: Client,
    calls: Calls,
    /// The idle check's reader (`None`: no idle check, e.g. `ALERTS=off`).
    metrics: Option<std::sync::Arc<CloudWatchInvocations>>,
}

impl std::fmt::Debug for ProvisionedThroughputSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionedThroughputSource")
            .field("idle_check", &self.metrics.is_some())
            .finish()
    }
}

/// An instant as the `details` map keeps it (RFC 3339, milliseconds: it sorts as it reads).
pub(super) fn detail_time(t: &aws_smithy_types::DateTime) -> String {
    from_smithy(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The Get output and the List summary have the same members under different types; only the
/// Get carries the failure message.
macro_rules! observe_throughput {
    ($pt:expr, $message:expr) => {{
        let pt = $pt;
        let mut details = Details::new();
        details.insert("modelUnits".into(), pt.model_units().to_string());
        if pt.desired_model_units() != pt.model_units() {
            details.insert(
                "desiredModelUnits".into(),
                pt.desired_model_units().to_string(),
            );
        }
        if let Some(c) = pt.commitment_duration() {
            details.insert("commitmentDuration".into(), c.as_str().to_owned());
        }
        if let Some(t) = pt.commitment_expiration_time() {
            details.insert("commitmentExpirationTime".into(), detail_time(t));
        }
        details.insert(
            "foundationModelArn".into(),
            pt.foundation_model_arn().to_owned(),
        );
        details.insert(
            "lastModifiedTime".into(),
            detail_time(pt.last_modified_time()),
        );
        ObservedJob {
            name: Some(pt.provisioned_model_name().to_owned()),
            model_id: Some(pt.model_arn().to_owned()),
            message: $message,
            details,
            ..ObservedJob::new(
                JobKind::ProvisionedThroughput,
                JobArn::new(pt.provisioned_model_arn()),
                JobStatus::new(pt.status().as_str()),
                from_smithy(pt.creation_time()),
            )
        }
    }};
}

impl ProvisionedThroughputSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
            metrics: None,
        }
    }

    /// The same source judging idle throughputs from `cloudwatch`'s `Invocations`.
    pub fn with_metrics(mut self, cloudwatch: aws_sdk_cloudwatch::Client) -> Self {
        self.metrics = Some(std::sync::Arc::new(CloudWatchInvocations::new(cloudwatch)));
        self
    }

    /// The scope's Bedrock client and, with alerts on, its CloudWatch client (same
    /// credentials: a member account's metrics live in the member account).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, config: &crate::config::Config) -> Self {
        let source = Self::new(Client::new(sdk));
        match config.poll.alerts.enabled {
            true => source.with_metrics(aws_sdk_cloudwatch::Client::new(sdk)),
            false => source,
        }
    }

    /// Every throughput in `status` (the stream owns its request, not a borrowed filter).
    fn in_status(&self, status: JobStatus) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let filter = ListFilter {
            status: Some(status),
            ..Default::default()
        };
        self.list_with(&filter)
    }

    fn list_with(
        &self,
        filter: &ListFilter,
    ) -> impl Stream<Item = Page<ObservedJob>> + Send + 'static {
        list_pages!(
            self.calls,
            self.client.list_provisioned_model_throughputs(),
            filter,
            after: set_creation_time_after,
            status: ProvisionedModelStatus,
            sort: (SortByProvisionedModels::CreationTime, SortOrder::Ascending),
            "ListProvisionedModelThroughputs",
            |page| page
                .provisioned_model_summaries()
                .iter()
                .map(|pt| observe_throughput!(pt, None))
        )
    }
}

impl JobSource for ProvisionedThroughputSource {
    fn kind(&self) -> JobKind {
        JobKind::ProvisionedThroughput
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        self.list_with(filter)
    }

    /// Every throughput now `Updating`, by the List's status filter: one call a run (a page
    /// per 1000 updating), whatever the number of settled ones.
    fn reopened(
        &self,
        _since: chrono::DateTime<chrono::Utc>,
    ) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let statuses = crate::domain::JobKind::ProvisionedThroughput
            .family()
            .reopen
            .map_or(&[][..], |r| r.statuses);
        futures::stream::iter(statuses.iter())
            .flat_map(move |status| self.in_status(JobStatus::new(*status)))
    }

    /// Every throughput, unfiltered, in one call: those created since `since` are discovery's,
    /// the older ones `Updating` are the re-opened ones. `None` past one page or on error.
    async fn listed_once(&self, since: chrono::DateTime<chrono::Utc>) -> Option<ListedOnce> {
        self.calls.add(1);
        let page = self
            .client
            .list_provisioned_model_throughputs()
            .max_results(WHOLE_PAGE)
            .sort_by(SortByProvisionedModels::CreationTime)
            .sort_order(SortOrder::Ascending)
            .send()
            .await
            .ok()?;
        if page.next_token().is_some_and(|t| !t.is_empty()) {
            return None;
        }
        let all: Vec<ObservedJob> = page
            .provisioned_model_summaries()
            .iter()
            .map(|pt| observe_throughput!(pt, None))
            .collect();
        let statuses = JobKind::ProvisionedThroughput
            .family()
            .reopen
            .map_or(&[][..], |r| r.statuses);
        let in_service: Vec<ObservedJob> = all
            .iter()
            .filter(|j| j.status.as_str() == IN_SERVICE)
            .cloned()
            .collect();
        let mut once = ListedOnce::split(all, since, |j| statuses.contains(&j.status.as_str()));
        once.in_service = in_service;
        Some(once)
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_provisioned_model_throughput()
            .provisioned_model_id(arn.as_str())
            .send()
            .await;
        found("GetProvisionedModelThroughput", result, |pt| {
            observe_throughput!(&pt, pt.failure_message().map(str::to_owned))
        })
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }

    fn invocations(&self) -> Option<&dyn crate::ports::InvocationMetrics> {
        self.metrics
            .as_deref()
            .map(|m| m as &dyn crate::ports::InvocationMetrics)
    }
}
