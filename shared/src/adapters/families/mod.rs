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
pub(crate) mod listing;
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
use crate::ports::{JobSource, ListFilter, ListedOnce, OpenJobs, Page, Swept};
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

    fn lists_cheaply(&self) -> bool {
        each!(self, s => s.lists_cheaply())
    }

    async fn enrich(&self, job: &mut ObservedJob) {
        each!(self, s => s.enrich(job).await)
    }

    async fn tags(&self, arn: &JobArn) -> Result<Tags, Error> {
        each!(self, s => s.tags(arn).await)
    }

    async fn sweep(
        &self,
        after: DateTime<Utc>,
        cursor: Option<&str>,
        open: OpenJobs,
    ) -> Option<Result<Swept, Error>> {
        each!(self, s => s.sweep(after, cursor, open).await)
    }

    fn calls(&self) -> u64 {
        each!(self, s => s.calls())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
