//! What one run did: small reports from each phase, assembled into the Lambda's result and a
//! structured log line.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::progress::{JobProgress, MAX_PROGRESS_JOBS};
use crate::error::Error;

/// Failures of one phase: counted (in all and per stage: `list`, `get`, `save`, `publish`,
/// ...), the first few kept (without payloads) for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: usize,
    pub first: Vec<String>,
    pub by_stage: BTreeMap<String, usize>,
    /// Failures that were an AWS service throttling the call (after the SDK's retries).
    pub throttles: usize,
}

/// How many failure messages a summary carries.
pub(super) const KEPT_ERRORS: usize = 5;

impl Failures {
    pub fn record(&mut self, context: &str, e: &Error) {
        self.count += 1;
        *self.by_stage.entry(context.to_owned()).or_default() += 1;
        self.throttles += usize::from(e.is_throttling());
        tracing::warn!(context, error = %e.chain(), retryable = e.is_retryable(), "step failed");
        if self.first.len() < KEPT_ERRORS {
            self.first.push(format!("{context}: {}", e.chain()));
        }
    }
}

impl AddAssign for Failures {
    fn add_assign(&mut self, other: Self) {
        self.count += other.count;
        self.throttles += other.throttles;
        add_stages(&mut self.by_stage, other.by_stage);
        let room = KEPT_ERRORS.saturating_sub(self.first.len());
        self.first.extend(other.first.into_iter().take(room));
    }
}

pub(super) fn add_stages(into: &mut BTreeMap<String, usize>, from: BTreeMap<String, usize>) {
    for (stage, n) in from {
        *into.entry(stage).or_default() += n;
    }
}

/// Jobs seen to reach a terminal status, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Finished {
    pub success: usize,
    pub partial: usize,
    pub failure: usize,
}

impl AddAssign for Finished {
    fn add_assign(&mut self, o: Self) {
        self.success += o.success;
        self.partial += o.partial;
        self.failure += o.failure;
    }
}

/// How many notification lags a run keeps (the EMF limit of values per metric).
pub const KEPT_LAGS: usize = 100;

/// What settling a batch of observations did (plan, write, claim, publish).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub transitions: usize,
    pub conflicts: usize,
    pub regressions_ignored: usize,
    pub retired: usize,
    pub notifications_sent: usize,
    pub notifications_pending: usize,
    /// Alerts published (not counted in `notifications_sent`).
    pub alerts_sent: usize,
    pub deferred: usize,
    /// Jobs that succeeded, by model, and how long they took (`overdue` alerts learn from it).
    pub succeeded_durations: Vec<(String, chrono::Duration)>,
    /// Messages to the people audience (one job's email, or a digest of many).
    pub people_messages_sent: usize,
    pub digests_sent: usize,
    /// Tag reads that failed (denied, throttled): those notices went out without tags.
    pub tag_reads_failed: usize,
    /// Every change was written (by this run or a racing one): nothing observed is unrecorded.
    pub all_recorded: bool,
    pub failures: Failures,
    pub finished: Finished,
    /// Publish calls made (sent or failed).
    pub publish_calls: u64,
    /// AWS Price List calls made to price finished jobs (none while the table's prices are fresh).
    pub pricing_calls: u64,
    /// CloudWatch `GetMetricData` calls of the idle check (one per 500 resources in service).
    pub metric_calls: u64,
    /// The estimated cost of the jobs priced, in millionths of a dollar.
    pub estimated_cost_micro_usd: u64,
    /// CloudWatch `GetMetricData` calls for stall candidates' batch metrics.
    pub batch_metrics_calls: u64,
    /// Batch metrics reads that failed (the count rule decided alone).
    pub batch_metrics_failed: usize,
    /// Stall candidates not alerted: their model was still processing tokens.
    pub stalls_cleared: usize,
    /// With `COST_OWNER_TAG`: the same cost by owner bucket (`domain::owner`).
    pub cost_by_owner: BTreeMap<String, u64>,
    /// Jobs whose owner value was past the day's bound (counted under `other`).
    pub owners_past_bound: usize,
    /// Seconds from each notified job's end time to the run that published it.
    pub lags_seconds: Vec<u64>,
    /// With `PROGRESS_METRICS`: the running jobs with an estimate this run settled (at most
    /// [`MAX_PROGRESS_JOBS`]).
    pub progress: Vec<JobProgress>,
}

