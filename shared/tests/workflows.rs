//! Workflow waits on the in-memory adapters: resumed once with the topic's document, failed
//! with a `Catch`-able error, heartbeats while open, closed tokens dropped, and a seeded crash
//! campaign over the resume path (no lost and no repeated resume). The same behaviour end to
//! end, with Step Functions executing on moto: `tests/tests/workflows.rs`.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobwatch::domain::{JobArn, JobKind, Phase, RunId, Sink};
use jobwatch::testing::{
    MemoryJobStore, MemoryWaits, MemoryWorkflows, RecordingNotifier, ScriptedSource, Told,
};
use jobwatch::workflows::{Resumed, Resumer, Wait, WaitRequest, WaitStore, Workflows};
use jobwatch::Poller;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

struct World {
    bedrock: Arc<ScriptedSource>,
    table: Arc<MemoryJobStore>,
    topic: Arc<RecordingNotifier>,
    waits: Arc<MemoryWaits>,
    sfn: Arc<MemoryWorkflows>,
}

type TestResumer = Resumer<Arc<MemoryWaits>, Arc<MemoryJobStore>, Arc<MemoryWorkflows>>;

impl World {
    fn new() -> Self {
        Self {
            bedrock: Arc::new(ScriptedSource::new(JobKind::BatchInference)),
            table: Arc::new(MemoryJobStore::default()),
            topic: Arc::new(RecordingNotifier::default()),
            waits: Arc::new(MemoryWaits::default()),
            sfn: Arc::new(MemoryWorkflows::default()),
        }
    }

    fn poller(&self) -> Poller<Arc<ScriptedSource>, Arc<MemoryJobStore>, Arc<RecordingNotifier>> {
        let settings = jobwatch::testing::poll_settings();
        Poller::new(
            self.bedrock.clone(),
            self.table.clone(),
            self.topic.clone(),
            settings,
        )
    }

    fn resumer(&self) -> TestResumer {
        Resumer {
            waits: self.waits.clone(),
            store: self.table.clone(),
            workflows: self.sfn.clone(),
            presentation: Default::default(),
            scopes: None,
            lease: Duration::minutes(5),
        }
    }

    /// A workflow waits on `arn` with `token` (the task is open in Step Functions).
    async fn wait(&self, arn: &JobArn, token: &str, succeed_on: &[Phase]) {
        self.sfn.open(token);
        let request = WaitRequest {
            job_arn: arn.clone(),
            family: JobKind::BatchInference,
            task_token: token.to_owned(),
            succeed_on: succeed_on.iter().copied().collect::<BTreeSet<_>>(),
        };
        self.waits
            .add(&Wait::new(&request, t0()))
            .await
            .expect("stored");
    }

    async fn poll_and_resume(&self, now: DateTime<Utc>, run: &str) -> Resumed {
        self.poller().run(now, run).await.expect("run");
        let run_id = RunId::new(run);
        self.resumer()
            .resume_family(JobKind::BatchInference, now, &run_id, true)
            .await
    }
}

#[tokio::test]
async fn given_a_wait_on_an_open_job_when_it_completes_then_the_workflow_gets_the_topics_document_once(
) {
    // Given an open job, recorded, and a workflow waiting on it
    let world = World::new();
    let job = world
        .bedrock
        .job("a1", "InProgress", t0() - Duration::hours(1));
    world.poller().run(t0(), "r0").await.expect("run");
    world.wait(&job.arn, "tok-1", &[Phase::Succeeded]).await;
    // When a run sees it still open, then it completes and the next run settles it
    let open = world
        .poll_and_resume(t0() + Duration::minutes(5), "r1")
        .await;
    world
        .bedrock
        .set_status(&job.arn, "Completed", t0() + Duration::minutes(6));
    let settled = world
        .poll_and_resume(t0() + Duration::minutes(10), "r2")
        .await;
    let again = world
        .poll_and_resume(t0() + Duration::minutes(15), "r3")
        .await;
    // Then a heartbeat while open, one success with the topic's document, nothing after
    assert_eq!((open.heartbeats, open.succeeded), (1, 0));
    assert_eq!(settled.succeeded, 1, "{settled:?}");
    assert!(again.is_empty(), "{again:?}");
    let Some(Told::Succeeded { output }) = world.sfn.told("tok-1") else {
        panic!("the task succeeded");
    };
    let topic = world.topic.delivered_to(Sink::Topic);
    let document: serde_json::Value = serde_json::from_str(&output).expect("JSON");
    assert_eq!(document, topic.last().expect("a notice").body);
    assert!(world.waits.all().is_empty());
}

