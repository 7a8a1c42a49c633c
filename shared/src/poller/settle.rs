//! Settling a batch of observations: plan each against the table, write (claiming notices in
//! the same conditional write), claim notices earlier runs left pending, publish. Discovery
//! pages, watched chunks and single events all go through here.

use chrono::{DateTime, Utc};
use futures::{stream, StreamExt};

use super::summary::{Failures, Settled, KEPT_LAGS};
use super::{Budget, Poller};
use crate::domain::{
    plan, plan_missing, Change, JobRecord, JobStatus, Lease, Notice, ObservedJob, Outcome,
    PlanContext, RunId, Skip,
};
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
struct Held {
    record: JobRecord,
    status: JobStatus,
}

/// What one run is: its time, identity and whether it is filling the table for the first time.
pub(super) struct RunContext<'a> {
    pub now: DateTime<Utc>,
    pub run_id: &'a RunId,
    pub history_before: Option<DateTime<Utc>>,
    pub budget: &'a Budget,
}

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Settles a batch: enrich, plan, write, claim, publish.
    pub(super) async fn settle(&self, mut batch: Vec<Sighting>, run: &RunContext<'_>) -> Settled {
        let mut report = Settled::default();
        self.enrich(&mut batch).await;
        let ctx = self.plan_context(run);
        let mut changes = Vec::new();
        let mut untouched = Vec::new();
        for sighting in batch {
            match sighting {
                Sighting::Seen(known, job) => match plan(known.as_ref(), &job, &ctx) {
                    Ok(change) => changes.push(change),
                    Err(skip) => {
                        report.regressions_ignored += usize::from(skip == Skip::Regression);
                        untouched.extend(known);
                    }
                },
                Sighting::Missing(known) => changes.push(plan_missing(&known, &ctx, MAX_MISSING)),
                Sighting::Unasked(known) => untouched.push(known),
            }
        }
        // Sorted: runs are reproducible and their logs comparable.
        changes.sort_by(|a, b| a.record.pk.cmp(&b.record.pk));
        let mut held = self.write(changes, run, &mut report).await;
        if !run.budget.exhausted() {
            held.extend(self.claim_pending(untouched, run, &mut report).await);
        }
        self.publish_all(held, run, &mut report).await;
        report
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
    async fn write(
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
            let Some(status) = record.pending_status.clone() else {
                continue;
            };
            if !record.claimable(run.now) {
                report.notifications_pending += 1;
                continue;
            }
            match self.store.claim(&record.pk, &lease, run.now).await {
                Ok(Write::Written) => held.push(Held { record, status }),
                Ok(Write::LostRace) => report.notifications_pending += 1,
                Err(e) => report.failures.record("claim", &e),
            }
        }
        held
    }

    /// Publishes each notice, then marks it sent; past the deadline, gives the leases back so
    /// the next run publishes at once.
    async fn publish_all(&self, held: Vec<Held>, run: &RunContext<'_>, report: &mut Settled) {
        for notice in held {
            if run.budget.exhausted() {
                report.deferred += 1;
                report.notifications_pending += 1;
                self.release(&notice.record, run.run_id, &mut report.failures)
                    .await;
                continue;
            }
            self.publish(notice, run, report).await;
        }
    }

    async fn release(&self, record: &JobRecord, run_id: &RunId, failures: &mut Failures) {
        if let Err(e) = self.store.release(&record.pk, run_id).await {
            failures.record("release lease", &e);
        }
    }

    async fn publish(&self, held: Held, run: &RunContext<'_>, report: &mut Settled) {
        let Held { record, status } = held;
        let notice = Notice::new(&record, &status);
        report.publish_calls += 1;
        match self.notifier.publish(&notice).await {
            Ok(message_id) => {
                report.notifications_sent += 1;
                if let Some(end) = record.end_time {
                    let lag = (run.now - end).num_seconds().max(0) as u64;
                    if report.lags_seconds.len() < KEPT_LAGS {
                        report.lags_seconds.push(lag);
                    }
                }
                tracing::info!(job_arn = %record.pk, status = %status, message_id, dedup_key = notice.dedup_key, "notified");
                let sent = record.sent(&status, run.now, self.settings.retention);
                match self.store.mark_sent(&record.pk, run.run_id, &sent).await {
                    Ok(Write::Written) => {}
                    Ok(Write::LostRace) => {
                        tracing::warn!(job_arn = %record.pk, "notice was re-claimed before it was marked sent")
                    }
                    Err(e) => report.failures.record("mark sent", &e),
                }
            }
            Err(e) => {
                report.notifications_pending += 1;
                report.failures.record("publish", &e);
                self.release(&record, run.run_id, &mut report.failures)
                    .await;
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
    report.transitions += 1;
    tracing::info!(
        job_arn = %record.pk,
        status = %record.status,
        previous_status = record.previous_status.as_ref().map(JobStatus::as_str),
        notify = change.notify,
        "transition"
    );
    let status = record.pending_status.clone().filter(|_| change.notify)?;
    Some(Held { record, status })
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
