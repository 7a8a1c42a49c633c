//! One run of a family over every (account, region) scope it watches: each scope is a
//! [`Poller`] of its own (clients, watermark, watch index), polled concurrently up to a bound.
//! A scope that fails (its role cannot be assumed, its endpoint errs or throttles, the region is
//! not enabled) is reported with its name and does not stop the others; the run fails only when
//! every scope failed.

use std::collections::HashMap;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::{stream, StreamExt};

use super::summary::{FailingScope, ScopeReport};
use super::{Budget, Poller, RunSummary, Watched};
use crate::domain::{JobArn, JobRecord, Lease, RunId, Scope};
use crate::error::Error;
use crate::ports::{
    JobSource, JobStore, LastRun, Listed, Notifier, Progress, ScheduleStore, ShardState, Write,
};
use crate::schedule::{Clock, Clocks, Outcome};
use crate::targets::{Account, Target};

/// A boxed future (object-safe [`Access`]).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a scope gets its credentials, checked before it is polled: for a member account, the
/// role is assumed (or its cached credentials still hold), and a refusal is a clear error
/// naming the role instead of every call failing on its own.
pub trait Access: Send + Sync {
    fn ready(&self) -> BoxFuture<'_, Result<(), Error>>;

    /// Credentials fetched (STS AssumeRole calls) so far.
    fn calls(&self) -> u64 {
        0
    }
}

/// One scope of the fleet.
pub struct ScopePoller<S, T, N> {
    pub target: Target,
    /// `None`: the function's own credentials, nothing to check.
    pub access: Option<Arc<dyn Access>>,
    pub poller: Poller<S, T, N>,
}

/// Up to this many watched items (about 2 KB each in memory), a fleet reads every scope's in
/// one Query of the family; past it, each scope pages through its own.
pub const READ_TOGETHER_MAX: usize = 10_000;

/// Every scope of one family.
pub struct Fleet<S, T, N> {
    pub scopes: Vec<ScopePoller<S, T, N>>,
    /// `SCOPE_CONCURRENCY`: scopes polled at once.
    pub concurrency: usize,
    /// [`READ_TOGETHER_MAX`] (tests lower it; 0: each scope always reads its own).
    pub read_together_max: usize,
    /// `None`: every scope every run, in a fixed order (a fleet that always fits its budget).
    pub schedule: Option<FleetSchedule>,
}

/// How a fleet keeps its scopes fair (module [`crate::schedule`]): its shard's clocks and
/// lease in the table.
#[derive(Clone)]
pub struct FleetSchedule {
    pub store: Arc<dyn ScheduleStore>,
    /// The shard's name: `fleet#{family}`.
    pub shard: String,
    /// `POLL_PERIOD_MINUTES`: the backoff's unit.
    pub period: chrono::Duration,
    /// `SCOPE_ALARM_AFTER`: a scope failing this many periods in a row is named.
    pub alarm_after: u32,
}

/// A run a schedule ordered: its summary, what each started scope came to, and whether every
/// due scope was started.
#[derive(Debug)]
pub struct ScheduledRun {
    pub summary: RunSummary,
    pub outcomes: Vec<(String, Outcome)>,
    pub complete: bool,
}

/// Every scope's watched items, read together.
type ReadTogether = HashMap<Scope, Vec<JobRecord>>;

impl<S: JobSource, T: JobStore, N: Notifier> Fleet<S, T, N> {
    /// A fleet of one scope: the function's own account and region (a single-scope
    /// deployment, and the tests written before fleets).
    pub fn single(poller: Poller<S, T, N>) -> Self {
        let target = Target {
            account: Account::Own,
            region: poller.settings.region.clone(),
        };
        Self {
            scopes: vec![ScopePoller {
                target,
                access: None,
                poller,
            }],
            concurrency: 1,
            read_together_max: READ_TOGETHER_MAX,
            schedule: None,
        }
    }

