//! A run near its Lambda deadline stops starting work and loses nothing; jobs deleted from
//! Bedrock are counted, then retired.

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::domain::{JobKind, Scope};
use jobwatch::notices::Notice;
use jobwatch::ports::{JobStore, Notifier};
use jobwatch::{Budget, Error, Poller};
use testkit::Stack;

async fn five_finished_jobs(stack: &Stack) -> Vec<String> {
    let mut arns = Vec::new();
    for i in 0..5 {
        arns.push(stack.create_batch(&format!("deadline-{i}")).await);
    }
    stack.poller().run(Utc::now(), "baseline").await.unwrap();
    for arn in &arns {
        stack.set_status(arn, "Completed").await;
    }
    arns
}

fn assert_each_once(got: &[testkit::Notification], arns: &[String]) {
    let mut notified: Vec<_> = got.iter().map(|n| n.arn().to_owned()).collect();
    notified.sort();
    let mut expected = arns.to_vec();
    expected.sort();
    assert_eq!(notified, expected);
}

#[tokio::test]
async fn a_run_with_no_time_left_defers_everything_and_the_next_run_catches_up() {
    // given five transitions and a run whose deadline has already come
    let stack = Stack::start().await;
    let arns = five_finished_jobs(&stack).await;
    let scope = Scope::new(JobKind::BatchInference, "us-east-1");
    let watermark_before = stack.store().scope_state(&scope).await.unwrap().watermark;

    // when
    let late = stack
        .poller()
        .run_within(Utc::now(), "late", Budget::until(Instant::now()))
        .await
        .unwrap();
    let next = stack.poller().run(Utc::now(), "next").await.unwrap();

    // then nothing was written by the late run, the watermark stayed, the next run did it all
    assert!(late.deadline_reached);
    assert_eq!(
        (late.transitions, late.notifications_sent, late.deferred),
        (0, 0, 5)
    );
    assert_eq!(late.watermark, watermark_before);
    assert_eq!((next.transitions, next.notifications_sent), (5, 5));
    assert_each_once(&stack.notifications().await, &arns);
}

/// Publishes through SNS, slowly.
struct SlowNotifier(Sinks, StdDuration);

impl Notifier for SlowNotifier {
    async fn publish(&self, notice: &Notice) -> Result<String, Error> {
        tokio::time::sleep(self.1).await;
        self.0.publish(notice).await
    }
}

#[tokio::test]
async fn a_deadline_in_the_middle_of_publishing_gives_leases_back_for_the_next_run() {
    // given five transitions and publishes that take 500 ms each
    let stack = Stack::start().await;
    let arns = five_finished_jobs(&stack).await;
    let slow = Poller::new(
        BatchInferenceSource::new(stack.bedrock.clone()),
        stack.store(),
        SlowNotifier(
            Sinks::new(stack.sns.clone(), &stack.topic_arn),
            StdDuration::from_millis(500),
        ),
        stack.settings(),
    );

    // when the budget runs out part-way through the publishes (1.3 s of slack for the writes
    // under load), and a normal run follows at once
    let cut = slow
        .run_within(
            Utc::now(),
            "cut",
            Budget::until(Instant::now() + StdDuration::from_millis(1800)),
        )
        .await
        .unwrap();
    let next = stack.poller().run(Utc::now(), "next").await.unwrap();

    // then every transition was written, some published, the rest released and sent next
    assert!(cut.deadline_reached);
    assert_eq!(cut.transitions, 5);
    assert!(
        cut.notifications_sent >= 1 && cut.notifications_sent < 5,
        "{cut:?}"
    );
    assert_eq!(cut.notifications_sent + cut.notifications_pending, 5);
    assert_eq!(
        next.notifications_sent,
        5 - cut.notifications_sent,
        "released leases are claimable at once"
    );
    assert_each_once(&stack.notifications().await, &arns);
}

#[tokio::test]
async fn a_job_deleted_from_bedrock_is_counted_then_retired_after_three_misses() {
    // given a known open job outside the listing window, then deleted
    let stack = Stack::start().await;
    let arn = stack.create_batch("to-be-deleted").await;
    let settings = jobwatch::PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    };
    let t0 = Utc::now();
    stack
        .poller_with(settings.clone())
        .run(t0, "run-0")
        .await
        .unwrap();
    let id = arn.rsplit('/').next().unwrap();
    let deleted = stack
        .http
        .delete(format!("{}/_emulator/jobs/{id}", stack.emulator.endpoint()))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());

    // when the poller runs four more times
    let mut runs = Vec::new();
    for i in 1..=4 {
        runs.push(
            stack
                .poller_with(settings.clone())
                .run(t0 + Duration::minutes(5 * i), &format!("run-{i}"))
                .await
                .unwrap(),
        );
    }

    // then three misses are counted (none a failure), the third retires it, the fourth ignores it
    let missing: Vec<_> = runs
        .iter()
        .map(|r| (r.missing, r.retired, r.failures))
        .collect();
    assert_eq!(missing, vec![(1, 0, 0), (1, 0, 0), (1, 1, 0), (0, 0, 0)]);
    assert_eq!(runs[3].watched, 0);
    let record = stack.record(&arn).await.unwrap();
    assert!(record.retired);
    assert_eq!((record.missing_count, record.watch), (3, None));
    assert!(record.expires_at.is_some());
    assert!(stack.notifications().await.is_empty());
}