impl Default for Settled {
    fn default() -> Self {
        Self {
            transitions: 0,
            conflicts: 0,
            regressions_ignored: 0,
            retired: 0,
            notifications_sent: 0,
            notifications_pending: 0,
            alerts_sent: 0,
            deferred: 0,
            succeeded_durations: Vec::new(),
            people_messages_sent: 0,
            digests_sent: 0,
            tag_reads_failed: 0,
            all_recorded: true,
            failures: Failures::default(),
            finished: Finished::default(),
            publish_calls: 0,
            pricing_calls: 0,
            metric_calls: 0,
            estimated_cost_micro_usd: 0,
            batch_metrics_calls: 0,
            batch_metrics_failed: 0,
            stalls_cleared: 0,
            cost_by_owner: BTreeMap::new(),
            owners_past_bound: 0,
            lags_seconds: Vec::new(),
            progress: Vec::new(),
        }
    }
}

impl AddAssign for Settled {
    fn add_assign(&mut self, o: Self) {
        self.transitions += o.transitions;
        self.conflicts += o.conflicts;
        self.regressions_ignored += o.regressions_ignored;
        self.retired += o.retired;
        self.notifications_sent += o.notifications_sent;
        self.notifications_pending += o.notifications_pending;
        self.alerts_sent += o.alerts_sent;
        self.deferred += o.deferred;
        self.succeeded_durations.extend(o.succeeded_durations);
        self.people_messages_sent += o.people_messages_sent;
        self.digests_sent += o.digests_sent;
        self.tag_reads_failed += o.tag_reads_failed;
        self.all_recorded &= o.all_recorded;
        self.failures += o.failures;
        self.finished += o.finished;
        self.publish_calls += o.publish_calls;
        self.pricing_calls += o.pricing_calls;
        self.metric_calls += o.metric_calls;
        self.estimated_cost_micro_usd += o.estimated_cost_micro_usd;
        self.batch_metrics_calls += o.batch_metrics_calls;
        self.batch_metrics_failed += o.batch_metrics_failed;
        self.stalls_cleared += o.stalls_cleared;
        add_owners(&mut self.cost_by_owner, o.cost_by_owner);
        self.owners_past_bound += o.owners_past_bound;
        add_lags(&mut self.lags_seconds, o.lags_seconds);
        add_progress(&mut self.progress, o.progress);
    }
}

pub(super) fn add_owners(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (owner, micro) in from {
        *into.entry(owner).or_default() += micro;
    }
}

/// Adds jobs' progress up to [`MAX_PROGRESS_JOBS`], each job once: a job listed on two pages
/// of one run (or in two scopes' batches) must not write two lines of the same series.
pub(super) fn add_progress(into: &mut Vec<JobProgress>, from: Vec<JobProgress>) {
    for job in from {
        if into.len() >= MAX_PROGRESS_JOBS {
            return;
        }
        if into.iter().all(|known| known.job_id != job.job_id) {
            into.push(job);
        }
    }
}

pub(super) fn add_lags(into: &mut Vec<u64>, from: Vec<u64>) {
    let room = KEPT_LAGS.saturating_sub(into.len());
    into.extend(from.into_iter().take(room));
}

/// The discovery phase: the listing since the watermark (or checkpoint), page by page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovered {
    pub listed: usize,
    /// Listed jobs the table knew as open.
    pub known_open: usize,
    /// The listing reached its end and every page was recorded.
    pub complete: bool,
    /// The listing itself failed (else it completed or stopped for the deadline).
    pub list_failed: bool,
    /// The region's endpoint does not offer the family's API (AWS's answer): skipped.
    pub not_offered: Option<String>,
    /// Submit time up to which every listed job is recorded, when the listing stopped early.
    pub reached: Option<DateTime<Utc>>,
    pub settled: Settled,
}

/// The reconcile phase: open jobs the discovery listing did not cover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Open jobs the table knew that discovery did not list.
    pub watched: usize,
    pub wide_list_calls: u64,
    pub sweep_calls: u64,
    pub fetched: usize,
    pub missing: usize,
    /// The deadline came before every chunk of the watch index was read.
    pub stopped_early: bool,
    pub settled: Settled,
}

