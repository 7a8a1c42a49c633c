//! `backfill --since <time>`: each family's listing from `since`, settled by the library's own
//! poller (`Poller::backfill`): conditional writes, finished jobs recorded silently, open ones
//! watched and notified once when they finish.

use chrono::{DateTime, Utc};
use jobwatch::adapters::async_invoke::AsyncInvokeSource;
use jobwatch::adapters::batch::BatchInferenceSource;
use jobwatch::adapters::custom_model::CustomModelSource;
use jobwatch::adapters::custom_model_deployment::CustomModelDeploymentSource;
use jobwatch::adapters::customization::CustomizationSource;
use jobwatch::adapters::data_automation::DataAutomationSource;
use jobwatch::adapters::evaluation::EvaluationSource;
use jobwatch::adapters::kb_ingestion::KbIngestionSource;
use jobwatch::adapters::model_copy::ModelCopySource;
use jobwatch::adapters::model_import::ModelImportSource;
use jobwatch::adapters::provisioned_throughput::ProvisionedThroughputSource;
use jobwatch::domain::JobKind;
use jobwatch::ports::JobSource;
use jobwatch::{Poller, RunSummary};

use crate::error::CliError;
use crate::ops::Ops;
use crate::text::time;

pub async fn run(ops: &Ops, since: DateTime<Utc>, kinds: &[JobKind]) -> Result<(), CliError> {
    println!(
        "backfill since {} in {}",
        time(since),
        ops.config.poll.region
    );
    for &kind in kinds {
        let (sdk, config) = (&ops.sdk, &ops.config);
        // Each family's source, built as its Lambda builds it.
        let summary = match kind {
            JobKind::BatchInference => {
                backfill(ops, BatchInferenceSource::from_sdk(sdk, config), since).await
            }
            JobKind::ModelImport => {
                backfill(ops, ModelImportSource::from_sdk(sdk, config), since).await
            }
            JobKind::AsyncInvoke => {
                backfill(ops, AsyncInvokeSource::from_sdk(sdk, config), since).await
            }
            JobKind::ModelCustomization => {
                backfill(ops, CustomizationSource::from_sdk(sdk, config), since).await
            }
            JobKind::ModelEvaluation => {
                backfill(ops, EvaluationSource::from_sdk(sdk, config), since).await
            }
            JobKind::ModelCopy => {
                backfill(ops, ModelCopySource::from_sdk(sdk, config), since).await
            }
            JobKind::KbIngestion => {
                backfill(ops, KbIngestionSource::from_sdk(sdk, config), since).await
            }
            JobKind::ProvisionedThroughput => {
                let source = ProvisionedThroughputSource::from_sdk(sdk, config);
                backfill(ops, source, since).await
            }
            JobKind::CustomModelDeployment => {
                let source = CustomModelDeploymentSource::from_sdk(sdk, config);
                backfill(ops, source, since).await
            }
            JobKind::CustomModel => {
                backfill(ops, CustomModelSource::from_sdk(sdk, config), since).await
            }
            // No List: invocations are known from their events, and the poll reads those.
            JobKind::DataAutomation => {
                backfill(ops, DataAutomationSource::from_sdk(sdk, config), since).await
            }
        }?;
        println!(
            "  {kind}: listed {}, recorded {} (open now {}), failures {}",
            summary.listed,
            summary.transitions,
            summary.open_jobs.unwrap_or_default(),
            summary.failures
        );
        if !summary.discovery_ok || summary.failures > 0 {
            return Err(CliError::Refused(format!(
                "backfill of {kind} incomplete: {}; run it again (what is recorded stays)",
                summary.errors.first().cloned().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

async fn backfill<S: JobSource>(
    ops: &Ops,
    source: S,
    since: DateTime<Utc>,
) -> Result<RunSummary, CliError> {
    let poller = Poller::new(
        source,
        ops.store.clone(),
        ops.notifier.clone(),
        ops.config.poll.clone(),
    );
    Ok(poller
        .backfill(Utc::now(), ops.run_id("backfill"), since)
        .await?)
}
