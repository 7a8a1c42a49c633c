//! One `JobSource` adapter per job family, and the one place that turns a [`JobKind`] into its
//! adapter: [`AnySource`], a source of any family that implements [`JobSource`] by delegation.
//! The Lambda function, the fan-out worker, workflow waits, the bench, the CLI and the test kit
//! all build their sources here. Adding a family: its file here, its `mod` line, its variant and
//! one arm in [`AnySource::new`] (the compiler lists the rest).
//!
//! An enum rather than `Box<dyn JobSource>`: `JobSource` returns `impl Stream`/`impl Future`
//! (no allocation per call on the hot path), which makes it not object-safe; the enum keeps the
//! static dispatch and boxes only the listing streams.

pub mod advanced_prompt_optimization;
pub mod agentcore_batch_evaluation;
pub mod async_invoke;
pub mod automated_reasoning_build;
pub mod batch;
pub mod custom_model;
pub mod custom_model_deployment;
pub mod customization;
pub mod data_automation;
pub mod evaluation;
pub mod flow_execution;
pub mod kb_ingestion;
pub mod library_ingestion;
pub mod model_copy;
pub mod model_import;
pub mod provisioned_throughput;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use crate::config::Config;
use crate::domain::{JobArn, JobKind, ObservedJob};
use crate::error::Error;
use crate::notices::Tags;
use crate::ports::{JobSource, ListFilter, ListedOnce, Page};
use advanced_prompt_optimization::AdvancedPromptOptimizationSource;
use agentcore_batch_evaluation::AgentcoreBatchEvaluationSource;
use async_invoke::AsyncInvokeSource;
use automated_reasoning_build::AutomatedReasoningBuildSource;
use batch::BatchInferenceSource;
use custom_model::CustomModelSource;
use custom_model_deployment::CustomModelDeploymentSource;
use customization::CustomizationSource;
use data_automation::DataAutomationSource;
use evaluation::EvaluationSource;
use flow_execution::FlowExecutionSource;
use kb_ingestion::KbIngestionSource;
use library_ingestion::LibraryIngestionSource;
use model_copy::ModelCopySource;
use model_import::ModelImportSource;
use provisioned_throughput::ProvisionedThroughputSource;

/// Oldest first across a listing that can only be read newest first (a List without an
/// ascending time filter): the new jobs (bounded by the watermark) are read in full, sorted and
/// paged. A failed List answers only the error, so that no checkpoint is taken past what was
/// not read.
pub(crate) fn sorted_oldest_first<'a>(
    pages: BoxStream<'a, Page<ObservedJob>>,
    page_size: usize,
) -> BoxStream<'a, Page<ObservedJob>> {
    use futures::stream;
    use futures::TryStreamExt;
    stream::once(async move {
        let pages: Vec<Vec<ObservedJob>> = pages.try_collect().await?;
        let mut jobs: Vec<ObservedJob> = pages.into_iter().flatten().collect();
        jobs.sort_by(|a, b| (a.submit_time, &a.arn).cmp(&(b.submit_time, &b.arn)));
        Ok::<_, Error>(jobs)
    })
    .flat_map(move |jobs| match jobs {
        Ok(jobs) => {
            let pages: Vec<Page<ObservedJob>> =
                jobs.chunks(page_size).map(|c| Ok(c.to_vec())).collect();
            stream::iter(pages).boxed()
        }
        Err(e) => stream::iter(vec![Err(e)]).boxed(),
    })
    .boxed()
}

/// The adapter of one family, whichever it is.
pub enum AnySource {
    BatchInference(BatchInferenceSource),
    ModelImport(ModelImportSource),
    AsyncInvoke(AsyncInvokeSource),
    ModelCustomization(CustomizationSource),
    KbIngestion(KbIngestionSource),
    DataAutomation(DataAutomationSource),
    ModelEvaluation(EvaluationSource),
    ModelCopy(ModelCopySource),
    ProvisionedThroughput(ProvisionedThroughputSource),
    CustomModelDeployment(CustomModelDeploymentSource),
    CustomModel(CustomModelSource),
    FlowExecution(FlowExecutionSource),
    LibraryIngestion(LibraryIngestionSource),
    AdvancedPromptOptimization(AdvancedPromptOptimizationSource),
    AutomatedReasoningBuild(AutomatedReasoningBuildSource),
    AgentcoreBatchEvaluation(AgentcoreBatchEvaluationSource),
}