/// What one run did: the Lambda's result and a structured log line.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RunSummary {
    pub job_kind: String,
    pub region: String,
    pub run_id: String,
    /// No watermark yet: the table is being filled (finished jobs are recorded silently).
    pub first_run: bool,
    /// The discovery listing did not fail (it completed, or stopped for the deadline).
    pub discovery_ok: bool,
    /// Jobs returned by the discovery listing.
    pub listed: usize,
    /// Open jobs the table knew before the run.
    pub watched: usize,
    /// Open jobs read back with Get.
    pub fetched: usize,
    /// List calls spent on one wide listing since the oldest open job, instead of Gets.
    pub wide_list_calls: u64,
    /// List calls spent sweeping open statuses instead of Gets.
    pub sweep_calls: u64,
    /// Status changes written.
    pub transitions: usize,
    pub notifications_sent: usize,
    /// Early-warning alerts published (stuck, stalled, expiring, overdue).
    pub alerts_sent: usize,
    /// Notices that stay pending for the next run (publish failed, or leased by another run).
    pub notifications_pending: usize,
    /// Writes that lost a race to another run (nothing lost: the other run owns them).
    pub conflicts: usize,
    /// Observations older than the stored state, ignored.
    pub regressions_ignored: usize,
    /// Known open jobs that Bedrock no longer has (counted; retired after repeated misses).
    pub missing: usize,
    pub retired: usize,
    /// The Lambda deadline came near: work left for the next run.
    pub deadline_reached: bool,
    /// Units of work (Gets, writes, publishes) left for the next run because of the deadline.
    pub deferred: usize,
    /// Messages to the people topic: single-job emails and digests (`digests_sent` of them).
    pub people_messages_sent: usize,
    pub digests_sent: usize,
    /// Tag reads that failed (denied, throttled): those notices went out without tags.
    pub tag_reads_failed: usize,
    /// Where an unfinished listing got to: the next run resumes there.
    pub checkpoint: Option<DateTime<Utc>>,
    pub bedrock_calls: u64,
    pub store_calls: u64,
    pub failures: usize,
    /// The first few failures, without payloads.
    pub errors: Vec<String>,
    pub watermark: Option<DateTime<Utc>>,
    pub duration_ms: u64,
    /// Jobs seen to reach a terminal status, by outcome (finished jobs a first run records
    /// silently as history are not counted).
    pub finished: Finished,
    /// Publish calls: SNS Publish and PublishBatch (up to 10 notices each), EventBridge
    /// PutEvents (up to 10 events each).
    pub sns_calls: u64,
    /// AWS Price List `GetProducts` calls (pricing finished jobs; zero while cached prices are
    /// fresh).
    pub pricing_calls: u64,
    /// CloudWatch `GetMetricData` calls of the idle check: one per 500 throughputs in service
    /// per scope and run, none in a scope with none.
    pub metric_calls: u64,
    /// The estimated cost, in millionths of a dollar, of the jobs this run priced (notified as
    /// finished): the `EstimatedCostUsd` metric.
    pub estimated_cost_micro_usd: u64,
    /// CloudWatch `GetMetricData` calls reading `AWS/Bedrock/Batch` for stall candidates (zero
    /// in a run without one).
    pub batch_metrics_calls: u64,
    /// Batch metrics reads that failed: those stalls were judged on the count alone.
    pub batch_metrics_failed: usize,
    /// Jobs the count called stalled that were not alerted: their model was still processing.
    pub stalls_cleared: usize,
    /// With `COST_OWNER_TAG`: that cost by owner (the owner tag's value, `untagged`, `unknown`
    /// or `other`: `domain::owner`), the `EstimatedCostUsd` metric per `Owner`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cost_by_owner: BTreeMap<String, u64>,
    /// Jobs whose owner value came past the day's bound of distinct owners (under `other`).
    #[serde(skip_serializing_if = "is_zero")]
    pub owners_past_bound: usize,
    /// Calls an AWS service throttled even after the SDK's retries (adaptive retries absorb
    /// the rest without failing).
    pub throttles: usize,
    /// Failures per stage (`list`, `wide list`, `sweep`, `get`, `save`, `claim`, `publish`,
    /// `mark sent`, `release lease`, `save progress`).
    pub failures_by_stage: BTreeMap<String, usize>,
    /// Open jobs at the end of a poll, as the scope's item records them (`None` for events).
    pub open_jobs: Option<u64>,
    /// Age of the oldest open job (since its submit time) at the run's start, when any is open.
    pub oldest_open_age_seconds: Option<u64>,
    /// Seconds from each published job's end time to the run that published it (at most the
    /// first 100 of a run).
    pub notification_lag_seconds: Vec<u64>,
    /// With `PROGRESS_METRICS`: running jobs' records left, rate and time to their projected
    /// end (at most [`MAX_PROGRESS_JOBS`] a run), each job's own metric series.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub progress: Vec<JobProgress>,
    /// Why nothing was polled, when the family's API is not offered in the region (a run
    /// that skips is `ok`: there is nothing to watch there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// A run over several (account, region) scopes: each one's part (empty for one scope).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<ScopeReport>,
    /// Scopes a scheduled fleet did not start this period: the budget ran out first (they
    /// are first in the next period).
    #[serde(skip_serializing_if = "is_zero")]
    pub scopes_not_started: usize,
    /// Scopes a scheduled fleet skipped this period: backing off after failures.
    #[serde(skip_serializing_if = "is_zero")]
    pub scopes_backing_off: usize,
    /// Scopes failing for `SCOPE_ALARM_AFTER` periods in a row or more (each named in the
    /// metrics and the alarm).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing_scopes: Vec<FailingScope>,
}