#[tokio::test]
async fn given_a_failed_job_then_the_task_fails_with_bedrock_failed_and_the_message_as_cause() {
    let world = World::new();
    let job = world
        .bedrock
        .job("f1", "InProgress", t0() - Duration::hours(1));
    world.bedrock.update(&job.arn, |j| {
        j.message = Some("input file malformed".into())
    });
    world.poller().run(t0(), "r0").await.expect("run");
    world.wait(&job.arn, "tok-f", &[Phase::Succeeded]).await;
    world
        .bedrock
        .set_status(&job.arn, "Failed", t0() + Duration::minutes(1));
    let resumed = world
        .poll_and_resume(t0() + Duration::minutes(5), "r1")
        .await;
    assert_eq!(resumed.failed, 1);
    assert_eq!(
        world.sfn.told("tok-f"),
        Some(Told::Failed {
            error: "Bedrock.Failed".into(),
            cause: "input file malformed".into()
        })
    );
}

#[tokio::test]
async fn given_partially_completed_then_succeed_on_decides_per_workflow() {
    let world = World::new();
    let job = world
        .bedrock
        .job("p1", "InProgress", t0() - Duration::hours(1));
    world.poller().run(t0(), "r0").await.expect("run");
    world.wait(&job.arn, "strict", &[Phase::Succeeded]).await;
    world
        .wait(
            &job.arn,
            "lenient",
            &[Phase::Succeeded, Phase::PartiallySucceeded],
        )
        .await;
    world
        .bedrock
        .set_status(&job.arn, "PartiallyCompleted", t0() + Duration::minutes(1));
    let resumed = world
        .poll_and_resume(t0() + Duration::minutes(5), "r1")
        .await;
    assert_eq!((resumed.succeeded, resumed.failed), (1, 1), "{resumed:?}");
    assert!(matches!(
        world.sfn.told("lenient"),
        Some(Told::Succeeded { .. })
    ));
    assert!(
        matches!(world.sfn.told("strict"), Some(Told::Failed { error, .. }) if error == "Bedrock.PartiallySucceeded")
    );
}

#[tokio::test]
async fn given_two_workflows_on_one_job_then_each_is_resumed_once() {
    let world = World::new();
    let job = world
        .bedrock
        .job("t1", "InProgress", t0() - Duration::hours(1));
    world.poller().run(t0(), "r0").await.expect("run");
    world.wait(&job.arn, "first", &[Phase::Succeeded]).await;
    world.wait(&job.arn, "second", &[Phase::Succeeded]).await;
    world
        .bedrock
        .set_status(&job.arn, "Completed", t0() + Duration::minutes(1));
    let resumed = world
        .poll_and_resume(t0() + Duration::minutes(5), "r1")
        .await;
    let later = world
        .poll_and_resume(t0() + Duration::minutes(10), "r2")
        .await;
    assert_eq!(resumed.succeeded, 2);
    assert!(later.is_empty());
    assert_eq!(world.sfn.refused.load(Ordering::Relaxed), 0);
    assert!(world.sfn.told("first").is_some() && world.sfn.told("second").is_some());
}

#[tokio::test]
async fn given_an_expired_token_then_the_wait_is_dropped_and_never_retried() {
    let world = World::new();
    let job = world
        .bedrock
        .job("e1", "InProgress", t0() - Duration::hours(1));
    world.poller().run(t0(), "r0").await.expect("run");
    world.wait(&job.arn, "gone", &[Phase::Succeeded]).await;
    world.sfn.expire("gone");
    let first = world
        .poll_and_resume(t0() + Duration::minutes(5), "r1")
        .await;
    let calls = world.sfn.calls();
    let second = world
        .poll_and_resume(t0() + Duration::minutes(10), "r2")
        .await;
    assert_eq!((first.dropped, first.heartbeats), (1, 0));
    assert!(second.is_empty());
    assert_eq!(world.sfn.calls(), calls, "no call after the drop");
    assert!(world.waits.all().is_empty());
}

