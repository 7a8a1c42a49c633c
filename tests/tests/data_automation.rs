//! Bedrock Data Automation invocations end to end: the API has no List, so Bedrock's events
//! register and finish invocations (each confirmed with one Get) and the scheduled poll Gets every
//! open one it knows. A lost Succeeded event is still notified by the poll; an event for an
//! invocation the poll already notified sends nothing.

use chrono::{Duration, Utc};
use futures::StreamExt;
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::adapters::families::AnySource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::domain::JobKind;
use jobwatch::handler::{handle, Output};
use jobwatch::{Poller, RunSummary};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use testkit::Stack;

type DaPoller = Poller<AnySource, DynamoJobStore, Sinks>;

fn poller(stack: &Stack) -> DaPoller {
    stack.poller_for(stack.source(JobKind::DataAutomation), stack.settings())
}

/// Hands Bedrock's event for the invocation's current state to the handler.
async fn deliver(poller: &DaPoller, stack: &Stack, arn: &str) -> Box<RunSummary> {
    let event = stack.event_of(arn).await;
    assert_eq!(event["source"], "aws.bedrock", "{event}");
    // Metrics are captured and not read here (tests/tests/metrics.rs reads them).
    let metrics = jobwatch::metrics::MetricsSink::capture("Test/DataAutomation");
    match handle(
        poller,
        &metrics,
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .unwrap()
    {
        Output::Event(summary) => summary,
        other => panic!("event not handled: {other:?}"),
    }
}

async fn poll(poller: &DaPoller, at: chrono::DateTime<Utc>) -> RunSummary {
    poller
        .run(at, format!("poll-{}", at.timestamp()))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_created_event_registers_an_invocation_and_a_lost_succeeded_event_is_notified_by_the_poll(
) {
    // given an invocation that finished before anything watched (no event delivered)
    let stack = Stack::start().await;
    let poller = poller(&stack);
    let before = stack.invoke_data_automation("old.pdf", None).await;
    stack.set_status(&before, "Success").await;
    let t0 = Utc::now();
    let first = poll(&poller, t0).await;
    assert!(first.first_run);
    assert_eq!((first.notifications_sent, first.bedrock_calls), (0, 0));

    // when a new invocation's Created event arrives
    let arn = stack.invoke_data_automation("invoice.pdf", None).await;
    let created = deliver(&poller, &stack, &arn).await;
    assert_eq!((created.fetched, created.notifications_sent), (1, 0));
    let record = stack.record(&arn).await.expect("registered");
    assert_eq!(record.status.as_str(), "Created");

    // when it moves on without finishing, a poll sends nothing
    stack.set_status(&arn, "InProgress").await;
    let moving = poll(&poller, t0 + Duration::minutes(5)).await;
    assert_eq!((moving.fetched, moving.notifications_sent), (1, 0));

    // when it succeeds and the Succeeded event is lost, the poll notifies it
    stack.set_status(&arn, "Success").await;
    let finished = poll(&poller, t0 + Duration::minutes(10)).await;
    assert_eq!(finished.notifications_sent, 1);

    // when the Succeeded event arrives late, it sends nothing
    let late = deliver(&poller, &stack, &arn).await;
    assert_eq!((late.fetched, late.notifications_sent), (1, 0));
    let quiet = poll(&poller, t0 + Duration::minutes(15)).await;
    assert_eq!((quiet.notifications_sent, quiet.bedrock_calls), (0, 0));

    // then one notification, for the one invocation we knew, in words people read
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    let n = &got[0];
    assert_eq!((n.arn(), n.status()), (arn.as_str(), "Success"));
    assert_eq!(n.attributes["job_kind"], "data-automation");
    assert_eq!(n.attributes["outcome"], "success");
    assert_eq!(n.body["previousStatus"], "InProgress");
    assert!(n.body["outputS3Uri"]
        .as_str()
        .unwrap()
        .ends_with("/0/job_metadata.json"));
    assert!(n
        .subject
        .starts_with("[Bedrock] Success: data automation invocation "));
}

#[tokio::test]
async fn failure_events_are_confirmed_with_a_get_and_notified_at_once() {
    // given one registered invocation and one whose Created event was lost
    let stack = Stack::start().await;
    let poller = poller(&stack);
    poll(&poller, Utc::now()).await;
    let registered = stack.invoke_data_automation("scan.tiff", None).await;
    deliver(&poller, &stack, &registered).await;
    let unregistered = stack.invoke_data_automation("form.pdf", None).await;

    // when both fail and their events arrive
    stack.set_status(&registered, "ClientError").await;
    stack.set_status(&unregistered, "ServiceError").await;
    let a = deliver(&poller, &stack, &registered).await;
    let b = deliver(&poller, &stack, &unregistered).await;

    // then each is notified once, as a failure with the service's reason; the poll adds nothing
    assert_eq!((a.notifications_sent, b.notifications_sent), (1, 1));
    assert_eq!(
        poll(&poller, Utc::now() + Duration::minutes(5))
            .await
            .notifications_sent,
        0
    );
    let mut got = stack.notifications().await;
    got.sort_by_key(|n| n.status().to_owned());
    let statuses: Vec<&str> = got.iter().map(|n| n.status()).collect();
    assert_eq!(statuses, ["ClientError", "ServiceError"]);
    assert!(got.iter().all(|n| n.attributes["outcome"] == "failure"));
    assert_eq!(
        got[0].body["message"],
        "ClientError: The input file is not a supported document format."
    );
}

#[tokio::test]
async fn the_poll_reads_open_invocations_past_one_chunk_of_the_watch_index() {
    // given 510 registered invocations (the watch index is read 500 at a time)
    let stack = Stack::start().await;
    let poller = poller(&stack);
    poll(&poller, Utc::now()).await;
    let mut arns = Vec::new();
    for i in 0..510 {
        arns.push(
            stack
                .invoke_data_automation(&format!("doc-{i}.pdf"), None)
                .await,
        );
    }
    let registered: Vec<Box<RunSummary>> = futures::stream::iter(&arns)
        .map(|arn| deliver(&poller, &stack, arn))
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(registered.iter().all(|s| s.notifications_sent == 0));

    // when two of them finish, the last one registered among them
    stack.set_status(&arns[3], "Success").await;
    stack.set_status(&arns[509], "ClientError").await;
    let run = poll(&poller, Utc::now() + Duration::minutes(5)).await;

    // then every open one was read, and the two finished ones notified
    assert_eq!(
        (run.watched, run.fetched, run.notifications_sent),
        (510, 510, 2)
    );
    let mut got: Vec<String> = stack
        .notifications()
        .await
        .iter()
        .map(|n| n.arn().to_owned())
        .collect();
    got.sort();
    let mut expected = vec![arns[3].clone(), arns[509].clone()];
    expected.sort();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn throttled_status_reads_are_absorbed_by_sdk_retries() {
    // given a registered invocation that succeeded, and a Get throttled twice
    let stack = Stack::start().await;
    let poller = poller(&stack);
    poll(&poller, Utc::now()).await;
    let arn = stack.invoke_data_automation("invoice.pdf", None).await;
    deliver(&poller, &stack, &arn).await;
    stack.set_status(&arn, "Success").await;
    stack
        .control(
            "faults",
            json!({"operation": "GetDataAutomationStatus", "error": "ThrottlingException", "count": 2}),
        )
        .await;

    // when the poll runs
    let run = poll(&poller, Utc::now() + Duration::minutes(5)).await;

    // then it is notified once
    assert_eq!(run.notifications_sent, 1);
    let stats: Value = stack.control_get("stats").await;
    assert_eq!(stats["requests"]["faults"]["GetDataAutomationStatus"], 2);
    assert_eq!(stack.notifications().await.len(), 1);
}
