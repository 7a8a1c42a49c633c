//! One poll of one job family: discover, reconcile, diff, write, notify. Generic over the ports.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use futures::{stream, StreamExt};
use serde::Serialize;

use crate::config::Config;
use crate::domain::{
    plan, JobArn, JobRecord, JobStatus, Notice, NotifyPolicy, ObservedJob, PlanContext, Skip,
};
use crate::error::Error;
use crate::ports::{JobSource, JobStore, ListFilter, Notifier, SaveOutcome};

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

/// What one run did; the Lambda's result and a structured log line.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RunSummary {
    pub job_kind: String,
    pub region: String,
    pub run_id: String,
    pub first_run: bool,
    /// The discovery listing completed (else the watermark stayed where it was).
    pub discovery_ok: bool,
    /// Jobs returned by the discovery listing.
    pub listed: usize,
    /// Open jobs the table knew before the run.
    pub watched: usize,
    /// Open jobs read back with Get.
    pub fetched: usize,
    /// List calls spent sweeping open statuses instead of Gets.
    pub sweep_calls: u64,
    /// Status changes written.
    pub transitions: usize,
    pub notifications_sent: usize,
    /// Notices that stay pending for the next run (publish failed, or leased by another run).
    pub notifications_pending: usize,
    /// Writes that lost a race to another run (nothing lost: the other run owns them).
    pub conflicts: usize,
    /// Observations older than the stored state, ignored.
    pub regressions_ignored: usize,
    /// Known open jobs that Bedrock no longer has.
    pub missing: usize,
    pub bedrock_calls: u64,
    pub store_calls: u64,
    pub failures: usize,
    /// The first few failures, without payloads.
    pub errors: Vec<String>,
    pub watermark: Option<DateTime<Utc>>,
    pub duration_ms: u64,
}

impl RunSummary {
    fn fail(&mut self, context: &str, e: &Error) {
        self.failures += 1;
        tracing::warn!(context, error = %e.chain(), retryable = e.is_retryable(), "step failed");
        if self.errors.len() < 5 {
            self.errors.push(format!("{context}: {}", e.chain()));
        }
    }
}

/// A poller for one job family.
pub struct Poller<S, T, N> {
    pub source: S,
    pub store: T,
    pub notifier: N,
    pub settings: PollSettings,
}

