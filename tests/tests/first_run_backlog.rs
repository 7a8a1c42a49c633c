//! A first run into an account with more history than one invocation can record: several
//! invocations, each resuming at the checkpoint the last one left, on moto and the emulator.

use chrono::Utc;
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::testing::EndAfterPages;
use serde_json::json;
use testkit::Stack;

/// Items of the table, by job (scope items left out).
async fn job_items(stack: &Stack) -> Vec<jobwatch::domain::JobRecord> {
    let mut items = Vec::new();
    let mut pages = stack
        .dynamodb
        .scan()
        .table_name(&stack.table)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        let item = item.expect("scan");
        let is_job = item
            .get("pk")
            .and_then(|pk| pk.as_s().ok())
            .is_some_and(|pk| pk.starts_with("arn:"));
        if is_job {
            items.push(serde_dynamo::from_item(item).expect("a valid record"));
        }
    }
    items
}

#[tokio::test]
async fn a_backlog_of_thousands_is_recorded_over_several_invocations_without_a_flood() {
    // given 3 000 jobs inside the look-back, a tenth of them still open
    let stack = Stack::start().await;
    stack.control("seed", json!({"kind": "batch-inference", "count": 2700, "statuses": {"Completed": 8, "Failed": 1, "Expired": 1}, "spreadHours": 200, "newestHoursAgo": 1, "namePrefix": "history"})).await;
    stack.control("seed", json!({"kind": "batch-inference", "count": 300, "statuses": {"InProgress": 1}, "spreadHours": 200, "newestHoursAgo": 1, "namePrefix": "open"})).await;
    let open: Vec<String> = stack.control_get("jobs?status=InProgress").await["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["arn"].as_str().unwrap().to_owned())
        .collect();

    // when every invocation's deadline comes after one List page (of 1 000), and one open job
    // finishes after the first invocation
    let mut summaries = Vec::new();
    for invocation in 1..=10 {
        let source = EndAfterPages::new(BatchInferenceSource::new(stack.bedrock.clone()));
        let poller = stack.poller_for(source, stack.settings());
        let budget = poller.source.budget_for(1);
        let summary = poller
            .run_within(Utc::now(), format!("inv-{invocation}").as_str(), budget)
            .await
            .unwrap();
        if invocation == 1 {
            stack.set_status(&open[0], "Completed").await;
        }
        let done = summary.watermark.is_some();
        summaries.push(summary);
        if done {
            break;
        }
    }

    // then it took several invocations, each one's checkpoint further than the last's, and no
    // finished job of the history was notified
    let checkpoints: Vec<_> = summaries.iter().filter_map(|s| s.checkpoint).collect();
    assert!(summaries.len() >= 3, "{} invocations", summaries.len());
    assert_eq!(checkpoints.len(), summaries.len() - 1, "{summaries:#?}");
    assert!(
        checkpoints.windows(2).all(|w| w[0] < w[1]),
        "{checkpoints:?}"
    );
    assert!(summaries
        .iter()
        .all(|s| s.first_run && s.notifications_sent == 0));
    assert!(stack.notifications().await.is_empty());
    // and every job is recorded once: finished ones were never rewritten
    let items = job_items(&stack).await;
    assert_eq!(items.len(), 3000);
    assert!(items
        .iter()
        .filter(|r| !r.is_open())
        .all(|r| r.version == 1 || r.pk.as_str() == open[0]));

    // when the schedule goes on, the job that finished during the backlog is notified, once
    let next = stack.poller().run(Utc::now(), "next").await.unwrap();
    let again = stack.poller().run(Utc::now(), "again").await.unwrap();
    assert_eq!((next.first_run, next.notifications_sent), (false, 1));
    assert_eq!(again.notifications_sent, 0);
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].arn(), got[0].status()),
        (open[0].as_str(), "Completed")
    );
}
