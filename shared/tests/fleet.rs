//! A fleet of scopes on the in-memory adapters: each (account, region) keeps its own
//! watermark and watch index, a failing scope is named and does not stop the others, and events
//! go to the scope their ARN names. End to end (moto + the emulator): `tests/tests/fleet.rs`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobwatch::domain::{JobArn, JobKind, Scope};
use jobwatch::error::Error;
use jobwatch::poller::{Access, BoxFuture, Fleet, ScopePoller, READ_TOGETHER_MAX};
use jobwatch::ports::JobSource;
use jobwatch::targets::{Account, RoleArn, Target};
use jobwatch::testing::{MemoryJobStore, RecordingNotifier, ScriptedSource};
use jobwatch::{PollSettings, Poller};

type TestFleet = Fleet<Arc<ScriptedSource>, Arc<MemoryJobStore>, Arc<RecordingNotifier>>;

const MEMBER: &str = "222222222222";
const ROLE: &str = "arn:aws:iam::222222222222:role/bedrock-jobwatch-reader";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn settings(region: &str) -> PollSettings {
    PollSettings {
        region: region.into(),
        ..jobwatch::testing::poll_settings()
    }
}

/// A member account's role: assumable or not, counting the assumptions.
#[derive(Default)]
struct FakeRole {
    refused: AtomicBool,
    calls: AtomicU64,
}

impl Access for FakeRole {
    fn ready(&self) -> BoxFuture<'_, Result<(), Error>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let refused = self.refused.load(Ordering::SeqCst);
        Box::pin(async move {
            match refused {
                false => Ok(()),
                true => Err(Error::AssumeRole {
                    role: ROLE.into(),
                    retryable: false,
                    source: "AccessDenied: not authorized to perform: sts:AssumeRole".into(),
                }),
            }
        })
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Two regions of the own account and one of a member account, on one table and one topic.
struct World {
    sources: Vec<Arc<ScriptedSource>>,
    table: Arc<MemoryJobStore>,
    topic: Arc<RecordingNotifier>,
    role: Arc<FakeRole>,
    read_together_max: usize,
}

const SCOPES: [(Option<&str>, &str); 3] = [
    (None, "us-east-1"),
    (None, "eu-west-1"),
    (Some(MEMBER), "us-east-1"),
];

impl World {
    fn new() -> Self {
        let own = "123456789012";
        Self {
            sources: SCOPES
                .iter()
                .map(|(account, region)| {
                    let account = account.unwrap_or(own);
                    Arc::new(ScriptedSource::in_scope(
                        JobKind::BatchInference,
                        account,
                        region,
                    ))
                })
                .collect(),
            table: Arc::new(MemoryJobStore::default()),
            topic: Arc::new(RecordingNotifier::default()),
            role: Arc::new(FakeRole::default()),
            read_together_max: READ_TOGETHER_MAX,
        }
    }

    fn fleet(&self) -> TestFleet {
        let scopes = SCOPES
            .iter()
            .zip(&self.sources)
            .map(|((account, region), source)| {
                let poller = Poller::new(
                    source.clone(),
                    self.table.clone(),
                    self.topic.clone(),
                    settings(region),
                );
                let role = RoleArn::parse(ROLE).unwrap();
                let (account, access, poller) = match account {
                    None => (Account::Own, None, poller),
                    Some(id) => (
                        Account::Member(role),
                        Some(self.role.clone() as Arc<dyn Access>),
                        poller.in_account(*id),
                    ),
                };
                let target = Target {
                    account,
                    region: region.to_string(),
                };
                ScopePoller {
                    target,
                    access,
                    poller,
                }
            })
            .collect();
        Fleet {
            scopes,
            concurrency: 2,
            read_together_max: self.read_together_max,
            schedule: None,
        }
    }

    /// One open job per scope, then a first run (history) and the jobs finishing.
    async fn jobs_finishing_everywhere(&self, fleet: &TestFleet) -> Vec<JobArn> {
        let arns: Vec<JobArn> = self
            .sources
            .iter()
            .map(|s| s.job("j1", "InProgress", t0()).arn)
            .collect();
        fleet.run(t0(), "first").await.unwrap();
        for (source, arn) in self.sources.iter().zip(&arns) {
            source.set_status(arn, "Completed", t0() + Duration::minutes(5));
        }
        arns
    }

