//! Early warnings, on the in-memory adapters: which alert a job is due (the pure rules) and what
//! whole polls send. The same behaviour is proven end to end in `tests/tests/alerts.rs`.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobwatch::domain::{
    due, plan, plan_watch, AlertInputs, AlertKind, AlertSettings, DurationStats, JobArn, JobKind,
    JobRecord, PlanContext, RecordCounts, RunId, Scope, WatchContext,
};
use jobwatch::testing::{MemoryJobStore, RecordingNotifier, ScriptedSource};
use jobwatch::{PollSettings, Poller};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn alerts() -> AlertSettings {
    AlertSettings::default()
}

fn settings(alerts: AlertSettings) -> PollSettings {
    PollSettings {
        alerts,
        ..jobwatch::testing::poll_settings()
    }
}

struct World {
    bedrock: Arc<ScriptedSource>,
    table: Arc<MemoryJobStore>,
    topic: Arc<RecordingNotifier>,
}

impl World {
    fn new(kind: JobKind) -> Self {
        Self {
            bedrock: Arc::new(ScriptedSource::with_page_size(kind, 1000)),
            table: Arc::new(MemoryJobStore::default()),
            topic: Arc::new(RecordingNotifier::default()),
        }
    }

    /// Polls at `t0() + minutes`, alerts as given.
    async fn poll_with(&self, minutes: i64, alerts: AlertSettings) -> jobwatch::RunSummary {
        let at = t0() + Duration::minutes(minutes);
        Poller::new(
            self.bedrock.clone(),
            self.table.clone(),
            self.topic.clone(),
            settings(alerts),
        )
        .run(at, format!("run-{minutes}"))
        .await
        .expect("a run")
    }

    async fn poll(&self, minutes: i64) -> jobwatch::RunSummary {
        self.poll_with(minutes, alerts()).await
    }

    fn sent(&self) -> Vec<String> {
        self.topic
            .sent()
            .into_iter()
            .map(|(_, what)| what)
            .collect()
    }

    fn counts(&self, arn: &JobArn, processed: i64) {
        self.bedrock.update(arn, |job| {
            job.counts = RecordCounts {
                total: Some(1000),
                processed: Some(processed),
                ..Default::default()
            }
        });
    }
}

fn minutes(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}

#[tokio::test]
async fn a_job_held_in_scheduled_alerts_once_then_its_expiry_is_notified() {
    // given a batch job that waits in Scheduled (the default stuck threshold is 6 hours)
    let world = World::new(JobKind::BatchInference);
    world.poll(0).await;
    let job = world.job_at("held", "Scheduled", 1);
    world.poll(5).await;
    assert!(world.sent().is_empty(), "not stuck yet");

    // when it is still waiting after six hours, and after seven
    let alerting = world.poll(6 * 60 + 5).await;
    world.poll(7 * 60).await;

    // then one stuck alert, counted apart from status notices
    assert_eq!(world.sent(), ["alert:stuck"]);
    assert_eq!((alerting.alerts_sent, alerting.notifications_sent), (1, 0));
    let notice = &world.topic.published()[0];
    assert_eq!(notice.body["type"], "alert");
    assert_eq!(notice.body["thresholdSeconds"], 6 * 3600);
    assert!(notice
        .attributes
        .contains(&("type".to_owned(), "alert".to_owned())));

    // when it expires, then its end is notified as usual
    world.bedrock.set_status(&job, "Expired", minutes(8 * 60));
    world.poll(8 * 60 + 5).await;
    assert_eq!(world.sent(), ["alert:stuck", "Expired"]);
}

impl World {
    fn job_at(&self, id: &str, status: &str, submitted_minute: i64) -> JobArn {
        self.bedrock.job(id, status, minutes(submitted_minute)).arn
    }
}

#[tokio::test]
async fn counts_that_stop_moving_alert_stalled_once_and_nothing_more_while_stalled() {
    // given a running batch job whose processed count moves, then stops at 400
    let world = World::new(JobKind::BatchInference);
    world.poll(0).await;
    let job = world.job_at("slow", "InProgress", 1);
    for (minute, processed) in [(5, 100), (35, 250), (65, 400)] {
        world.counts(&job, processed);
        world.poll(minute).await;
    }
    assert!(world.sent().is_empty(), "moving counts are not stalled");

    // when it stays at 400 for two hours and more, over many runs
    for minute in (95..=65 + 300).step_by(30) {
        world.poll(minute).await;
    }

    // then one stalled alert, and the finish afterwards
    assert_eq!(world.sent(), ["alert:stalled"]);
    world.bedrock.set_status(&job, "Completed", minutes(400));
    world.poll(405).await;
    assert_eq!(world.sent(), ["alert:stalled", "Completed"]);
}

