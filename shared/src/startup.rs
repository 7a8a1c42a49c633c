//! The one deployed binary's entry point: what `MODE` says to run, and the poller's runtime loop
//! (tracing, config, scopes, the runtime).

use aws_config::SdkConfig;
use lambda_runtime::{service_fn, LambdaEvent};

use crate::adapters::dynamodb::DynamoJobStore;
use crate::adapters::families::AnySource;
use crate::cold_start::{notifier, sdk_config, serve_misconfigured};
use crate::config::Config;
use crate::domain::JobKind;
use crate::error::ConfigError;
use crate::handler;
use crate::metrics::MetricsSink;
use crate::ports::JobSource;
use crate::telemetry;
use crate::work::Mode;

/// Runs a poller Lambda whose job source `make_source` builds from an SDK config: one per
/// (account, region) scope of the fleet settings (`REGIONS`, `ACCOUNTS`).
pub async fn serve<S, F>(make_source: F) -> Result<(), lambda_runtime::Error>
where
    S: JobSource + 'static,
    F: Fn(&SdkConfig, &Config) -> S,
{
    telemetry::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return serve_misconfigured(e).await,
    };
    let sdk = sdk_config().await;
    let notifier = notifier(&sdk, &config);
    let kind = make_source(&sdk, &config).kind();
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = DynamoJobStore::new(dynamodb.clone(), &config.table);
    let settings = crate::PollSettings {
        digest_threshold: config.digest.for_kind(kind),
        prices: crate::adapters::pricing::book(&sdk, &config, table),
        ..config.poll.clone()
    };
    let mut fleet = crate::wiring::build_fleet(
        &sdk,
        &config.targets,
        kind,
        &settings,
        |scope_sdk| make_source(scope_sdk, &config),
        || DynamoJobStore::new(dynamodb.clone(), &config.table),
        std::sync::Arc::new(notifier),
    )
    .await;
    if fleet.scopes.len() > 1 {
        // Several scopes: oldest-polled first within the budget, never in a fixed order.
        fleet.schedule = Some(crate::poller::FleetSchedule {
            store: std::sync::Arc::new(DynamoJobStore::new(dynamodb.clone(), &config.table)),
            shard: format!("fleet#{kind}"),
            period: config.fanout.period,
            alarm_after: config.fanout.alarm_after,
        });
    }
    let metrics = MetricsSink::stdout(&config.metrics_namespace);
    // Shared with the resumer: a success document reads as the job's scope's notice.
    let fleet = std::sync::Arc::new(fleet);
    // Workflow waits (issue 31): resumed after each invocation when WORKFLOW_WAITS=on.
    let resumer = match crate::workflows::startup::poller_resumer(&sdk, &config, fleet.clone()) {
        Ok(resumer) => resumer,
        Err(e) => return serve_misconfigured(e).await,
    };
    let (fleet, metrics, resumer) = (&*fleet, &metrics, &resumer);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        invoke(fleet, metrics, resumer.as_ref(), kind, event)
    }))
    .await
}

/// One invocation: the handler, then the family's workflow waits (when on).
async fn invoke<S: JobSource>(
    fleet: &crate::poller::Fleet<
        S,
        DynamoJobStore,
        std::sync::Arc<crate::adapters::notifier::Sinks>,
    >,
    metrics: &MetricsSink,
    resumer: Option<&crate::workflows::startup::LiveResumer>,
    kind: JobKind,
    event: LambdaEvent<serde_json::Value>,
) -> Result<handler::Output, crate::Error> {
    let run_id = crate::domain::RunId::new(event.context.request_id.as_str());
    let function_arn = event.context.invoked_function_arn.clone();
    let output = handler::handle(fleet, metrics, event).await;
    let invocation = crate::workflows::startup::Invocation {
        run_id: &run_id,
        own_account: handler::own_account(&function_arn),
    };
    crate::workflows::startup::after_invocation(resumer, kind, invocation, &output, metrics).await;
    output
}

/// Runs the poller of `kind` (the per-family binaries, and `cargo lambda invoke <family>-poller`).
pub async fn serve_family(kind: JobKind) -> Result<(), lambda_runtime::Error> {
    // Boxed: the runtime's future nests the whole poller; unboxed, its layout is too deep.
    Box::pin(serve(AnySource::factory(kind))).await
}

/// Runs what `MODE` says: the poller of the family `JOB_FAMILY` names (the default), the
/// dispatcher, the worker, or the organisation refresh. The one binary the template deploys
/// for every function, so that `sam build` compiles it once.
pub async fn serve_configured_family() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return serve_misconfigured(e).await,
    };
    match config.fanout.mode {
        Mode::Poll => match config.family {
            Some(kind) => Box::pin(serve_family(kind)).await,
            None => serve_misconfigured(ConfigError::Missing("JOB_FAMILY")).await,
        },
        Mode::Work => Box::pin(crate::fanout::serve_worker(config)).await,
        Mode::Dispatch => Box::pin(crate::fanout::serve_dispatcher(config)).await,
        Mode::OrgRefresh => Box::pin(crate::fanout::serve_refresh(config)).await,
        Mode::WorkflowRegister => Box::pin(crate::workflows::startup::serve_register()).await,
    }
}
