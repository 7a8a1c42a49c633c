//! Early warnings end to end, on moto and the Bedrock emulator: alerts before a job fails, sent
//! once, followed by the job's end as usual. Runs are given later clocks (`now` + hours) instead
//! of waiting: the jobs' submit times are real, the runs' `now` moves on.

use chrono::{DateTime, Duration, Utc};
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::domain::{AlertKind, AlertSettings};
use jobwatch::{PollSettings, Poller, RunSummary};
use serde_json::json;
use testkit::{Notification, Stack};

/// The defaults (docs/notifications/early-warnings.md): stuck after 6 h in a waiting status, stalled after
/// 2 h without progress, expiring 6 h before `jobExpirationTime`.
fn alerting(stack: &Stack) -> PollSettings {
    PollSettings {
        alerts: AlertSettings::default(),
        ..stack.settings()
    }
}

async fn poll(stack: &Stack, start: DateTime<Utc>, minutes: i64) -> RunSummary {
    let at = start + Duration::minutes(minutes);
    stack
        .poller_with(alerting(stack))
        .run(at, format!("run-{minutes}"))
        .await
        .expect("a run")
}

/// What each notification says: `alert:{kind}` or the status.
fn said(notifications: &[Notification]) -> Vec<String> {
    notifications
        .iter()
        .map(|n| match n.body["type"].as_str() {
            Some("alert") => format!("alert:{}", n.body["alert"].as_str().unwrap_or("?")),
            _ => n.status().to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn a_job_held_in_scheduled_alerts_once_and_then_its_expiry_is_notified() {
    // given a batch job that waits in Scheduled
    let stack = Stack::start().await;
    let arn = stack.create_batch("held-behind-quota").await;
    let start = Utc::now();
    poll(&stack, start, 0).await;
    stack.set_status(&arn, "Scheduled").await;
    poll(&stack, start, 5).await;

    // when runs come after the 6-hour threshold
    let alerted = poll(&stack, start, 6 * 60 + 10).await;
    poll(&stack, start, 7 * 60).await;

    // then one stuck alert, filterable by its `type` attribute
    assert_eq!((alerted.alerts_sent, alerted.notifications_sent), (1, 0));
    let got = stack.notifications().await;
    assert_eq!(said(&got), ["alert:stuck"]);
    assert_eq!(got[0].arn(), arn);
    assert_eq!(
        got[0].attributes.get("type").map(String::as_str),
        Some("alert")
    );
    assert_eq!(
        got[0].attributes.get("alert").map(String::as_str),
        Some("stuck")
    );
    assert!(got[0].subject.starts_with("[Bedrock] Alert stuck:"));
    let record = stack.record(&arn).await.unwrap();
    assert!(record.alerts_sent.contains(&AlertKind::Stuck));

    // when it expires, then its end is notified as usual, once
    stack.set_status(&arn, "Expired").await;
    poll(&stack, start, 8 * 60).await;
    poll(&stack, start, 8 * 60 + 5).await;
    let after = stack.notifications().await;
    assert_eq!(said(&after), ["Expired"]);
    assert_eq!(
        after[0].attributes.get("type").map(String::as_str),
        Some("terminal")
    );
}

#[tokio::test]
async fn counts_that_stop_moving_alert_stalled_once_and_nothing_more_while_stalled() {
    // given a running job whose processed count moves, then stops at 400 of 1 000
    let stack = Stack::start().await;
    let arn = stack.create_batch("slows-down").await;
    let start = Utc::now();
    poll(&stack, start, 0).await;
    for (minute, processed) in [(5, 100), (40, 250), (80, 400)] {
        stack
            .set_progress(&arn, "InProgress", processed, 1000)
            .await;
        poll(&stack, start, minute).await;
    }

    // when it stays at 400 for over two hours, and for hours more
    let alerted = poll(&stack, start, 80 + 125).await;
    for minute in [80 + 180, 80 + 300] {
        poll(&stack, start, minute).await;
    }

    // then one stalled alert with the count it is stuck at
    assert_eq!(alerted.alerts_sent, 1);
    let got = stack.notifications().await;
    assert_eq!(said(&got), ["alert:stalled"]);
    assert_eq!(got[0].body["recordCounts"]["processed"], 400);
    assert_eq!(got[0].body["thresholdSeconds"], 2 * 3600);
    // and names the records pending and the end it had: 300 records in 75 minutes, 600 left
    let progress = &got[0].body["progress"];
    assert_eq!(progress["remaining"], 600);
    assert_eq!(progress["recordsPerHour"], 240.0);
    let had = start + Duration::minutes(80 + 150);
    assert_eq!(at(&progress["estimatedEnd"]).timestamp(), had.timestamp());
    let text = got[0].body["text"].as_str().unwrap();
    assert!(
        text.contains("600 records left; at 240 records/hour"),
        "{text}"
    );
    assert!(
        text.contains(&had.format("%Y-%m-%d %H:%M UTC").to_string()),
        "{text}"
    );
}

fn at(value: &serde_json::Value) -> DateTime<Utc> {
    let text = value.as_str().expect("a date-time");
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_job_on_track_to_finish_before_its_expiration_time_gets_no_expiring_alert() {
    // given a running job (48-hour timeout) moving about 20 records an hour, 1,000 in all
    let stack = Stack::start().await;
    let arn = stack.create_batch("on-track").await;
    let start = Utc::now();
    poll(&stack, start, 0).await;
    stack.set_progress(&arn, "InProgress", 100, 1000).await;
    poll(&stack, start, 60).await;

    // when runs come within six hours of its expiration time, the count still moving
    for (hour, processed) in [(43, 930), (44, 950), (45, 970)] {
        stack
            .set_progress(&arn, "InProgress", processed, 1000)
            .await;
        poll(&stack, start, hour * 60).await;
    }

    // then nobody is warned: at its rate it ends about 46.5 h after submission
    assert_eq!(said(&stack.notifications().await), Vec::<String>::new());
    let record = stack.record(&arn).await.unwrap();
    let end = record.estimate().and_then(|e| e.end).expect("an estimate");
    assert!(end < record.deadline.unwrap(), "{end} before the deadline");
}

#[tokio::test]
async fn a_job_projected_to_miss_its_expiration_time_gets_exactly_one_expiring_alert() {
    // given a running job (48-hour timeout) that did 100 of 1,000 records in its first 9 hours
    let stack = Stack::start().await;
    let arn = stack.create_batch("too-slow").await;
    let start = Utc::now();
    poll(&stack, start, 0).await;
    stack.set_progress(&arn, "InProgress", 100, 1000).await;
    poll(&stack, start, 60).await;
    stack.set_progress(&arn, "InProgress", 200, 1000).await;

    // when runs come at 10 hours, and later on as it crawls on
    poll(&stack, start, 10 * 60).await;
    for (hour, processed) in [(20, 320), (43, 560), (44, 570)] {
        stack
            .set_progress(&arn, "InProgress", processed, 1000)
            .await;
        poll(&stack, start, hour * 60).await;
    }

    // then one expiring alert, at the first run whose rate showed it, 38 hours ahead
    let got = stack.notifications().await;
    assert_eq!(said(&got), ["alert:expiring"]);
    let body = &got[0].body;
    let left = body["elapsedSeconds"].as_i64().unwrap();
    assert!((37 * 3600..=38 * 3600).contains(&left), "38 h left: {left}");
    assert!(at(&body["progress"]["estimatedEnd"]) > at(&body["deadline"]));
    assert_eq!(body["progress"]["remaining"], 800);
    assert_eq!(body["schemaVersion"], "1.3");
    let errors: Vec<String> = testkit::schema()
        .iter_errors(body)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "schema-valid: {errors:?}");
    for older in ["1.1", "1.2"] {
        let errors = testkit::errors_for_consumers_of(older, body);
        assert!(
            errors.is_empty(),
            "a consumer of {older} still validates it: {errors:?}"
        );
    }
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("at its rate would finish about"), "{text}");
}

#[tokio::test]
async fn a_job_nearing_its_expiration_time_alerts_once_with_the_time_left() {
    // given a running job that expires 48 hours after submission and moves too slowly to make it
    let stack = Stack::start().await;
    let arn = stack.create_batch("long-backlog").await;
    let start = Utc::now();
    poll(&stack, start, 0).await;
    stack.set_progress(&arn, "InProgress", 10, 1000).await;
    poll(&stack, start, 5).await;

    // when runs come within six hours of its expiration time
    stack.set_progress(&arn, "InProgress", 600, 1000).await;
    poll(&stack, start, 43 * 60).await;
    stack.set_progress(&arn, "InProgress", 700, 1000).await;
    poll(&stack, start, 44 * 60).await;

    // then one expiring alert saying how much is left and how far it got
    let got = stack.notifications().await;
    assert_eq!(said(&got), ["alert:expiring"]);
    let left = got[0].body["elapsedSeconds"].as_i64().unwrap();
    assert!(
        (4 * 3600..=5 * 3600).contains(&left),
        "about 5 h left: {left}"
    );
    assert!(got[0].body["deadline"].is_string());
    assert!(got[0].body["text"]
        .as_str()
        .unwrap()
        .contains("600 of 1,000"));
}

#[tokio::test]
async fn a_job_that_finishes_before_any_threshold_gets_only_its_terminal_notice() {
    // given a job that runs for an hour and completes
    let stack = Stack::start().await;
    let arn = stack.create_batch("quick").await;
    let start = Utc::now();
    poll(&stack, start, 0).await;
    stack.set_progress(&arn, "InProgress", 10, 1000).await;
    poll(&stack, start, 30).await;
    stack.set_status(&arn, "Completed").await;
    poll(&stack, start, 60).await;

    // then only its end is notified
    assert_eq!(said(&stack.notifications().await), ["Completed"]);
}

#[tokio::test]
async fn an_alert_is_never_sent_for_a_job_that_is_already_terminal() {
    // given a waiting job that expires before any run past the threshold sees it waiting
    let stack = Stack::start().await;
    let arn = stack.create_batch("expired-unseen").await;
    let start = Utc::now();
    poll(&stack, start, 0).await;
    stack.set_status(&arn, "Scheduled").await;
    poll(&stack, start, 5).await;
    stack.set_status(&arn, "Expired").await;

    // when runs come after the threshold
    poll(&stack, start, 7 * 60).await;
    poll(&stack, start, 8 * 60).await;

    // then only the expiry
    assert_eq!(said(&stack.notifications().await), ["Expired"]);
}

#[tokio::test]
async fn a_failed_alert_publish_is_retried_next_run_and_sent_once() {
    // given a stuck job and a run whose topic is wrong
    let stack = Stack::start().await;
    let arn = stack.create_batch("alert-publish-fails").await;
    let start = Utc::now();
    poll(&stack, start, 0).await;
    stack.set_status(&arn, "Submitted").await;
    let broken = Poller::new(
        BatchInferenceSource::new(stack.bedrock.clone()),
        stack.store(),
        Sinks::new(
            stack.sns.clone(),
            "arn:aws:sns:us-east-1:123456789012:no-such-topic",
        ),
        alerting(&stack),
    );
    let failed = broken
        .run(start + Duration::hours(7), "broken")
        .await
        .unwrap();
    assert_eq!((failed.alerts_sent, failed.notifications_pending), (0, 1));
    let pending = stack.record(&arn).await.unwrap();
    assert_eq!(pending.pending_alert, Some(AlertKind::Stuck));

    // when healthy runs follow
    let retried = poll(&stack, start, 7 * 60 + 5).await;
    poll(&stack, start, 8 * 60).await;

    // then the alert is published once
    assert_eq!(retried.alerts_sent, 1);
    assert_eq!(said(&stack.notifications().await), ["alert:stuck"]);
    assert_eq!(stack.record(&arn).await.unwrap().pending_alert, None);
}

#[tokio::test]
async fn three_hundred_alerts_in_one_run_reach_people_as_one_digest_and_machines_one_document_each()
{
    // given 300 batch jobs running (a 24-hour timeout), a people topic whose subscriber takes
    // alerts only, and a digest threshold of 20
    let stack = Stack::start().await;
    let people_topic = stack.create_topic("people").await;
    let alerts_only = Some(json!({"type": ["alert"]}));
    let people_queue = stack.subscribe_queue(&people_topic, alerts_only).await;
    let seed = json!({"kind": "batch-inference", "count": 300, "statuses": {"InProgress": 1},
        "spreadHours": 1, "newestHoursAgo": 0, "namePrefix": "backlog"});
    stack.control("seed", seed).await;
    let poller = Poller::new(
        BatchInferenceSource::new(stack.bedrock.clone()),
        stack.store(),
        stack.notifier().with_people_topic(&people_topic),
        PollSettings {
            digest_threshold: Some(20),
            ..alerting(&stack)
        },
    );
    let start = Utc::now();
    let deployed = poller.run(start, "deployed").await.unwrap();
    assert_eq!(
        deployed.alerts_sent, 0,
        "a first run records running jobs silently"
    );

    // when the next run comes 20 hours on: every job is within 6 hours of its expiration
    let next = poller
        .run(start + Duration::hours(20), "next")
        .await
        .unwrap();

    // then machines have one `expiring` document per job, people one digest of them all
    assert_eq!(
        (
            next.alerts_sent,
            next.people_messages_sent,
            next.digests_sent
        ),
        (300, 1, 1)
    );
    let documents = stack.notifications().await;
    assert_eq!(documents.len(), 300);
    assert!(said(&documents).iter().all(|s| s == "alert:expiring"));
    let jobs: std::collections::BTreeSet<&str> = documents.iter().map(|d| d.arn()).collect();
    assert_eq!(jobs.len(), 300);
    let digests = stack.envelopes(&people_queue).await;
    assert_eq!(
        digests.len(),
        1,
        "one email, through a `type=alert` filter policy"
    );
    let subject = digests[0]["Subject"].as_str().unwrap();
    assert!(
        subject.starts_with("[Bedrock] 300 expiring: 300 batch inference jobs need attention"),
        "{subject}"
    );
    let text = digests[0]["Message"].as_str().unwrap();
    let lines = text.lines().filter(|l| l.starts_with("expiring  backlog-"));
    assert_eq!(lines.count(), 300, "{text}");
    assert_eq!(digests[0]["MessageAttributes"]["type"]["Value"], "alert");
    // and the run after tells nobody again
    let after = poller.run(start + Duration::hours(20) + Duration::minutes(5), "after");
    let after = after.await.unwrap();
    assert_eq!((after.alerts_sent, after.people_messages_sent), (0, 0));
}
