//! Settling a batch of observations: plan each against the table, write (claiming notices in
//! the same conditional write), claim notices earlier runs left pending, publish. Discovery
//! pages, watched chunks and single events all go through here.

use std::collections::BTreeSet;

use crate::domain::batch_activity::{Activities, ModelActivity};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures::{stream, StreamExt};

use super::summary::{Failures, Settled, KEPT_LAGS};
use super::{Budget, Poller};
use crate::domain::{
    hold_alert, measure, plan, plan_missing, plan_watch, stages, Change, Due, DurationStats,
    JobRecord, JobStatus, Lease, ObservedJob, Outcome, PlanContext, RunId, Sink, Skip,
    WatchContext,
};
use crate::notices::{Notice, Tags};
use crate::ports::{JobSource, JobStore, Notifier, Write};

/// Consecutive "not found" Gets after which a job is retired.
pub const MAX_MISSING: u32 = 3;

/// One job to settle: what the table knows and what Bedrock showed.
#[derive(Debug, Clone)]
pub(super) enum Sighting {
    /// Bedrock showed the job (`known`: the stored item, if any).
    Seen(Option<JobRecord>, Box<ObservedJob>),
    /// A Get found no such job any more.
    Missing(JobRecord),
    /// Not looked up this time (nothing to plan), but a notice it holds may be due.
    Unasked(JobRecord),
}

/// A notice this run holds the lease of, ready to publish.
pub(super) struct Held {
    pub record: JobRecord,
    pub due: Due,
    /// The job's tags when this run has read them already (for its owner's cost).
    pub tags: Option<TagRead>,
}

/// A tag read this run made: its notice reuses it rather than asking again.
#[derive(Debug, Clone)]
pub(super) enum TagRead {
    Read(Tags),
    /// Denied or throttled (already counted in `tag_reads_failed`).
    Failed,
}