/// A scope failing period after period.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FailingScope {
    /// The scope's key: `{family}#{account}#{region}` (`{family}#{region}`: the own account).
    pub scope: String,
    /// Periods in a row.
    pub failures: u32,
    pub error: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl RunSummary {
    /// Adds what a batch of observations settled to.
    pub(super) fn add_settled(&mut self, s: Settled) {
        self.transitions += s.transitions;
        self.conflicts += s.conflicts;
        self.regressions_ignored += s.regressions_ignored;
        self.retired += s.retired;
        self.notifications_sent += s.notifications_sent;
        self.notifications_pending += s.notifications_pending;
        self.alerts_sent += s.alerts_sent;
        self.deferred += s.deferred;
        self.people_messages_sent += s.people_messages_sent;
        self.digests_sent += s.digests_sent;
        self.tag_reads_failed += s.tag_reads_failed;
        self.finished += s.finished;
        self.sns_calls += s.publish_calls;
        self.pricing_calls += s.pricing_calls;
        self.metric_calls += s.metric_calls;
        self.estimated_cost_micro_usd += s.estimated_cost_micro_usd;
        self.batch_metrics_calls += s.batch_metrics_calls;
        self.batch_metrics_failed += s.batch_metrics_failed;
        self.stalls_cleared += s.stalls_cleared;
        add_owners(&mut self.cost_by_owner, s.cost_by_owner);
        self.owners_past_bound += s.owners_past_bound;
        add_lags(&mut self.notification_lag_seconds, s.lags_seconds);
        add_progress(&mut self.progress, s.progress);
        self.add_failures(s.failures);
    }

    pub(super) fn add_failures(&mut self, f: Failures) {
        self.failures += f.count;
        self.throttles += f.throttles;
        add_stages(&mut self.failures_by_stage, f.by_stage);
        let room = KEPT_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(f.first.into_iter().take(room));
    }

    pub(super) fn add_discovered(&mut self, d: Discovered) {
        self.discovery_ok = !d.list_failed;
        self.listed = d.listed;
        self.watched += d.known_open;
        self.checkpoint = d.reached;
        self.add_settled(d.settled);
    }

    pub(super) fn add_reconciled(&mut self, r: Reconciled) {
        self.watched += r.watched;
        self.wide_list_calls = r.wide_list_calls;
        self.sweep_calls = r.sweep_calls;
        self.fetched = r.fetched;
        self.missing = r.missing;
        self.add_settled(r.settled);
    }
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

impl ScopeReport {
    pub(super) fn of(scope: &str, summary: &RunSummary) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: usize) -> JobProgress {
        JobProgress {
            job_id: format!("job{n}"),
            remaining: 10,
            records_per_hour: 5,
            seconds_to_end: Some(7200),
        }
    }

    #[test]
    fn a_run_reports_the_progress_of_at_most_the_first_hundred_running_jobs() {
        // given batches that settled 60 and then 70 running jobs
        let mut run = Settled {
            progress: (0..60).map(job).collect(),
            ..Settled::default()
        };
        let next = Settled {
            progress: (60..130).map(job).collect(),
            ..Settled::default()
        };

        // when they are added up
        run += next;

        // then the first 100 are kept, in the order they settled
        assert_eq!(run.progress.len(), MAX_PROGRESS_JOBS);
        assert_eq!(run.progress[99].job_id, "job99");
    }

    #[test]
    fn a_job_settled_twice_in_one_run_reports_its_progress_once() {
        // given a job listed on two pages of one run
        let mut run = Settled {
            progress: vec![job(1), job(2)],
            ..Settled::default()
        };

        // when the second page's batch is added
        run += Settled {
            progress: vec![job(2), job(3)],
            ..Settled::default()
        };

        // then each job is there once
        let ids: Vec<&str> = run.progress.iter().map(|j| j.job_id.as_str()).collect();
        assert_eq!(ids, ["job1", "job2", "job3"]);
    }
}