#[tokio::test]
async fn a_job_near_its_expiration_time_alerts_once_with_the_time_left() {
    // given a running job that expires 24 hours after submission
    let world = World::new(JobKind::BatchInference);
    world.poll(0).await;
    let job = world.job_at("late", "InProgress", 1);
    world
        .bedrock
        .update(&job, |j| j.deadline = Some(minutes(1 + 24 * 60)));
    world.poll(5).await;
    assert!(world.sent().is_empty());

    // when it is within six hours of its expiration time, twice
    world.poll(19 * 60).await;
    world.poll(20 * 60).await;

    // then one expiring alert saying how much is left
    assert_eq!(world.sent(), ["alert:expiring"]);
    let body = &world.topic.published()[0].body;
    assert_eq!(body["elapsedSeconds"], (5 * 60 + 1) * 60);
    assert!(body["text"].as_str().unwrap().contains("expires in 5h 01m"));
}

#[tokio::test]
async fn a_job_that_finishes_before_any_threshold_gets_only_its_terminal_notice() {
    // given a job that runs for an hour and completes
    let world = World::new(JobKind::BatchInference);
    world.poll(0).await;
    let job = world.job_at("quick", "Submitted", 1);
    world.poll(5).await;
    world.bedrock.set_status(&job, "InProgress", minutes(20));
    world.poll(25).await;
    world.bedrock.set_status(&job, "Completed", minutes(60));
    world.poll(65).await;

    // then only its end is notified
    assert_eq!(world.sent(), ["Completed"]);
}

#[tokio::test]
async fn an_alert_is_never_sent_for_a_job_that_is_already_terminal() {
    // given a job waiting past the threshold that expires before the next run
    let world = World::new(JobKind::BatchInference);
    world.poll(0).await;
    let job = world.job_at("gone", "Scheduled", 1);
    world.poll(5).await;
    world.bedrock.set_status(&job, "Expired", minutes(7 * 60));

    // when the first run after the threshold sees it
    world.poll(7 * 60 + 5).await;
    world.poll(8 * 60).await;

    // then only the expiry is notified
    assert_eq!(world.sent(), ["Expired"]);
}

#[tokio::test]
async fn the_first_run_sends_no_alert_and_the_next_one_sends_what_is_due() {
    // given jobs waiting and running for days before the first run
    let world = World::new(JobKind::BatchInference);
    world.job_at("waiting", "Scheduled", -3 * 24 * 60);
    world.job_at("running", "InProgress", -3 * 24 * 60);

    // when the first run records them, and the next run follows
    let first = world.poll(0).await;
    let next = world.poll(5).await;

    // then the first is silent, the next sends both alerts
    assert!(first.first_run);
    assert_eq!((first.alerts_sent, next.alerts_sent), (0, 2));
    let mut said = world.sent();
    said.sort();
    assert_eq!(said, ["alert:stalled", "alert:stuck"]);
}

#[tokio::test]
async fn a_failed_alert_publish_is_retried_by_the_next_run() {
    // given a stuck job whose alert publish fails once
    let world = World::new(JobKind::ModelImport);
    world.poll(0).await;
    world.job_at("import", "InProgress", 1);
    world.poll(5).await;
    world.topic.fail_next(1);
    let failed = world.poll(7 * 60).await;
    assert_eq!((failed.alerts_sent, failed.notifications_pending), (0, 1));

    // when the next run comes
    let retried = world.poll(7 * 60 + 5).await;

    // then the alert goes out once
    assert_eq!(retried.alerts_sent, 1);
    assert_eq!(world.sent(), ["alert:stalled"]);
    world.poll(8 * 60).await;
    assert_eq!(world.sent(), ["alert:stalled"]);
}