/// What one run is: its time, identity and whether it is filling the table for the first time.
pub(super) struct RunContext<'a> {
    pub now: DateTime<Utc>,
    pub run_id: &'a RunId,
    pub history_before: Option<DateTime<Utc>>,
    pub budget: &'a Budget,
    /// Recent durations per model (`overdue` alerts).
    pub durations: &'a DurationStats,
    /// Notices published to machines that people still have to be told of (at the run's end).
    pub outbox: &'a Outbox,
    /// Batch metrics read so far this run, by model (stall candidates).
    pub activity: &'a ActivityCache,
}

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Settles a batch: enrich, plan, write, claim, publish.
    pub(super) async fn settle(&self, mut batch: Vec<Sighting>, run: &RunContext<'_>) -> Settled {
        let mut report = Settled::default();
        self.enrich(&mut batch).await;
        let ctx = self.plan_context(run);
        let activity = self
            .batch_activity(&batch, &self.watch_context(run), run, &mut report)
            .await;
        let watch = WatchContext {
            activity: activity.as_ref(),
            ..self.watch_context(run)
        };
        let mut changes = Vec::new();
        let mut untouched = Vec::new();
        for sighting in batch {
            match sighting {
                Sighting::Seen(known, job) => match plan(known.as_ref(), &job, &ctx) {
                    Ok(mut change) => {
                        if !change.notify {
                            change.notify =
                                hold_alert(&mut change.record, Some(&job.counts), &watch);
                        }
                        changes.push(change);
                    }
                    Err(skip) => {
                        report.regressions_ignored += usize::from(skip == Skip::Regression);
                        // Only an observation of the same status carries the job's progress now.
                        let fresh = (skip == Skip::Unchanged).then_some(job.as_ref());
                        if let Some(known) = known {
                            keep(known, fresh, &watch, &mut changes, &mut untouched);
                        }
                    }
                },
                Sighting::Missing(known) => changes.push(plan_missing(&known, &ctx, MAX_MISSING)),
                Sighting::Unasked(known) => keep(known, None, &watch, &mut changes, &mut untouched),
            }
        }
        // Sorted: runs are reproducible and their logs comparable.
        changes.sort_by(|a, b| a.record.pk.cmp(&b.record.pk));
        self.report_progress(&changes, &untouched, run.now, &mut report);
        self.scope_watched(&mut changes);
        let priced = self.price(&mut changes, &mut report).await;
        let (mut read, owners) = self.attribute(&priced, run.now, &mut report).await;
        let mut held = self.write(changes, run, &mut report).await;
        self.count_recorded(&held, &priced, &owners, &mut report);
        for one in held.iter_mut() {
            one.tags = read.remove(&one.record.pk);
        }
        if !run.budget.exhausted() {
            held.extend(self.claim_pending(untouched, run, &mut report).await);
        }
        self.deliver_all(held, run, &mut report).await;
        report
    }

    /// With `PROGRESS_METRICS`: the progress of the running jobs this batch saw, as the run
    /// leaves them (written or untouched), for the per-job metrics.
    fn report_progress(
        &self,
        changes: &[Change],
        untouched: &[JobRecord],
        now: DateTime<Utc>,
        report: &mut Settled,
    ) {
        if !self.settings.progress_metrics {
            return;
        }
        let records = changes.iter().map(|c| &c.record).chain(untouched);
        let progress = records.filter_map(|r| r.progress_at_run(now)).collect();
        super::summary::add_progress(&mut report.progress, progress);
    }

    /// Items this run keeps watching are watched in its scope (the planner, a pure function of
    /// the job, gives the own account's key).
    fn scope_watched(&self, changes: &mut [Change]) {
        if self.account.is_some() {
            let scope = self.scope();
            for change in changes.iter_mut().filter(|c| c.record.watch.is_some()) {
                change.record.watch = Some(scope.clone());
            }
        }
    }

    fn plan_context<'a>(&'a self, run: &'a RunContext<'a>) -> PlanContext<'a> {
        PlanContext {
            now: run.now,
            history_before: run.history_before,
            policy: &self.settings.policy,
            region: &self.settings.region,
            retention: self.settings.retention,
            run_id: run.run_id,
            lease: self.settings.publish_lease,
        }
    }

    fn watch_context<'a>(&'a self, run: &'a RunContext<'a>) -> WatchContext<'a> {
        WatchContext {
            now: run.now,
            settings: &self.settings.alerts,
            durations: run.durations,
            run_id: run.run_id,
            lease: self.settings.publish_lease,
            quiet: run.history_before.is_some(),
            activity: None,
        }
    }

    /// Details worth fetching only for jobs about to be notified (e.g. batch manifests).
    async fn enrich(&self, batch: &mut [Sighting]) {
        let due = batch.iter_mut().filter_map(|s| match s {
            Sighting::Seen(known, job)
                if job.is_terminal() && known.as_ref().is_none_or(JobRecord::is_open) =>
            {
                Some(job.as_mut())
            }
            _ => None,
        });
        stream::iter(due)
            .for_each_concurrent(self.settings.get_concurrency.max(1), |job| {
                self.source.enrich(job)
            })
            .await;
    }

    /// Runs `work` on each item with the run's concurrency; past the deadline an item is not
    /// started, and comes back with `None`.
    pub(super) async fn within_budget<I, R, F, Fut>(
        &self,
        items: Vec<I>,
        budget: &Budget,
        work: F,
    ) -> Vec<(I, Option<R>)>
    where
        F: Fn(I) -> Fut,
        Fut: std::future::Future<Output = (I, R)>,
    {
        let work = &work;
        stream::iter(items)
            .map(|item| async move {
                if budget.exhausted() {
                    return (item, None);
                }
                let (item, result) = work(item).await;
                (item, Some(result))
            })
            .buffer_unordered(self.settings.get_concurrency.max(1))
            .collect()
            .await
    }

    /// Writes the changes (bounded concurrency, nothing new past the deadline); returns the
    /// notices this run now holds.
    pub(super) async fn write(
        &self,
        changes: Vec<Change>,
        run: &RunContext<'_>,
        report: &mut Settled,
    ) -> Vec<Held> {
        let results = self
            .within_budget(changes, run.budget, |change| async move {
                let outcome = self.store.save(&change).await;
                (change, outcome)
            })
            .await;
        let mut held = Vec::new();
        for (change, outcome) in results {
            let Some(outcome) = outcome else {
                report.deferred += 1;
                report.all_recorded = false;
                continue;
            };
            match outcome {
                Ok(Write::Written) => held.extend(written(change, report)),
                Ok(Write::LostRace) => report.conflicts += 1,
                Err(e) => {
                    report.all_recorded = false;
                    report.failures.record("save", &e);
                }
            }
        }
        held
    }

    /// Notices left pending by earlier runs (failed publish, crash): claims the ones whose lease
    /// is free.
    async fn claim_pending(
        &self,
        mut records: Vec<JobRecord>,
        run: &RunContext<'_>,
        report: &mut Settled,
    ) -> Vec<Held> {
        records.sort_by(|a, b| a.pk.cmp(&b.pk));
        let lease = Lease {
            owner: run.run_id.clone(),
            until: run.now + self.settings.publish_lease,
        };
        let mut held = Vec::new();
        for record in records {
            let Some(due) = record.due() else {
                continue;
            };
            if !record.claimable(run.now) {
                report.notifications_pending += 1;
                continue;
            }
            let claim = self
                .store
                .claim(&record.pk, record.version, &lease, run.now);
            match claim.await {
                Ok(Write::Written) => held.push(Held {
                    record,
                    due,
                    tags: None,
                }),
                Ok(Write::LostRace) => report.notifications_pending += 1,
                Err(e) => report.failures.record("claim", &e),
            }
        }
        held
    }

    pub(super) async fn release(
        &self,
        record: &JobRecord,
        run_id: &RunId,
        failures: &mut Failures,
    ) {
        if let Err(e) = self.store.release(&record.pk, run_id).await {
            failures.record("release lease", &e);
        }
    }

    /// The job's tags named in `NOTIFY_TAGS`, from the read this run made already (`read`) or
    /// a new one; a failed read (denied, throttled) is counted and logged (once), and the
    /// notice goes out without tags.
    pub(super) async fn kept_tags(
        &self,
        record: &JobRecord,
        read: Option<&TagRead>,
        report: &mut Settled,
    ) -> Tags {
        let presentation = &self.settings.presentation;
        if !presentation.reads_tags() {
            return Tags::new();
        }
        match read {
            Some(TagRead::Read(tags)) => return presentation.keep(tags),
            Some(TagRead::Failed) => return Tags::new(),
            None => {}
        }
        match self.source.tags(&record.pk).await {
            Ok(tags) => presentation.keep(&tags),
            Err(e) => {
                report.tag_reads_failed += 1;
                tracing::warn!(job_arn = %record.pk, error = %e.chain(), "tags unreadable: notified without them");
                Tags::new()
            }
        }
    }

    pub(super) async fn mark_sent(
        &self,
        held: &Held,
        run: &RunContext<'_>,
        failures: &mut Failures,
    ) {
        let Held { record, due, .. } = held;
        let sent = record.sent(due, run.now, self.settings.retention);
        match self.store.mark_sent(&record.pk, run.run_id, &sent).await {
            Ok(Write::Written) => {}
            Ok(Write::LostRace) => {
                tracing::warn!(job_arn = %record.pk, "notice was re-claimed before it was marked sent")
            }
            Err(e) => failures.record("mark sent", &e),
        }
    }
}

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// The notice of what is due: the status the job arrived in, or the alert measured now.
    pub(super) fn notice(
        &self,
        record: &JobRecord,
        due: &Due,
        tags: &Tags,
        run: &RunContext<'_>,
    ) -> Notice {
        let presentation = &self.settings.presentation;
        match due {
            Due::Status(status) => Notice::build(record, status, presentation, tags),
            Due::Alert(kind) => {
                let watch = self.watch_context(run);
                let inputs = watch.inputs(record, None);
                let alert = measure(*kind, record, &inputs).unwrap_or(crate::domain::Alert {
                    kind: *kind,
                    elapsed: run.now - record.submit_time,
                    threshold: chrono::Duration::zero(),
                    median: None,
                });
                Notice::alert(record, &alert, presentation, tags)
            }
        }
    }
}

