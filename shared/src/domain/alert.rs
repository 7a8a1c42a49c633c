//! Early warnings on jobs that are not finished: the pure rules that decide which alert a job is
//! due. Every rule reads only what the table and this run's listing already hold, so alerts
//! never cost a Bedrock call.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::batch_activity::{Activities, ModelActivity, Verdict};
use super::{AlertKind, Basis, Change, JobKind, JobRecord, Lease, Phase, RecordCounts, RunId};

/// A threshold per family: an explicit value for one family, else one for all, else the
/// family's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thresholds {
    pub all: Option<Duration>,
    pub per_family: BTreeMap<JobKind, Duration>,
}

impl Thresholds {
    pub fn for_kind(&self, kind: JobKind, default: fn(JobKind) -> Duration) -> Duration {
        self.per_family
            .get(&kind)
            .copied()
            .or(self.all)
            .unwrap_or_else(|| default(kind))
    }
}

/// The alert thresholds (`ALERT_*` variables; docs/notifications/early-warnings.md).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    /// `ALERTS` (default on).
    pub enabled: bool,
    /// `ALERT_STUCK_AFTER`: waiting longer than this is `stuck`.
    pub stuck_after: Thresholds,
    /// `ALERT_STALLED_AFTER` (default 2h): a processed count unchanged this long is `stalled`.
    pub stalled_after: Duration,
    /// `ALERT_RUNNING_AFTER`: families without progress counters running longer than this are
    /// `stalled`.
    pub running_after: Thresholds,
    /// `ALERT_EXPIRY_WARNING` (default 6h): this close to `jobExpirationTime`, a job without an
    /// observed rate that says it will finish in time is `expiring` (with one that says it
    /// will not, it is `expiring` as soon as the rate says so).
    pub expiry_warning: Duration,
    /// `ALERT_OVERDUE_FACTOR` (default 3): running longer than this many medians is `overdue`.
    pub overdue_factor: f64,
    /// `ALERT_OVERDUE_MIN_HISTORY` (default 5): finished jobs of the same model needed first.
    pub overdue_min_history: usize,
    /// `ALERT_IDLE_AFTER` (hours, default 24): a throughput in service with no invocations this
    /// long is `idle`, told at most once a day ([`super::idle`]).
    pub idle: super::idle::IdleSettings,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            stuck_after: Thresholds::default(),
            stalled_after: Duration::hours(2),
            running_after: Thresholds::default(),
            expiry_warning: Duration::hours(6),
            overdue_factor: 3.0,
            overdue_min_history: 5,
            idle: super::idle::IdleSettings::default(),
        }
    }
}

impl AlertSettings {
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

/// Default for waiting ([`super::family::AlertDefaults`]).
pub fn default_stuck_after(kind: JobKind) -> Duration {
    Duration::hours(kind.family().alerts.stuck_after_hours.into())
}

/// Default for running without progress counters ([`super::family::AlertDefaults`]).
pub fn default_running_after(kind: JobKind) -> Duration {
    Duration::hours(kind.family().alerts.running_after_hours.into())
}

/// An alert a job is due: what, how long, against which threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub kind: AlertKind,
    /// How long the condition has lasted (for `expiring`: the time left, negative once past).
    pub elapsed: Duration,
    pub threshold: Duration,
    /// `overdue`: the median duration it was compared with.
    pub median: Option<Duration>,
}

/// What the rules need besides the stored record.
#[derive(Debug, Clone, Copy)]
pub struct AlertInputs<'a> {
    pub now: DateTime<Utc>,
    pub settings: &'a AlertSettings,
    /// Counts this run observed (`None`: the job was not listed or read with its counts).
    pub fresh_counts: Option<&'a RecordCounts>,
    /// Median duration of finished jobs of the same family and model, with enough history.
    pub median: Option<Duration>,
    /// The job's model's `AWS/Bedrock/Batch` metrics, when this run read them (a job whose
    /// count did not move: [`stall_candidate`]); `None`: the count alone decides.
    pub activity: Option<&'a ModelActivity>,
}

/// The first alert `record` is due and has not had yet; never for a finished job.
pub fn due(record: &JobRecord, inputs: &AlertInputs) -> Option<Alert> {
    if !inputs.settings.enabled || !record.is_open() || record.retired {
        return None;
    }
    AlertKind::ALL
        .into_iter()
        .filter(|kind| !record.alerts_sent.contains(kind))
        .filter_map(|kind| measure(kind, record, inputs))
        .find(|alert| holds(alert, record, inputs))
}