/// Runs `$body` with `$source` bound to the variant's adapter, whichever it is.
macro_rules! each {
    ($any:expr, $source:ident => $body:expr) => {
        match $any {
            AnySource::BatchInference($source) => $body,
            AnySource::ModelImport($source) => $body,
            AnySource::AsyncInvoke($source) => $body,
            AnySource::ModelCustomization($source) => $body,
            AnySource::KbIngestion($source) => $body,
            AnySource::DataAutomation($source) => $body,
            AnySource::ModelEvaluation($source) => $body,
            AnySource::ModelCopy($source) => $body,
            AnySource::ProvisionedThroughput($source) => $body,
            AnySource::CustomModelDeployment($source) => $body,
            AnySource::CustomModel($source) => $body,
            AnySource::FlowExecution($source) => $body,
            AnySource::LibraryIngestion($source) => $body,
            AnySource::AdvancedPromptOptimization($source) => $body,
            AnySource::AutomatedReasoningBuild($source) => $body,
            AnySource::AgentcoreBatchEvaluation($source) => $body,
        }
    };
}

impl AnySource {
    /// The family's adapter on `sdk`'s clients, set up as `config` says (output manifests,
    /// tags): the one registry of adapters.
    pub fn new(kind: JobKind, sdk: &SdkConfig, config: &Config) -> Self {
        match kind {
            JobKind::BatchInference => {
                Self::BatchInference(BatchInferenceSource::from_sdk(sdk, config))
            }
            JobKind::ModelImport => Self::ModelImport(ModelImportSource::from_sdk(sdk, config)),
            JobKind::AsyncInvoke => Self::AsyncInvoke(AsyncInvokeSource::from_sdk(sdk, config)),
            JobKind::ModelCustomization => {
                Self::ModelCustomization(CustomizationSource::from_sdk(sdk, config))
            }
            JobKind::KbIngestion => Self::KbIngestion(KbIngestionSource::from_sdk(sdk, config)),
            JobKind::DataAutomation => {
                Self::DataAutomation(DataAutomationSource::from_sdk(sdk, config))
            }
            JobKind::ModelEvaluation => {
                Self::ModelEvaluation(EvaluationSource::from_sdk(sdk, config))
            }
            JobKind::ModelCopy => Self::ModelCopy(ModelCopySource::from_sdk(sdk, config)),
            JobKind::ProvisionedThroughput => {
                Self::ProvisionedThroughput(ProvisionedThroughputSource::from_sdk(sdk, config))
            }
            JobKind::CustomModelDeployment => {
                Self::CustomModelDeployment(CustomModelDeploymentSource::from_sdk(sdk, config))
            }
            JobKind::CustomModel => Self::CustomModel(CustomModelSource::from_sdk(sdk, config)),
            JobKind::FlowExecution => {
                Self::FlowExecution(FlowExecutionSource::from_sdk(sdk, config))
            }
            JobKind::LibraryIngestion => {
                Self::LibraryIngestion(LibraryIngestionSource::from_sdk(sdk, config))
            }
            JobKind::AdvancedPromptOptimization => Self::AdvancedPromptOptimization(
                AdvancedPromptOptimizationSource::from_sdk(sdk, config),
            ),
            JobKind::AutomatedReasoningBuild => {
                Self::AutomatedReasoningBuild(AutomatedReasoningBuildSource::from_sdk(sdk, config))
            }
            JobKind::AgentcoreBatchEvaluation => Self::AgentcoreBatchEvaluation(
                AgentcoreBatchEvaluationSource::from_sdk(sdk, config),
            ),
        }
    }

    /// A builder for [`crate::wiring`] and the worker: one source per scope's SDK config.
    pub fn factory(kind: JobKind) -> impl Fn(&SdkConfig, &Config) -> Self + Copy {
        move |sdk, config| Self::new(kind, sdk, config)
    }
}

impl JobSource for AnySource {
    fn kind(&self) -> JobKind {
        each!(self, s => s.kind())
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let stream: BoxStream<'_, Page<ObservedJob>> = each!(self, s => s.list(filter).boxed());
        stream
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        each!(self, s => s.get(arn).await)
    }