/// Counts a written change; returns the notice it claimed, if any.
fn written(change: Change, report: &mut Settled) -> Option<Held> {
    count_finished(&change, report);
    let record = change.record;
    if record.missing_count > 0 {
        if record.retired {
            report.retired += 1;
            tracing::warn!(job_arn = %record.pk, "job retired: Bedrock no longer has it");
        }
        return None;
    }
    if change.transition {
        report.transitions += 1;
        report
            .succeeded_durations
            .extend(finished_duration(&record));
        tracing::info!(
            job_arn = %record.pk,
            status = %record.status,
            previous_status = record.previous_status.as_ref().map(JobStatus::as_str),
            notify = change.notify,
            "transition"
        );
    }
    let due = record.due().filter(|_| change.notify)?;
    Some(Held {
        record,
        due,
        tags: None,
    })
}

/// Notification lag (the job's end to its publish), a bounded sample per run.
pub(super) fn record_lag(record: &JobRecord, now: DateTime<Utc>, report: &mut Settled) {
    if let Some(end) = record.end_time {
        if report.lags_seconds.len() < KEPT_LAGS {
            report
                .lags_seconds
                .push((now - end).num_seconds().max(0) as u64);
        }
    }
}

/// A known job whose status did not change: written when its progress moved (its counts, or
/// the stages or statistics its family reports instead) or an alert is due, else left as it
/// is (a notice it holds may still be claimed).
fn keep(
    known: JobRecord,
    fresh: Option<&ObservedJob>,
    watch: &WatchContext,
    changes: &mut Vec<Change>,
    untouched: &mut Vec<JobRecord>,
) {
    let mut seen = known.clone();
    let keys = known.kind.family().progress_details;
    let moved = known.is_open()
        && fresh.is_some_and(|job| stages::track(&mut seen.details, &job.details, keys));
    // Like a moving count, written at most every quarter of the stall threshold: a steady run
    // does not rewrite every running ingestion job whose statistics tick.
    let staged = moved && watch.now - known.updated_at >= watch.settings.stalled_after / 4;
    match plan_watch(&seen, fresh.map(|job| &job.counts), watch) {
        Some(change) => changes.push(change),
        None if staged => changes.push(Change {
            record: JobRecord {
                version: known.version + 1,
                updated_at: watch.now,
                ..seen
            },
            expected_version: Some(known.version),
            notify: false,
            transition: false,
        }),
        None => untouched.push(known),
    }
}