#[tokio::test]
async fn a_job_far_slower_than_its_models_median_is_overdue() {
    // given five finished jobs of the model that took about an hour each
    let world = World::new(JobKind::ModelCustomization);
    world.poll(0).await;
    let past: Vec<_> = (0..5)
        .map(|i| world.job_at(&format!("past{i}"), "InProgress", 1))
        .collect();
    world.poll(5).await;
    for (i, job) in past.iter().enumerate() {
        world
            .bedrock
            .set_status(job, "Completed", minutes(61 + i as i64));
    }
    world.poll(70).await;
    let scope = Scope::new(JobKind::ModelCustomization, "us-east-1");
    let learned = world.table.state(&scope).durations;
    assert_eq!(learned.median(Some(MODEL), 5), Some(Duration::minutes(62)));

    // when a new job of the model runs three times as long, and longer
    world.job_at("slow", "InProgress", 100);
    world.poll(105).await;
    world.poll(100 + 3 * 62 + 5).await;
    world.poll(100 + 4 * 62).await;

    // then one overdue alert naming the median
    assert_eq!(world.sent()[5..], ["alert:overdue"]);
    let body = &world.topic.published()[5].body;
    assert_eq!(body["medianSeconds"], 62 * 60);
}

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

#[tokio::test]
async fn alerts_cost_no_bedrock_call_and_off_means_off() {
    // given 300 open jobs, some of them long past every threshold
    let run = |alerts: AlertSettings| async move {
        let world = World::new(JobKind::BatchInference);
        world.poll_with(0, alerts.clone()).await;
        for i in 0..300 {
            world.job_at(&format!("j{i}"), ["Scheduled", "InProgress"][i % 2], 1);
        }
        world.poll_with(5, alerts.clone()).await;
        let steady = world.poll_with(9 * 60, alerts.clone()).await;
        (steady.bedrock_calls, steady.alerts_sent, world.sent().len())
    };

    // when the same steady run happens with alerts on and off
    let mut on = AlertSettings::default();
    on.running_after.all = Some(Duration::hours(8));
    let (calls_on, alerts_on, sent_on) = run(on).await;
    let (calls_off, alerts_off, sent_off) = run(AlertSettings::off()).await;

    // then the same Bedrock calls; only the run with alerts sends them
    assert_eq!(calls_on, calls_off);
    assert_eq!((alerts_on, sent_on), (300, 300));
    assert_eq!((alerts_off, sent_off), (0, 0));
}

/// The item a run writes for a job first seen in `status` (through the planner itself).
fn record(status: &str, kind: JobKind) -> JobRecord {
    let world = World::new(kind);
    let job = world.bedrock.job("r", status, t0());
    let (policy, run) = (Default::default(), RunId::new("r"));
    let ctx = PlanContext {
        now: t0(),
        history_before: None,
        policy: &policy,
        region: "us-east-1",
        retention: Duration::days(90),
        run_id: &run,
        lease: Duration::minutes(5),
    };
    plan(None, &job, &ctx).expect("a first record").record
}

fn inputs(at: DateTime<Utc>, settings: &AlertSettings) -> AlertInputs<'_> {
    AlertInputs {
        now: at,
        settings,
        fresh_counts: None,
        median: None,
        activity: None,
    }
}

#[test]
fn waiting_thresholds_are_per_family_and_can_be_set_for_one() {
    let settings = alerts();
    let batch = record("Scheduled", JobKind::BatchInference);
    let kind_at =
        |r: &JobRecord, s: &AlertSettings, m: i64| due(r, &inputs(minutes(m), s)).map(|a| a.kind);
    assert_eq!(kind_at(&batch, &settings, 5 * 60), None);
    assert_eq!(kind_at(&batch, &settings, 6 * 60), Some(AlertKind::Stuck));
    let mut strict = alerts();
    strict
        .stuck_after
        .per_family
        .insert(JobKind::BatchInference, Duration::minutes(30));
    assert_eq!(kind_at(&batch, &strict, 31), Some(AlertKind::Stuck));
    let mut sent = batch.clone();
    sent.alerts_sent.insert(AlertKind::Stuck);
    assert_eq!(kind_at(&sent, &settings, 9 * 60), None, "once per job");
    let done = record("Expired", JobKind::BatchInference);
    assert_eq!(
        kind_at(&done, &settings, 99 * 60),
        None,
        "never when finished"
    );
    assert_eq!(kind_at(&batch, &AlertSettings::off(), 99 * 60), None);
}

#[test]
fn a_count_is_stalled_only_when_this_run_saw_it_unchanged() {
    let settings = alerts();
    let mut job = record("InProgress", JobKind::BatchInference);
    job.counts.processed = Some(40);
    job.progress_at = Some(t0());
    let same = RecordCounts {
        processed: Some(40),
        ..Default::default()
    };
    let moved = RecordCounts {
        processed: Some(41),
        ..Default::default()
    };
    let at = |fresh| AlertInputs {
        fresh_counts: fresh,
        ..inputs(minutes(121), &settings)
    };
    assert_eq!(due(&job, &at(None)), None, "not listed: it may be moving");
    assert_eq!(due(&job, &at(Some(&moved))), None);
    let stalled = due(&job, &at(Some(&same))).expect("stalled");
    assert_eq!(
        (stalled.kind, stalled.elapsed),
        (AlertKind::Stalled, Duration::minutes(121))
    );
}

