//! Nothing lost, nothing doubled: publish failures, a crash between write and publish, throttling.

use std::sync::Mutex;

use chrono::{Duration, Utc};
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::domain::JobStatus;
use jobwatch::notices::Notice;
use jobwatch::ports::Notifier;
use jobwatch::{Error, Poller};
use serde_json::json;
use testkit::Stack;
use tokio::sync::oneshot;

async fn finished_job(stack: &Stack, name: &str) -> String {
    let arn = stack.create_batch(name).await;
    stack.poller().run(Utc::now(), "baseline").await.unwrap();
    stack.set_status(&arn, "Failed").await;
    arn
}

#[tokio::test]
async fn a_failed_publish_stays_pending_and_the_next_run_sends_it() {
    // given a transition whose publish fails (the topic is wrong)
    let stack = Stack::start().await;
    let arn = finished_job(&stack, "publish-fails").await;
    let broken = Poller::new(
        BatchInferenceSource::new(stack.bedrock.clone()),
        stack.store(),
        Sinks::new(
            stack.sns.clone(),
            "arn:aws:sns:us-east-1:123456789012:no-such-topic",
        ),
        stack.settings(),
    );
    let failed = broken.run(Utc::now(), "run-1").await.unwrap();
    assert_eq!(
        (
            failed.transitions,
            failed.notifications_sent,
            failed.notifications_pending
        ),
        (1, 0, 1)
    );
    let pending = stack.record(&arn).await.unwrap();
    assert_eq!(pending.pending_status, Some(JobStatus::new("Failed")));
    assert_eq!(pending.lease_owner, None, "the lease is given back at once");

    // when a healthy run follows
    let retry = stack.poller().run(Utc::now(), "run-2").await.unwrap();

    // then it publishes exactly once and clears the pending notice
    assert_eq!((retry.transitions, retry.notifications_sent), (0, 1));
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].arn(), got[0].status()), (arn.as_str(), "Failed"));
    let sent = stack.record(&arn).await.unwrap();
    assert_eq!(
        (sent.pending_status, sent.notified_status),
        (None, Some(JobStatus::new("Failed")))
    );
    assert_eq!(
        stack
            .poller()
            .run(Utc::now(), "run-3")
            .await
            .unwrap()
            .notifications_sent,
        0
    );
}

/// A notifier that reports when it is called and then never returns: the run "crashes" there.
struct CrashOnPublish(Mutex<Option<oneshot::Sender<()>>>);

impl Notifier for CrashOnPublish {
    async fn publish(&self, _notice: &Notice) -> Result<String, Error> {
        if let Some(tx) = self.0.lock().unwrap().take() {
            let _ = tx.send(());
        }
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_crash_between_write_and_publish_is_published_once_the_lease_expires() {
    // given a run that writes the transition and dies while publishing
    let stack = Stack::start().await;
    let arn = finished_job(&stack, "crashes").await;
    let (tx, reached_publish) = oneshot::channel();
    let crashing = Poller::new(
        BatchInferenceSource::new(stack.bedrock.clone()),
        stack.store(),
        CrashOnPublish(Mutex::new(Some(tx))),
        stack.settings(),
    );
    let now = Utc::now();
    tokio::select! {
        _ = crashing.run(now, "run-crash") => panic!("the crashing run cannot finish"),
        _ = reached_publish => {}
    }
    let leased = stack.record(&arn).await.unwrap();
    assert_eq!(leased.pending_status, Some(JobStatus::new("Failed")));
    assert_eq!(
        leased.lease_owner.as_ref().map(|o| o.as_str()),
        Some("run-crash")
    );

    // when another run comes while the lease is live, and one after it expired
    let during = stack
        .poller()
        .run(now + Duration::seconds(30), "run-2")
        .await
        .unwrap();
    let after = stack
        .poller()
        .run(
            now + stack.settings().publish_lease + Duration::seconds(1),
            "run-3",
        )
        .await
        .unwrap();

    // then only the run after the lease publishes, once
    assert_eq!(
        (during.notifications_sent, during.notifications_pending),
        (0, 1)
    );
    assert_eq!(after.notifications_sent, 1);
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].arn(), arn);
}

