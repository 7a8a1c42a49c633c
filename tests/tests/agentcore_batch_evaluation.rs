//! AgentCore batch evaluations end to end on moto and the emulator: evaluations started through
//! the `bedrock-agentcore` SDK, the first run silent, one notification per terminal transition in
//! the family's own words (with where the results are), nothing on a non-terminal move, a
//! listing past one page of 100, throttling retried, and a region without AgentCore Evaluations
//! skipped with its reason. Steady runs cost two Lists whatever the history (the first page and
//! one page of a sweep whose cursor the scope keeps): an evaluation listed deeper than the first
//! page is found by the sweep, and a cursor the service refuses starts the sweep over.

use aws_sdk_bedrockagentcore::types::{
    CloudWatchLogsSource, CloudWatchOutputConfig, DataSourceConfig, Evaluator, OutputConfig,
    ResultDestination,
};
use chrono::{Duration, Utc};
use jobwatch::adapters::families::agentcore_batch_evaluation::AgentcoreBatchEvaluationSource;
use jobwatch::domain::JobKind;
use jobwatch::ports::{JobStore, Listed, Progress};
use jobwatch::targets::{Account, Regions, TargetSettings};
use jobwatch::PollSettings;
use serde_json::json;
use testkit::Stack;

const KIND: JobKind = JobKind::AgentcoreBatchEvaluation;

fn settings(stack: &Stack) -> PollSettings {
    PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    }
}

/// A `bedrock-agentcore` client on the stack's emulator (it signs for `bedrock-agentcore`).
fn agentcore(stack: &Stack) -> aws_sdk_bedrockagentcore::Client {
    let config = aws_sdk_bedrockagentcore::config::Builder::from(&stack.emulator.base)
        .endpoint_url(stack.emulator.endpoint())
        .build();
    aws_sdk_bedrockagentcore::Client::from_conf(config)
}

/// Starts an evaluation writing its results to `/evals/{name}`; its ARN.
async fn start(stack: &Stack, name: &str) -> String {
    let source = CloudWatchLogsSource::builder()
        .service_names("support_agent.DEFAULT")
        .log_group_names("/aws/bedrock-agentcore/runtimes/support_agent-DEFAULT")
        .build()
        .unwrap();
    let output = CloudWatchOutputConfig::builder()
        .log_group_name(format!("/evals/{name}"))
        .log_stream_name("results")
        .result_destination(ResultDestination::DedicatedLogGroup)
        .build();
    agentcore(stack)
        .start_batch_evaluation()
        .batch_evaluation_name(name)
        .data_source_config(DataSourceConfig::CloudWatchLogs(source))
        .evaluators(
            Evaluator::builder()
                .evaluator_id("Builtin.Helpfulness")
                .build()
                .unwrap(),
        )
        .output_config(OutputConfig::CloudWatchConfig(output))
        .send()
        .await
        .expect("start batch evaluation")
        .batch_evaluation_arn
}