    fn notified(&self) -> Vec<String> {
        let mut arns: Vec<String> = self
            .topic
            .published()
            .iter()
            .map(|n| n.body["jobArn"].as_str().unwrap().to_owned())
            .collect();
        arns.sort();
        arns
    }
}

fn sorted(arns: &[JobArn]) -> Vec<String> {
    let mut out: Vec<String> = arns.iter().map(|a| a.to_string()).collect();
    out.sort();
    out
}

#[tokio::test]
async fn every_scope_notifies_its_own_jobs_once_with_its_own_watermark() {
    // given one job in each of three scopes, seen open by a first run
    let world = World::new();
    let fleet = world.fleet();
    let arns = world.jobs_finishing_everywhere(&fleet).await;
    // when the next run polls the fleet
    let summary = fleet
        .run(t0() + Duration::minutes(10), "second")
        .await
        .unwrap();
    // then each job is notified once, and each scope reports its part
    assert_eq!(world.notified(), sorted(&arns));
    assert_eq!(summary.notifications_sent, 3);
    let scopes: Vec<(&str, bool, usize)> = summary
        .scopes
        .iter()
        .map(|s| (s.scope.as_str(), s.ok, s.notifications_sent))
        .collect();
    assert_eq!(
        scopes,
        [
            ("self/us-east-1", true, 1),
            ("self/eu-west-1", true, 1),
            ("222222222222/us-east-1", true, 1)
        ]
    );
    // and each scope has its own watermark: the member's under a key with its account, the
    // own account's under the key a single-account deployment always used
    let member = Scope::member(JobKind::BatchInference, MEMBER, "us-east-1");
    for scope in [
        Scope::new(JobKind::BatchInference, "us-east-1"),
        Scope::new(JobKind::BatchInference, "eu-west-1"),
        member.clone(),
    ] {
        assert!(world.table.state(&scope).watermark.is_some(), "{scope}");
    }
    assert_eq!(member.as_str(), "batch-inference#222222222222#us-east-1");
    // and a third run sends nothing more
    let third = fleet
        .run(t0() + Duration::minutes(20), "third")
        .await
        .unwrap();
    assert_eq!(
        (third.notifications_sent, world.topic.published().len()),
        (0, 3)
    );
}

#[tokio::test]
async fn the_fleet_reads_every_scopes_open_jobs_in_one_query_and_tells_each_once() {
    let mut store_calls = Vec::new();
    // together; over the limit (3 items > 2: read, then each scope its own); never (0)
    for read_together_max in [READ_TOGETHER_MAX, 2, 0] {
        // given a job in each scope submitted an hour before the first run, so that later
        // listings no longer return it: only the watch index knows it is open
        let world = World {
            read_together_max,
            ..World::new()
        };
        let fleet = world.fleet();
        let submitted = t0() - Duration::hours(1);
        let arns: Vec<JobArn> = world
            .sources
            .iter()
            .map(|s| s.job("old", "InProgress", submitted).arn)
            .collect();
        fleet.run(t0(), "first").await.unwrap();
        for (source, arn) in world.sources.iter().zip(&arns) {
            source.set_status(arn, "Completed", t0() + Duration::minutes(30));
        }
        // when the next run polls, reading the watched items together (or, past the limit,
        // each scope its own)
        let summary = fleet
            .run(t0() + Duration::hours(1), "second")
            .await
            .unwrap();
        // then each scope reconciles its own job and tells it once
        assert_eq!(world.notified(), sorted(&arns), "limit {read_together_max}");
        assert_eq!(summary.watched, 3);
        assert!(summary.scopes.iter().all(|s| s.notifications_sent == 1));
        store_calls.push(summary.store_calls);
    }
    // and reading together made one Query for the three scopes instead of three; over the
    // limit, that read is spent and each scope queries too
    let [together, over, never] = store_calls[..] else {
        unreachable!()
    };
    assert_eq!(
        (never - together, over - together),
        (2, 3),
        "{store_calls:?}"
    );
}

#[tokio::test]
async fn a_member_accounts_open_jobs_are_watched_in_its_own_scope() {
    // given an open job in the member account, recorded by a first run
    let world = World::new();
    let fleet = world.fleet();
    let arn = world.sources[2].job("open", "InProgress", t0()).arn;
    fleet.run(t0(), "first").await.unwrap();
    // then its item is in the member scope's watch index, not the own account's
    let record = world.table.record(arn.as_str()).unwrap();
    let member = Scope::member(JobKind::BatchInference, MEMBER, "us-east-1");
    assert_eq!(record.watch, Some(member));
}

#[tokio::test]
async fn a_failing_region_is_named_and_the_others_still_notify_then_it_catches_up() {
    // given jobs finishing in every scope, and eu-west-1 failing its listing for two runs
    let world = World::new();
    let fleet = world.fleet();
    let arns = world.jobs_finishing_everywhere(&fleet).await;
    world.sources[1].fail_next_lists(1000);
    world.sources[1].fail_next_gets(1000);
    // when two runs poll
    let mut runs = Vec::new();
    for n in 1..=2 {
        runs.push(
            fleet
                .run(t0() + Duration::minutes(10 * n), format!("r{n}"))
                .await
                .unwrap(),
        );
    }
    // then the run still works (another scope listed), the failing scope is named, and the
    // other two jobs are notified
    for run in &runs {
        assert!(run.discovery_ok);
        let failing = run.scopes.iter().find(|s| !s.ok).unwrap();
        assert_eq!(failing.scope, "self/eu-west-1");
        assert!(
            run.errors.iter().any(|e| e.starts_with("self/eu-west-1: ")),
            "{:?}",
            run.errors
        );
    }
    assert_eq!(world.notified().len(), 2);
    // when the region heals
    world.sources[1].fail_next_lists(0);
    world.sources[1].fail_next_gets(0);
    let healed = fleet
        .run(t0() + Duration::minutes(40), "healed")
        .await
        .unwrap();
    // then its job is notified too, and nothing twice
    assert!(healed.scopes.iter().all(|s| s.ok));
    assert_eq!(world.notified(), sorted(&arns));
}

#[tokio::test]
async fn the_run_fails_only_when_every_scope_failed() {
    // given every scope's listing failing
    let world = World::new();
    let fleet = world.fleet();
    for source in &world.sources {
        source.fail_next_lists(10);
    }
    // when the fleet polls
    let summary = fleet.run(t0(), "down").await.unwrap();
    // then the run's listing counts as failed (the handler turns it into an error)
    assert!(!summary.discovery_ok);
    assert_eq!(summary.scopes.iter().filter(|s| !s.ok).count(), 3);
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_is_named_and_the_own_scopes_still_notify() {
    // given jobs finishing in every scope, and the member role refusing assumption
    let world = World::new();
    let fleet = world.fleet();
    let arns = world.jobs_finishing_everywhere(&fleet).await;
    world.role.refused.store(true, Ordering::SeqCst);
    // when the fleet polls
    let summary = fleet
        .run(t0() + Duration::minutes(10), "denied")
        .await
        .unwrap();
    // then the member scope fails with an error naming the role; the own scopes notify
    let member = &summary.scopes[2];
    assert!(!member.ok);
    let error = member.error.as_deref().unwrap();
    assert!(
        error.contains(ROLE) && error.contains("AccessDenied"),
        "{error}"
    );
    assert_eq!(world.notified(), sorted(&arns[..2]));
    assert_eq!(summary.failures_by_stage.get("scope"), Some(&1));
}

#[tokio::test]
async fn an_event_is_confirmed_in_the_scope_its_arn_names() {
    // given a member job that finished, recorded open by a first run
    let world = World::new();
    let fleet = world.fleet();
    let arns = world.jobs_finishing_everywhere(&fleet).await;
    let before = world.sources.iter().map(|s| s.calls()).collect::<Vec<_>>();
    // when its event comes
    let summary = fleet
        .run_one(
            t0() + Duration::minutes(6),
            "event",
            &arns[2],
            None,
            Default::default(),
        )
        .await
        .unwrap()
        .unwrap();
    // then the member scope's source confirmed it (one Get there, none elsewhere) and notified
    assert_eq!(summary.notifications_sent, 1);
    let after = world.sources.iter().map(|s| s.calls()).collect::<Vec<_>>();
    assert_eq!(
        after
            .iter()
            .zip(&before)
            .map(|(a, b)| a - b)
            .collect::<Vec<_>>(),
        [0, 0, 1]
    );
}

#[tokio::test]
async fn events_from_accounts_or_regions_not_watched_are_ignored_with_a_reason() {
    let world = World::new();
    let fleet = world.fleet();
    let own = Some("123456789012");
    let cases = [
        // (account, region, own account known, routed to)
        ("123456789012", "us-east-1", own, Some("self/us-east-1")),
        ("123456789012", "eu-west-1", None, Some("self/eu-west-1")),
        (MEMBER, "us-east-1", own, Some("222222222222/us-east-1")),
        (MEMBER, "eu-west-1", own, None),
        ("333333333333", "us-east-1", own, None),
        ("123456789012", "ap-south-1", own, None),
    ];
    for (account, region, own_account, expected) in cases {
        let routed = fleet.scope_for(Some(account), Some(region), own_account);
        match (routed, expected) {
            (Ok(scope), Some(name)) => assert_eq!(scope.target.to_string(), name),
            (Err(reason), None) => {
                assert!(
                    reason.contains(account) && reason.contains(region),
                    "{reason}"
                )
            }
            (routed, _) => panic!("{account}/{region}: {:?}", routed.map(|s| s.target.clone())),
        }
    }
}

#[tokio::test]
async fn a_fleet_of_one_scope_is_that_scopes_run_exactly() {
    // given the own account in one region (no REGIONS, no ACCOUNTS)
    let world = World::new();
    let poller = Poller::new(
        world.sources[0].clone(),
        world.table.clone(),
        world.topic.clone(),
        settings("us-east-1"),
    );
    let fleet = Fleet::single(poller);
    world.sources[0].job("j1", "InProgress", t0());
    // when it polls, then the summary is the poller's own (no scope list, no prefixes)
    let summary = fleet.run(t0(), "one").await.unwrap();
    assert!(summary.first_run && summary.discovery_ok && summary.scopes.is_empty());
    assert_eq!((summary.region.as_str(), summary.listed), ("us-east-1", 1));
    // and a failed listing fails the run as before
    world.sources[0].fail_next_lists(1);
    let failed = fleet.run(t0() + Duration::minutes(5), "two").await.unwrap();
    assert!(!failed.discovery_ok);
    assert!(
        failed.errors[0].starts_with("list: "),
        "{:?}",
        failed.errors
    );
}
