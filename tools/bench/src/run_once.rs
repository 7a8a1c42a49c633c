//! `bench run-once --family F --mode ours|naive [--budget-ms N]`: one poll in this process, as a
//! Lambda invocation would run it; prints one JSON line with the figures the parent collects.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::Utc;
use futures::{stream, StreamExt};
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::adapters::families::AnySource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::domain::{plan, JobStatus, NotifyPolicy, ObservedJob, PlanContext, RunId};
use jobwatch::notices::Notice;
use jobwatch::ports::{JobSource, ListFilter, Notifier};
use jobwatch::{Budget, Config, Poller};
use serde_json::{json, Value};

/// Asks DynamoDB for the capacity each call consumed and adds it up (moto's accounting).
#[derive(Debug, Clone, Default)]
struct MeasureCapacity(Arc<Mutex<f64>>);

macro_rules! for_each_op {
    ($m:ident) => {
        $m!(get_item, GetItemInput, GetItemOutput);
        $m!(put_item, PutItemInput, PutItemOutput);
        $m!(update_item, UpdateItemInput, UpdateItemOutput);
        $m!(query, QueryInput, QueryOutput);
    };
}

impl Intercept for MeasureCapacity {
    fn name(&self) -> &'static str {
        "MeasureCapacity"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total;
        let input = context.input_mut();
        macro_rules! ask {
            ($op:ident, $input:ident, $output:ident) => {
                if let Some(i) = input.downcast_mut::<aws_sdk_dynamodb::operation::$op::$input>() {
                    i.return_consumed_capacity = Some(Total);
                }
            };
        }
        for_each_op!(ask);
        if let Some(i) =
            input.downcast_mut::<aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput>()
        {
            i.return_consumed_capacity = Some(Total);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        let mut units = 0.0;
        macro_rules! read {
            ($op:ident, $input:ident, $output:ident) => {
                if let Some(o) = output.downcast_ref::<aws_sdk_dynamodb::operation::$op::$output>()
                {
                    units += o
                        .consumed_capacity
                        .as_ref()
                        .and_then(|c| c.capacity_units)
                        .unwrap_or(0.0);
                }
            };
        }
        for_each_op!(read);
        if let Some(o) =
            output.downcast_ref::<aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput>()
        {
            units += o
                .consumed_capacity
                .iter()
                .flatten()
                .filter_map(|c| c.capacity_units)
                .sum::<f64>();
        }
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += units;
        Ok(())
    }
}

/// Peak resident memory of this process (what Lambda's memory limit is about).
pub(crate) fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time this process used (user + system), from /proc: what Lambda's CPU share, which grows
/// with the memory setting, has to cover.
fn cpu_ms() -> u64 {
    let ticks_per_second = 100; // USER_HZ on Linux
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces) are space-separated.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: u64 = fields.get(11)?.parse().ok()?;
            let system: u64 = fields.get(12)?.parse().ok()?;
            Some((user + system) * 1000 / ticks_per_second)
        })
        .unwrap_or(0)
}

/// `bench run-once`'s options.
#[derive(clap::Args)]
pub struct RunOnce {
    #[arg(long)]
    pub family: String,
    #[arg(long)]
    pub mode: String,
    #[arg(long)]
    pub budget_ms: Option<u64>,
}

pub async fn run(args: RunOnce) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let sdk = jobwatch::cold_start::sdk_config().await;
    let capacity = MeasureCapacity::default();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(capacity.clone())
            .build(),
    );
    let kind = crate::family(&args.family)?;
    let started = Instant::now();
    let budget = args.budget_ms.map_or_else(Budget::default, |ms| {
        Budget::until(started + Duration::from_millis(ms))
    });
    let wiring = Wiring {
        config: &config,
        dynamodb,
        notifier: Sinks::new(aws_sdk_sns::Client::new(&sdk), &config.sinks.topic_arn),
        naive: args.mode == "naive",
        budget,
    };
    let mut report = wiring.run(AnySource::new(kind, &sdk, &config)).await?;
    report["mode"] = json!(args.mode);
    report["wall_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
    report["dynamodb_capacity"] = json!(*capacity.0.lock().unwrap_or_else(|p| p.into_inner()));
    report["peak_rss_kib"] = json!(peak_rss_kib());
    report["cpu_ms"] = json!(cpu_ms());
    println!("{report}");
    Ok(())
}

