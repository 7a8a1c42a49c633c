//! One poll of one job family: discover, reconcile, diff, write, notify. Generic over the ports.

mod event;
mod notify;
mod reconcile;
mod summary;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use futures::{stream, StreamExt};

pub use summary::RunSummary;

use crate::config::Config;
use crate::domain::{
    plan, plan_missing, Change, JobArn, JobRecord, JobStatus, NotifyPolicy, ObservedJob,
    PlanContext, Skip,
};
use crate::error::Error;
use crate::ports::{JobSource, JobStore, ListFilter, Notifier, SaveOutcome};

/// Consecutive "not found" Gets after which a job is retired.
pub const MAX_MISSING: u32 = 3;

/// Poller settings (a subset of [`Config`]).
#[derive(Debug, Clone)]
pub struct PollSettings {
    pub region: String,
    pub policy: NotifyPolicy,
    pub lookback: Duration,
    pub list_margin: Duration,
    pub get_concurrency: usize,
    pub retention: Duration,
    pub publish_lease: Duration,
}

impl From<&Config> for PollSettings {
    fn from(c: &Config) -> Self {
        Self {
            region: c.region.clone(),
            policy: c.policy.clone(),
            lookback: c.lookback,
            list_margin: c.list_margin,
            get_concurrency: c.get_concurrency,
            retention: c.retention,
            publish_lease: c.publish_lease,
        }
    }
}

/// When to stop starting new work (the Lambda deadline minus a safety margin).
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    pub stop_at: Option<Instant>,
}

impl Budget {
    pub fn until(stop_at: Instant) -> Self {
        Self {
            stop_at: Some(stop_at),
        }
    }

    pub fn exhausted(&self) -> bool {
        self.stop_at.is_some_and(|t| Instant::now() >= t)
    }
}

