//! A family whose API is not launched in a watched region: the emulator answers that region as
//! AWS does (`UnknownOperationException`), and the poller skips it with the reason in its run
//! summary (the line the function logs) while the other regions are polled and notify. The run
//! is `ok`: a default family list must not keep the errors and silence alarms red.

use chrono::{Duration, Utc};
use jobwatch::adapters::families::async_invoke::AsyncInvokeSource;
use jobwatch::domain::JobKind;
use jobwatch::targets::{Account, Regions, TargetSettings};
use testkit::Stack;

/// Asynchronous invocation exists in us-east-1, not in eu-central-1 (the emulator's table, as
/// the library's `all-bedrock` list).
const OFFERED: &str = "us-east-1";
const NOT_OFFERED: &str = "eu-central-1";

fn own_account_in(regions: &[&str]) -> TargetSettings {
    TargetSettings {
        regions: Regions::Listed(regions.iter().map(|r| r.to_string()).collect()),
        accounts: vec![Account::Own],
        external_id: None,
        concurrency: 2,
    }
}

async fn async_fleet(stack: &Stack, regions: &[&str]) -> testkit::StackFleet<AsyncInvokeSource> {
    stack
        .fleet_of(JobKind::AsyncInvoke, &own_account_in(regions), |sdk| {
            AsyncInvokeSource::new(aws_sdk_bedrockruntime::Client::new(sdk))
        })
        .await
}

#[tokio::test]
async fn a_region_without_the_familys_api_is_skipped_with_its_reason_and_the_run_is_ok() {
    // given an invocation running in a region that offers async invoke, and a fleet that also
    // watches one that does not
    let stack = Stack::start().await;
    let arn = stack.emulator.start_async_invoke("clip").await;
    let fleet = async_fleet(&stack, &[OFFERED, NOT_OFFERED]).await;
    let first = fleet
        .run(Utc::now(), "first")
        .await
        .expect("a run that skips is ok");
    let skipped = |run: &jobwatch::RunSummary| {
        run.scopes
            .iter()
            .find(|s| s.scope.ends_with(NOT_OFFERED))
            .and_then(|s| s.skipped.clone())
    };
    assert!(first.discovery_ok && first.failures == 0, "{first:?}");
    assert!(skipped(&first).is_some_and(|r| r.contains("UnknownOperationException")));

    // when the invocation completes
    stack.emulator.set_status(&arn, "Completed").await;
    let run = fleet
        .run(Utc::now() + Duration::minutes(5), "second")
        .await
        .unwrap();

    // then it is notified once, the other region is skipped again and nothing failed
    assert_eq!((run.notifications_sent, run.failures), (1, 0), "{run:?}");
    assert!(run.scopes.iter().all(|s| s.ok), "{run:?}");
    let line = serde_json::to_value(&run).unwrap();
    let reason = line["scopes"][1]["skipped"].as_str().unwrap_or_default();
    assert!(reason.contains("not offered in eu-central-1"), "{line}");
    assert_eq!(stack.notifications().await.len(), 1);
}

#[tokio::test]
async fn a_deployment_whose_only_region_lacks_the_api_ends_ok_and_writes_nothing() {
    // given an async-invoke poller whose one region does not offer the API
    let stack = Stack::start().await;
    let fleet = async_fleet(&stack, &[NOT_OFFERED]).await;

    // when it runs
    let run = fleet
        .run(Utc::now(), "only")
        .await
        .expect("ok, not an error");

    // then the run is a successful poll that skipped, with one call and no table write
    assert!(run.discovery_ok && run.failures == 0, "{run:?}");
    assert!(run
        .skipped
        .as_deref()
        .is_some_and(|r| r.contains("UnknownOperationException")));
    assert_eq!(run.bedrock_calls, 1);
    assert_eq!(run.store_calls, 1, "the scope's state read, no write");
}

#[test]
fn the_emulator_offers_each_family_where_the_library_says_its_api_exists() {
    use std::collections::BTreeSet;
    for kind in JobKind::ALL {
        let library: BTreeSet<&str> = kind.family().regions.iter().copied().collect();
        for action in kind.family().iam_actions {
            let operation = action.split_once(':').map_or(*action, |(_, op)| op);
            let emulator: BTreeSet<&str> = bedrock_emulator::offered::regions_of(operation)
                .iter()
                .copied()
                .collect();
            assert_eq!(emulator, library, "{kind}: {operation}");
        }
    }
}