#[tokio::test]
async fn given_an_event_run_then_waits_are_answered_but_not_heartbeaten() {
    let world = World::new();
    let job = world
        .bedrock
        .job("h1", "InProgress", t0() - Duration::hours(1));
    world.poller().run(t0(), "r0").await.expect("run");
    world.wait(&job.arn, "tok", &[Phase::Succeeded]).await;
    let resumed = world
        .resumer()
        .resume_family(JobKind::BatchInference, t0(), &RunId::new("ev"), false)
        .await;
    assert!(resumed.is_empty());
    assert_eq!(world.sfn.heartbeats("tok"), 0);
}

/// Seeded: jobs end at random, runs crash between the terminal write and the resume (no
/// resume that run) or between the callback and the wait's delete. At the end every waiting
/// task is answered exactly once with its job's outcome; the only extra callbacks are re-sends
/// after a crash after the callback (refused by Step Functions as `InvalidToken`), at most one
/// per such crash; no wait is left.
#[tokio::test]
async fn given_crashes_around_the_resume_then_no_workflow_is_lost_or_resumed_twice() {
    let seed: u64 = std::env::var("WAITS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(31);
    let mut rng = StdRng::seed_from_u64(seed);
    let world = World::new();
    let mut tokens = Vec::new();
    for i in 0..30 {
        let job = world
            .bedrock
            .job(&format!("c{i}"), "InProgress", t0() - Duration::hours(1));
        for w in 0..rng.random_range(1..=2) {
            tokens.push((job.arn.clone(), format!("tok-{i}-{w}")));
        }
    }
    world.poller().run(t0(), "r0").await.expect("run");
    for (arn, token) in &tokens {
        world.wait(arn, token, &[Phase::Succeeded]).await;
    }
    let ends = [
        "Completed",
        "Failed",
        "Stopped",
        "Expired",
        "PartiallyCompleted",
    ];
    let (mut skipped_resumes, mut now) = (0, t0());
    for round in 0..40 {
        // The lease of a crashed run has run out by the next round.
        now += Duration::minutes(6);
        for (arn, _) in &tokens {
            if rng.random_bool(0.2) {
                world
                    .bedrock
                    .set_status(arn, ends[rng.random_range(0..ends.len())], now);
            }
        }
        let run = format!("r{}", round + 1);
        world.poller().run(now, run.as_str()).await.expect("run");
        // Every few rounds for sure, else at random: each kind of crash happens in every seed.
        if round % 5 == 3 || rng.random_bool(0.2) {
            skipped_resumes += 1; // crashed between the terminal writes and the resume
            continue;
        }
        let crash_after_callback = round % 4 == 1 || rng.random_bool(0.25);
        world
            .waits
            .crash_on_remove
            .store(crash_after_callback, Ordering::SeqCst);
        world
            .resumer()
            .resume_family(JobKind::BatchInference, now, &RunId::new(run), true)
            .await;
    }
    // Then the jobs all end and calm runs follow
    world.waits.crash_on_remove.store(false, Ordering::SeqCst);
    for (arn, _) in &tokens {
        world.bedrock.set_status(arn, "Completed", now);
    }
    for round in 0..3 {
        now += Duration::minutes(6);
        world.poll_and_resume(now, &format!("calm{round}")).await;
    }
    for (arn, token) in &tokens {
        assert!(
            world.sfn.told(token).is_some(),
            "{token} on {arn} was never resumed (seed {seed})"
        );
    }
    let crashes = world.waits.crashes.load(Ordering::Relaxed);
    let refused = world.sfn.refused.load(Ordering::Relaxed);
    assert!(
        refused <= crashes,
        "{refused} re-sends for {crashes} crashes after a callback (seed {seed})"
    );
    assert!(
        crashes > 0 && skipped_resumes > 0,
        "the campaign injected both crash kinds (seed {seed})"
    );
    assert!(
        world.waits.all().is_empty(),
        "waits left: {:?}",
        world.waits.all()
    );
}
