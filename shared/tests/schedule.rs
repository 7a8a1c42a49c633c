//! A scheduled fleet on the in-memory adapters: with a budget for a fraction of its scopes per
//! period, every scope is still polled within the bound `jobwatch::schedule` states, failing
//! scopes back off without holding the others back and are named, and a scope whose role is
//! refused reads as failing. The pure rules: `jobwatch::schedule`'s unit tests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::{Stream, StreamExt};
use jobwatch::domain::{JobArn, JobKind, ObservedJob, Scope};
use jobwatch::error::Error;
use jobwatch::poller::{Access, BoxFuture, Budget, Fleet, FleetSchedule, ScopePoller};
use jobwatch::ports::{JobSource, ListFilter, Page};
use jobwatch::schedule::periods_bound;
use jobwatch::targets::{Account, RoleArn, Target};
use jobwatch::testing::{MemoryJobStore, RecordingNotifier, ScriptedSource};
use jobwatch::{PollSettings, Poller};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

const PERIOD: Duration = Duration::minutes(5);

/// The budget of one period: it ends once `per_period` scopes have listed (a scope's run
/// lists once when it has nothing open).
#[derive(Default)]
struct PeriodBudget {
    listed: AtomicU64,
    per_period: AtomicU64,
    ended: Arc<AtomicBool>,
}

impl PeriodBudget {
    fn start(&self, per_period: u64) -> Budget {
        self.listed.store(0, Ordering::SeqCst);
        self.per_period.store(per_period, Ordering::SeqCst);
        self.ended.store(false, Ordering::SeqCst);
        Budget::until_signal(self.ended.clone())
    }

    fn listed(&self) {
        let n = self.listed.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= self.per_period.load(Ordering::SeqCst) {
            self.ended.store(true, Ordering::SeqCst);
        }
    }
}

/// A scope's source spending the period's budget.
struct Spending {
    inner: ScriptedSource,
    budget: Arc<PeriodBudget>,
}

impl JobSource for Spending {
    fn kind(&self) -> JobKind {
        self.inner.kind()
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let pages: Vec<_> = futures::executor::block_on(self.inner.list(filter).collect());
        self.budget.listed();
        futures::stream::iter(pages)
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.inner.get(arn).await
    }

    fn calls(&self) -> u64 {
        self.inner.calls()
    }
}

/// A role that is refused.
struct Refused;

impl Access for Refused {
    fn ready(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async {
            Err(Error::AssumeRole {
                role: "arn:aws:iam::299999999999:role/reader".into(),
                retryable: false,
                source: "AccessDenied: not authorized to perform: sts:AssumeRole".into(),
            })
        })
    }
}

type TestFleet = Fleet<Spending, Arc<MemoryJobStore>, Arc<RecordingNotifier>>;

/// `n` member scopes (one region each of accounts 2000000000xx), the last `refused` of them
/// with a role that is refused; one at a time, so that the budget is spent in order.
fn fleet(
    n: usize,
    refused: usize,
    table: &Arc<MemoryJobStore>,
    budget: &Arc<PeriodBudget>,
) -> TestFleet {
    let topic = Arc::new(RecordingNotifier::default());
    let scopes = (0..n)
        .map(|i| {
            let account = format!("2000000000{i:02}");
            let source = Spending {
                inner: ScriptedSource::in_scope(JobKind::BatchInference, &account, "us-east-1"),
                budget: budget.clone(),
            };
            let settings = PollSettings {
                region: "us-east-1".into(),
                ..jobwatch::testing::poll_settings()
            };
            let poller = Poller::new(source, table.clone(), topic.clone(), settings)
                .in_account(account.clone());
            let role = RoleArn::parse(&format!("arn:aws:iam::{account}:role/reader")).unwrap();
            let access = (i >= n - refused).then(|| Arc::new(Refused) as Arc<dyn Access>);
            ScopePoller {
                target: Target {
                    account: Account::Member(role),
                    region: "us-east-1".into(),
                },
                access,
                poller,
            }
        })
        .collect();
    Fleet {
        scopes,
        concurrency: 1,
        read_together_max: 0,
        schedule: Some(FleetSchedule {
            store: table.clone(),
            shard: "fleet#batch-inference".into(),
            period: PERIOD,
            alarm_after: 3,
        }),
    }
}