#[tokio::test]
async fn batch_evaluations_are_notified_once_per_terminal_transition_with_their_results() {
    // given three evaluations, one already finished before the first run
    let stack = &Stack::start().await;
    let poll = |at, id: &'static str| async move {
        stack
            .poller_for(stack.source(KIND), settings(stack))
            .run(at, id)
            .await
            .unwrap()
    };
    let old = start(stack, "old_eval").await;
    let partial = start(stack, "partial_eval").await;
    let failed = start(stack, "failed_eval").await;
    assert!(old
        .starts_with("arn:aws:bedrock-agentcore:us-east-1:123456789012:batch-evaluate/old_eval-"));
    stack.set_status(&old, "COMPLETED").await;

    // when the first run sees them: recorded silently
    let t0 = Utc::now();
    let first = poll(t0, "run-1").await;
    assert!(first.first_run);
    assert_eq!((first.listed, first.notifications_sent), (3, 0));

    // a non-terminal move (PENDING -> IN_PROGRESS) says nothing
    stack.set_status(&partial, "IN_PROGRESS").await;
    let moved = poll(t0 + Duration::minutes(5), "run-2").await;
    assert_eq!(
        (moved.transitions, moved.notifications_sent),
        (1, 0),
        "{moved:?}"
    );

    // both end: one partial success, one failure, each told once
    stack.set_status(&partial, "COMPLETED_WITH_ERRORS").await;
    stack.set_status(&failed, "FAILED").await;
    let ended = poll(t0 + Duration::minutes(10), "run-3").await;
    assert_eq!(ended.notifications_sent, 2, "{ended:?}");
    let again = poll(t0 + Duration::minutes(15), "run-4").await;
    assert_eq!(again.notifications_sent, 0);

    // then the messages speak of batch evaluations and say where the results are
    let mut got = stack.notifications().await;
    got.sort_by_key(|n| n.status().to_owned());
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].arn(), got[0].status()),
        (partial.as_str(), "COMPLETED_WITH_ERRORS")
    );
    assert_eq!((got[1].arn(), got[1].status()), (failed.as_str(), "FAILED"));
    for n in &got {
        assert_eq!(n.attributes["job_kind"], "agentcore-batch-evaluation");
        assert_eq!(n.body["jobKind"], "agentcore-batch-evaluation");
        assert!(
            // subjects lower-case the family's label
            n.subject.contains(": agentcore batch evaluation "),
            "{}",
            n.subject
        );
        let name = n.body["jobName"].as_str().unwrap();
        // where the results are: the log group, and the stream in it
        assert_eq!(
            n.body["outputS3Uri"],
            format!("/evals/{name}"),
            "{}",
            n.body
        );
        assert_eq!(n.body["details"]["logStreamName"], "results");
        let text = n.body["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("Result log group: /evals/{name}")),
            "{text}"
        );
        assert!(testkit::schema().is_valid(&n.body), "{}", n.body);
    }
    assert_eq!(got[0].body["outcome"], "partial", "{}", got[0].body);
    assert!(got[0].body["details"]["sessions"]
        .as_str()
        .is_some_and(|s| s.contains("failed")));
    assert!(got[1].body["message"].as_str().is_some(), "{}", got[1].body);
}

#[tokio::test]
async fn a_listing_past_one_page_reads_every_evaluation_and_throttling_is_retried() {
    // given 250 running evaluations (three pages of at most 100) and a List throttled twice
    let stack = &Stack::start().await;
    stack
        .control(
            "seed",
            json!({"kind": "agentcore-batch-evaluation", "count": 250,
                   "statuses": {"IN_PROGRESS": 1}, "spreadHours": 24}),
        )
        .await;
    stack
        .control(
            "faults",
            json!({"operation": "ListBatchEvaluations", "error": "ThrottlingException", "count": 2}),
        )
        .await;

    // when the first run lists them
    let run = stack
        .poller_for(stack.source(KIND), settings(stack))
        .run(Utc::now(), "first")
        .await
        .unwrap();

    // then every evaluation is recorded, after the throttled calls were retried
    assert!(run.discovery_ok, "{run:?}");
    assert_eq!((run.listed, run.notifications_sent), (250, 0));
    let stats = stack.control_get("stats").await;
    assert_eq!(stats["requests"]["faults"]["ListBatchEvaluations"], 2);
    assert_eq!(
        stats["requests"]["operations"]["ListBatchEvaluations"], 5,
        "three pages, two of them throttled once: {stats}"
    );
}

#[tokio::test]
async fn a_region_without_agentcore_evaluations_is_skipped_with_its_reason() {
    // given an evaluation in us-east-1 and a fleet also watching ap-northeast-1, which has the
    // Bedrock control plane but not AgentCore Evaluations
    let stack = Stack::start().await;
    let arn = start(&stack, "regional_eval").await;
    let targets = TargetSettings {
        regions: Regions::Listed(vec!["us-east-1".into(), "ap-northeast-1".into()]),
        accounts: vec![Account::Own],
        external_id: None,
        concurrency: 2,
    };
    let fleet = stack
        .fleet_of(KIND, &targets, |sdk| {
            AgentcoreBatchEvaluationSource::new(aws_sdk_bedrockagentcore::Client::new(sdk))
        })
        .await;
    let first = fleet.run(Utc::now(), "first").await.unwrap();
    assert!(first.discovery_ok && first.failures == 0, "{first:?}");

    // when the evaluation completes
    stack.emulator.set_status(&arn, "COMPLETED").await;
    let run = fleet
        .run(Utc::now() + Duration::minutes(5), "second")
        .await
        .unwrap();

    // then it is told once, and the other region is skipped, said, not failed
    assert_eq!((run.notifications_sent, run.failures), (1, 0), "{run:?}");
    let skipped: Vec<String> = run
        .scopes
        .iter()
        .filter_map(|s| s.skipped.clone())
        .collect();
    assert_eq!(skipped.len(), 1, "{run:?}");
    assert!(
        skipped[0].contains("ListBatchEvaluations is not offered in ap-northeast-1"),
        "{skipped:?}"
    );
    assert!(!KIND.family().regions.contains(&"ap-northeast-1"));
}