/// How far along a job is on an alert's measure, whether or not it is over the threshold
/// (`None` when the measure does not apply: no deadline, no median).
pub fn measure(kind: AlertKind, record: &JobRecord, inputs: &AlertInputs) -> Option<Alert> {
    let (now, settings) = (inputs.now, inputs.settings);
    let since_submit = now - record.started_at();
    let (elapsed, threshold, median) = match kind {
        AlertKind::Expiring => (record.deadline? - now, settings.expiry_warning, None),
        AlertKind::Stuck => (
            since_submit,
            settings
                .stuck_after
                .for_kind(record.kind, default_stuck_after),
            None,
        ),
        AlertKind::Stalled => match record.counts.processed {
            Some(_) => (
                now - record.progress_at.unwrap_or(record.updated_at),
                settings.stalled_after,
                None,
            ),
            None => (
                since_submit,
                settings
                    .running_after
                    .for_kind(record.kind, default_running_after),
                None,
            ),
        },
        AlertKind::Overdue => {
            let median = inputs.median?;
            let factor = settings.overdue_factor;
            let limit = Duration::milliseconds((median.num_milliseconds() as f64 * factor) as i64);
            (since_submit, limit, Some(median))
        }
        // Measured from the stretch the item records (set when the alert was held).
        AlertKind::Idle => {
            let idle = record.idle.as_ref()?;
            (now - idle.since, settings.idle.after, None)
        }
    };
    Some(Alert {
        kind,
        elapsed,
        threshold,
        median,
    })
}

/// Whether a measured alert is due now.
fn holds(alert: &Alert, record: &JobRecord, inputs: &AlertInputs) -> bool {
    let over = alert.elapsed >= alert.threshold;
    match alert.kind {
        AlertKind::Expiring => expiring(record, alert.elapsed <= alert.threshold),
        AlertKind::Stuck => record.phase() == Phase::Pending && over,
        // A count is judged stalled only on what this run saw: an unlisted job may be moving.
        AlertKind::Stalled => {
            let unchanged = match record.counts.processed {
                Some(stored) => inputs
                    .fresh_counts
                    .and_then(|c| c.processed)
                    .is_some_and(|fresh| fresh == stored),
                None => true,
            };
            // The anchors' rule: a model still processing tokens is not stalled (per model,
            // so it may be another job's tokens: the alert waits rather than guesses).
            let processing = record.counts.processed.is_some()
                && inputs
                    .activity
                    .is_some_and(|a| a.verdict() == Verdict::Processing);
            record.phase() == Phase::Running && unchanged && over && !processing
        }
        AlertKind::Overdue => record.phase() == Phase::Running && alert.elapsed > alert.threshold,
        AlertKind::Idle => false,
    }
}

/// Whether a job with a deadline is worth an `expiring` alert: when its own observed rate
/// projects an end after the deadline (as soon as it does); otherwise, `near` the deadline
/// (within `ALERT_EXPIRY_WARNING`), unless a rate since submission says it will make it.
fn expiring(record: &JobRecord, near: bool) -> bool {
    let Some(deadline) = record.deadline else {
        return false;
    };
    match record.estimate() {
        Some(e) if e.basis == Basis::Observed && e.end.is_some() => e.misses(deadline),
        Some(e) => near && e.misses(deadline),
        None => near,
    }
}

/// What holding an alert needs of the run.
#[derive(Debug, Clone, Copy)]
pub struct WatchContext<'a> {
    pub now: DateTime<Utc>,
    pub settings: &'a AlertSettings,
    pub durations: &'a DurationStats,
    pub run_id: &'a RunId,
    /// How long this run may hold the alert's notice before another run may publish it.
    pub lease: Duration,
    /// A first run recording the table's history sends nothing, alerts included: a new
    /// deployment does not open with a burst. The next run alerts what is still due.
    pub quiet: bool,
    /// Batch metrics by model, read this run for the jobs [`stall_candidate`] picked (`None`:
    /// not read, or the read failed).
    pub activity: Option<&'a Activities>,
}

impl WatchContext<'_> {
    pub fn inputs<'a>(
        &'a self,
        record: &JobRecord,
        fresh: Option<&'a RecordCounts>,
    ) -> AlertInputs<'a> {
        let min = self.settings.overdue_min_history;
        AlertInputs {
            now: self.now,
            settings: self.settings,
            fresh_counts: fresh,
            median: self.durations.median(record.model_id.as_deref(), min),
            activity: record
                .model_id
                .as_deref()
                .and_then(|m| self.activity?.get(m)),
        }
    }
}