    /// The family every scope polls.
    pub fn kind(&self) -> Option<crate::domain::JobKind> {
        self.scopes.first().map(|s| s.poller.source.kind())
    }

    /// One poll of the fleet: with a schedule, the due scopes oldest-polled first within the
    /// budget ([`Fleet::run_fair`]); without, every scope in order. With one scope and no
    /// schedule, the run is that scope's run exactly.
    pub async fn run_within(
        &self,
        now: DateTime<Utc>,
        run_id: impl Into<RunId>,
        budget: Budget,
    ) -> Result<RunSummary, Error> {
        match &self.schedule {
            Some(schedule) => self.run_fair(schedule, now, run_id.into(), budget).await,
            None => self.run_all(now, run_id.into(), budget).await,
        }
    }

    async fn run_all(
        &self,
        now: DateTime<Utc>,
        run_id: RunId,
        budget: Budget,
    ) -> Result<RunSummary, Error> {
        let started = std::time::Instant::now();
        let order: Vec<usize> = (0..self.scopes.len()).collect();
        let (read_calls, mut runs) = self
            .run_scopes(order, now, run_id.clone(), budget, false)
            .await;
        if let [single] = &self.scopes[..] {
            if let Some((_, Some(run))) = runs.pop() {
                return run.map_err(|e| single.named(e));
            }
        }
        let runs = runs
            .into_iter()
            .filter_map(|(s, r)| Some((s, r?)))
            .collect();
        let mut summary = combine(runs, &run_id);
        summary.store_calls += read_calls;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    /// Polls the scopes `order` names (indexes), up to `concurrency` at once, after reading
    /// their watched items together. `gate`: a scope not yet started when the budget runs out
    /// is not started at all (`None`) and records nothing, so that its clock stays old.
    /// Returns the read's store requests and each scope's run.
    #[allow(clippy::type_complexity)]
    async fn run_scopes(
        &self,
        order: Vec<usize>,
        now: DateTime<Utc>,
        run_id: RunId,
        budget: Budget,
        gate: bool,
    ) -> (
        u64,
        Vec<(&ScopePoller<S, T, N>, Option<Result<RunSummary, Error>>)>,
    ) {
        // Owned arguments: the worker boxes this future as `Send`, which borrowed ones defeat
        // (rustc cannot prove it for every lifetime).
        let (run_id, budget) = (&run_id, &budget);
        // Counted whether it worked or not (it is no scope's own call).
        let store_calls = || self.scopes.first().map_or(0, |s| s.poller.store.calls());
        let before = store_calls();
        let mut read = self.read_together().await;
        let read_calls = store_calls() - before;
        // The futures are made first, then driven: a stream of closures over borrowed scopes
        // would not be `Send` for every lifetime (the worker boxes this future).
        let mut polls = Vec::with_capacity(order.len());
        for scope in order.iter().map(|&i| &self.scopes[i]) {
            let watched = match &mut read {
                Some(read) => Watched::Read(read.remove(&scope.poller.scope()).unwrap_or_default()),
                None => Watched::Query,
            };
            polls.push(async move {
                // Checked when the stream starts the scope, not when it is queued.
                if gate && budget.exhausted() {
                    return (scope, None);
                }
                (scope, Some(scope.poll(now, run_id, budget, watched).await))
            });
        }
        let runs = stream::iter(polls)
            .buffered(self.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        (read_calls, runs)
    }

    /// A scheduled run: takes the shard's lease (an overlapping run holding it: nothing to
    /// do), polls the due scopes oldest-polled first ([`Fleet::run_scheduled`]) and records
    /// their clocks in one write. The schedule's own failures never fail the run: the scopes
    /// are polled in a fixed order then, as without a schedule.
    async fn run_fair(
        &self,
        schedule: &FleetSchedule,
        now: DateTime<Utc>,
        run_id: RunId,
        budget: Budget,
    ) -> Result<RunSummary, Error> {
        let (store, shard) = (&*schedule.store, schedule.shard.as_str());
        let lease = Lease {
            owner: run_id.clone(),
            until: lease_until(now, &budget),
        };
        match store.lease(shard, &lease, now, None).await {
            Ok(Write::Written) => {}
            Ok(Write::LostRace) => return Ok(self.held_elsewhere(&run_id)),
            Err(e) => {
                tracing::warn!(shard, error = %e.chain(), "no lease: polling anyway (conditional writes keep it safe)")
            }
        }
        let read = store.shard(shard).await.unwrap_or_else(|e| {
            tracing::warn!(shard, error = %e.chain(), "schedule unreadable: scopes in a fixed order");
            ShardState::default()
        });
        let run = self
            .run_scheduled(now, &run_id, &budget, &read.clocks, schedule.period)
            .await;
        let clocks = crate::schedule::advance(&read.clocks, now, &run.outcomes);
        let mut summary = run.summary;
        summary.failing_scopes = self.failing(&clocks, schedule.alarm_after);
        let done = run.complete.then_some(now);
        if let Err(e) = record_clocks(store, shard, &run_id, read, clocks, done).await {
            tracing::warn!(shard, error = %e.chain(), "the scopes' clocks were not recorded");
        }
        Ok(summary)
    }

    /// The due scopes of this fleet, oldest-polled first, started while the budget lasts;
    /// what each came to, for the caller to record (a fleet's run, or a worker's for every
    /// family of one account).
    pub async fn run_scheduled(
        &self,
        now: DateTime<Utc>,
        run_id: &RunId,
        budget: &Budget,
        clocks: &Clocks,
        period: chrono::Duration,
    ) -> ScheduledRun {
        let started = std::time::Instant::now();
        let names: Vec<String> = self
            .scopes
            .iter()
            .map(|s| s.poller.scope().to_string())
            .collect();
        let blank = Clock::default();
        let with_clocks = names
            .iter()
            .map(|n| (n.as_str(), clocks.get(n).unwrap_or(&blank)));
        let order: Vec<usize> = crate::schedule::order(with_clocks, now, period)
            .into_iter()
            .filter_map(|name| names.iter().position(|n| n == name))
            .collect();
        let backing_off = self.scopes.len() - order.len();
        let (read_calls, runs) = self
            .run_scopes(order, now, run_id.clone(), budget.clone(), true)
            .await;
        let not_started = runs.iter().filter(|(_, run)| run.is_none()).count();
        let outcomes = runs
            .iter()
            .filter_map(|(scope, run)| {
                Some((scope.poller.scope().to_string(), outcome(run.as_ref()?)))
            })
            .collect();
        let runs = runs
            .into_iter()
            .filter_map(|(s, r)| Some((s, r?)))
            .collect();
        let mut summary = combine(runs, run_id);
        summary.job_kind = self.kind().map(|k| k.to_string()).unwrap_or_default();
        summary.store_calls += read_calls;
        summary.scopes_not_started = not_started;
        summary.scopes_backing_off = backing_off;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        ScheduledRun {
            summary,
            outcomes,
            complete: not_started == 0,
        }
    }

    /// This fleet's scopes failing for `alarm_after` periods in a row or more.
    pub fn failing(&self, clocks: &Clocks, alarm_after: u32) -> Vec<FailingScope> {
        self.scopes
            .iter()
            .filter_map(|s| {
                let name = s.poller.scope().to_string();
                let clock = clocks.get(&name).filter(|c| c.failing_for(alarm_after))?;
                Some(FailingScope {
                    scope: name,
                    failures: clock.failures,
                    error: clock.error.clone().unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The summary of a run that found the shard leased by an overlapping one.
    fn held_elsewhere(&self, run_id: &RunId) -> RunSummary {
        tracing::info!("an overlapping run holds the fleet's lease: nothing to do");
        RunSummary {
            run_id: run_id.to_string(),
            job_kind: self.kind().map(|k| k.to_string()).unwrap_or_default(),
            discovery_ok: true,
            scopes_not_started: self.scopes.len(),
            ..Default::default()
        }
    }

    /// Every scope's watched items in one read of the family's (a Query per 500 items for the
    /// whole fleet instead of at least one per scope). `None`, and each scope reads its own:
    /// a single scope, more than `read_together_max` items (0: never together), or the read
    /// failed (each scope then meets and reports the error itself).
    async fn read_together(&self) -> Option<ReadTogether> {
        let [first, _, ..] = &self.scopes[..] else {
            return None;
        };
        if self.read_together_max == 0 {
            return None;
        }
        let kind = first.poller.source.kind();
        let mut by_scope = ReadTogether::new();
        let (mut count, mut pages) = (0, pin!(first.poller.store.watched_family(kind)));
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(%kind, error = %e.chain(), "reading the family's watched items failed; each scope reads its own");
                    return None;
                }
            };
            count += page.len();
            if count > self.read_together_max {
                tracing::info!(%kind, count, "many watched items: each scope reads its own");
                return None;
            }
            for record in page {
                if let Some(scope) = record.watch.clone() {
                    by_scope.entry(scope).or_default().push(record);
                }
            }
        }
        Some(by_scope)
    }

    /// One run at `now` with no deadline.
    pub async fn run(
        &self,
        now: DateTime<Utc>,
        run_id: impl Into<RunId>,
    ) -> Result<RunSummary, Error> {
        self.run_within(now, run_id, Budget::default()).await
    }

    /// The scope an event from `account` in `region` belongs to: a member account's by its id,
    /// else the own account's (`own_account`, when known, must match). `Err`: why the event is
    /// not for this deployment.
    pub fn scope_for(
        &self,
        account: Option<&str>,
        region: Option<&str>,
        own_account: Option<&str>,
    ) -> Result<&ScopePoller<S, T, N>, String> {
        let (Some(account), Some(region)) = (account, region) else {
            return Err("the job ARN names no account or region".into());
        };
        let member = self
            .scopes
            .iter()
            .find(|s| s.target.account.id() == Some(account) && s.target.region == region);
        let own = || {
            let own_ok = own_account.is_none_or(|own| own == account);
            self.scopes
                .iter()
                .find(|s| s.target.account == Account::Own && s.target.region == region)
                .filter(|_| own_ok && !self.is_member(account))
        };
        member.or_else(own).ok_or_else(|| {
            format!("account {account} in region {region} is not a scope this poller watches")
        })
    }

    fn is_member(&self, account: &str) -> bool {
        self.scopes
            .iter()
            .any(|s| s.target.account.id() == Some(account))
    }

    /// Confirms the job an event names through its own scope (account and region from its
    /// ARN). `Ok(Err(reason))`: the event is not for this deployment.
    pub async fn run_one(
        &self,
        now: DateTime<Utc>,
        run_id: impl Into<RunId>,
        arn: &JobArn,
        own_account: Option<&str>,
        budget: Budget,
    ) -> Result<Result<RunSummary, String>, Error> {
        let scope = match self.scope_for(arn.account(), arn.region(), own_account) {
            Ok(scope) => scope,
            Err(reason) => return Ok(Err(reason)),
        };
        if let Some(access) = &scope.access {
            access.ready().await.map_err(|e| scope.named(e))?;
        }
        let summary = scope.poller.run_one(now, run_id, arn, budget).await;
        summary.map(Ok).map_err(|e| scope.named(e))
    }

    /// STS calls made for every scope's credentials so far.
    pub fn credential_calls(&self) -> u64 {
        let mut counted: Vec<&Arc<dyn Access>> = Vec::new();
        for access in self.scopes.iter().filter_map(|s| s.access.as_ref()) {
            // Scopes of one account share one Access: count it once.
            if !counted.iter().any(|c| Arc::ptr_eq(c, access)) {
                counted.push(access);
            }
        }
        counted.iter().map(|a| a.calls()).sum()
    }
}

impl<S: JobSource, T: JobStore, N: Notifier> ScopePoller<S, T, N> {
    async fn poll(
        &self,
        now: DateTime<Utc>,
        run_id: &RunId,
        budget: &Budget,
        watched: Watched,
    ) -> Result<RunSummary, Error> {
        if let Some(access) = &self.access {
            if let Err(e) = access.ready().await {
                self.record_failure(now, run_id).await;
                return Err(e);
            }
        }
        let run = self
            .poller
            .run_watching(now, run_id.clone(), budget.clone(), watched);
        run.await
    }

    /// Records a run that could not start (its role refused) as the scope's last run, failed:
    /// `jobwatch-cli status` then reads the scope as failing, not as its last good run. Best
    /// effort (the run's error is what counts); the open-jobs hint is kept as it was.
    async fn record_failure(&self, now: DateTime<Utc>, run_id: &RunId) {
        let scope = self.poller.scope();
        let (open, cursor) = match self.poller.store.scope_state(&scope).await {
            Ok(state) => (state.open, state.cursor),
            Err(_) => return,
        };
        let progress = Progress {
            listed: Listed::Nothing,
            open,
            cursor,
            durations: None,
            last_run: Some(LastRun {
                at: now,
                run_id: run_id.clone(),
                ok: false,
            }),
        };
        if let Err(e) = self.poller.store.save_progress(&scope, &progress).await {
            tracing::warn!(scope = %scope, error = %e.chain(), "the failed run was not recorded");
        }
    }

    /// The error with the scope it happened in.
    fn named(&self, e: Error) -> Error {
        match self.target.account {
            Account::Own => e,
            Account::Member(_) => Error::Scope {
                scope: self.target.to_string(),
                source: Box::new(e),
            },
        }
    }
}

/// A started scope and what its run came to.
type StartedRun<'a, S, T, N> = (&'a ScopePoller<S, T, N>, Result<RunSummary, Error>);

/// The fleet's summary: every count added up, each started scope reported; the listing
/// counts as working when any scope's did (the run fails only when every scope failed).
fn combine<S: JobSource, T, N>(runs: Vec<StartedRun<'_, S, T, N>>, run_id: &RunId) -> RunSummary {
    let mut total = RunSummary {
        run_id: run_id.to_string(),
        ..Default::default()
    };
    let mut regions: Vec<&str> = Vec::new();
    for (scope, run) in runs {
        let name = scope.target.to_string();
        if !regions.contains(&scope.target.region.as_str()) {
            regions.push(&scope.target.region);
        }
        total.job_kind = scope.poller.source.kind().to_string();
        let report = match run {
            Ok(summary) => {
                let report = ScopeReport::of(&name, &summary);
                total.add_scope(summary, &name);
                report
            }
            Err(e) => {
                tracing::warn!(scope = %name, error = %e.chain(), "scope failed");
                total.failed_scope(&name, &e);
                ScopeReport {
                    scope: name,
                    failures: 1,
                    error: Some(e.chain()),
                    ..Default::default()
                }
            }
        };
        total.scopes.push(report);
    }
    total.region = regions.join(",");
    total
}

/// What a started scope's run means for its clock: it failed when it could not run or its
/// listing failed (other failures, e.g. a publish, are not the scope's health).
fn outcome(run: &Result<RunSummary, Error>) -> Outcome {
    match run {
        Ok(summary) if summary.discovery_ok => Outcome::Ok,
        Ok(summary) => Outcome::Failed(
            summary
                .errors
                .first()
                .cloned()
                .unwrap_or_else(|| "the listing failed".into()),
        ),
        Err(e) => Outcome::Failed(e.chain()),
    }
}

/// How long a fleet's lease lasts: the invocation's budget and a minute (a crashed run's
/// lease lapses by the next period), or 15 minutes (Lambda's longest timeout) without one.
pub fn lease_until(now: DateTime<Utc>, budget: &Budget) -> DateTime<Utc> {
    let left = budget
        .stop_at
        .map(|t| t.saturating_duration_since(std::time::Instant::now()))
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .unwrap_or(chrono::Duration::minutes(14));
    now + left + chrono::Duration::minutes(1)
}

/// Writes a shard's clocks at the version read; when an overlapping run wrote first, merges
/// with what it wrote (per scope, the later poll wins) and tries again.
pub async fn record_clocks(
    store: &dyn ScheduleStore,
    shard: &str,
    owner: &RunId,
    read: ShardState,
    clocks: Clocks,
    done_at: Option<DateTime<Utc>>,
) -> Result<(), Error> {
    let (mut version, mut clocks) = (read.version, clocks);
    for _ in 0..3 {
        match store
            .save_shard(shard, owner, version, &clocks, done_at)
            .await?
        {
            Write::Written => return Ok(()),
            Write::LostRace => {
                let fresh = store.shard(shard).await?;
                clocks = crate::schedule::merge(clocks, &fresh.clocks);
                version = fresh.version;
            }
        }
    }
    Err(Error::Store {
        operation: "UpdateItem",
        retryable: true,
        source: format!("schedule {shard} changed under three writes in a row").into(),
    })
}

/// Adding a scope's run to the fleet's.
impl RunSummary {
    fn add_scope(&mut self, s: RunSummary, name: &str) {
        self.first_run |= s.first_run;
        self.discovery_ok |= s.discovery_ok;
        self.listed += s.listed;
        self.watched += s.watched;
        self.fetched += s.fetched;
        self.wide_list_calls += s.wide_list_calls;
        self.sweep_calls += s.sweep_calls;
        self.transitions += s.transitions;
        self.notifications_sent += s.notifications_sent;
        self.alerts_sent += s.alerts_sent;
        self.notifications_pending += s.notifications_pending;
        self.conflicts += s.conflicts;
        self.regressions_ignored += s.regressions_ignored;
        self.missing += s.missing;
        self.retired += s.retired;
        self.deadline_reached |= s.deadline_reached;
        self.deferred += s.deferred;
        self.people_messages_sent += s.people_messages_sent;
        self.digests_sent += s.digests_sent;
        self.tag_reads_failed += s.tag_reads_failed;
        self.bedrock_calls += s.bedrock_calls;
        self.store_calls += s.store_calls;
        self.sns_calls += s.sns_calls;
        self.pricing_calls += s.pricing_calls;
        self.metric_calls += s.metric_calls;
        self.estimated_cost_micro_usd += s.estimated_cost_micro_usd;
        self.batch_metrics_calls += s.batch_metrics_calls;
        self.batch_metrics_failed += s.batch_metrics_failed;
        self.stalls_cleared += s.stalls_cleared;
        super::summary::add_owners(&mut self.cost_by_owner, s.cost_by_owner);
        self.owners_past_bound += s.owners_past_bound;
        self.failures += s.failures;
        self.throttles += s.throttles;
        self.finished += s.finished;
        super::summary::add_stages(&mut self.failures_by_stage, s.failures_by_stage);
        super::summary::add_lags(
            &mut self.notification_lag_seconds,
            s.notification_lag_seconds,
        );
        super::summary::add_progress(&mut self.progress, s.progress);
        self.open_jobs = match (self.open_jobs, s.open_jobs) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.oldest_open_age_seconds = self.oldest_open_age_seconds.max(s.oldest_open_age_seconds);
        let room = super::summary::KEPT_ERRORS.saturating_sub(self.errors.len());
        let named = s.errors.into_iter().map(|e| format!("{name}: {e}"));
        self.errors.extend(named.take(room));
    }

    /// A scope that could not run at all (its state unreadable, its role refused).
    fn failed_scope(&mut self, name: &str, e: &Error) {
        self.failures += 1;
        self.throttles += usize::from(e.is_throttling());
        *self.failures_by_stage.entry("scope".into()).or_default() += 1;
        if self.errors.len() < super::summary::KEPT_ERRORS {
            self.errors.push(format!("{name}: {}", e.chain()));
        }
    }
}
