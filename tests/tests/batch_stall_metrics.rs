//! Stalls checked against CloudWatch's `AWS/Bedrock/Batch` metrics, end to end on moto (the
//! metrics put with PutMetricData as Bedrock publishes them, dimension `ModelId`) and the
//! emulator: a count that stops moving is a `stalled` alert naming the records pending when the
//! model processes nothing, no alert while the model still processes tokens, and today's rule
//! when the metrics cannot be read. Runs are given later clocks; the datapoints are put at the
//! times those runs look at.

use std::sync::Arc;

use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use chrono::{DateTime, Duration, Utc};
use jobwatch::adapters::batch_metrics::CloudWatchBatchActivity;
use jobwatch::domain::AlertSettings;
use jobwatch::{PollSettings, RunSummary};
use testkit::Stack;

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

fn alerting(stack: &Stack) -> PollSettings {
    PollSettings {
        alerts: AlertSettings::default(),
        ..stack.settings()
    }
}

fn cloudwatch(endpoint: &str) -> aws_sdk_cloudwatch::Client {
    let sdk = testkit::sdk_config(endpoint)
        .into_builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_cloudwatch::Client::new(&sdk)
}

/// A run at `start + minutes` of the batch poller reading batch metrics at `metrics_endpoint`.
async fn poll(
    stack: &Stack,
    metrics_endpoint: &str,
    start: DateTime<Utc>,
    minutes: i64,
) -> RunSummary {
    let metrics = CloudWatchBatchActivity::new(cloudwatch(metrics_endpoint));
    stack
        .poller_with(alerting(stack))
        .with_batch_metrics(Arc::new(metrics))
        .run(start + Duration::minutes(minutes), format!("run-{minutes}"))
        .await
        .expect("a run")
}

/// What Bedrock publishes for the model every 5 minutes from `from` to `to`: `pending` records
/// pending and `tokens` input and output tokens processed per minute.
async fn published(
    stack: &Stack,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    pending: f64,
    tokens: f64,
) {
    let cw = cloudwatch(&stack.moto.endpoint);
    let mut at = from;
    while at <= to {
        let datum = |name: &str, value: f64| {
            MetricDatum::builder()
                .metric_name(name)
                .dimensions(Dimension::builder().name("ModelId").value(MODEL).build())
                .timestamp(AwsDateTime::from_secs(at.timestamp()))
                .value(value)
                .build()
        };
        cw.put_metric_data()
            .namespace("AWS/Bedrock/Batch")
            .metric_data(datum("NumberOfRecordsPendingProcessing", pending))
            .metric_data(datum("NumberOfInputTokensProcessedPerMinute", tokens))
            .metric_data(datum(
                "NumberOfOutputTokensProcessedPerMinute",
                tokens / 4.0,
            ))
            .send()
            .await
            .expect("moto stores the datapoints");
        at += Duration::minutes(5);
    }
}

/// A running job whose count moves to 400 of 1 000 by minute 80, then stops; returns its ARN
/// and the runs' summaries so far.
async fn slowing_job(stack: &Stack, start: DateTime<Utc>) -> (String, Vec<RunSummary>) {
    let arn = stack.create_batch("slows-down").await;
    let mut runs = vec![poll(stack, &stack.moto.endpoint, start, 0).await];
    for (minute, processed) in [(5, 100), (40, 250), (80, 400)] {
        stack
            .set_progress(&arn, "InProgress", processed, 1000)
            .await;
        runs.push(poll(stack, &stack.moto.endpoint, start, minute).await);
    }
    (arn, runs)
}

