//! Bedrock's own state-change events, end to end: each event is confirmed with a Get and runs
//! the same plan/notify path as the poll, so a job is notified once whatever arrives first.

use chrono::Utc;
use jobwatch::domain::JobKind;
use jobwatch::handler::{handle, Output};
use jobwatch::RunSummary;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use testkit::Stack;

/// The event the emulator says Bedrock would emit for the job's current state.
async fn event_for(stack: &Stack, arn: &str) -> Value {
    let id = arn.rsplit('/').next().unwrap();
    stack
        .http
        .get(format!(
            "{}/_emulator/jobs/{id}/event",
            stack.emulator.endpoint()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn deliver<S: jobwatch::ports::JobSource>(
    poller: &jobwatch::Poller<
        S,
        jobwatch::adapters::dynamodb::DynamoJobStore,
        jobwatch::adapters::notifier::Sinks,
    >,
    event: Value,
) -> Box<RunSummary> {
    match handle(
        poller,
        &unread_metrics(),
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .unwrap()
    {
        Output::Event(summary) => summary,
        other => panic!("event not handled: {other:?}"),
    }
}

async fn notified(stack: &Stack) -> Vec<(String, String)> {
    stack
        .notifications()
        .await
        .iter()
        .map(|n| (n.arn().to_owned(), n.status().to_owned()))
        .collect()
}

#[tokio::test]
async fn event_then_poll_notifies_once() {
    let stack = Stack::start().await;
    let arn = stack.create_batch("event-first").await;
    stack.poller().run(Utc::now(), "baseline").await.unwrap();
    stack.set_status(&arn, "Completed").await;

    let by_event = deliver(&stack.poller(), event_for(&stack, &arn).await).await;
    let by_poll = stack.poller().run(Utc::now(), "poll").await.unwrap();

    assert_eq!(
        (by_event.notifications_sent, by_poll.notifications_sent),
        (1, 0)
    );
    assert_eq!(notified(&stack).await, vec![(arn, "Completed".to_owned())]);
}

#[tokio::test]
async fn poll_then_event_notifies_once() {
    let stack = Stack::start().await;
    let arn = stack.create_batch("poll-first").await;
    stack.poller().run(Utc::now(), "baseline").await.unwrap();
    stack.set_status(&arn, "Failed").await;

    let by_poll = stack.poller().run(Utc::now(), "poll").await.unwrap();
    let by_event = deliver(&stack.poller(), event_for(&stack, &arn).await).await;

    assert_eq!(
        (by_poll.notifications_sent, by_event.notifications_sent),
        (1, 0)
    );
    assert_eq!(notified(&stack).await, vec![(arn, "Failed".to_owned())]);
}

#[tokio::test]
async fn duplicate_events_notify_once() {
    let stack = Stack::start().await;
    let arn = stack.create_batch("dup-events").await;
    stack.set_status(&arn, "Expired").await;
    let event = event_for(&stack, &arn).await;

    let sent: usize = futures::future::join_all((0..3).map(|_| async {
        deliver(&stack.poller(), event.clone())
            .await
            .notifications_sent
    }))
    .await
    .into_iter()
    .sum();

    assert_eq!(sent, 1);
    assert_eq!(notified(&stack).await, vec![(arn, "Expired".to_owned())]);
}

#[tokio::test]
async fn out_of_order_and_early_events_never_move_a_job_backwards_or_notify_early() {
    // given a job in progress, and an event captured at that time
    let stack = Stack::start().await;
    let arn = stack.create_batch("out-of-order").await;
    stack.set_status(&arn, "InProgress").await;
    let stale = event_for(&stack, &arn).await;
    // and a forged/early "Completed" event while the job is still running
    let mut forged = stale.clone();
    forged["detail"]["status"] = "Completed".into();
    let early = deliver(&stack.poller(), forged).await;
    assert_eq!(
        early.notifications_sent, 0,
        "the Get says InProgress: nothing to notify"
    );

    // when the job really completes, its event arrives, then the stale one
    stack.set_status(&arn, "Completed").await;
    let done = deliver(&stack.poller(), event_for(&stack, &arn).await).await;
    let late = deliver(&stack.poller(), stale).await;

    // then
    assert_eq!(
        (
            done.notifications_sent,
            late.notifications_sent,
            late.transitions
        ),
        (1, 0, 0)
    );
    assert_eq!(
        stack.record(&arn).await.unwrap().status.as_str(),
        "Completed"
    );
    assert_eq!(notified(&stack).await, vec![(arn, "Completed".to_owned())]);
}

#[tokio::test]
async fn an_event_for_a_job_the_table_never_saw_notifies_once_and_the_poll_agrees() {
    let stack = Stack::start().await;
    stack.poller().run(Utc::now(), "baseline").await.unwrap();
    let arn = stack.create_batch("never-seen").await;
    stack.set_status(&arn, "PartiallyCompleted").await;

    let by_event = deliver(&stack.poller(), event_for(&stack, &arn).await).await;
    let by_poll = stack.poller().run(Utc::now(), "poll").await.unwrap();

    assert_eq!(
        (by_event.notifications_sent, by_poll.notifications_sent),
        (1, 0)
    );
    assert_eq!(
        notified(&stack).await,
        vec![(arn, "PartiallyCompleted".to_owned())]
    );
}

#[tokio::test]
async fn customization_events_go_to_the_customization_poller_only() {
    let stack = Stack::start().await;
    let arn = stack.create_customization("tune-event").await;
    stack.set_status(&arn, "Stopped").await;
    let event = event_for(&stack, &arn).await;

    let wrong = handle(
        &stack.poller(),
        &unread_metrics(),
        LambdaEvent::new(event.clone(), Context::default()),
    )
    .await
    .unwrap();
    let tuning = stack.poller_for(stack.source(JobKind::ModelCustomization), stack.settings());
    let right = deliver(&tuning, event).await;

    assert!(matches!(wrong, Output::Ignored { .. }), "{wrong:?}");
    assert_eq!(right.notifications_sent, 1);
    assert_eq!(notified(&stack).await, vec![(arn, "Stopped".to_owned())]);
}

/// Metrics are tested in `metrics.rs`; here they are kept off the test's output.
fn unread_metrics() -> jobwatch::metrics::MetricsSink {
    jobwatch::metrics::MetricsSink::capture("Test/FastPath")
}