#[tokio::test]
async fn given_a_budget_for_a_fifth_of_the_scopes_when_periods_pass_then_every_scope_is_polled_within_the_bound(
) {
    // given 30 scopes, 2 of them failing, and a budget for 6 scopes a period
    let (n, per_period, refused) = (30, 6, 2);
    let table = Arc::new(MemoryJobStore::default());
    let budget = Arc::new(PeriodBudget::default());
    let fleet = fleet(n, refused, &table, &budget);
    // when 20 periods pass
    let mut polled: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut last = None;
    for period in 0..20 {
        let now = t0() + PERIOD * period as i32;
        let summary = fleet
            .run_within(now, format!("run-{period}"), budget.start(per_period))
            .await
            .unwrap();
        for report in &summary.scopes {
            polled.entry(report.scope.clone()).or_default().push(period);
        }
        last = Some(summary);
    }
    // then every scope was polled, each within the bound (failing ones: plus their backoff)
    assert_eq!(polled.len(), n);
    for (scope, periods) in &polled {
        let failing = scope.starts_with("20000000002")
            && scope[10..12].parse::<usize>().unwrap() >= n - refused;
        let bound = periods_bound(n, per_period as usize, failing).unwrap() as usize;
        let mut previous: Option<usize> = None;
        for &p in periods {
            let gap = previous.map_or(p + 1, |q| p - q);
            assert!(
                gap <= bound,
                "{scope}: polled in {periods:?}, bound {bound}"
            );
            previous = Some(p);
        }
        assert!(20 - previous.unwrap() <= bound, "{scope}: {periods:?}");
    }
    assert_eq!(periods_bound(n, per_period as usize, false), Some(5));
    // and the budget, not the order, limited each period; the failing scopes are named
    let last = last.unwrap();
    assert!(last.scopes_not_started > 0);
    let failing: Vec<&str> = last
        .failing_scopes
        .iter()
        .map(|f| f.scope.as_str())
        .collect();
    assert_eq!(
        failing,
        [
            "batch-inference#200000000028#us-east-1",
            "batch-inference#200000000029#us-east-1"
        ]
    );
    assert!(last
        .failing_scopes
        .iter()
        .all(|f| f.error.contains("AccessDenied")));
}

#[tokio::test]
async fn given_a_refused_role_when_the_fleet_polls_then_the_scope_reads_failing_in_its_item_and_its_clock(
) {
    // given a scope polled fine once, whose role is then refused
    let table = Arc::new(MemoryJobStore::default());
    let budget = Arc::new(PeriodBudget::default());
    let healthy = fleet(1, 0, &table, &budget);
    healthy
        .run_within(t0(), "ok-run", budget.start(10))
        .await
        .unwrap();
    let scope = Scope::member(JobKind::BatchInference, "200000000000", "us-east-1");
    assert!(table.state(&scope).last_run.unwrap().ok);
    let refused = fleet(1, 1, &table, &budget);
    // when the next period polls it
    let err = refused
        .run_within(t0() + PERIOD, "refused-run", budget.start(10))
        .await;
    // then the run fails, the scope's last run reads failed (not its last good one), and its
    // clock holds the error
    assert!(err.is_err() || err.as_ref().is_ok_and(|s| !s.discovery_ok));
    let last_run = table.state(&scope).last_run.unwrap();
    assert_eq!(
        (last_run.ok, last_run.run_id.as_str()),
        (false, "refused-run")
    );
    let clock = &table.shard_state("fleet#batch-inference").clocks[scope.as_str()];
    assert_eq!(clock.failures, 1);
    assert!(clock.error.as_deref().unwrap().contains("AccessDenied"));
}

#[tokio::test]
async fn given_an_overlapping_run_holding_the_lease_when_a_second_run_starts_then_it_polls_nothing()
{
    use jobwatch::ports::ScheduleStore;
    let table = Arc::new(MemoryJobStore::default());
    let budget = Arc::new(PeriodBudget::default());
    let fleet = fleet(3, 0, &table, &budget);
    let lease = jobwatch::domain::Lease {
        owner: jobwatch::domain::RunId::new("other"),
        until: t0() + Duration::minutes(10),
    };
    table
        .lease("fleet#batch-inference", &lease, t0(), None)
        .await
        .unwrap();
    let summary = fleet
        .run_within(t0(), "second", budget.start(10))
        .await
        .unwrap();
    assert_eq!((summary.scopes.len(), summary.scopes_not_started), (0, 3));
    assert_eq!(budget.listed.load(Ordering::SeqCst), 0);
}
