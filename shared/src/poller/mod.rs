//! One poll of one job family, as named phases: start (read the scope's state), discover (list
//! since the watermark, page by page), revisit (settled resources that re-opened), reconcile
//! (open jobs the listing did not cover, a chunk of the watch index at a time), advance (record
//! how far it got). Every page and chunk is
//! settled the same way (`settle`): plan, write, claim, publish. Generic over the ports.

mod backfill;
mod batch_metrics;
mod cost;
mod deliver;
mod discover;
mod event;
mod fleet;
mod idle;
mod people;
mod reconcile;
mod revisit;
mod settle;
mod summary;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

pub use cost::CostOwners;
pub use fleet::{
    lease_until, record_clocks, Access, BoxFuture, Fleet, FleetSchedule, ScheduledRun, ScopePoller,
    READ_TOGETHER_MAX,
};
pub use reconcile::Watched;
pub use settle::MAX_MISSING;
pub use summary::{
    Discovered, FailingScope, Failures, Finished, Reconciled, RunSummary, ScopeReport, Settled,
    KEPT_LAGS,
};

use crate::domain::{AlertSettings, DurationStats, NotifyPolicy, RunId, Scope};

use crate::error::Error;
use crate::notices::Presentation;
use crate::ports::{
    Checkpoint, JobSource, JobStore, LastRun, Listed, Notifier, OpenJobs, Progress,
};
use discover::Seen;
use settle::RunContext;

/// A run's listings before discovery ([`Poller::listings`]): discovery's page, the re-opened
/// resources, those in service (the idle check) and the sweep's cursor.
type Listings = (
    Option<crate::ports::Page<crate::domain::ObservedJob>>,
    Option<Vec<crate::domain::ObservedJob>>,
    Vec<crate::domain::ObservedJob>,
    Option<String>,
);

/// The price book finished jobs are priced with (`None`: no cost estimates). Shared by every
/// scope of a function; equal when it is the same book.
#[derive(Clone, Default)]
pub struct Prices(pub Option<std::sync::Arc<dyn crate::ports::PriceBook>>);

impl std::fmt::Debug for Prices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Prices(on)"
        } else {
            "Prices(off)"
        })
    }
}

impl PartialEq for Prices {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
}

/// How a poller runs (a part of [`crate::Config`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PollSettings {
    /// `AWS_REGION`: the region polled and recorded.
    pub region: String,
    /// `NOTIFY_STATUSES` and `NOTIFY_ON_FIRST_SIGHT`.
    pub policy: NotifyPolicy,
    /// `LOOKBACK_HOURS` (default 336 = 14 days): how far the first run looks back.
    pub lookback: Duration,
    /// `LIST_MARGIN_MINUTES` (default 15): overlap of each listing with the previous one.
    pub list_margin: Duration,
    /// `GET_CONCURRENCY` (default 8): parallel Get calls and writes.
    pub get_concurrency: usize,
    /// `RETENTION_DAYS` (default 90): TTL of items for finished jobs.
    pub retention: Duration,
    /// `PUBLISH_LEASE_SECONDS` (default 300): how long a run may hold a notice before another
    /// run may publish it (keep it above the function timeout).
    pub publish_lease: Duration,
    /// `ALERTS` and `ALERT_*`: early warnings on unfinished jobs.
    pub alerts: AlertSettings,
    /// `ACCOUNT_NAME`, `EMAIL_DETAIL`, `NOTIFY_TAGS`: how notices read.
    pub presentation: Presentation,
    /// `DIGEST_THRESHOLD` for this family: with a people audience, a run that notifies more
    /// finished jobs than this sends people one digest of them instead, and one that has more
    /// alerts than this one alert digest (counted apart; `None`: never).
    pub digest_threshold: Option<usize>,
    /// `QUIET_REFRESH_HOURS` (0, the default: off): a quiet run (nothing listed changed,
    /// nothing open, nothing failed, the last run ok) leaves the scope's item unwritten while
    /// its watermark is younger than this ([`Poller::is_quiet`]).
    pub quiet_refresh: Option<Duration>,
    /// Prices for finished jobs' estimated cost: set at cold start from `COST_ESTIMATES` and
    /// `PRICE_OVERRIDES` ([`crate::adapters::pricing::book`]); off in [`Config`](crate::Config).
    pub prices: Prices,
    /// `COST_ALERT_USD` (optional): a finished job whose estimate passes it says so in its
    /// notice (`Cost alert:`, `estimatedCost.overThresholdUsd`).
    pub cost_alert_usd: Option<f64>,
    /// `COST_OWNER_TAG` (optional): the tag whose value names a job's owner; the estimated
    /// cost metric is then also reported per owner (bounded: [`crate::domain::owner`]).
    pub cost_owners: CostOwners,
    /// `PROGRESS_METRICS` (default off): each run also reports the records left, rate and
    /// time to the projected end of the running jobs it saw, one metric series per job.
    pub progress_metrics: bool,
}