#[tokio::test]
async fn a_stalled_job_whose_model_processes_nothing_is_alerted_with_the_records_pending() {
    // given a job stuck at 400 of 1 000 and a model with 600 records pending and no tokens
    // processed for the last two hours
    let stack = Stack::start().await;
    let start = Utc::now();
    let (_arn, before) = slowing_job(&stack, start).await;
    let run_at = start + Duration::minutes(80 + 125);
    published(&stack, run_at - Duration::minutes(120), run_at, 600.0, 0.0).await;

    // when a run comes after the two-hour threshold
    let alerted = poll(&stack, &stack.moto.endpoint, start, 80 + 125).await;
    let later = poll(&stack, &stack.moto.endpoint, start, 80 + 180).await;

    // then runs without a stall candidate read no metrics, the stalled run reads them once
    assert!(
        before.iter().all(|r| r.batch_metrics_calls == 0),
        "{before:?}"
    );
    assert_eq!((alerted.batch_metrics_calls, alerted.alerts_sent), (1, 1));
    assert_eq!((later.batch_metrics_calls, later.alerts_sent), (0, 0));
    // and the alert names the records pending and the end the job had
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    let body = &got[0].body;
    assert_eq!(body["alert"], "stalled");
    assert_eq!(body["batchMetrics"]["recordsPending"], 600);
    assert_eq!(body["batchMetrics"]["inputTokensPerMinute"], 0);
    assert_eq!(body["batchMetrics"]["windowMinutes"], 120);
    assert_eq!(body["progress"]["remaining"], 600);
    let had = start + Duration::minutes(80 + 150);
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("Batch metrics:    600 records pending for this model and no tokens processed in the 2h 00m before"), "{text}");
    assert!(
        text.contains(&had.format("%Y-%m-%d %H:%M UTC").to_string()),
        "{text}"
    );
    let errors: Vec<String> = testkit::schema()
        .iter_errors(body)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "schema-valid: {errors:?}");
    let errors = testkit::errors_for_consumers_of("1.1", body);
    assert!(
        errors.is_empty(),
        "a consumer of 1.1 ignores batchMetrics: {errors:?}"
    );
}

#[tokio::test]
async fn a_job_whose_model_still_processes_tokens_is_not_called_stalled_until_it_stops() {
    // given a job stuck at 400 of 1 000 while its model processes 900 input tokens a minute
    let stack = Stack::start().await;
    let start = Utc::now();
    let (_arn, _) = slowing_job(&stack, start).await;
    let first = start + Duration::minutes(80 + 125);
    published(&stack, first - Duration::minutes(120), first, 600.0, 900.0).await;

    // when a run comes after the threshold
    let cleared = poll(&stack, &stack.moto.endpoint, start, 80 + 125).await;

    // then it is not alerted: the model is busy
    assert_eq!(
        (cleared.batch_metrics_calls, cleared.stalls_cleared),
        (1, 1)
    );
    assert_eq!(cleared.alerts_sent, 0);
    assert!(stack.notifications().await.is_empty());

    // when the model then processes nothing for two hours, records still pending
    let second = first + Duration::minutes(240);
    published(&stack, second - Duration::minutes(120), second, 600.0, 0.0).await;
    let alerted = poll(&stack, &stack.moto.endpoint, start, 80 + 125 + 240).await;

    // then the stall is alerted, once
    assert_eq!((alerted.stalls_cleared, alerted.alerts_sent), (0, 1));
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["batchMetrics"]["recordsPending"], 600);
}

#[tokio::test]
async fn unreadable_metrics_never_block_the_run_and_the_count_alone_decides() {
    // given a job stuck at 400 of 1 000, and CloudWatch unreachable
    let stack = Stack::start().await;
    let start = Utc::now();
    let (_arn, _) = slowing_job(&stack, start).await;

    // when a run comes after the threshold
    let run = poll(&stack, "http://127.0.0.1:9", start, 80 + 125).await;

    // then the failed read is counted, the run is ok and the alert goes out as without metrics
    assert_eq!((run.batch_metrics_failed, run.alerts_sent), (1, 1));
    assert!(run.discovery_ok && run.failures == 0, "{run:?}");
    let got = stack.notifications().await;
    assert_eq!(got[0].body["alert"], "stalled");
    assert!(got[0].body["batchMetrics"].is_null());
    assert_eq!(got[0].body["progress"]["remaining"], 600);
}
