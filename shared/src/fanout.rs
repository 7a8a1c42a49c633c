//! The fan-out's three Lambda handlers and their cold-start wiring: the organisation refresh
//! (`MODE=org-refresh`, scheduled), the dispatcher (`MODE=dispatch`, scheduled each period)
//! and the worker (`MODE=work`, an SQS event source mapping). The logic is in `crate::work`
//! and `crate::org`; these only adapt Lambda events and write metrics.

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

use crate::adapters::dynamodb::DynamoJobStore;
use crate::adapters::organizations::OrganizationsDirectory;
use crate::adapters::sqs::SqsWorkQueue;
use crate::config::Config;
use crate::domain::RunId;
use crate::error::{ConfigError, Error};
use crate::handler::{budget, own_account};
use crate::metrics::MetricsSink;
use crate::org::{Member, Registry, RegistryStore};
use crate::targets::{Account, TargetSettings};
use crate::wiring::SdkAccountFleets;
use crate::work::{self, BatchReport, DispatchReport, RefreshReport, WorkQueue, Worker};

/// One worker invocation: the batch, worked within the invocation's budget.
pub async fn handle_work(
    worker: &Worker<'_>,
    metrics: &MetricsSink,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let now_ms = Utc::now().timestamp_millis();
    let budget = budget(event.context.deadline, now_ms);
    let invocation = match event.context.request_id.as_str() {
        "" => format!("local-{now_ms}"),
        id => id.to_owned(),
    };
    let (response, report) =
        work::handle_batch(worker, event.payload, Utc::now(), &invocation, &budget).await;
    emit_work(metrics, &report);
    let line = serde_json::to_string(&report).unwrap_or_default();
    tracing::info!(report = %line, "batch worked");
    Ok(response)
}

/// The worker's metrics: totals, one `ScopeFailing` document per failing scope, and the
/// estimated cost of each family's runs (per owner too), as a poller writes it.
pub fn emit_work(metrics: &MetricsSink, report: &BatchReport) {
    let sum = |f: fn(&work::ItemReport) -> u64| report.items.iter().map(f).sum::<u64>();
    let values = [
        ("ScopesPolled", sum(|i| i.scopes_polled as u64)),
        ("ScopesNotStarted", sum(|i| i.scopes_not_started as u64)),
        ("BedrockCalls", sum(|i| i.bedrock_calls)),
        ("NotificationsSent", sum(|i| i.notifications_sent as u64)),
        ("WorkItemsReturned", report.returned.len() as u64),
    ];
    let failing: Vec<_> = report
        .items
        .iter()
        .flat_map(|i| i.failing_scopes.iter().cloned())
        .collect();
    metrics.emit_health("worker", &values, &failing);
    for cost in report.items.iter().flat_map(|i| &i.costs) {
        metrics.emit_cost(cost);
    }
}

/// The accounts to fan out: the organisation's registry, or `ACCOUNTS`' members.
pub async fn members(config: &Config, store: &dyn RegistryStore) -> Result<Registry, Error> {
    if config.fanout.org.is_some() {
        return store.registry().await?.ok_or_else(|| Error::Incomplete {
            failures: 1,
            first: "no account registry yet: the organisation refresh has not run".into(),
        });
    }
    Ok(registry_of(&config.targets))
}

/// `ACCOUNTS`' member roles as a registry (the own account is the pollers').
pub fn registry_of(fleet: &TargetSettings) -> Registry {
    let watched = fleet
        .accounts
        .iter()
        .filter_map(|a| match a {
            Account::Member(role) => Some(Member {
                id: role.account().to_owned(),
                name: String::new(),
                role: role.to_string(),
            }),
            Account::Own => None,
        })
        .collect();
    Registry {
        refreshed_at: None,
        watched,
        unwatched: Vec::new(),
    }
}

/// One dispatch: a scheduled invocation.
pub async fn handle_dispatch(
    config: &Config,
    store: &DynamoJobStore,
    queue: &dyn WorkQueue,
    metrics: &MetricsSink,
    run_id: &RunId,
) -> Result<DispatchReport, Error> {
    let registry = members(config, store).await?;
    let (period, capacity) = (config.fanout.period, config.fanout.capacity);
    let report = work::dispatch_once(
        &registry,
        store,
        queue,
        Utc::now(),
        run_id,
        period,
        capacity,
    )
    .await?;
    metrics.emit_health(
        "dispatcher",
        &[("WorkItemsQueued", report.queued as u64)],
        &[],
    );
    tracing::info!(
        members = report.members,
        backlog = report.backlog,
        queued = report.queued,
        "dispatched"
    );
    Ok(report)
}

/// One refresh of the organisation: a scheduled invocation.
pub async fn handle_refresh(
    config: &Config,
    directory: &OrganizationsDirectory,
    store: &DynamoJobStore,
    metrics: &MetricsSink,
    own: Option<&str>,
) -> Result<RefreshReport, Error> {
    let selection = config
        .fanout
        .org
        .as_ref()
        .ok_or(ConfigError::Missing("ORG_UNITS"))?;
    let report = work::refresh(directory, store, selection, own, Utc::now()).await?;
    let values = [
        ("AccountsWatched", report.watched as u64),
        ("AccountsUnwatched", report.unwatched.len() as u64),
    ];
    metrics.emit_health("org-refresh", &values, &[]);
    for account in &report.unwatched {
        tracing::warn!(account = %account.id, reason = %account.reason, "selected account not watched");
    }
    Ok(report)
}

fn run_id_of(context: &lambda_runtime::Context) -> RunId {
    match context.request_id.as_str() {
        "" => RunId::new(format!("local-{}", Utc::now().timestamp_millis())),
        id => RunId::new(id),
    }
}