/// When to stop starting new work: the Lambda deadline minus a safety margin, or a signal.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    pub stop_at: Option<Instant>,
    ended: Option<Arc<AtomicBool>>,
}

impl Budget {
    pub fn until(stop_at: Instant) -> Self {
        Self {
            stop_at: Some(stop_at),
            ended: None,
        }
    }

    /// A budget that ends when `ended` is set (a shutdown signal; tests end it after some work).
    pub fn until_signal(ended: Arc<AtomicBool>) -> Self {
        Self {
            stop_at: None,
            ended: Some(ended),
        }
    }

    pub fn exhausted(&self) -> bool {
        self.stop_at.is_some_and(|t| Instant::now() >= t)
            || self
                .ended
                .as_ref()
                .is_some_and(|e| e.load(Ordering::SeqCst))
    }
}

/// The scope's durations with this run's successful jobs added; `None` when none finished.
fn learned(known: &DurationStats, settled: [&Settled; 2]) -> Option<DurationStats> {
    let mut finished = settled
        .iter()
        .flat_map(|s| &s.succeeded_durations)
        .peekable();
    finished.peek()?;
    let mut durations = known.clone();
    for (model, took) in finished {
        durations.record(model, *took);
    }
    Some(durations)
}

/// A poller for one job family in one account and region (`settings.region`).
pub struct Poller<S, T, N> {
    pub source: S,
    pub store: T,
    pub notifier: N,
    pub settings: PollSettings,
    /// The member account polled through a role (its 12-digit id); `None`: the function's own.
    pub account: Option<String>,
    /// The scope's `AWS/Bedrock/Batch` reader, for a family with `stall_metrics` (`None`: the
    /// count alone decides `stalled`).
    pub batch_metrics: Option<Arc<dyn crate::ports::BatchActivity>>,
}

