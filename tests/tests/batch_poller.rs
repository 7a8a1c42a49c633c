//! The batch-inference poller end to end: the Bedrock emulator -> DynamoDB (moto) -> SNS (moto) ->
//! an SQS subscriber, through the real adapters.

use chrono::{Duration, Utc};
use jobwatch::domain::JobStatus;
use serde_json::json;
use testkit::Stack;

#[tokio::test]
async fn the_first_run_records_finished_jobs_silently_and_watches_open_ones() {
    // given one finished and two open jobs
    let stack = Stack::start().await;
    let done = stack.create_batch("already-done").await;
    let open = stack.create_batch("still-running").await;
    stack.create_batch("queued").await;
    stack.set_status(&done, "Completed").await;

    // when
    let summary = stack.poller().run(Utc::now(), "run-1").await.unwrap();

    // then
    assert!(summary.first_run);
    assert_eq!(
        (
            summary.listed,
            summary.transitions,
            summary.notifications_sent
        ),
        (3, 3, 0)
    );
    assert!(stack.notifications().await.is_empty());
    let done_record = stack.record(&done).await.unwrap();
    assert_eq!(done_record.status, JobStatus::new("Completed"));
    assert_eq!(done_record.watch, None);
    assert!(done_record.expires_at.is_some());
    assert_eq!(
        stack
            .record(&open)
            .await
            .unwrap()
            .watch
            .as_ref()
            .map(|w| w.as_str()),
        Some("batch-inference#us-east-1")
    );
}

#[tokio::test]
async fn each_terminal_transition_is_notified_exactly_once_with_its_details() {
    // given five running jobs the poller already knows
    let stack = Stack::start().await;
    let ends = [
        "Completed",
        "Failed",
        "Expired",
        "PartiallyCompleted",
        "Stopped",
    ];
    let mut arns = Vec::new();
    for end in ends {
        arns.push(
            stack
                .create_batch(&format!("job-{}", end.to_lowercase()))
                .await,
        );
    }
    stack.poller().run(Utc::now(), "baseline").await.unwrap();

    // when each ends differently and the poller runs three times
    for (arn, end) in arns.iter().zip(ends) {
        let id = arn.rsplit('/').next().unwrap();
        stack
            .control(
                &format!("jobs/{id}/status"),
                json!({"status": end, "message": format!("ended {end}"), "counts": {"totalRecordCount": 10, "processedRecordCount": 10, "successRecordCount": 7, "errorRecordCount": 3}}),
            )
            .await;
    }
    let first = stack.poller().run(Utc::now(), "run-1").await.unwrap();
    let second = stack.poller().run(Utc::now(), "run-2").await.unwrap();
    let third = stack.poller().run(Utc::now(), "run-3").await.unwrap();

    // then exactly one notification per job, all from the first run
    assert_eq!((first.transitions, first.notifications_sent), (5, 5));
    assert_eq!((second.transitions, second.notifications_sent), (0, 0));
    assert_eq!(third.notifications_sent, 0);
    let mut got = stack.notifications().await;
    got.sort_by(|a, b| a.arn().cmp(b.arn()));
    assert_eq!(got.len(), 5);
    for (arn, end) in arns.iter().zip(ends) {
        let n = got
            .iter()
            .find(|n| n.arn() == arn)
            .unwrap_or_else(|| panic!("no notification for {end}"));
        assert_eq!(n.status(), end);
        assert_eq!(n.body["previousStatus"], "Submitted");
        assert_eq!(n.body["jobKind"], "batch-inference");
        assert_eq!(n.body["jobName"], format!("job-{}", end.to_lowercase()));
        assert_eq!(n.body["modelId"], "anthropic.claude-3-haiku-20240307-v1:0");
        assert_eq!(n.body["message"], format!("ended {end}"));
        assert_eq!(n.body["outputS3Uri"], "s3://output-bucket/out/");
        assert_eq!(n.body["recordCounts"]["error"], 3);
        assert_eq!(n.body["dedupKey"], format!("{arn}#{end}"));
        assert!(n.body["endTime"].is_string() && n.body["submitTime"].is_string());
        assert_eq!(n.attributes["job_kind"], "batch-inference");
        assert_eq!(n.attributes["status"], end);
        assert_eq!(
            n.attributes["model_id"],
            "anthropic.claude-3-haiku-20240307-v1:0"
        );
        assert!(
            n.subject.len() < 100 && n.subject.starts_with(&format!("[Bedrock] {end}: ")),
            "{}",
            n.subject
        );
        let record = stack.record(arn).await.unwrap();
        assert_eq!(
            record.notified_status.as_ref().map(JobStatus::as_str),
            Some(end)
        );
        assert_eq!((record.pending_status, record.watch), (None, None));
    }
}