/// A poller for one job family.
pub struct Poller<S, T, N> {
    pub source: S,
    pub store: T,
    pub notifier: N,
    pub settings: PollSettings,
}

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    pub fn new(source: S, store: T, notifier: N, settings: PollSettings) -> Self {
        Self {
            source,
            store,
            notifier,
            settings,
        }
    }

    fn scope(&self) -> String {
        JobRecord::watch_key(self.source.kind(), &self.settings.region)
    }

    /// One run at `now` with no deadline, identified by `run_id`.
    pub async fn run(&self, now: DateTime<Utc>, run_id: &str) -> Result<RunSummary, Error> {
        self.run_within(now, run_id, Budget::default()).await
    }

    /// One run that starts no new Get, write or publish once `budget` is exhausted; what is
    /// left stays recorded (open jobs, pending notices, the old watermark) for the next run.
    #[tracing::instrument(skip(self, budget), fields(kind = %self.source.kind()))]
    pub async fn run_within(
        &self,
        now: DateTime<Utc>,
        run_id: &str,
        budget: Budget,
    ) -> Result<RunSummary, Error> {
        let started = Instant::now();
        let scope = self.scope();
        let mut summary = RunSummary {
            job_kind: self.source.kind().to_string(),
            region: self.settings.region.clone(),
            run_id: run_id.to_owned(),
            ..Default::default()
        };

        // The table is read first: without it nothing can be diffed safely.
        summary.store_calls += 2;
        let watermark = self.store.watermark(&scope).await?;
        let watched: HashMap<JobArn, JobRecord> = self
            .store
            .watched(&scope)
            .await?
            .into_iter()
            .map(|r| (r.pk.clone(), r))
            .collect();
        summary.first_run = watermark.is_none();
        summary.watched = watched.values().filter(|r| r.is_open()).count();
        summary.watermark = watermark;

        // 1. Discover new and recent jobs.
        let since = watermark.map_or(now - self.settings.lookback, |w| {
            w - self.settings.list_margin
        });
        let mut observed: HashMap<JobArn, ObservedJob> = HashMap::new();
        let filter = ListFilter {
            submitted_after: Some(since),
            status: None,
            max_pages: None,
        };
        summary.discovery_ok = match self.source.list(&filter).await {
            Ok(listing) => {
                summary.bedrock_calls += listing.calls;
                summary.listed = listing.jobs.len();
                listing
                    .jobs
                    .into_iter()
                    .for_each(|job| reconcile::merge(&mut observed, job));
                true
            }
            Err(e) => {
                summary.fail("list", &e);
                false
            }
        };

        // 2. Reconcile open jobs the listing did not cover.
        // Sorted throughout: runs are reproducible and their logs comparable.
        let mut unlisted: Vec<&JobRecord> = watched
            .values()
            .filter(|r| r.is_open() && !observed.contains_key(&r.pk))
            .collect();
        unlisted.sort_by(|a, b| a.pk.cmp(&b.pk));
        let to_get = self
            .reconcile_by_listing(&unlisted, &mut observed, &mut summary)
            .await;
        let missing = self
            .fetch(to_get, &mut observed, &mut summary, &budget)
            .await;

        // 3. Known state of every observed job: watched items, plus one batch read for the rest.
        let mut known = watched.clone();
        let mut unknown: Vec<JobArn> = observed
            .keys()
            .filter(|a| !known.contains_key(*a))
            .cloned()
            .collect();
        unknown.sort();
        if !unknown.is_empty() {
            summary.store_calls += unknown.len().div_ceil(100) as u64;
            match self.store.get_many(&unknown).await {
                Ok(records) => known.extend(records.into_iter().map(|r| (r.pk.clone(), r))),
                Err(e) => {
                    // Without the stored state a diff could re-notify old jobs: stop here.
                    summary.fail("read known jobs", &e);
                    return Err(e);
                }
            }
        }

        // Details worth fetching only for jobs about to be notified (e.g. batch manifests).
        let concurrency = self.settings.get_concurrency.max(1);
        stream::iter(observed.values_mut().filter(|job| {
            job.status.is_terminal() && known.get(&job.arn).is_none_or(|k| !k.status.is_terminal())
        }))
        .for_each_concurrent(concurrency, |job| self.source.enrich(job))
        .await;

        // 4. Diff and write, claiming notices in the same conditional write.
        let ctx = PlanContext {
            now,
            first_run: summary.first_run,
            policy: &self.settings.policy,
            region: &self.settings.region,
            retention: self.settings.retention,
            run_id,
            lease: self.settings.publish_lease,
        };
        let mut changes: Vec<Change> = Vec::new();
        for job in observed.values() {
            match plan(known.get(&job.arn), job, &ctx) {
                Ok(change) => changes.push(change),
                Err(Skip::Regression) => summary.regressions_ignored += 1,
                Err(_) => {}
            }
        }
        changes.extend(
            missing
                .into_iter()
                .map(|r| plan_missing(r, &ctx, MAX_MISSING)),
        );
        changes.sort_by(|a, b| a.record.pk.cmp(&b.record.pk));
        let (to_publish, touched, all_saved) = self.save_all(changes, &mut summary, &budget).await;

        // 5. Pending notices of earlier runs, then 6. publish everything claimed.
        let mut notices = to_publish;
        if !budget.exhausted() {
            notices.extend(
                self.claim_pending(&watched, &touched, now, run_id, &mut summary)
                    .await,
            );
        }
        self.publish_all(notices, run_id, now, &mut summary, &budget)
            .await;

        // 7. Advance the watermark only when every listed job is safely recorded: a job the
        // listing returned but no write recorded would otherwise never be listed again.
        if summary.discovery_ok && all_saved {
            summary.store_calls += 1;
            match self.store.advance_watermark(&scope, now).await {
                Ok(()) => summary.watermark = Some(now),
                Err(e) => summary.fail("advance watermark", &e),
            }
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    /// Writes the changes (bounded concurrency); returns the notices this run now holds, the
    /// jobs it wrote or tried to, and whether every change was recorded (by us or a racing run).
    async fn save_all(
        &self,
        changes: Vec<Change>,
        summary: &mut RunSummary,
        budget: &Budget,
    ) -> (Vec<(JobRecord, JobStatus)>, HashSet<JobArn>, bool) {
        let results: Vec<_> = stream::iter(changes)
            .map(|change| async move {
                if budget.exhausted() {
                    return (change, None);
                }
                let outcome = self.store.save(&change).await;
                (change, Some(outcome))
            })
            .buffer_unordered(self.settings.get_concurrency.max(1))
            .collect()
            .await;
        let mut to_publish = Vec::new();
        let mut touched = HashSet::new();
        let mut all_saved = true;
        for (change, outcome) in results {
            touched.insert(change.record.pk.clone());
            let Some(outcome) = outcome else {
                summary.deadline_reached = true;
                summary.deferred += 1;
                all_saved = false;
                continue;
            };
            summary.store_calls += 1;
            match outcome {
                Ok(SaveOutcome::Saved)
                    if change.record.retired && change.record.missing_count > 0 =>
                {
                    summary.retired += 1;
                    tracing::warn!(job_arn = %change.record.pk, "job retired: Bedrock no longer has it");
                }
                Ok(SaveOutcome::Saved) if change.record.missing_count > 0 => {}
                Ok(SaveOutcome::Saved) => {
                    summary.transitions += 1;
                    tracing::info!(
                        job_arn = %change.record.pk,
                        status = %change.record.status,
                        previous_status = change.record.previous_status.as_ref().map(JobStatus::as_str),
                        notify = change.notify,
                        "transition"
                    );
                    if let (true, Some(status)) =
                        (change.notify, change.record.pending_status.clone())
                    {
                        to_publish.push((change.record, status));
                    }
                }
                Ok(SaveOutcome::Conflict) => summary.conflicts += 1,
                Err(e) => {
                    all_saved = false;
                    summary.fail("save", &e);
                }
            }
        }
        (to_publish, touched, all_saved)
    }
}