/// The clients of one invocation.
struct Wiring<'a> {
    config: &'a Config,
    dynamodb: aws_sdk_dynamodb::Client,
    notifier: Sinks,
    naive: bool,
    budget: Budget,
}

impl Wiring<'_> {
    /// Our poller (its summary as the report), or the naive baseline.
    async fn run<S: JobSource>(self, source: S) -> Result<Value, Box<dyn std::error::Error>> {
        if self.naive {
            let sent = naive(&source, &self.dynamodb, &self.config.table, &self.notifier).await?;
            return Ok(json!({"notifications_sent": sent, "bedrock_calls": source.calls()}));
        }
        let store = DynamoJobStore::new(self.dynamodb.clone(), &self.config.table);
        // Cost estimates on, as the Lambda wires them (`COST_ESTIMATES`, default on).
        let sdk = jobwatch::cold_start::sdk_config().await;
        let table = DynamoJobStore::new(self.dynamodb, &self.config.table);
        let settings = jobwatch::PollSettings {
            prices: jobwatch::adapters::pricing::book(&sdk, self.config, table),
            ..self.config.poll.clone()
        };
        let mut poller = Poller::new(source, store, self.notifier, settings);
        // Stall checks on, as the Lambda wires them for a family with `stall_metrics`.
        if poller.source.kind().family().alerts.stall_metrics {
            let metrics =
                jobwatch::adapters::batch_metrics::CloudWatchBatchActivity::from_sdk(&sdk);
            poller = poller.with_batch_metrics(std::sync::Arc::new(metrics));
        }
        let summary = poller.run_within(Utc::now(), "bench", self.budget).await?;
        Ok(serde_json::to_value(summary)?)
    }
}

/// The baseline users write first: list every job ever, read each one's item, write what changed.
async fn naive<S: JobSource>(
    source: &S,
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    notifier: &Sinks,
) -> Result<usize, Box<dyn std::error::Error>> {
    let pages: Vec<_> = source.list(&ListFilter::default()).collect().await;
    let mut jobs = Vec::new();
    for page in pages {
        jobs.extend(page?);
    }
    let policy = NotifyPolicy::default();
    let run = RunId::new("naive");
    let ctx = PlanContext {
        now: Utc::now(),
        history_before: None,
        policy: &policy,
        region: "us-east-1",
        retention: chrono::Duration::days(90),
        run_id: &run,
        lease: chrono::Duration::minutes(5),
    };
    let results: Vec<Result<bool, Box<dyn std::error::Error>>> = stream::iter(jobs)
        .map(|job| naive_one(job, dynamodb, table, notifier, &ctx))
        .buffer_unordered(32)
        .collect()
        .await;
    let mut sent = 0;
    for r in results {
        sent += usize::from(r?);
    }
    Ok(sent)
}

/// One job of the naive baseline: read its item, write it if the status changed, and notify
/// when it has just finished. Whether it notified.
async fn naive_one(
    job: ObservedJob,
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    notifier: &Sinks,
    ctx: &PlanContext<'_>,
) -> Result<bool, Box<dyn std::error::Error>> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let key = AttributeValue::S(job.arn.to_string());
    let item = dynamodb
        .get_item()
        .table_name(table)
        .key("pk", key.clone())
        .send()
        .await?
        .item;
    let stored = item
        .as_ref()
        .and_then(|i| i.get("status"))
        .and_then(|v| v.as_s().ok())
        .map(|s| JobStatus::new(s.as_str()));
    if stored.as_ref() == Some(&job.status) {
        return Ok(false);
    }
    dynamodb
        .put_item()
        .table_name(table)
        .item("pk", key)
        .item("status", AttributeValue::S(job.status.to_string()))
        .send()
        .await?;
    let family = job.kind.family();
    let finished_now = job.is_terminal() && stored.is_some_and(|s| !family.is_terminal(&s));
    if finished_now {
        let record = plan(None, &job, ctx).map_err(|e| format!("{e:?}"))?.record;
        notifier.publish(&Notice::new(&record, &job.status)).await?;
    }
    Ok(finished_now)
}