/// Above this many open jobs, sweeping the open statuses with List beats one Get per job.
const SWEEP_MIN_OPEN: usize = 20;

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

    /// One run at `now`, identified by `run_id` (the Lambda request id).
    #[tracing::instrument(skip(self), fields(kind = %self.source.kind()))]
    pub async fn run(&self, now: DateTime<Utc>, run_id: &str) -> Result<RunSummary, Error> {
        let started = std::time::Instant::now();
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
        let filter = ListFilter {
            submitted_after: Some(since),
            status: None,
        };
        let mut observed: HashMap<JobArn, ObservedJob> = HashMap::new();
        let listed_ok = match self.source.list(&filter).await {
            Ok(listing) => {
                summary.bedrock_calls += listing.calls;
                summary.listed = listing.jobs.len();
                for job in listing.jobs {
                    merge(&mut observed, job);
                }
                true
            }
            Err(e) => {
                summary.fail("list", &e);
                false
            }
        };

        summary.discovery_ok = listed_ok;

        // 2. Reconcile open jobs the listing did not cover.
        let unlisted: Vec<&JobRecord> = watched
            .values()
            .filter(|r| r.is_open() && !observed.contains_key(&r.pk))
            .collect();
        let to_get = self.sweep(&unlisted, &mut observed, &mut summary).await;
        self.fetch(to_get, &mut observed, &mut summary).await;

        // 3. Known state of every observed job: watched items, plus one batch read for the rest.
        let mut known: HashMap<JobArn, JobRecord> = watched.clone();
        let unknown: Vec<JobArn> = observed
            .keys()
            .filter(|a| !known.contains_key(*a))
            .cloned()
            .collect();
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
        let changes: Vec<_> = observed
            .values()
            .filter_map(|job| match plan(known.get(&job.arn), job, &ctx) {
                Ok(change) => Some(change),
                Err(Skip::Regression) => {
                    summary.regressions_ignored += 1;
                    None
                }
                Err(_) => None,
            })
            .collect();
        summary.store_calls += changes.len() as u64;
        let results: Vec<_> = stream::iter(changes)
            .map(|change| async move {
                let outcome = self.store.save(&change).await;
                (change, outcome)
            })
            .buffer_unordered(self.settings.get_concurrency.max(1))
            .collect()
            .await;
        let mut to_publish: Vec<(JobRecord, JobStatus)> = Vec::new();
        let mut touched: HashSet<JobArn> = HashSet::new();
        for (change, outcome) in results {
            touched.insert(change.record.pk.clone());
            match outcome {
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
                Err(e) => summary.fail("save", &e),
            }
        }

        // 5. Notices left pending by earlier runs (failed publish, crash): claim and retry.
        for record in watched
            .values()
            .filter(|r| r.pending_status.is_some() && !touched.contains(&r.pk))
        {
            let Some(status) = record.pending_status.clone() else {
                continue;
            };
            if !record.claimable(now) {
                summary.notifications_pending += 1;
                continue;
            }
            let until = (now + self.settings.publish_lease).timestamp();
            summary.store_calls += 1;
            match self
                .store
                .claim(&record.pk, run_id, until, now.timestamp())
                .await
            {
                Ok(true) => to_publish.push((record.clone(), status)),
                Ok(false) => summary.notifications_pending += 1,
                Err(e) => summary.fail("claim", &e),
            }
        }

        // 6. Publish, then record each as sent.
        for (record, status) in to_publish {
            self.publish(&record, &status, run_id, now, &mut summary)
                .await;
        }

        // 7. Advance the watermark only after a complete listing.
        if listed_ok {
            summary.store_calls += 1;
            match self.store.advance_watermark(&scope, now).await {
                Ok(()) => summary.watermark = Some(now),
                Err(e) => summary.fail("advance watermark", &e),
            }
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    /// With many open jobs, lists each open status once; returns the jobs still to Get (those
    /// the sweep did not find: they changed to a status the sweep does not cover).
    async fn sweep<'a>(
        &self,
        unlisted: &[&'a JobRecord],
        observed: &mut HashMap<JobArn, ObservedJob>,
        summary: &mut RunSummary,
    ) -> Vec<&'a JobRecord> {
        if unlisted.len() < SWEEP_MIN_OPEN {
            return unlisted.to_vec();
        }
        let oldest = unlisted.iter().map(|r| r.submit_time).min();
        let since = oldest.map(|t| t - Duration::seconds(1));
        let mut swept: HashMap<JobArn, ObservedJob> = HashMap::new();
        for status in self.source.open_statuses() {
            let filter = ListFilter {
                submitted_after: since,
                status: Some(status.clone()),
            };
            match self.source.list(&filter).await {
                Ok(listing) => {
                    summary.bedrock_calls += listing.calls;
                    summary.sweep_calls += listing.calls;
                    for job in listing.jobs {
                        merge(&mut swept, job);
                    }
                }
                Err(e) => {
                    summary.fail("sweep", &e);
                    return unlisted.to_vec();
                }
            }
        }
        let mut rest = Vec::new();
        for record in unlisted {
            // Unknown statuses cannot be swept: Get them.
            match swept.remove(&record.pk) {
                Some(job) if !matches!(record.status, JobStatus::Unknown(_)) => {
                    merge(observed, job)
                }
                _ => rest.push(*record),
            }
        }
        rest
    }

    async fn fetch(
        &self,
        records: Vec<&JobRecord>,
        observed: &mut HashMap<JobArn, ObservedJob>,
        summary: &mut RunSummary,
    ) {
        let results: Vec<_> = stream::iter(records)
            .map(|record| async move { (record, self.source.get(&record.pk).await) })
            .buffer_unordered(self.settings.get_concurrency.max(1))
            .collect()
            .await;
        for (record, result) in results {
            summary.bedrock_calls += 1;
            match result {
                Ok(Some(job)) => {
                    summary.fetched += 1;
                    merge(observed, job);
                }
                Ok(None) => {
                    summary.missing += 1;
                    tracing::warn!(job_arn = %record.pk, "known open job no longer exists");
                }
                Err(e) => summary.fail("get", &e),
            }
        }
    }

    async fn publish(
        &self,
        record: &JobRecord,
        status: &JobStatus,
        run_id: &str,
        now: DateTime<Utc>,
        summary: &mut RunSummary,
    ) {
        let notice = Notice::new(record, status);
        match self.notifier.publish(&notice).await {
            Ok(message_id) => {
                summary.notifications_sent += 1;
                tracing::info!(job_arn = %record.pk, status = %status, message_id, dedup_key = notice.dedup_key, "notified");
                let finished_ttl =
                    (!record.is_open()).then(|| (now + self.settings.retention).timestamp());
                summary.store_calls += 1;
                match self
                    .store
                    .mark_sent(&record.pk, status, run_id, now, finished_ttl)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job_arn = %record.pk, "notice was re-claimed before it was marked sent")
                    }
                    Err(e) => summary.fail("mark sent", &e),
                }
            }
            Err(e) => {
                summary.notifications_pending += 1;
                summary.fail("publish", &e);
                summary.store_calls += 1;
                if let Err(e) = self.store.release(&record.pk, run_id).await {
                    summary.fail("release lease", &e);
                }
            }
        }
    }
}

/// Keeps the most advanced observation when a job is seen twice in one run.
fn merge(into: &mut HashMap<JobArn, ObservedJob>, job: ObservedJob) {
    match into.get(&job.arn) {
        Some(existing) if existing.status.rank() >= job.status.rank() => {}
        _ => {
            into.insert(job.arn.clone(), job);
        }
    }
}
