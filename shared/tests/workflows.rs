//! Workflow waits on the in-memory adapters: resumed once with the topic's document, failed
//! with a `Catch`-able error, heartbeats while open, closed tokens dropped, and a seeded crash
//! campaign over the resume path (no lost and no repeated resume). The same behaviour end to
//! end, with Step Functions executing on moto: `tests/tests/workflows.rs`.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobwatch::domain::{JobArn, JobKind, Phase, RunId, Sink};
use jobwatch::metrics::MetricsSink;
use jobwatch::poller::{Fleet, ScopePoller};
use jobwatch::targets::{Account, Target};
use jobwatch::testing::{
    MemoryJobStore, MemoryWaits, MemoryWorkflows, RecordingNotifier, ScriptedSource, Told,
};
use jobwatch::workflows::startup::{after_invocation, Invocation};
use jobwatch::workflows::{JobScopes, Resumed, Resumer, Wait, WaitRequest, WaitStore, Workflows};
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

/// The world's poller with `NOTIFY_TAGS=team`, as the one scope of a fleet (the resumer reads
/// documents through it, as a deployed poller's resumer does).
fn tagged_fleet(world: &World) -> Arc<TestFleet> {
    let mut settings = jobwatch::testing::poll_settings();
    settings.presentation.notify_tags = vec!["team".into()];
    let poller = Poller::new(
        world.bedrock.clone(),
        world.table.clone(),
        world.topic.clone(),
        settings,
    );
    Arc::new(Fleet {
        scopes: vec![ScopePoller {
            target: Target {
                account: Account::Own,
                region: "us-east-1".into(),
            },
            access: None,
            poller,
        }],
        concurrency: 1,
        read_together_max: 0,
        schedule: None,
    })
}

type TestFleet = Fleet<Arc<ScriptedSource>, Arc<MemoryJobStore>, Arc<RecordingNotifier>>;

/// A completed, tagged job a workflow waited on, polled by the tagged fleet, and the resume.
async fn tagged_job_resumed(world: &World, fail_tag_reads: usize) -> (Resumed, serde_json::Value) {
    let fleet = tagged_fleet(world);
    let job = world
        .bedrock
        .job("g1", "InProgress", t0() - Duration::hours(1));
    world
        .bedrock
        .tag(&job.arn, &[("team", "vision"), ("owner", "private")]);
    fleet.run(t0(), "r0").await.expect("run");
    world.wait(&job.arn, "tok-g", &[Phase::Succeeded]).await;
    world
        .bedrock
        .set_status(&job.arn, "Completed", t0() + Duration::minutes(1));
    fleet
        .run(t0() + Duration::minutes(5), "r1")
        .await
        .expect("run");
    world.bedrock.fail_next_tag_reads(fail_tag_reads);
    let resumer = Resumer {
        scopes: Some(fleet.clone() as Arc<dyn JobScopes>),
        ..world.resumer()
    };
    let resumed = resumer
        .resume_family(
            JobKind::BatchInference,
            t0() + Duration::minutes(5),
            &RunId::new("r1"),
            true,
        )
        .await;
    let Some(Told::Succeeded { output }) = world.sfn.told("tok-g") else {
        panic!("the task succeeded: {resumed:?}");
    };
    (resumed, serde_json::from_str(&output).expect("JSON"))
}

#[tokio::test]
async fn given_notify_tags_then_the_success_document_is_the_topics_with_the_kept_tags() {
    let world = World::new();
    let (resumed, document) = tagged_job_resumed(&world, 0).await;
    let topic = world.topic.delivered_to(Sink::Topic);
    assert_eq!(document, topic.last().expect("a notice").body);
    assert_eq!(document["tags"], serde_json::json!({"team": "vision"}));
    assert_eq!((resumed.succeeded, resumed.tag_reads_failed), (1, 0));
}

#[tokio::test]
async fn given_tags_that_cannot_be_read_then_the_workflow_resumes_without_them_and_it_is_counted() {
    let world = World::new();
    let (resumed, document) = tagged_job_resumed(&world, 1).await;
    assert_eq!((resumed.succeeded, resumed.tag_reads_failed), (1, 1));
    assert!(document["tags"].get("team").is_none(), "{document}");
    assert_eq!(document["status"], "Completed");
}