/// Seeds `count` evaluations in `status`, the newest `hours_ago` hours old, spread over
/// `spread` hours before it.
async fn seed(
    stack: &Stack,
    count: usize,
    status: &str,
    hours_ago: f64,
    spread: f64,
    prefix: &str,
) {
    stack
        .control(
            "seed",
            json!({"kind": "agentcore-batch-evaluation", "count": count,
                   "statuses": {status: 1}, "newestHoursAgo": hours_ago,
                   "spreadHours": spread, "namePrefix": prefix}),
        )
        .await;
}

/// `ListBatchEvaluations` calls the emulator has answered so far (refused ones too).
async fn list_calls(stack: &Stack) -> u64 {
    stack.calls_of("ListBatchEvaluations").await
}

#[tokio::test]
async fn a_steady_run_lists_two_pages_whatever_the_history_and_a_new_evaluation_is_told_once() {
    // given 250 finished evaluations (three pages of 100), recorded silently by a first run
    // that reads them all
    let stack = &Stack::start().await;
    seed(stack, 250, "COMPLETED", 0.0, 24.0, "history").await;
    let poller = stack.poller_for(stack.source(KIND), settings(stack));
    let t0 = Utc::now();
    let first = poller.run(t0, "run-1").await.unwrap();
    assert_eq!(
        (first.listed, first.notifications_sent),
        (250, 0),
        "{first:?}"
    );
    assert_eq!(list_calls(stack).await, 3);

    // when steady runs poll: the first page and one page of the sweep, each run
    let mut at = t0;
    let mut steady = |id: &'static str| {
        at += Duration::minutes(5);
        let poller = &poller;
        let when = at;
        async move {
            let before = list_calls(stack).await;
            let run = poller.run(when, id).await.unwrap();
            assert!(run.discovery_ok && run.failures == 0, "{run:?}");
            (run, list_calls(stack).await - before)
        }
    };
    let (quiet, lists) = steady("run-2").await;
    assert_eq!(
        (lists, quiet.bedrock_calls, quiet.notifications_sent),
        (2, 2, 0)
    );

    // and 600 more evaluations older than the look-back pile up: still two Lists, nothing told
    seed(stack, 600, "COMPLETED", 400.0, 24.0, "ancient").await;
    for id in ["run-3", "run-4", "run-5"] {
        let (run, lists) = steady(id).await;
        assert_eq!((lists, run.notifications_sent), (2, 0), "{id}: {run:?}");
    }

    // then a new evaluation is found on the first page, and its end told once
    let arn = start(stack, "fresh_eval").await;
    let (found, lists) = steady("run-6").await;
    assert_eq!((lists, found.notifications_sent), (2, 0), "{found:?}");
    assert!(stack.record(&arn).await.is_some_and(|r| r.is_open()));
    stack.set_status(&arn, "COMPLETED").await;
    let (ended, lists) = steady("run-7").await;
    assert_eq!((lists, ended.notifications_sent), (2, 1), "{ended:?}");
    let (again, _) = steady("run-8").await;
    assert_eq!(again.notifications_sent, 0);
    let told = stack.notifications().await;
    assert_eq!(told.len(), 1);
    assert_eq!(
        (told[0].arn(), told[0].status()),
        (arn.as_str(), "COMPLETED")
    );
}