#[tokio::test]
async fn a_job_that_starts_and_ends_between_two_runs_is_notified() {
    let stack = Stack::start().await;
    stack.poller().run(Utc::now(), "baseline").await.unwrap();
    let quick = stack.create_batch("quick").await;
    stack.set_status(&quick, "Failed").await;

    let summary = stack.poller().run(Utc::now(), "run-1").await.unwrap();

    assert!(!summary.first_run);
    assert_eq!(summary.notifications_sent, 1);
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].arn(), got[0].status()), (quick.as_str(), "Failed"));
    assert_eq!(got[0].body["previousStatus"], serde_json::Value::Null);
}

#[tokio::test]
async fn open_jobs_outside_the_listing_window_are_reconciled_with_get() {
    // given an open job submitted before the watermark (no listing overlap)
    let stack = Stack::start().await;
    let arn = stack.create_batch("long-runner").await;
    let settings = jobwatch::PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    };
    let t1 = Utc::now() + Duration::seconds(1);
    stack
        .poller_with(settings.clone())
        .run(t1, "run-1")
        .await
        .unwrap();
    stack.set_status(&arn, "Completed").await;

    // when
    let summary = stack
        .poller_with(settings)
        .run(t1 + Duration::hours(30), "run-2")
        .await
        .unwrap();

    // then the listing did not return it, a Get did
    assert_eq!(
        (summary.listed, summary.fetched, summary.notifications_sent),
        (0, 1, 1)
    );
    assert_eq!(stack.notifications().await.len(), 1);
}

/// Seeds `count` open jobs (submitted 6 to 30 hours ago), records them with a first run, and
/// finishes three of them; returns those three.
async fn sixty_open_jobs_three_finish(
    stack: &Stack,
    settings: &jobwatch::PollSettings,
) -> Vec<String> {
    stack
        .control("seed", json!({"kind": "batch-inference", "count": 60, "statuses": {"InProgress": 1}, "spreadHours": 24, "newestHoursAgo": 6}))
        .await;
    let first = stack
        .poller_with(settings.clone())
        .run(Utc::now(), "run-1")
        .await
        .unwrap();
    assert_eq!(first.listed, 60);
    let jobs: serde_json::Value = stack.control_get("jobs").await;
    let mut arns: Vec<String> = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["arn"].as_str().unwrap().to_owned())
        .collect();
    arns.truncate(3);
    for arn in &arns {
        stack.set_status(arn, "Completed").await;
    }
    arns.sort();
    arns
}

async fn notified_arns(stack: &Stack) -> Vec<String> {
    let mut notified: Vec<_> = stack
        .notifications()
        .await
        .iter()
        .map(|n| n.arn().to_owned())
        .collect();
    notified.sort();
    notified
}

#[tokio::test]
async fn many_open_jobs_are_reconciled_by_one_wide_list_not_one_get_each() {
    // given 60 known open jobs outside the discovery window, three of which finished
    let stack = Stack::start().await;
    let settings = jobwatch::PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    };
    let finished = sixty_open_jobs_three_finish(&stack, &settings).await;

    // when
    let summary = stack
        .poller_with(settings)
        .run(Utc::now(), "run-2")
        .await
        .unwrap();

    // then one List since the oldest open job answered all 60: no Get, no sweep
    assert_eq!(summary.watched, 60);
    assert_eq!(
        (
            summary.wide_list_calls,
            summary.sweep_calls,
            summary.fetched
        ),
        (1, 0, 0)
    );
    assert_eq!(summary.bedrock_calls, 2, "discovery + the wide list");
    assert_eq!(summary.notifications_sent, 3);
    assert_eq!(notified_arns(&stack).await, finished);
}