#[tokio::test]
async fn given_a_resume_then_its_counts_are_emitted_as_emf_under_jobkind_workflows() {
    // Given a job that completed under a waiting workflow, and one whose callback fails
    let world = World::new();
    let job = world
        .bedrock
        .job("m1", "InProgress", t0() - Duration::hours(1));
    world.poller().run(t0(), "r0").await.expect("run");
    world.wait(&job.arn, "tok-m", &[Phase::Succeeded]).await;
    world
        .wait(
            &JobArn::new(job.arn.as_str()),
            "tok-broken",
            &[Phase::Succeeded],
        )
        .await;
    world.sfn.fail_token("tok-broken");
    world
        .bedrock
        .set_status(&job.arn, "Completed", t0() + Duration::minutes(1));
    let polled = world
        .poller()
        .run(t0() + Duration::minutes(5), "r1")
        .await
        .expect("run");
    // When the poller's invocation ends
    let metrics = MetricsSink::capture("Test/Workflows");
    let output = Ok(jobwatch::handler::Output::Polled(Box::new(polled)));
    let resumer = world.resumer();
    after_invocation(
        Some(&resumer),
        JobKind::BatchInference,
        Invocation {
            run_id: &RunId::new("r1"),
            own_account: None,
        },
        &output,
        &metrics,
    )
    .await;
    // Then one EMF line says what the resume did, under the one workflows dimension
    let lines = metrics.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let doc: serde_json::Value = serde_json::from_str(&lines[0]).expect("JSON");
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["JobKind"]])
    );
    assert_eq!(doc["JobKind"], jobwatch::metrics::WORKFLOWS);
    assert_eq!(doc["source"], "batch-inference");
    assert_eq!(
        (&doc["WorkflowsSucceeded"], &doc["WorkflowResumeErrors"]),
        (&serde_json::json!(1), &serde_json::json!(1)),
        "{doc}"
    );
    let names = jobwatch::metrics::names();
    for (name, _) in Resumed::default().metrics() {
        assert!(names.contains(&name), "{name} is declared");
    }
}

/// An organisation deployment's places: the own account fixed, members from the registry the
/// last refresh saved (none of their roles is assumed until a read).
async fn org_places(registry: MemoryJobStore) -> jobwatch::workflows::LivePlaces {
    let vars: std::collections::HashMap<String, String> = [
        ("JOBS_TABLE", "jobs"),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:111111111111:t"),
        ("AWS_REGION", "us-east-1"),
        ("REGIONS", "us-east-1,eu-west-1"),
        ("ORG_UNITS", "all"),
        ("WATCHED_FAMILIES", "batch-inference"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = jobwatch::Config::from_vars(&vars).expect("config");
    let base = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    jobwatch::workflows::LivePlaces::new(&base, &config, Box::new(registry)).await
}

#[tokio::test]
async fn given_an_organisation_then_a_selected_members_job_is_placed_in_its_scope_and_others_are_named(
) {
    use jobwatch::org::{Member, Registry, RegistryStore};
    use jobwatch::workflows::Places;

    let store = MemoryJobStore::default();
    let member = Member {
        id: "444444444444".into(),
        name: "ml".into(),
        role: "arn:aws:iam::444444444444:role/bedrock-jobwatch-reader".into(),
    };
    let registry = Registry {
        watched: vec![member],
        ..Registry::default()
    };
    store.save_registry(&registry).await.expect("saved");
    let places = org_places(store).await;
    let arn = |account: &str, region: &str| {
        JobArn::new(format!(
            "arn:aws:bedrock:{region}:{account}:model-invocation-job/abcdefghijkl"
        ))
    };
    let own = Some("111111111111");
    let batch = JobKind::BatchInference;

    let placed = places
        .place(batch, &arn("444444444444", "eu-west-1"), own)
        .await
        .expect("read")
        .expect("placed");
    assert_eq!(placed.member.as_deref(), Some("444444444444"));
    let own_job = places
        .place(batch, &arn("111111111111", "us-east-1"), own)
        .await
        .expect("read")
        .expect("placed");
    assert_eq!(own_job.member, None);
    let outside = places
        .place(batch, &arn("555555555555", "us-east-1"), own)
        .await
        .expect("read")
        .expect_err("refused");
    assert!(
        outside.contains("does not watch account 555555555555")
            && outside.contains("not in the organisation's watched accounts"),
        "{outside}"
    );
    let region = places
        .place(batch, &arn("444444444444", "ap-northeast-1"), own)
        .await
        .expect("read")
        .expect_err("refused");
    assert!(
        region.contains("in ap-northeast-1 of account 444444444444"),
        "{region}"
    );
}

#[tokio::test]
async fn given_a_job_of_another_account_than_the_functions_then_its_document_shows_no_account_name()
{
    // An organisation member's job is polled by the workers, not by a scope of the poller: its
    // notices show its account id, so its workflow's document must too.
    let world = World::new();
    let job = world
        .bedrock
        .job("o1", "InProgress", t0() - Duration::hours(1));
    world.poller().run(t0(), "r0").await.expect("run");
    world.wait(&job.arn, "tok-o", &[Phase::Succeeded]).await;
    world
        .bedrock
        .set_status(&job.arn, "Completed", t0() + Duration::minutes(1));
    world
        .poller()
        .run(t0() + Duration::minutes(5), "r1")
        .await
        .expect("run");
    let mut resumer = world.resumer();
    resumer.presentation.account_name = Some("prod".into());
    let run = RunId::new("r1");
    let pass = jobwatch::workflows::Pass {
        now: t0() + Duration::minutes(5),
        run_id: &run,
        heartbeat: true,
        scope: None,
        own_account: Some("999999999999"),
    };
    let resumed = resumer
        .resume_family_in(JobKind::BatchInference, pass)
        .await;
    assert_eq!(resumed.succeeded, 1, "{resumed:?}");
    let Some(Told::Succeeded { output }) = world.sfn.told("tok-o") else {
        panic!("the task succeeded");
    };
    let document: serde_json::Value = serde_json::from_str(&output).expect("JSON");
    assert_eq!(document["account"], "123456789012");
    assert!(document["accountName"].is_null(), "{document}");
}