    fn reopened(&self, since: DateTime<Utc>) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let stream: BoxStream<'_, Page<ObservedJob>> = each!(self, s => s.reopened(since).boxed());
        stream
    }

    async fn listed_once(&self, since: DateTime<Utc>) -> Option<ListedOnce> {
        each!(self, s => s.listed_once(since).await)
    }

    fn invocations(&self) -> Option<&dyn crate::ports::InvocationMetrics> {
        each!(self, s => s.invocations())
    }

    fn lists_cheaply(&self) -> bool {
        each!(self, s => s.lists_cheaply())
    }

    async fn enrich(&self, job: &mut ObservedJob) {
        each!(self, s => s.enrich(job).await)
    }

    async fn tags(&self, arn: &JobArn) -> Result<Tags, Error> {
        each!(self, s => s.tags(arn).await)
    }

    fn calls(&self) -> u64 {
        each!(self, s => s.calls())
    }
}

/// Where a listing without sort or time filter (flow executions, library ingestion jobs: their
/// order is not documented) may stop: after the page that reaches a job created at or before
/// the watermark, but only while every job so far came newest first. A listing seen out of
/// that order is read to its end, so a service that orders otherwise costs pages, never jobs.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewestFirst {
    /// The oldest creation time seen so far (`None` before the first job).
    oldest: Option<DateTime<Utc>>,
    ordered: bool,
}

impl NewestFirst {
    pub fn new() -> Self {
        Self {
            oldest: None,
            ordered: true,
        }
    }

    /// Takes a page's creation times in listing order; says whether the pages after it may be
    /// skipped.
    pub fn page_ends_listing(
        &mut self,
        created: impl IntoIterator<Item = DateTime<Utc>>,
        after: Option<DateTime<Utc>>,
    ) -> bool {
        let mut reached = false;
        for t in created {
            self.ordered &= self.oldest.is_none_or(|o| t <= o);
            self.oldest = Some(t);
            reached |= after.is_some_and(|a| t <= a);
        }
        self.ordered && reached
    }
}

/// A listing's jobs sorted oldest first (what a resumable discovery asks), read in full first:
/// the new jobs are bounded by the watermark. A failed List answers only the error, so that no
/// checkpoint is taken past a parent that was not read.
pub(crate) fn oldest_first(
    pages: BoxStream<'_, Page<ObservedJob>>,
    page_size: usize,
) -> BoxStream<'_, Page<ObservedJob>> {
    use futures::TryStreamExt;
    futures::stream::once(async move {
        let pages: Vec<Vec<ObservedJob>> = pages.try_collect().await?;
        let mut jobs: Vec<ObservedJob> = pages.into_iter().flatten().collect();
        jobs.sort_by(|a, b| (a.submit_time, &a.arn).cmp(&(b.submit_time, &b.arn)));
        let pages: Vec<Page<ObservedJob>> = jobs
            .chunks(page_size)
            .map(|chunk| Ok(chunk.to_vec()))
            .collect();
        Ok::<_, Error>(pages)
    })
    .flat_map(|pages| match pages {
        Ok(pages) => futures::stream::iter(pages).boxed(),
        Err(e) => futures::stream::iter(vec![Err(e)]).boxed(),
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap()
    }

    #[test]
    fn a_newest_first_listing_ends_at_the_page_that_reaches_the_watermark() {
        let mut order = NewestFirst::new();
        let watermark = Some(at(10));
        assert!(!order.page_ends_listing([at(30), at(20)], watermark));
        assert!(order.page_ends_listing([at(15), at(10)], watermark));
        // without a watermark (a sweep, a first listing) every page is read
        assert!(!NewestFirst::new().page_ends_listing([at(3), at(1)], None));
    }

    #[test]
    fn a_listing_seen_out_of_newest_first_order_is_read_to_its_end() {
        let mut order = NewestFirst::new();
        let watermark = Some(at(10));
        assert!(!order.page_ends_listing([at(20), at(25)], watermark));
        assert!(
            !order.page_ends_listing([at(5)], watermark),
            "order broken before"
        );
    }

    #[tokio::test]
    async fn given_each_family_when_built_then_the_source_reports_that_family() {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let vars = [
            ("JOBS_TABLE", "jobs"),
            ("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t"),
            ("AWS_REGION", "us-east-1"),
        ];
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = Config::from_vars(&vars).expect("config");
        for kind in JobKind::ALL {
            assert_eq!(AnySource::new(kind, &sdk, &config).kind(), kind);
        }
    }
}