#[tokio::test]
async fn bedrock_throttling_is_absorbed_by_sdk_retries() {
    // given a job that finished, and a List that is throttled twice
    let stack = Stack::start().await;
    let arn = finished_job(&stack, "throttled").await;
    stack.control("faults", json!({"operation": "ListModelInvocationJobs", "error": "ThrottlingException", "count": 2})).await;

    // when
    let summary = stack.poller().run(Utc::now(), "run-1").await.unwrap();

    // then the SDK retried and the run is whole
    assert!(summary.discovery_ok);
    assert_eq!(summary.notifications_sent, 1);
    assert_eq!(stack.notifications().await[0].arn(), arn);
    let stats: serde_json::Value = stack.control_get("stats").await;
    assert_eq!(stats["requests"]["faults"]["ListModelInvocationJobs"], 2);
}

#[tokio::test]
async fn failing_gets_are_counted_and_retried_next_run_without_holding_up_other_jobs() {
    // given two open jobs outside the listing window, and Gets that fail for now
    let stack = Stack::start().await;
    let a = stack.create_batch("get-a").await;
    let b = stack.create_batch("get-b").await;
    let settings = jobwatch::PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    };
    let t1 = Utc::now();
    stack
        .poller_with(settings.clone())
        .run(t1, "baseline")
        .await
        .unwrap();
    stack.set_status(&a, "Completed").await;
    stack.set_status(&b, "Completed").await;
    stack
        .control(
            "faults",
            json!({"operation": "GetModelInvocationJob", "error": "InternalServerException"}),
        )
        .await;
    // and a new job that finishes within the listing window
    let fresh = stack.create_batch("fresh").await;
    stack.set_status(&fresh, "Failed").await;

    // when
    let first = stack
        .poller_with(settings.clone())
        .run(t1 + Duration::minutes(5), "run-1")
        .await
        .unwrap();
    stack.clear_faults().await;
    let second = stack
        .poller_with(settings)
        .run(t1 + Duration::minutes(10), "run-2")
        .await
        .unwrap();

    // then the first run notified what it could and counted the rest
    assert_eq!((first.failures, first.notifications_sent), (2, 1));
    assert!(first.discovery_ok, "per-job failures do not fail the run");
    assert!(
        first
            .errors
            .iter()
            .all(|e| e.contains("InternalServerException")),
        "{:?}",
        first.errors
    );
    assert_eq!((second.failures, second.notifications_sent), (0, 2));
    let mut arns: Vec<_> = stack
        .notifications()
        .await
        .iter()
        .map(|n| n.arn().to_owned())
        .collect();
    arns.sort();
    let mut expected = vec![a, b, fresh];
    expected.sort();
    assert_eq!(arns, expected);
}

#[tokio::test]
async fn a_failed_listing_keeps_the_watermark_and_reports_the_failure() {
    let stack = Stack::start().await;
    stack.poller().run(Utc::now(), "baseline").await.unwrap();
    let before = stack
        .poller()
        .run(Utc::now(), "run-0")
        .await
        .unwrap()
        .watermark;
    stack
        .control(
            "faults",
            json!({"operation": "ListModelInvocationJobs", "error": "AccessDeniedException"}),
        )
        .await;

    let summary = stack
        .poller()
        .run(Utc::now() + Duration::minutes(5), "run-1")
        .await
        .unwrap();

    assert!(!summary.discovery_ok);
    assert_eq!(summary.failures, 1);
    assert!(
        summary.errors[0].contains("AccessDeniedException"),
        "{:?}",
        summary.errors
    );
    assert_eq!(summary.watermark, before, "the watermark did not move");
}
