//! `bench run-once --mode ours|naive`: one poll in this process, as a Lambda would run it;
//! prints a JSON line with the figures the parent collects.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::Utc;
use futures::{stream, StreamExt};
use jobwatch::adapters::batch::BatchInferenceSource;
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::adapters::sns::SnsNotifier;
use jobwatch::domain::{plan, JobStatus, Notice, NotifyPolicy, PlanContext};
use jobwatch::ports::{JobSource, ListFilter, Notifier};
use jobwatch::{Config, PollSettings, Poller};
use serde_json::json;

/// Counts every DynamoDB call the poller makes.
#[derive(Debug, Clone, Default)]
struct CountCalls(Arc<AtomicU64>);

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Asks DynamoDB for the capacity each call consumed and adds it up.
#[derive(Debug, Clone, Default)]
struct MeasureCapacity(Arc<std::sync::Mutex<f64>>);

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
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextMut<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
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
        context: &aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
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
        *self.0.lock().unwrap() += units;
        Ok(())
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

pub async fn run(mode: &str) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let sdk = jobwatch::runtime::sdk_config().await;
    let counter = CountCalls::default();
    let capacity = MeasureCapacity::default();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .interceptor(capacity.clone())
            .build(),
    );
    let source = BatchInferenceSource::new(aws_sdk_bedrock::Client::new(&sdk));
    let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&sdk), &config.topic_arn);
    let started = Instant::now();
    let sent = match mode {
        "ours" => {
            let poller = Poller::new(
                source,
                DynamoJobStore::new(dynamodb, &config.table),
                notifier,
                PollSettings::from(&config),
            );
            let summary = poller.run(Utc::now(), "bench").await?;
            summary.notifications_sent
        }
        "naive" => naive(&source, &dynamodb, &config.table, &notifier).await?,
        other => return Err(format!("unknown mode {other}").into()),
    };
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{}",
        json!({"mode": mode, "notifications_sent": sent, "dynamodb_requests": counter.0.load(Ordering::Relaxed), "dynamodb_capacity": *capacity.0.lock().unwrap(), "wall_ms": wall_ms, "peak_rss_kib": peak_rss_kib()})
    );
    Ok(())
}

/// The baseline users write first: list every job ever, read each one's item, write what changed.
async fn naive(
    source: &BatchInferenceSource,
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    notifier: &SnsNotifier,
) -> Result<usize, Box<dyn std::error::Error>> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let listing = source.list(&ListFilter::default()).await?;
    let policy = NotifyPolicy::default();
    let ctx = PlanContext {
        now: Utc::now(),
        first_run: false,
        policy: &policy,
        region: "us-east-1",
        retention: chrono::Duration::days(90),
        run_id: "naive",
        lease: chrono::Duration::minutes(5),
    };
    let results: Vec<Result<bool, Box<dyn std::error::Error>>> = stream::iter(listing.jobs)
        .map(|job| {
            let ctx = ctx.clone();
            async move {
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
                    .map(|s| JobStatus::parse(s));
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
                let finished_now =
                    job.status.is_terminal() && stored.is_some_and(|s| !s.is_terminal());
                if finished_now {
                    let record = plan(None, &job, &ctx).map_err(|e| format!("{e:?}"))?.record;
                    notifier.publish(&Notice::new(&record, &job.status)).await?;
                }
                Ok(finished_now)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut sent = 0;
    for r in results {
        sent += usize::from(r?);
    }
    Ok(sent)
}
