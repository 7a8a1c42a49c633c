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
use serde::Serialize;

use super::{Budget, Poller, RunSummary, Watched};
use crate::domain::{JobArn, JobRecord, RunId, Scope};
use crate::error::Error;
use crate::fleet::{Account, Target};
use crate::ports::{JobSource, JobStore, Notifier};

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

/// What one scope's part of a run came to (the summary's `scopes`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ScopeReport {
    /// `self/{region}` or `{account}/{region}`.
    pub scope: String,
    pub ok: bool,
    pub listed: usize,
    pub notifications_sent: usize,
    pub bedrock_calls: u64,
    pub failures: usize,
    /// Why the scope failed, or its first failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the scope was not polled (its region does not offer the family's API).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub duration_ms: u64,
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
        }
    }

    /// The family every scope polls.
    pub fn kind(&self) -> Option<crate::domain::JobKind> {
        self.scopes.first().map(|s| s.poller.source.kind())
    }

    /// One poll of every scope. With one scope, the run is that scope's run exactly.
    pub async fn run_within(
        &self,
        now: DateTime<Utc>,
        run_id: impl Into<RunId>,
        budget: Budget,
    ) -> Result<RunSummary, Error> {
        let (started, run_id) = (std::time::Instant::now(), run_id.into());
        // Counted whether it worked or not (it is no scope's own call).
        let store_calls = || self.scopes.first().map_or(0, |s| s.poller.store.calls());
        let before = store_calls();
        let mut read = self.read_together().await;
        let read_calls = store_calls() - before;
        let mut runs = stream::iter(&self.scopes)
            .map(|scope| {
                let watched = match &mut read {
                    Some(read) => {
                        Watched::Read(read.remove(&scope.poller.scope()).unwrap_or_default())
                    }
                    None => Watched::Query,
                };
                scope.poll(now, &run_id, &budget, watched)
            })
            .buffered(self.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        if let [single] = &self.scopes[..] {
            if let Some(run) = runs.pop() {
                return run.map_err(|e| single.named(e));
            }
        }
        let mut summary = combine(&self.scopes, runs, &run_id);
        summary.store_calls += read_calls;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
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
            access.ready().await?;
        }
        let run = self
            .poller
            .run_watching(now, run_id.clone(), budget.clone(), watched);
        run.await
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

/// The fleet's summary: every count added up, each scope reported; the listing counts as
/// working when any scope's did (the run fails only when every scope failed).
fn combine<S: JobSource, T, N>(
    scopes: &[ScopePoller<S, T, N>],
    runs: Vec<Result<RunSummary, Error>>,
    run_id: &RunId,
) -> RunSummary {
    let mut total = RunSummary {
        run_id: run_id.to_string(),
        ..Default::default()
    };
    let mut regions: Vec<&str> = Vec::new();
    for (scope, run) in scopes.iter().zip(runs) {
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

impl ScopeReport {
    fn of(scope: &str, summary: &RunSummary) -> Self {
        Self {
            scope: scope.to_owned(),
            ok: summary.discovery_ok,
            listed: summary.listed,
            notifications_sent: summary.notifications_sent,
            bedrock_calls: summary.bedrock_calls,
            failures: summary.failures,
            error: summary.errors.first().cloned(),
            skipped: summary.skipped.clone(),
            duration_ms: summary.duration_ms,
        }
    }
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
        self.failures += s.failures;
        self.throttles += s.throttles;
        self.finished += s.finished;
        super::summary::add_stages(&mut self.failures_by_stage, s.failures_by_stage);
        super::summary::add_lags(
            &mut self.notification_lag_seconds,
            s.notification_lag_seconds,
        );
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