/// How long a job that just succeeded took, by model (what `overdue` alerts compare with).
fn finished_duration(record: &JobRecord) -> Option<(String, chrono::Duration)> {
    let succeeded = record.phase() == crate::domain::Phase::Succeeded;
    let took = record.end_time? - record.submit_time;
    let model = record.model_id.clone()?;
    (succeeded && took > chrono::Duration::zero()).then_some((model, took))
}

/// A job seen to finish: a known job arriving in a terminal status, or a new one notified as
/// such (a first run's silent history is not news).
fn count_finished(change: &Change, report: &mut Settled) {
    let record = &change.record;
    let news = record.previous_status.is_some() || change.notify;
    if record.missing_count > 0 || record.is_open() || !news {
        return;
    }
    match record.phase().outcome() {
        Outcome::Success => report.finished.success += 1,
        Outcome::Partial => report.finished.partial += 1,
        Outcome::Failure => report.finished.failure += 1,
        Outcome::Progress => {}
    }
}

/// What a run has read so far, by model (`None`: read, no datapoint), so that the pages and
/// chunks of one run ask CloudWatch about each model once.
#[derive(Debug, Default)]
pub(super) struct ActivityCache(Mutex<std::collections::BTreeMap<String, Option<ModelActivity>>>);

impl ActivityCache {
    pub(super) fn unread(&self, models: BTreeSet<String>) -> Vec<String> {
        let read = self.0.lock().unwrap_or_else(|p| p.into_inner());
        models
            .into_iter()
            .filter(|m| !read.contains_key(m))
            .collect()
    }

    pub(super) fn remember(&self, asked: &[String], found: &Activities) {
        let mut read = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for model in asked {
            read.insert(model.clone(), found.get(model).copied());
        }
    }

    pub(super) fn of(&self, models: &BTreeSet<String>) -> Activities {
        let read = self.0.lock().unwrap_or_else(|p| p.into_inner());
        models
            .iter()
            .filter_map(|m| Some((m.clone(), (*read.get(m)?)?)))
            .collect()
    }
}

/// A notice people still have to be told of.
pub(super) struct Told {
    pub held: Held,
    pub notice: Notice,
    /// The machine sinks that have it.
    pub delivered: BTreeSet<Sink>,
    /// Every machine sink has it: once people do, it is sent.
    pub machines_done: bool,
}

/// The run's notices for people, collected across pages and chunks.
#[derive(Default)]
pub(super) struct Outbox(Mutex<Vec<Told>>);

impl Outbox {
    pub fn push(&self, told: Told) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(told);
    }

    pub(super) fn take(&self) -> Vec<Told> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