#[tokio::test]
async fn a_large_recent_history_falls_back_to_sweeping_the_open_statuses() {
    // given 60 known open jobs and, submitted after them, 6 000 other jobs the wide List would
    // have to page through
    let stack = Stack::start().await;
    let settings = jobwatch::PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    };
    let finished = sixty_open_jobs_three_finish(&stack, &settings).await;
    stack
        .control("seed", json!({"kind": "batch-inference", "count": 6000, "spreadHours": 5, "newestHoursAgo": 0.5, "namePrefix": "busy"}))
        .await;

    // when
    let summary = stack
        .poller_with(settings)
        .run(Utc::now(), "run-2")
        .await
        .unwrap();

    // then the wide List stopped at its cap, one List per open status answered the rest, and
    // only the three jobs that left the open statuses were read with Get
    assert_eq!(summary.wide_list_calls, 5);
    assert_eq!(summary.sweep_calls, 5);
    assert_eq!(summary.fetched, 3);
    assert_eq!(summary.notifications_sent, 3);
    assert_eq!(notified_arns(&stack).await, finished);
}

#[tokio::test]
async fn two_overlapping_runs_never_both_notify_a_transition() {
    // given ten jobs that finish after a baseline run
    let stack = Stack::start().await;
    let mut arns = Vec::new();
    for i in 0..10 {
        arns.push(stack.create_batch(&format!("overlap-{i}")).await);
    }
    stack.poller().run(Utc::now(), "baseline").await.unwrap();
    for arn in &arns {
        stack.set_status(arn, "Completed").await;
    }

    // when two runs overlap
    let (a, b) = (stack.poller(), stack.poller());
    let now = Utc::now();
    let (ra, rb) = tokio::join!(a.run(now, "run-a"), b.run(now, "run-b"));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());

    // then each transition was claimed by exactly one of them
    assert_eq!(ra.transitions + rb.transitions, 10);
    assert_eq!(ra.notifications_sent + rb.notifications_sent, 10);
    let got = stack.notifications().await;
    assert_eq!(got.len(), 10);
    let mut unique: Vec<_> = got.iter().map(|n| n.arn().to_owned()).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10);
}

#[tokio::test]
async fn unknown_statuses_are_stored_raw_and_do_not_break_the_run() {
    let stack = Stack::start().await;
    let odd = stack.create_batch("odd").await;
    let fine = stack.create_batch("fine").await;
    stack.poller().run(Utc::now(), "baseline").await.unwrap();
    stack.set_status(&odd, "Hibernating").await;
    stack.set_status(&fine, "Completed").await;

    let summary = stack.poller().run(Utc::now(), "run-1").await.unwrap();

    assert_eq!(
        (
            summary.transitions,
            summary.notifications_sent,
            summary.failures
        ),
        (2, 1, 0)
    );
    let record = stack.record(&odd).await.unwrap();
    assert_eq!(record.status.as_str(), "Hibernating");
    assert!(
        record.watch.is_some(),
        "still watched until it reaches a status we know"
    );
    stack.set_status(&odd, "Completed").await;
    assert_eq!(
        stack
            .poller()
            .run(Utc::now(), "run-2")
            .await
            .unwrap()
            .notifications_sent,
        1
    );
}

#[tokio::test]
async fn pagination_covers_more_than_two_thousand_jobs() {
    let stack = Stack::start().await;
    stack
        .control("seed", json!({"kind": "batch-inference", "count": 2500, "statuses": {"InProgress": 1, "Completed": 1}, "spreadHours": 100, "newestHoursAgo": 1}))
        .await;

    let summary = stack.poller().run(Utc::now(), "run-1").await.unwrap();

    assert_eq!(summary.listed, 2500);
    assert_eq!(summary.bedrock_calls, 3, "three pages of at most 1000");
    assert_eq!(summary.transitions, 2500);
    let second = stack.poller().run(Utc::now(), "run-2").await.unwrap();
    assert_eq!(
        (second.listed, second.transitions),
        (0, 0),
        "steady state lists only new jobs"
    );
}
