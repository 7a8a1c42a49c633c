//! The pure status diff: what to write (and whether to notify) for one observed job.

use chrono::{DateTime, Duration, Utc};

use super::{JobRecord, JobStatus, Lease, ObservedJob, Phase, RunId};

/// One entry of `NOTIFY_STATUSES`: a raw status as the API sends it, or a phase by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyOn {
    Status(JobStatus),
    Phase(Phase),
}

impl NotifyOn {
    /// A phase name (`failed`, `Succeeded`, any case) names the phase; anything else is a raw
    /// status. `Failed` therefore matches `Failed` and `FAILED` alike, which is what people mean.
    pub fn parse(entry: &str) -> Self {
        match Phase::parse(entry) {
            Some(phase) => Self::Phase(phase),
            None => Self::Status(JobStatus::new(entry)),
        }
    }

    fn matches(&self, status: &JobStatus, phase: Phase) -> bool {
        match self {
            Self::Status(s) => s == status,
            Self::Phase(p) => *p == phase,
        }
    }
}

/// Which transitions produce a notification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyPolicy {
    /// What is notified; `None`: every terminal status of the job's family.
    pub on: Option<Vec<NotifyOn>>,
    /// Notify jobs that are already terminal when the very first run sees them.
    pub on_first_sight: bool,
}

impl NotifyPolicy {
    /// Whether arriving in `status` (of a job in `phase`) is notified.
    pub fn notifies(&self, status: &JobStatus, phase: Phase) -> bool {
        match &self.on {
            None => phase.is_terminal(),
            Some(entries) => entries.iter().any(|e| e.matches(status, phase)),
        }
    }
}

/// Everything about the run the planner needs, so that it stays a pure function.
#[derive(Debug, Clone)]
pub struct PlanContext<'a> {
    pub now: DateTime<Utc>,
    /// While the table is first being filled (no watermark yet): jobs submitted before this
    /// instant (the first run's start) that are first seen already finished are history, recorded
    /// without a notice. `None` once the backlog is done, and for events.
    pub history_before: Option<DateTime<Utc>>,
    pub policy: &'a NotifyPolicy,
    /// Region recorded on new items.
    pub region: &'a str,
    /// How long terminal items live before DynamoDB's TTL removes them.
    pub retention: Duration,
    /// This run's id, to hold the lease on the notices it creates.
    pub run_id: &'a RunId,
    /// How long a run may hold a notice before another run may publish it.
    pub lease: Duration,
}

/// Why an observation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Same status as stored.
    Unchanged,
    /// The stored status is terminal: it is never overwritten.
    AlreadyTerminal,
    /// The observation is older than what is stored (stale list, late event).
    Regression,
}

/// A write to make: the new item, the version it replaces (`None`: it must not exist yet), and
/// whether the write claims a notification (then `record.pending_status` is set and leased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub record: JobRecord,
    pub expected_version: Option<u64>,
    pub notify: bool,
    /// A status change (or a first sighting); else a write of progress, an alert or a miss.
    pub transition: bool,
}

/// Compares what the table knows with what Bedrock shows and decides the write.
pub fn plan(
    known: Option<&JobRecord>,
    observed: &ObservedJob,
    ctx: &PlanContext,
) -> Result<Change, Skip> {
    if let Some(known) = known {
        refuse(known, observed)?;
    }
    let notify = notifies(known, observed, ctx);
    let mut record = match known {
        Some(k) => JobRecord {
            previous_status: Some(k.status.clone()),
            version: k.version + 1,
            missing_count: 0,
            retired: false,
            ..k.clone()
        },
        None => first_record(observed, ctx),
    };
    record.name = observed.name.clone().or(record.name);
    record.status = observed.status.clone();
    record.model_id = observed.model_id.clone().or(record.model_id);
    record.message = observed.message.clone().or(record.message);
    record.end_time = observed.end_time.or(record.end_time);
    record.input_s3_uri = observed.input_s3_uri.clone().or(record.input_s3_uri);
    record.output_s3_uri = observed.output_s3_uri.clone().or(record.output_s3_uri);
    if !observed.counts.is_empty() {
        if observed.counts.processed != record.counts.processed {
            record.progress_at = Some(ctx.now);
            record.observe(&observed.counts, ctx.now);
        }
        record.counts = observed.counts.clone();
    }
    record.deadline = observed.deadline.or(record.deadline);
    if !observed.details.is_empty() {
        record.details = observed.details.clone();
    }
    record.updated_at = ctx.now;
    if !record.is_open() {
        // An alert is about an unfinished job: once it has finished, only its end is news.
        record.pending_alert = None;
    }
    if notify {
        record.pending_status = Some(observed.status.clone());
        record.set_lease(Some(Lease {
            owner: ctx.run_id.clone(),
            until: ctx.now + ctx.lease,
        }));
    }
    record.refresh_derived(ctx.now, ctx.retention);
    Ok(Change {
        record,
        expected_version: known.map(|k| k.version),
        notify,
        transition: true,
    })
}

/// Why an observation of a known job must not be written, if it must not.
fn refuse(known: &JobRecord, observed: &ObservedJob) -> Result<(), Skip> {
    if known.status == observed.status {
        return Err(Skip::Unchanged);
    }
    let family = observed.kind.family();
    if !known.is_open() && !family.starts_new_cycle(&known.details, &observed.details) {
        return Err(Skip::AlreadyTerminal);
    }
    if !known.is_open() {
        // A settled resource that moved again (`InService -> Updating`): a new cycle.
        return Ok(());
    }
    match (family.rank(&known.status), observed.rank()) {
        (Some(old), Some(new)) if new < old => Err(Skip::Regression),
        _ => Ok(()),
    }
}

/// Whether arriving in the observed status is notified: the policy says so, and it is not a
/// finished job of the history the first run is recording.
fn notifies(known: Option<&JobRecord>, observed: &ObservedJob, ctx: &PlanContext) -> bool {
    let phase = observed.phase();
    let arrives_terminal_on_first_sight = known.is_none() && phase.is_terminal();
    let is_history = ctx
        .history_before
        .is_some_and(|before| observed.submit_time < before);
    let silenced = arrives_terminal_on_first_sight && is_history && !ctx.policy.on_first_sight;
    ctx.policy.notifies(&observed.status, phase) && !silenced
}

/// The item of a job seen for the first time (details are filled in by `plan`).
fn first_record(observed: &ObservedJob, ctx: &PlanContext) -> JobRecord {
    let region = observed.arn.region().unwrap_or(ctx.region).to_owned();
    JobRecord {
        version: 1,
        ..JobRecord::new(
            observed.kind,
            observed.arn.clone(),
            region,
            observed.status.clone(),
            observed.submit_time,
            ctx.now,
        )
    }
}

/// A known open job that a Get no longer finds (deleted from Bedrock): each miss is counted, and
/// after `max_missing` consecutive misses the job is retired (no longer watched, TTL set). A later
/// sighting (the planner's `missing_count: 0`) would bring it back.
pub fn plan_missing(known: &JobRecord, ctx: &PlanContext, max_missing: u32) -> Change {
    let mut record = JobRecord {
        version: known.version + 1,
        missing_count: known.missing_count.saturating_add(1),
        updated_at: ctx.now,
        ..known.clone()
    };
    record.retired = record.missing_count >= max_missing;
    record.refresh_derived(ctx.now, ctx.retention);
    Change {
        record,
        expected_version: Some(known.version),
        notify: false,
        transition: false,
    }
}