/// Whether `record`, seen with `fresh` counts, is a job the count rule calls `stalled` (count
/// unchanged past the threshold, not alerted yet): the jobs whose model's batch metrics a run
/// reads before it decides.
pub fn stall_candidate(
    record: &JobRecord,
    fresh: Option<&RecordCounts>,
    ctx: &WatchContext,
) -> bool {
    if !ctx.settings.enabled
        || !record.is_open()
        || record.retired
        || record.model_id.is_none()
        || record.counts.processed.is_none()
        || record.alerts_sent.contains(&AlertKind::Stalled)
    {
        return false;
    }
    let inputs = AlertInputs {
        activity: None,
        ..ctx.inputs(record, fresh)
    };
    measure(AlertKind::Stalled, record, &inputs).is_some_and(|a| holds(&a, record, &inputs))
}

/// Marks the alert `record` is due as pending, leased to this run, when nothing else is
/// pending. Returns whether it did (the write then claims a notice).
pub fn hold_alert(
    record: &mut JobRecord,
    fresh: Option<&RecordCounts>,
    ctx: &WatchContext,
) -> bool {
    if ctx.quiet || record.pending_status.is_some() || record.pending_alert.is_some() {
        return false;
    }
    let Some(alert) = due(record, &ctx.inputs(record, fresh)) else {
        return false;
    };
    let inputs = ctx.inputs(record, fresh);
    let confirmed = inputs.activity.filter(|a| a.verdict() == Verdict::Stalled);
    if alert.kind == AlertKind::Stalled && confirmed.is_some() {
        // What the notice names: the records pending for the model and the idle window.
        record.model_activity = confirmed.copied();
    }
    record.pending_alert = Some(alert.kind);
    record.set_lease(Some(Lease {
        owner: ctx.run_id.clone(),
        until: ctx.now + ctx.lease,
    }));
    true
}

/// The write for a known open job whose status did not change: its progress count moved, or an
/// alert is due. `None`: nothing to write.
pub fn plan_watch(
    known: &JobRecord,
    fresh: Option<&RecordCounts>,
    ctx: &WatchContext,
) -> Option<Change> {
    if !known.is_open() || known.retired {
        return None;
    }
    let mut record = known.clone();
    let moved = fresh.is_some_and(|c| track_progress(&mut record, c, ctx.now, ctx.settings));
    let alert = hold_alert(&mut record, fresh, ctx);
    (moved || alert).then(|| {
        record.version += 1;
        record.updated_at = ctx.now;
        Change {
            record,
            expected_version: Some(known.version),
            notify: alert,
            transition: false,
        }
    })
}

/// Folds the counts a run observed into the record: remembers when the processed count last
/// moved. Returns whether the item needs a write. A moving count is written at most every
/// quarter of the stall threshold: a steady run does not rewrite every running job.
pub fn track_progress(
    record: &mut JobRecord,
    observed: &RecordCounts,
    now: DateTime<Utc>,
    settings: &AlertSettings,
) -> bool {
    let Some(processed) = observed.processed else {
        return false;
    };
    if record.counts.processed == Some(processed) && record.progress_at.is_some() {
        return false;
    }
    let quiet = settings.stalled_after / 4;
    let due = record
        .progress_at
        .is_none_or(|at| now - at >= quiet || record.counts.processed.is_none());
    if due {
        record.counts = observed.clone();
        record.progress_at = Some(now);
        record.observe(observed, now);
    }
    due
}

/// Recent durations of successful jobs per model (newest last), from which `overdue` takes its
/// median. Kept per scope, bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DurationStats(pub BTreeMap<String, Vec<u32>>);

/// Durations kept per model: enough for a stable median, small enough for one item.
pub const DURATIONS_KEPT: usize = 25;
/// Models kept per scope (beyond it, the first in name order is dropped: a bound, not a policy).
const MODELS_KEPT: usize = 100;

impl DurationStats {
    /// The median of `model`'s recent durations, when at least `min` are known.
    pub fn median(&self, model: Option<&str>, min: usize) -> Option<Duration> {
        let mut seconds = self.0.get(model?)?.clone();
        if seconds.len() < min.max(1) {
            return None;
        }
        seconds.sort_unstable();
        Some(Duration::seconds(i64::from(seconds[seconds.len() / 2])))
    }

    pub fn record(&mut self, model: &str, duration: Duration) {
        let seconds = u32::try_from(duration.num_seconds().max(0)).unwrap_or(u32::MAX);
        let kept = self.0.entry(model.to_owned()).or_default();
        kept.push(seconds);
        if kept.len() > DURATIONS_KEPT {
            kept.remove(0);
        }
        while self.0.len() > MODELS_KEPT {
            let first = self.0.keys().next().cloned();
            first.map(|k| self.0.remove(&k));
        }
    }
}
