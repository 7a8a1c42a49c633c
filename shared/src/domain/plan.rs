//! The pure status diff: what to write (and whether to notify) for one observed job.

use chrono::{DateTime, Duration, Utc};

use super::{JobRecord, JobStatus, ObservedJob};

/// Which transitions produce a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyPolicy {
    /// Statuses whose arrival is notified (default: every terminal status).
    pub statuses: Vec<JobStatus>,
    /// Notify jobs that are already terminal when the very first run sees them.
    pub on_first_sight: bool,
}

impl Default for NotifyPolicy {
    fn default() -> Self {
        Self {
            statuses: JobStatus::TERMINAL.to_vec(),
            on_first_sight: false,
        }
    }
}

/// Everything about the run the planner needs, so that it stays a pure function.
#[derive(Debug, Clone)]
pub struct PlanContext<'a> {
    pub now: DateTime<Utc>,
    /// No watermark existed when the run started: the table is being filled for the first time.
    pub first_run: bool,
    pub policy: &'a NotifyPolicy,
    /// Region recorded on new items.
    pub region: &'a str,
    /// How long terminal items live before DynamoDB's TTL removes them.
    pub retention: Duration,
    /// This run's id, to hold the lease on the notices it creates.
    pub run_id: &'a str,
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
}

/// Compares what the table knows with what Bedrock shows and decides the write.
pub fn plan(
    known: Option<&JobRecord>,
    observed: &ObservedJob,
    ctx: &PlanContext,
) -> Result<Change, Skip> {
    if let Some(known) = known {
        if known.status == observed.status {
            return Err(Skip::Unchanged);
        }
        if known.status.is_terminal() {
            return Err(Skip::AlreadyTerminal);
        }
        if let (Some(old), Some(new)) = (known.status.rank(), observed.status.rank()) {
            if new < old {
                return Err(Skip::Regression);
            }
        }
    }
    let arrives_terminal_on_first_sight = known.is_none() && observed.status.is_terminal();
    let silenced = arrives_terminal_on_first_sight && ctx.first_run && !ctx.policy.on_first_sight;
    let notify = ctx.policy.statuses.contains(&observed.status) && !silenced;

    let mut record = match known {
        Some(k) => JobRecord {
            previous_status: Some(k.status.clone()),
            version: k.version + 1,
            missing_count: 0,
            retired: false,
            ..k.clone()
        },
        None => JobRecord {
            pk: observed.arn.clone(),
            kind: observed.kind,
            region: observed.arn.region().unwrap_or(ctx.region).to_owned(),
            name: None,
            status: observed.status.clone(),
            previous_status: None,
            model_id: None,
            message: None,
            submit_time: observed.submit_time,
            end_time: None,
            input_s3_uri: None,
            output_s3_uri: None,
            counts: Default::default(),
            version: 1,
            first_seen_at: ctx.now,
            updated_at: ctx.now,
            watch: None,
            pending_status: None,
            lease_owner: None,
            lease_until: None,
            notified_status: None,
            notified_at: None,
            missing_count: 0,
            retired: false,
            expires_at: None,
        },
    };
    record.name = observed.name.clone().or(record.name);
    record.status = observed.status.clone();
    record.model_id = observed.model_id.clone().or(record.model_id);
    record.message = observed.message.clone().or(record.message);
    record.end_time = observed.end_time.or(record.end_time);
    record.input_s3_uri = observed.input_s3_uri.clone().or(record.input_s3_uri);
    record.output_s3_uri = observed.output_s3_uri.clone().or(record.output_s3_uri);
    if !observed.counts.is_empty() {
        record.counts = observed.counts.clone();
    }
    record.updated_at = ctx.now;
    if notify {
        record.pending_status = Some(observed.status.clone());
        record.lease_owner = Some(ctx.run_id.to_owned());
        record.lease_until = Some((ctx.now + ctx.lease).timestamp());
    }
    record.refresh_derived(ctx.now, ctx.retention);
    Ok(Change {
        record,
        expected_version: known.map(|k| k.version),
        notify,
    })
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
    }
}
