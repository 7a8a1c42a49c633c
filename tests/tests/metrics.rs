//! Metrics: every run writes one CloudWatch Embedded Metric Format line (through the Lambda
//! handler, against moto and the emulator); the tests parse it as CloudWatch would and check
//! each value against the run summary and what subscribers received.

use jobwatch::handler::{handle, Output};
use jobwatch::metrics::{names, MetricsSink};
use jobwatch::RunSummary;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use testkit::emf::Emf;
use testkit::Stack;

const NAMESPACE: &str = "Test/Jobwatch";

fn polled(output: Output) -> RunSummary {
    match output {
        Output::Polled(summary) | Output::Event(summary) => *summary,
        other => panic!("expected a run, got {other:?}"),
    }
}

/// Every metric of the line is one the code declares (the dashboard may use only those).
fn declared_only(emf: &Emf) {
    let declared = names();
    for name in emf.values.keys() {
        assert!(
            declared.contains(&name.as_str()),
            "{name} is not in metrics::names()"
        );
    }
}

#[tokio::test]
async fn a_poll_writes_one_emf_line_whose_values_are_its_run_summary() {
    // given three watched batch jobs, two of which then finish
    let stack = Stack::start().await;
    let poller = stack.poller();
    let sink = MetricsSink::capture(NAMESPACE);
    let done = stack.create_batch("done").await;
    let failed = stack.create_batch("failed").await;
    stack.create_batch("still-open").await;
    let event = || LambdaEvent::new(json!({}), Context::default());
    handle(&poller, &sink, event()).await.expect("first poll");
    stack.set_status(&done, "Completed").await;
    stack.set_status(&failed, "Failed").await;

    // when
    let summary = polled(handle(&poller, &sink, event()).await.expect("second poll"));

    // then one line per run, in the namespace, per family
    let lines = sink.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let emf = Emf::parse(&lines[1]);
    declared_only(&emf);
    assert_eq!(emf.namespace, NAMESPACE);
    assert_eq!(emf.dimensions["JobKind"], "batch-inference");
    // and each value is the summary's
    let expected = [
        ("Polls", 1),
        ("SuccessfulPolls", 1),
        ("Transitions", summary.transitions as u64),
        ("FinishedSuccess", summary.finished.success as u64),
        ("FinishedFailure", summary.finished.failure as u64),
        ("FinishedPartial", summary.finished.partial as u64),
        ("NotificationsSent", summary.notifications_sent as u64),
        ("NotificationsPending", summary.notifications_pending as u64),
        ("Failures", summary.failures as u64),
        ("Throttles", summary.throttles as u64),
        ("BedrockCalls", summary.bedrock_calls),
        ("DynamoDbCalls", summary.store_calls),
        ("SnsCalls", summary.sns_calls),
        ("RunDuration", summary.duration_ms),
        (
            "OpenJobs",
            summary.open_jobs.expect("a poll counts open jobs"),
        ),
        (
            "OldestOpenJobAge",
            summary.oldest_open_age_seconds.expect("one is open"),
        ),
    ];
    for (name, value) in expected {
        assert_eq!(emf.number(name), value, "{name}");
    }
    assert_eq!(
        emf.values["NotificationLag"],
        json!(summary.notification_lag_seconds)
    );
    assert!(!emf.values.contains_key("Events"));
    // and the summary is what happened: two finished (one each way), two sent in one
    // PublishBatch call, one open
    assert_eq!(
        (
            summary.finished.success,
            summary.finished.failure,
            summary.open_jobs
        ),
        (1, 1, Some(1))
    );
    assert_eq!((summary.notifications_sent, summary.sns_calls), (2, 1));
    assert_eq!(summary.notification_lag_seconds.len(), 2);
    assert_eq!(stack.notifications().await.len(), 2);
    assert_eq!(emf.units["RunDuration"], "Milliseconds");
    assert_eq!(emf.units["NotificationLag"], "Seconds");
}

#[tokio::test]
async fn a_failed_listing_still_writes_its_metrics_with_the_stage_and_the_throttle() {
    // given a listing that stays throttled past the SDK's retries
    let stack = Stack::start().await;
    let poller = stack.poller();
    let sink = MetricsSink::capture(NAMESPACE);
    stack.create_batch("unlisted").await;
    stack
        .control(
            "faults",
            json!({"operation": "ListModelInvocationJobs", "error": "ThrottlingException", "count": 50}),
        )
        .await;

    // when
    let result = handle(
        &poller,
        &sink,
        LambdaEvent::new(json!({}), Context::default()),
    )
    .await;

    // then the invocation fails (Lambda's error metric) and the line says why
    assert!(result.is_err());
    let lines = sink.lines();
    assert_eq!(lines.len(), 1);
    let emf = Emf::parse(&lines[0]);
    declared_only(&emf);
    assert_eq!(emf.number("Polls"), 1);
    assert_eq!(
        emf.number("SuccessfulPolls"),
        0,
        "the heartbeat alarm sees no success"
    );
    assert_eq!(emf.number("FailuresList"), 1);
    assert_eq!(emf.number("Failures"), 1);
    assert_eq!(emf.number("Throttles"), 1);
    assert_eq!(emf.units["FailuresList"], "Count");
    // and the scope's item records the failed run (operators see it in `status`)
    let scope =
        jobwatch::domain::Scope::new(jobwatch::domain::JobKind::BatchInference, "us-east-1");
    let state = jobwatch::ports::JobStore::scope_state(&stack.store(), &scope)
        .await
        .unwrap();
    assert_eq!(state.last_run.map(|r| r.ok), Some(false));
}

