//! The registry of job families: one file per family, each implementing [`Family`] (its facts,
//! routes, rendering, how it ends, its events and seeding), and [`family`] to find one by kind.
//!
//! Adding a family:
//! 1. a variant of `JobKind` in `model.rs` (the `job_kinds!` list makes `JobKind::ALL` too);
//! 2. a file here, `families/<family>.rs`: a unit struct implementing `Family` (every method is
//!    required), its `Facts`, and its operations' handlers behind `routes()` (shared machinery:
//!    `api::jobs` for create/Get/List/Stop, `api::render`, `api::input`, `details`);
//! 3. its `mod` line and its arm in [`family`] below (the match has no fallback: a kind without
//!    a family does not compile).
//!
//! Only when the family brings them: status words no family had yet (a `Status` variant, with
//! its wire name and whether it is terminal, in `model.rs`), or a service served in fewer
//! regions (`offered.rs`).
//!
//! The server's router, the lifecycle ticker, the control API and seeding all reach the family
//! through [`family`]; nothing else matches on `JobKind`. The modules below the families (the
//! model, the store, the settings, the shared state) never call the registry: they get the
//! facts they need as arguments, so no module depends on itself through a family.

use std::sync::Arc;

use axum::Router;

use crate::app::App;
use crate::family::Family;
use crate::model::JobKind;

pub mod advanced_prompt_optimization;
pub mod agentcore_batch_evaluation;
pub mod async_invoke;
pub mod automated_reasoning_build;
pub mod batch_inference;
pub mod custom_model;
pub mod custom_model_deployment;
pub mod data_automation;
pub mod flow_execution;
pub mod kb_ingestion;
pub mod library_ingestion;
pub mod model_copy;
pub mod model_customization;
pub mod model_evaluation;
pub mod model_import;
pub mod provisioned_throughput;

/// The family of `kind`.
pub fn family(kind: JobKind) -> &'static dyn Family {
    match kind {
        JobKind::BatchInference => &batch_inference::BatchInference,
        JobKind::ModelImport => &model_import::ModelImport,
        JobKind::AsyncInvoke => &async_invoke::AsyncInvoke,
        JobKind::ModelCustomization => &model_customization::ModelCustomization,
        JobKind::KbIngestion => &kb_ingestion::KbIngestion,
        JobKind::DataAutomation => &data_automation::DataAutomation,
        JobKind::ModelEvaluation => &model_evaluation::ModelEvaluation,
        JobKind::ModelCopy => &model_copy::ModelCopy,
        JobKind::ProvisionedThroughput => &provisioned_throughput::ProvisionedThroughput,
        JobKind::CustomModelDeployment => &custom_model_deployment::CustomModelDeployment,
        JobKind::CustomModel => &custom_model::CustomModel,
        JobKind::FlowExecution => &flow_execution::FlowExecution,
        JobKind::LibraryIngestion => &library_ingestion::LibraryIngestion,
        JobKind::AdvancedPromptOptimization => {
            &advanced_prompt_optimization::AdvancedPromptOptimization
        }
        JobKind::AutomatedReasoningBuild => &automated_reasoning_build::AutomatedReasoningBuild,
        JobKind::AgentcoreBatchEvaluation => &agentcore_batch_evaluation::AgentcoreBatchEvaluation,
    }
}

/// Every family's routes.
pub fn routes() -> Router<Arc<App>> {
    JobKind::ALL
        .into_iter()
        .fold(Router::new(), |router, kind| {
            router.merge(family(kind).routes())
        })
}

/// Whether jobs of `kind` are found by name too (for the store).
pub fn names_identify(kind: JobKind) -> bool {
    family(kind).facts().names_identify
}

#[cfg(test)]
mod tests {
    use crate::families::family;
    use crate::model::JobKind;

    #[test]
    fn every_kind_has_its_own_family() {
        for kind in JobKind::ALL {
            assert_eq!(family(kind).facts().kind, kind);
        }
        let mut resources: Vec<&str> = JobKind::ALL
            .iter()
            .map(|k| family(*k).facts().arn_resource)
            .collect();
        resources.sort();
        resources.dedup();
        assert_eq!(resources.len(), JobKind::ALL.len());
    }

    #[test]
    fn a_new_job_starts_in_one_of_its_family_statuses() {
        for kind in JobKind::ALL {
            let facts = family(kind).facts();
            assert!(facts.statuses.contains(&facts.initial), "{kind:?}");
            for (from, to) in facts.steps.iter().chain(facts.shown_as) {
                assert!(facts.statuses.contains(from) && facts.statuses.contains(to));
            }
        }
    }
}