#[tokio::test]
async fn an_evaluation_listed_deeper_than_the_first_page_is_found_by_the_sweep() {
    // given 250 finished evaluations recorded by a first run
    let stack = &Stack::start().await;
    seed(stack, 250, "COMPLETED", 0.0, 24.0, "history").await;
    let poller = stack.poller_for(stack.source(KIND), settings(stack));
    let t0 = Utc::now();
    poller.run(t0, "run-1").await.unwrap();

    // when an evaluation appears after it that the listing puts in the middle (created 12 hours
    // ago: page two of three, newest first), as a listing in no particular order may
    seed(stack, 1, "FAILED", 12.0, 0.001, "hidden").await;

    // then a sweep through the pages after the first (two of them: two runs) finds it, and it
    // is told once
    let mut told_in = Vec::new();
    for i in 1..=4 {
        let run = poller
            .run(t0 + Duration::minutes(5 * i), format!("run-{}", i + 1))
            .await
            .unwrap();
        assert!(run.discovery_ok && run.failures == 0, "{run:?}");
        told_in.extend(std::iter::repeat_n(i, run.notifications_sent));
    }
    assert_eq!(told_in.len(), 1, "told once: {told_in:?}");
    assert!(told_in[0] <= 2, "within the sweep's two runs: {told_in:?}");
    let told = stack.notifications().await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].status(), "FAILED");
    assert!(told[0].body["jobName"]
        .as_str()
        .unwrap()
        .starts_with("hidden"));
}

#[tokio::test]
async fn a_sweep_cursor_the_service_refuses_starts_the_sweep_over_without_failing_the_run() {
    // given 250 evaluations recorded by a first run, and a sweep cursor the service no longer
    // takes (expired, or from another listing)
    let stack = &Stack::start().await;
    seed(stack, 250, "COMPLETED", 0.0, 24.0, "history").await;
    let poller = stack.poller_for(stack.source(KIND), settings(stack));
    let t0 = Utc::now();
    poller.run(t0, "run-1").await.unwrap();
    let scope = poller.scope();
    let store = stack.store();
    let state = store.scope_state(&scope).await.unwrap();
    let stale = Progress {
        listed: Listed::Nothing,
        open: state.open,
        durations: None,
        last_run: None,
        cursor: Some("a-token-from-last-week".into()),
    };
    store.save_progress(&scope, &stale).await.unwrap();

    // when the next run sweeps with it
    let before = list_calls(stack).await;
    let run = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then the run is fine (two Lists: the first page, the refused one) and the sweep starts
    // over: the run after reads the second page and keeps the third's token
    assert!(run.discovery_ok && run.failures == 0, "{run:?}");
    assert_eq!(list_calls(stack).await - before, 2);
    assert_eq!(store.scope_state(&scope).await.unwrap().cursor, None);
    let next = poller
        .run(t0 + Duration::minutes(10), "run-3")
        .await
        .unwrap();
    assert!(next.discovery_ok && next.failures == 0, "{next:?}");
    assert_eq!((next.listed, next.notifications_sent), (200, 0), "{next:?}");
    assert!(store.scope_state(&scope).await.unwrap().cursor.is_some());
}

#[tokio::test]
async fn many_open_evaluations_are_answered_by_the_first_pages_not_one_get_each() {
    // given 250 running evaluations (the newest) and 300 finished ones before them, recorded by
    // a first run
    let stack = &Stack::start().await;
    seed(stack, 300, "COMPLETED", 48.0, 24.0, "history").await;
    seed(stack, 250, "IN_PROGRESS", 0.0, 24.0, "running").await;
    let poller = stack.poller_for(stack.source(KIND), settings(stack));
    let t0 = Utc::now();
    let first = poller.run(t0, "run-1").await.unwrap();
    assert_eq!(
        (first.listed, first.open_jobs),
        (550, Some(250)),
        "{first:?}"
    );

    // when a steady run polls
    let before = list_calls(stack).await;
    let run = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then the pages that hold the running ones (three: the third reaches a finished one) and
    // one page of the sweep answer them all: no Get
    assert!(run.discovery_ok && run.failures == 0, "{run:?}");
    assert_eq!(list_calls(stack).await - before, 4);
    assert_eq!(
        (run.bedrock_calls, run.open_jobs),
        (4, Some(250)),
        "{run:?}"
    );
}