/// Where a run starts: its scope's stored state, and what that makes of this run.
struct Start {
    state: crate::ports::ScopeState,
    /// Discovery lists jobs submitted after this.
    since: DateTime<Utc>,
    /// Jobs submitted before this and first seen finished are history (first runs only).
    history_before: Option<DateTime<Utc>>,
    /// API calls made before the run (the summary reports the difference).
    calls_before: (u64, u64),
}

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    pub fn new(source: S, store: T, notifier: N, settings: PollSettings) -> Self {
        Self {
            source,
            store,
            notifier,
            settings,
            account: None,
            batch_metrics: None,
        }
    }

    /// The same poller checking stalls against `metrics` (read with the scope's credentials:
    /// the metrics live in the account and region of the jobs).
    pub fn with_batch_metrics(mut self, metrics: Arc<dyn crate::ports::BatchActivity>) -> Self {
        self.batch_metrics = Some(metrics);
        self
    }

    /// The same poller estimating finished jobs' cost with `prices`.
    pub fn with_prices(mut self, prices: std::sync::Arc<dyn crate::ports::PriceBook>) -> Self {
        self.settings.prices = Prices(Some(prices));
        self
    }

    /// The same poller for a member account's jobs (its own watermark and watch scope).
    /// `ACCOUNT_NAME` names the function's own account, so a member's notices show its id.
    pub fn in_account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self.settings.presentation.account_name = None;
        self
    }

    pub fn scope(&self) -> Scope {
        Scope::of(
            self.source.kind(),
            self.account.as_deref(),
            &self.settings.region,
        )
    }

    /// One run at `now` with no deadline.
    pub async fn run(
        &self,
        now: DateTime<Utc>,
        run_id: impl Into<RunId>,
    ) -> Result<RunSummary, Error> {
        self.run_within(now, run_id, Budget::default()).await
    }

    /// One run that starts no new Get, write or publish once `budget` is exhausted; what is
    /// left stays recorded (open jobs, pending notices, the checkpoint) for the next run.
    pub async fn run_within(
        &self,
        now: DateTime<Utc>,
        run_id: impl Into<RunId>,
        budget: Budget,
    ) -> Result<RunSummary, Error> {
        self.run_watching(now, run_id.into(), budget, Watched::Query)
            .await
    }

    /// [`Poller::run_within`], reconciling the `watched` items (what a fleet read for it, or
    /// its own Query).
    #[tracing::instrument(skip_all, fields(kind = %self.source.kind()))]
    pub async fn run_watching(
        &self,
        now: DateTime<Utc>,
        run_id: RunId,
        budget: Budget,
        watched: Watched,
    ) -> Result<RunSummary, Error> {
        let started = Instant::now();
        let start = self.start(now).await?;
        let outbox = settle::Outbox::default();
        let run = RunContext {
            now,
            run_id: &run_id,
            history_before: start.history_before,
            budget: &budget,
            durations: &start.state.durations,
            outbox: &outbox,
            activity: &Default::default(),
        };
        let (mut seen, mut open) = (Seen::default(), OpenJobs::default());
        // Notices already published to machines are told to people even when a phase fails.
        let (new, again, in_service, cursor) = self.listings(&start, now).await;
        let discovered = self
            .discover(start.since, new, &run, &mut seen, &mut open)
            .await;
        let discovered = self.or_tell_people(discovered, &outbox, &run).await?;
        if let Some(reason) = discovered.not_offered {
            return Ok(self.skipped(&start, &run_id, reason, started));
        }
        let mut revisited = self
            .revisit(start.since, again, &run, &mut seen, &mut open)
            .await;
        let reconciled = self
            .reconcile(start.state.open, watched, &run, &seen, &mut open)
            .await;
        let reconciled = self.or_tell_people(reconciled, &outbox, &run).await?;
        if reconciled.stopped_early {
            // Not every open job was seen: keep what the last run knew of them too.
            open = open.widest(start.state.open);
        }
        revisited += self.watch_idle(in_service, &run).await;
        let told = self.tell_people(&outbox, &run).await;
        let mut progress = self.progress(&start, &run_id, &discovered, &reconciled, open, now);
        progress.cursor = discover::kept_cursor(&start, cursor, &discovered);
        let settled = [&discovered.settled, &reconciled.settled, &revisited, &told];
        let advanced = self.save_unless_quiet(&start, progress, settled, now).await;
        let mut summary = self.summary(&start, &run_id, discovered, reconciled, advanced);
        summary.add_settled(revisited);
        summary.add_settled(told);
        summary.open_jobs = Some(open.count);
        summary.oldest_open_age_seconds = open
            .oldest
            .map(|oldest| (now - oldest).num_seconds().max(0) as u64);
        // Stopping early for a failed listing is not the deadline's doing.
        summary.deadline_reached &= budget.exhausted();
        summary.duration_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    /// The run's listings before discovery: what one call listed for discovery, revisits and
    /// the idle check (families that list once), then the sweep, with the cursor it leaves.
    async fn listings(&self, start: &Start, now: DateTime<Utc>) -> Listings {
        let (new, again, in_service) = match self.listed_once(start.since).await {
            Some(o) => (Some(o.discovered), Some(o.reopened), o.in_service),
            None => (None, None, Vec::new()),
        };
        let (new, cursor) = self.swept(start, now, new).await;
        (new, again, in_service, cursor)
    }

    /// What the run records for its scope: how far it listed, the open jobs, the durations
    /// with what settled added, and the run itself.
    fn progress(
        &self,
        start: &Start,
        run_id: &RunId,
        discovered: &Discovered,
        reconciled: &Reconciled,
        open: OpenJobs,
        now: DateTime<Utc>,
    ) -> Progress {
        let listed = self.listed(start, discovered, now);
        let durations = learned(
            &start.state.durations,
            [&discovered.settled, &reconciled.settled],
        );
        let last_run = LastRun {
            at: now,
            run_id: run_id.clone(),
            ok: !discovered.list_failed,
        };
        Progress {
            listed,
            open,
            durations,
            last_run: Some(last_run),
            cursor: start.state.cursor.clone(),
        }
    }

    /// Saves `progress`, unless the run was quiet (see [`Poller::is_quiet`]): then nothing is
    /// written.
    async fn save_unless_quiet(
        &self,
        start: &Start,
        progress: Progress,
        settled: [&Settled; 4],
        now: DateTime<Utc>,
    ) -> (Listed, Failures) {
        match self.is_quiet(start, &progress, settled, now) {
            true => (Listed::Nothing, Failures::default()),
            false => self.advance(progress).await,
        }
    }

    /// A run in a region whose endpoint does not offer the family's API: logged, `ok`, and
    /// nothing written (the scope's state stays as it was).
    fn skipped(
        &self,
        start: &Start,
        run_id: &RunId,
        reason: String,
        started: Instant,
    ) -> RunSummary {
        tracing::info!(
            kind = %self.source.kind(),
            region = %self.settings.region,
            reason,
            "the family's API is not offered in this region: skipped"
        );
        RunSummary {
            job_kind: self.source.kind().to_string(),
            region: self.settings.region.clone(),
            run_id: run_id.to_string(),
            discovery_ok: true,
            skipped: Some(reason),
            bedrock_calls: self.source.calls() - start.calls_before.0,
            store_calls: self.store.calls() - start.calls_before.1,
            duration_ms: started.elapsed().as_millis() as u64,
            ..Default::default()
        }
    }

    /// Reads the scope's state: a run that cannot read it cannot diff safely.
    async fn start(&self, now: DateTime<Utc>) -> Result<Start, Error> {
        let calls_before = (self.source.calls(), self.store.calls());
        let state = self.store.scope_state(&self.scope()).await?;
        let from_watermark = state.watermark.map_or(now - self.settings.lookback, |w| {
            w - self.settings.list_margin
        });
        // Resume an unfinished listing a second early: jobs submitted in the same second as the
        // last recorded one may sit on the next page (re-listing them changes nothing).
        let since = state.checkpoint.as_ref().map_or(from_watermark, |c| {
            from_watermark.max(c.reached - Duration::seconds(1))
        });
        let history_before = state
            .watermark
            .is_none()
            .then(|| state.checkpoint.as_ref().map_or(now, |c| c.started));
        Ok(Start {
            state,
            since,
            history_before,
            calls_before,
        })
    }

    /// The watermark only advances when every listed job is recorded: a job the listing
    /// returned but no write recorded would otherwise never be listed again.
    /// A first run that recorded nothing yet still checkpoints where it started, so that what
    /// counts as history stays what was submitted before the backlog began.
    fn listed(&self, start: &Start, discovered: &Discovered, now: DateTime<Utc>) -> Listed {
        let started = start.history_before.unwrap_or(now);
        match (discovered.reached, start.history_before) {
            _ if discovered.complete => Listed::Complete(now),
            (Some(reached), _) => Listed::Reached(Checkpoint { started, reached }),
            (None, Some(_)) => Listed::Reached(Checkpoint {
                started,
                reached: start.since,
            }),
            (None, None) => Listed::Nothing,
        }
    }

    /// Whether the run can leave the scope's item as it is: the item would only say "polled
    /// again, nothing new". Correct because the watermark is a lower bound: keeping an older
    /// one only lists a wider window next time (jobs already recorded are re-listed and change
    /// nothing), and any job listed, open, changed or failed makes the run not quiet. Refreshed
    /// once per `quiet_refresh` so that the window stays narrow; a quiet scope thus costs one
    /// List per period and no write. (`last_run` ages meanwhile: a scheduled fleet's clocks
    /// say when each scope was polled.)
    fn is_quiet(
        &self,
        start: &Start,
        progress: &Progress,
        settled: [&Settled; 4],
        now: DateTime<Utc>,
    ) -> bool {
        let Some(refresh) = self.settings.quiet_refresh else {
            return false;
        };
        let eventful = settled.iter().any(|s| {
            s.transitions + s.notifications_sent + s.notifications_pending + s.alerts_sent > 0
                || s.deferred + s.failures.count + s.conflicts > 0
        });
        let state = &start.state;
        matches!(progress.listed, Listed::Complete(_))
            && state.watermark.is_some_and(|w| now - w < refresh)
            && state.checkpoint.is_none()
            && state.open == OpenJobs::default()
            && progress.open == OpenJobs::default()
            && progress.durations.is_none()
            && progress.cursor == state.cursor
            && state.last_run.as_ref().is_some_and(|r| r.ok)
            && !eventful
    }

    async fn advance(&self, progress: Progress) -> (Listed, Failures) {
        let mut failures = Failures::default();
        if let Err(e) = self.store.save_progress(&self.scope(), &progress).await {
            failures.record("save progress", &e);
            return (Listed::Nothing, failures);
        }
        (progress.listed, failures)
    }

    fn summary(
        &self,
        start: &Start,
        run_id: &RunId,
        discovered: Discovered,
        reconciled: Reconciled,
        (listed, failures): (Listed, Failures),
    ) -> RunSummary {
        let stopped_early = !discovered.complete || reconciled.stopped_early;
        let mut summary = RunSummary {
            job_kind: self.source.kind().to_string(),
            region: self.settings.region.clone(),
            run_id: run_id.to_string(),
            first_run: start.state.watermark.is_none(),
            watermark: match listed {
                Listed::Complete(to) => Some(to),
                _ => start.state.watermark,
            },
            bedrock_calls: self.source.calls() - start.calls_before.0,
            store_calls: self.store.calls() - start.calls_before.1,
            ..Default::default()
        };
        summary.add_discovered(discovered);
        summary.add_reconciled(reconciled);
        summary.add_failures(failures);
        summary.deadline_reached = stopped_early || summary.deferred > 0;
        summary
    }
}