#[tokio::test]
async fn an_event_run_counts_as_an_event_not_a_poll() {
    // given a watched job that finishes, and Bedrock's event for it
    let stack = Stack::start().await;
    let poller = stack.poller();
    let sink = MetricsSink::capture(NAMESPACE);
    let arn = stack.create_batch("evented").await;
    poller.run(chrono::Utc::now(), "baseline").await.unwrap();
    stack.set_status(&arn, "Completed").await;
    let id = arn.rsplit('/').next().unwrap_or_default().to_owned();
    let event: Value = stack.control_get(&format!("jobs/{id}/event")).await;

    // when
    let summary = polled(
        handle(&poller, &sink, LambdaEvent::new(event, Context::default()))
            .await
            .unwrap(),
    );

    // then
    let emf = Emf::parse(&sink.lines()[0]);
    declared_only(&emf);
    assert_eq!(emf.number("Events"), 1);
    assert_eq!(
        emf.number("NotificationsSent"),
        summary.notifications_sent as u64
    );
    assert_eq!(summary.notifications_sent, 1);
    for absent in ["Polls", "SuccessfulPolls", "OpenJobs"] {
        assert!(!emf.values.contains_key(absent), "{absent}");
    }
}

/// The lines of `sink` that carry a job's progress (dimension `JobId`).
fn progress_lines(sink: &MetricsSink) -> Vec<Emf> {
    sink.lines()
        .iter()
        .map(|l| Emf::parse(l))
        .filter(|e| e.dimensions.contains_key("JobId"))
        .collect()
}

/// A running batch job (of 1,000 records) and a finished one, polled with `settings` once and
/// then at each (minute, processed count): the job's ARN and the last run's summary.
async fn moving_job(
    stack: &Stack,
    settings: jobwatch::PollSettings,
    counts: &[(i64, i64)],
) -> (String, RunSummary) {
    let poller = stack.poller_with(settings);
    let arn = stack.create_batch("moving").await;
    let done = stack.create_batch("done").await;
    let start = chrono::Utc::now();
    let mut last = poller.run(start, "run-0").await.unwrap();
    stack.set_status(&done, "Completed").await;
    for &(minute, processed) in counts {
        stack
            .set_progress(&arn, "InProgress", processed, 1000)
            .await;
        let at = start + chrono::Duration::minutes(minute);
        last = poller.run(at, format!("run-{minute}")).await.unwrap();
    }
    (arn, last)
}

#[tokio::test]
async fn with_progress_metrics_on_a_running_job_reports_records_left_rate_and_hours_to_its_end() {
    // given a running batch job seen at 100, 250 and 400 of 1,000 records over 75 minutes, and
    // a finished one, polled with PROGRESS_METRICS=on
    let stack = Stack::start().await;
    let settings = jobwatch::PollSettings {
        progress_metrics: true,
        ..stack.settings()
    };
    let (arn, last) = moving_job(&stack, settings, &[(5, 100), (40, 250), (80, 400)]).await;

    // when the last run's metrics are written
    let sink = MetricsSink::capture(NAMESPACE);
    sink.emit(&last, jobwatch::metrics::RunKind::Poll);

    // then one line for the running job (none for the finished one): 600 left at 240 an hour,
    // its end 2.5 hours after the run that saw the last count
    let lines = progress_lines(&sink);
    assert_eq!(lines.len(), 1, "{:?}", sink.lines());
    let job = &lines[0];
    declared_only(job);
    assert_eq!(job.dimensions["JobKind"], "batch-inference");
    assert_eq!(job.dimensions["JobId"], arn.rsplit('/').next().unwrap());
    assert_eq!(job.number("RecordsRemaining"), 600);
    assert_eq!(job.number("RecordsPerHour"), 240);
    assert_eq!(job.values["HoursToEstimatedEnd"], json!(2.5));
    assert_eq!(job.units["RecordsRemaining"], "Count");
}

#[tokio::test]
async fn without_progress_metrics_no_job_has_a_series_of_its_own() {
    // given the same moving job, polled with the default settings
    let stack = Stack::start().await;
    let (_, summary) = moving_job(&stack, stack.settings(), &[(5, 100), (40, 250)]).await;

    // when its metrics are written
    let sink = MetricsSink::capture(NAMESPACE);
    sink.emit(&summary, jobwatch::metrics::RunKind::Poll);

    // then only the run's line: no per-job series
    assert!(summary.progress.is_empty());
    assert_eq!(sink.lines().len(), 1);
    assert!(progress_lines(&sink).is_empty());
}