#[test]
fn a_moving_count_is_written_at_most_every_quarter_of_the_stall_threshold() {
    let (settings, durations, run) = (alerts(), DurationStats::default(), RunId::new("r"));
    let watch = |m: i64| WatchContext {
        now: minutes(m),
        settings: &settings,
        durations: &durations,
        run_id: &run,
        lease: Duration::minutes(5),
        quiet: false,
        activity: None,
    };
    let mut job = record("InProgress", JobKind::BatchInference);
    let counts = |n| RecordCounts {
        processed: Some(n),
        ..Default::default()
    };
    let first = plan_watch(&job, Some(&counts(10)), &watch(5)).expect("first count");
    job = first.record;
    assert_eq!(job.progress_at, Some(minutes(5)));
    assert_eq!(plan_watch(&job, Some(&counts(20)), &watch(20)), None);
    let later = plan_watch(&job, Some(&counts(30)), &watch(35)).expect("30 minutes on");
    assert_eq!(later.record.counts.processed, Some(30));
    assert!(!later.notify && !later.transition);
}

#[test]
fn durations_keep_a_bounded_recent_window_per_model() {
    let mut stats = DurationStats::default();
    for minutes in 1..=40 {
        stats.record("m", Duration::minutes(minutes));
    }
    assert_eq!(stats.0["m"].len(), jobwatch::domain::DURATIONS_KEPT);
    assert_eq!(stats.median(Some("m"), 5), Some(Duration::minutes(28)));
    assert_eq!(stats.median(Some("other"), 1), None);
    assert_eq!(stats.median(None, 1), None);
}

/// A running batch job of 1,000 records submitted at t0, expiring 24 hours later, with the
/// processed counts recorded at the given minutes.
fn expiring_job(observed: &[(i64, i64)]) -> JobRecord {
    let mut job = record("InProgress", JobKind::BatchInference);
    job.deadline = Some(t0() + Duration::hours(24));
    for &(minute, processed) in observed {
        let counts = RecordCounts {
            total: Some(1000),
            processed: Some(processed),
            ..Default::default()
        };
        job.counts = counts.clone();
        job.progress_at = Some(minutes(minute));
        job.observe(&counts, minutes(minute));
    }
    job
}

/// Counts recorded (minute, processed), the minute asked, the alert due, why.
type Case<'a> = (&'a [(i64, i64)], i64, Option<AlertKind>, &'a str);

#[test]
fn expiring_warns_when_the_projected_end_falls_after_the_expiration_time() {
    let settings = alerts();
    let kind_at = |r: &JobRecord, m: i64| due(r, &inputs(minutes(m), &settings)).map(|a| a.kind);
    let expiring = Some(AlertKind::Expiring);
    // (what was recorded, when the rule is asked, what it says)
    let cases: [Case; 7] = [
        (
            &[],
            18 * 60 + 5,
            expiring,
            "no count: within 6 h of the deadline",
        ),
        (&[], 17 * 60, None, "no count: not yet within 6 h"),
        (
            &[(60, 100), (120, 200)],
            19 * 60,
            None,
            "100/h: 800 left end at 10 h, in time",
        ),
        (
            &[(60, 10), (120, 20)],
            3 * 60,
            expiring,
            "10/h: 98 h to go, warns at once",
        ),
        (
            &[(60, 100), (180, 100)],
            17 * 60,
            None,
            "flat count: no end, not yet near",
        ),
        (
            &[(60, 100), (180, 100)],
            19 * 60,
            expiring,
            "flat count near the deadline",
        ),
        (
            &[(19 * 60, 900)],
            19 * 60 + 1,
            None,
            "one count since submission, on track",
        ),
    ];
    for (observed, minute, expected, why) in cases {
        assert_eq!(kind_at(&expiring_job(observed), minute), expected, "{why}");
    }
    let mut sent = expiring_job(&[(60, 10), (120, 20)]);
    sent.alerts_sent.insert(AlertKind::Expiring);
    assert_eq!(kind_at(&sent, 19 * 60), None, "exactly once");
}