async fn start(config: &Config) -> (SdkConfig, DynamoJobStore, MetricsSink) {
    crate::telemetry::init();
    let sdk = crate::cold_start::sdk_config().await;
    let store = DynamoJobStore::new(aws_sdk_dynamodb::Client::new(&sdk), &config.table);
    (sdk, store, MetricsSink::stdout(&config.metrics_namespace))
}

/// `MODE=work`.
pub async fn serve_worker(mut config: Config) -> Result<(), lambda_runtime::Error> {
    let (sdk, store, metrics) = start(&config).await;
    // One price book for every account and region the worker polls (each fleet's settings
    // start from `config.poll`): the Price List is read with the worker's own role and
    // cached in the jobs table, like a poller's.
    config.poll.prices = crate::adapters::pricing::book(&sdk, &config, store.clone());
    let fleets = SdkAccountFleets {
        notifier: std::sync::Arc::new(crate::cold_start::notifier(&sdk, &config)),
        store: store.clone(),
        base: sdk,
        config: config.clone(),
    };
    let worker = Worker {
        fleets: &fleets,
        schedule: &store,
        period: config.fanout.period,
        alarm_after: config.fanout.alarm_after,
    };
    let (worker, metrics) = (&worker, &metrics);
    lambda_runtime::run(service_fn(move |event| handle_work(worker, metrics, event))).await
}

/// `MODE=dispatch`.
pub async fn serve_dispatcher(config: Config) -> Result<(), lambda_runtime::Error> {
    let (sdk, store, metrics) = start(&config).await;
    let url = config
        .fanout
        .queue_url
        .clone()
        .ok_or(ConfigError::Missing("WORK_QUEUE_URL"))?;
    let queue = SqsWorkQueue::new(aws_sdk_sqs::Client::new(&sdk), url);
    let (config, store, queue, metrics) = (&config, &store, &queue, &metrics);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_dispatch(config, store, queue, metrics, &run_id_of(&event.context)).await
    }))
    .await
}

/// `MODE=org-refresh`: Organizations with the function's own credentials, or through
/// `ORG_ROLE_ARN` (Organizations answers in us-east-1 for the `aws` partition).
pub async fn serve_refresh(config: Config) -> Result<(), lambda_runtime::Error> {
    let (sdk, store, metrics) = start(&config).await;
    let org_sdk = match &config.fanout.org_role_arn {
        None => sdk.clone(),
        Some(arn) => {
            let role =
                crate::targets::RoleArn::parse(arn).ok_or(ConfigError::Missing("ORG_ROLE_ARN"))?;
            let session = format!("jobwatch-org-refresh-{}", Utc::now().timestamp());
            let assumed =
                crate::adapters::assume_role::AssumedRole::new(&sdk, role, None, &session).await;
            let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
            assumed.sdk_config(&sdk, &region)
        }
    };
    let directory = OrganizationsDirectory::new(aws_sdk_organizations::Client::new(&org_sdk));
    let (config, store, directory, metrics) = (&config, &store, &directory, &metrics);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let own = own_account(&event.context.invoked_function_arn);
        handle_refresh(config, directory, store, metrics, own).await
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poller::RunSummary;

    fn emf(line: &str) -> serde_json::Value {
        serde_json::from_str(line).expect("an EMF line")
    }

    #[test]
    fn a_workers_priced_runs_reach_the_family_and_owner_cost_series() {
        // given a worker's batch in which two accounts' batch-inference runs priced jobs
        let priced = |micro: u64, owners: &[(&str, u64)]| RunSummary {
            job_kind: "batch-inference".into(),
            region: "eu-west-1".into(),
            estimated_cost_micro_usd: micro,
            pricing_calls: 1,
            cost_by_owner: owners.iter().map(|(o, m)| (o.to_string(), *m)).collect(),
            ..Default::default()
        };
        let item = |costs| work::ItemReport {
            account: "111111111111".into(),
            result: "done",
            costs,
            ..Default::default()
        };
        let report = BatchReport {
            items: vec![
                item(vec![priced(
                    12_500_000,
                    &[("ana", 10_000_000), ("untagged", 2_500_000)],
                )]),
                item(vec![]),
                item(vec![priced(1_000_000, &[])]),
            ],
            returned: vec![],
        };

        // when its metrics are written
        let metrics = MetricsSink::capture("BedrockJobwatch");
        emit_work(&metrics, &report);

        // then each priced run is in the family's [JobKind] cost series, and each owner in its own
        let lines: Vec<serde_json::Value> = metrics.lines().iter().map(|l| emf(l)).collect();
        let family: Vec<f64> = lines
            .iter()
            .filter(|l| l["JobKind"] == "batch-inference" && l.get("Owner").is_none())
            .filter_map(|l| l["EstimatedCostUsd"].as_f64())
            .collect();
        assert_eq!(family, [12.5, 1.0]);
        let owners: Vec<(String, f64)> = lines
            .iter()
            .filter_map(|l| {
                let owner = l["Owner"].as_str()?.to_owned();
                Some((owner, l["EstimatedCostUsd"].as_f64()?))
            })
            .collect();
        assert_eq!(
            owners,
            [("ana".to_owned(), 10.0), ("untagged".to_owned(), 2.5)]
        );
        let dimensions = &lines
            .iter()
            .find(|l| l["EstimatedCostUsd"] == 12.5)
            .unwrap()["_aws"]["CloudWatchMetrics"][0]["Dimensions"];
        assert_eq!(dimensions, &serde_json::json!([["JobKind"]]));
    }
}
