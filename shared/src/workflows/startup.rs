//! Cold-start wiring of workflow waits: the register consumer (the poller binary with
//! `MODE=workflow-register`, so `sam build` still compiles one binary) and the resumer
//! each poller runs after its invocations when `WORKFLOW_WAITS=on`.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use lambda_runtime::{service_fn, LambdaEvent};

use super::places::{JobScopes, LivePlaces};
use super::register::Registrar;
use super::resume::{Pass, Resumer};
use super::{WaitStore, Workflows};
use crate::adapters::dynamodb::DynamoJobStore;
use crate::adapters::step_functions::StepFunctions;
use crate::adapters::waits::DynamoWaitStore;
use crate::config::Config;
use crate::domain::{JobKind, RunId};
use crate::error::{ConfigError, Error};
use crate::handler::Output;
use crate::metrics::MetricsSink;
use crate::ports::JobStore;

/// The `MODE` of the register consumer.
pub const REGISTER_MODE: &str = "workflow-register";
/// `on`: pollers resume the workflows waiting on their family's jobs (default `off`).
pub const SWITCH_VAR: &str = "WORKFLOW_WAITS";

/// The resumer on the real services.
pub type LiveResumer = Resumer<DynamoWaitStore, DynamoJobStore, StepFunctions>;

/// `WORKFLOW_WAITS`: `on` or `off` (default).
pub fn enabled(vars: &HashMap<String, String>) -> Result<bool, ConfigError> {
    // Literal names: tests/tests/template.rs reads which variables the code reads.
    match vars
        .get("WORKFLOW_WAITS")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("off") | Some("false") => Ok(false),
        Some("on") | Some("true") => Ok(true),
        Some(other) => Err(ConfigError::Invalid {
            name: SWITCH_VAR,
            value: other.to_owned(),
            reason: "expected on or off".into(),
        }),
    }
}

/// The resumer of a poller, when waits are on; `scopes`: the poller's fleet (a success
/// document reads as its scope's notice, with the job's tags read there).
pub fn poller_resumer(
    sdk: &SdkConfig,
    config: &Config,
    scopes: Arc<dyn JobScopes>,
) -> Result<Option<LiveResumer>, ConfigError> {
    let vars: HashMap<String, String> = std::env::vars().collect();
    Ok(enabled(&vars)?.then(|| Resumer {
        scopes: Some(scopes),
        ..resumer(sdk, config)
    }))
}

pub fn resumer(sdk: &SdkConfig, config: &Config) -> LiveResumer {
    Resumer {
        scopes: None,
        waits: DynamoWaitStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table),
        store: DynamoJobStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table),
        workflows: StepFunctions::new(aws_sdk_sfn::Client::new(sdk)),
        presentation: config.poll.presentation.clone(),
        lease: config.poll.publish_lease,
    }
}

/// The poller invocation a resume follows: its run, and the function's account (from its ARN).
#[derive(Clone, Copy)]
pub struct Invocation<'a> {
    pub run_id: &'a RunId,
    pub own_account: Option<&'a str>,
}

/// After a poller invocation: resumes the family's waits (with heartbeats after a scheduled
/// poll; an event run only answers what settled), and emits what it did as metrics. Never
/// fails the invocation: what is left stays stored for the next one.
pub async fn after_invocation<W: WaitStore, T: JobStore, F: Workflows>(
    resumer: Option<&Resumer<W, T, F>>,
    kind: JobKind,
    invocation: Invocation<'_>,
    output: &Result<Output, Error>,
    metrics: &MetricsSink,
) {
    let Some(resumer) = resumer else {
        return;
    };
    let heartbeat = match output {
        Ok(Output::Ignored { .. }) => return,
        Ok(Output::Event(_)) => false,
        Ok(Output::Polled(_)) | Err(_) => true,
    };
    let pass = Pass {
        now: Utc::now(),
        run_id: invocation.run_id,
        heartbeat,
        scope: None,
        own_account: invocation.own_account,
    };
    let resumed = resumer.resume_family_in(kind, pass).await;
    if !resumed.is_empty() {
        metrics.emit_workflows(kind.as_str(), &resumed.metrics());
        let line = serde_json::to_string(&resumed).unwrap_or_default();
        match resumed.errors.is_empty() {
            true => tracing::info!(resumed = %line, "workflow waits"),
            false => tracing::warn!(resumed = %line, "workflow waits: some left for the next run"),
        }
    }
}

/// The register consumer: the scopes of every watched family (`WATCHED_FAMILIES`: those whose
/// pollers run; waits on the others are refused) over `ACCOUNTS` x `REGIONS`, and the
/// organisation's members when the stack fans out over one.
pub async fn registrar(
    sdk: &SdkConfig,
    config: &Config,
) -> Registrar<DynamoWaitStore, DynamoJobStore, StepFunctions> {
    let registry = DynamoJobStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table);
    Registrar {
        resumer: resumer(sdk, config),
        places: Box::new(LivePlaces::new(sdk, config, Box::new(registry)).await),
        settings: config.poll.clone(),
    }
}

/// Runs the register consumer (`MODE=workflow-register`).
pub async fn serve_register() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    let vars: HashMap<String, String> = std::env::vars().collect();
    let config = match Config::from_vars(&vars) {
        Ok(config) => config,
        Err(e) => return crate::cold_start::serve_misconfigured(e).await,
    };
    let sdk = crate::cold_start::sdk_config().await;
    let registrar = registrar(&sdk, &config).await;
    let metrics = MetricsSink::stdout(&config.metrics_namespace);
    let (registrar, metrics) = (&registrar, &metrics);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let run_id = RunId::new(event.context.request_id.as_str());
        let own = crate::handler::own_account(&event.context.invoked_function_arn);
        let (response, summary) = registrar
            .handle(event.payload, Utc::now(), &run_id, own)
            .await;
        metrics.emit_workflows(REGISTER_MODE, &summary.metrics());
        let line = serde_json::to_string(&summary).unwrap_or_default();
        tracing::info!(summary = %line, "register batch handled");
        Ok::<SqsBatchResponse, Error>(response)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_switch_is_off_unless_on() {
        assert!(!enabled(&vars(&[])).expect("valid"));
        assert!(!enabled(&vars(&[(SWITCH_VAR, "off")])).expect("valid"));
        assert!(enabled(&vars(&[(SWITCH_VAR, "on")])).expect("valid"));
        let e = enabled(&vars(&[(SWITCH_VAR, "yes")])).expect_err("invalid");
        assert_eq!(e.variable(), SWITCH_VAR);
    }
}
