//! The stored state of one job: one DynamoDB item (docs/configuration/table.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

use super::progress::{self, Estimate, Observation};
use super::CostEstimate;
use super::{
    AlertKind, Delivered, Details, Due, JobArn, JobKind, JobStatus, Lease, Phase, RecordCounts,
    RunId, Scope,
};

/// One job's item in the jobs table. Attribute names are the field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Partition key: the job ARN.
    pub pk: JobArn,
    pub kind: JobKind,
    /// Region the job runs in.
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Raw status string as the API reported it (statuses we do not know are kept verbatim).
    pub status: JobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<JobStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub submit_time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_s3_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_s3_uri: Option<String>,
    #[serde(default, skip_serializing_if = "RecordCounts::is_empty")]
    pub counts: RecordCounts,
    /// When the processed-record count last moved (stall alerts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_at: Option<DateTime<Utc>>,
    /// The last few processed counts runs recorded, oldest first (rate and estimated end:
    /// [`super::progress`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<Observation>,
    /// The model's `AWS/Bedrock/Batch` metrics that confirmed a `stalled` alert (records
    /// pending, no tokens processed): what the alert names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_activity: Option<super::batch_activity::ModelActivity>,
    /// When Bedrock expires the job if it has not finished (`jobExpirationTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// What the finished job cost, as estimated from its usage and a published price
    /// ([`super::cost`]); absent where there is no usage figure or no price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostEstimate>,
    /// What a provisioned throughput costs per hour while it exists (model units x the unit-hour
    /// price of its commitment), priced when it settles in service; absent without a price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly_cost: Option<CostEstimate>,
    /// The last `idle` alert of a resource in service and the stretch it was about
    /// ([`super::idle`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<IdleState>,
    /// Family-specific facts (`Family::details`).
    #[serde(default, skip_serializing_if = "Details::is_empty")]
    pub details: Details,
    /// Optimistic-concurrency version, incremented by every write.
    pub version: u64,
    pub first_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Sparse GSI key (`watch-index`): the job's [`Scope`] while the job is open or a notice is
    /// pending, absent otherwise. A run reads only these items, never the whole history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Scope>,
    /// Status whose notification is still to be published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_status: Option<JobStatus>,
    /// Run that holds the right to publish the pending notice, until `lease_until` (see
    /// [`JobRecord::lease`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<RunId>,
    /// Stored as epoch seconds; after it, any run may claim the pending notice.
    #[serde(
        default,
        with = "chrono::serde::ts_seconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub lease_until: Option<DateTime<Utc>>,
    /// Alert whose notice is still to be published (under the same lease as a status notice;
    /// a terminal transition replaces it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_alert: Option<AlertKind>,
    /// Alerts already published: each kind is sent at most once per job.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub alerts_sent: BTreeSet<AlertKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerted_at: Option<DateTime<Utc>>,
    /// Last status a notification was published for, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_status: Option<JobStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<DateTime<Utc>>,
    /// Consecutive Get calls that found no such job.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub missing_count: u32,
    /// Bedrock no longer knows the job (deleted): it is not polled any more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
    /// DynamoDB TTL (stored as epoch seconds): set once a job is terminal and nothing is pending.
    #[serde(
        default,
        with = "chrono::serde::ts_seconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    /// Sinks that already have the pending notice (a run delivered to some and failed on
    /// others): the next run delivers only to the rest. Cleared when the notice is marked sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<Delivered>,
    /// Every notification published for the job, oldest first (re-sends included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Notified>,
}

impl JobRecord {
    /// A job's item as first written, before anything but its identity and status is known
    /// (version 0: no write yet).
    pub fn new(
        kind: JobKind,
        pk: JobArn,
        region: String,
        status: JobStatus,
        submit_time: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            pk,
            kind,
            region,
            name: None,
            status,
            previous_status: None,
            model_id: None,
            message: None,
            submit_time,
            end_time: None,
            input_s3_uri: None,
            output_s3_uri: None,
            counts: RecordCounts::default(),
            progress_at: None,
            observations: Vec::new(),
            model_activity: None,
            deadline: None,
            cost: None,
            hourly_cost: None,
            idle: None,
            details: Details::default(),
            version: 0,
            first_seen_at: now,
            updated_at: now,
            watch: None,
            pending_status: None,
            pending_alert: None,
            lease_owner: None,
            lease_until: None,
            alerts_sent: BTreeSet::new(),
            alerted_at: None,
            notified_status: None,
            notified_at: None,
            missing_count: 0,
            retired: false,
            expires_at: None,
            delivered: None,
            notifications: Vec::new(),
        }
    }
}

/// What a resource's item keeps of its idle alerts ([`super::idle`]): when it went into service (its settling's
/// date), the stretch last alerted (since when nobody invoked it) and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdleState {
    pub in_service_since: DateTime<Utc>,
    pub since: DateTime<Utc>,
    pub alerted_at: DateTime<Utc>,
}

impl IdleState {
    /// The alert's dedup key suffix: one per idle stretch and day, so a re-send after a crash
    /// (rendered from the stored state) repeats the key and the next day's alert has its own.
    pub fn key(&self) -> String {
        format!(
            "{}#{}",
            self.since.format("%Y%m%dT%H%MZ"),
            self.alerted_at.format("%Y-%m-%d")
        )
    }
}

/// One published notification in a job's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notified {
    /// The job's status the notice was about (for an alert: the status it was in).
    pub status: JobStatus,
    /// Set for an alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertKind>,
    pub at: DateTime<Utc>,
    /// An operator's re-send (`jobwatch-cli renotify`), not a transition.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resend: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What recording a published notice writes: what was sent and when, and the derived
/// attributes after it (the item leaves the watch index once nothing keeps it there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub due: Due,
    /// The job's status when it was sent (what an alert's history entry records).
    pub job_status: JobStatus,
    pub at: DateTime<Utc>,
    pub watch: Option<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
    /// An operator's re-send, recorded as such in the history.
    pub resend: bool,
}

impl Sent {
    /// The history entry the write appends.
    pub fn entry(&self) -> Notified {
        let (status, alert) = match &self.due {
            Due::Status(status) => (status.clone(), None),
            Due::Alert(kind) => (self.job_status.clone(), Some(*kind)),
        };
        Notified {
            status,
            alert,
            at: self.at,
            resend: self.resend,
        }
    }
}

impl JobRecord {
    pub fn scope(&self) -> Scope {
        Scope::new(self.kind, &self.region)
    }

    /// What the stored status means for this job's family.
    pub fn phase(&self) -> Phase {
        self.kind.family().phase(&self.status)
    }

    /// When the job's current stretch began, what alerts measure from: the submit time, or for
    /// a resource re-opened by an update (`Updating`), the date of that change (its cycle
    /// detail), not its creation months ago.
    pub fn started_at(&self) -> DateTime<Utc> {
        let family = self.kind.family();
        let reopened = family
            .reopen
            .is_some_and(|r| r.statuses.contains(&self.status.as_str()));
        family
            .cycle_of(&self.details)
            .filter(|_| reopened)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or(self.submit_time, |t| t.with_timezone(&Utc))
    }

    /// The running job's rate and projected end (`None` without a total and a recorded count;
    /// an item written before observations were kept counts its last recorded count as one).
    pub fn estimate(&self) -> Option<Estimate> {
        let legacy;
        let history: &[Observation] = if self.observations.is_empty() {
            legacy = [Observation {
                at: self.progress_at?,
                processed: self.counts.processed?,
            }];
            &legacy
        } else {
            &self.observations
        };
        progress::estimate(&self.counts, history, self.started_at())
    }

    /// What the optional progress metrics report of this job at `now`: only an open job
    /// with an estimate.
    pub fn progress_at_run(&self, now: DateTime<Utc>) -> Option<progress::JobProgress> {
        let estimate = self.estimate().filter(|_| self.is_open())?;
        Some(progress::JobProgress::at(
            self.pk.id().to_owned(),
            &estimate,
            now,
        ))
    }

    /// Records the processed count seen at `at` (a count-less observation records nothing).
    pub fn observe(&mut self, counts: &RecordCounts, at: DateTime<Utc>) {
        if let Some(processed) = counts.processed {
            progress::observe(&mut self.observations, Observation { at, processed });
        }
    }

    /// The hourly cost a notice of the job in `phase` tells: a resource's, once it is ready.
    pub fn ready_hourly_cost(&self, phase: Phase) -> Option<&CostEstimate> {
        self.hourly_cost
            .as_ref()
            .filter(|_| phase.outcome() == super::Outcome::Success)
    }

    /// Whether the job still needs polling.
    pub fn is_open(&self) -> bool {
        !self.phase().is_terminal()
    }

    pub fn lease(&self) -> Option<Lease> {
        Some(Lease {
            owner: self.lease_owner.clone()?,
            until: self.lease_until?,
        })
    }

    pub fn set_lease(&mut self, lease: Option<Lease>) {
        (self.lease_owner, self.lease_until) = match lease {
            Some(l) => (Some(l.owner), Some(l.until)),
            None => (None, None),
        };
    }

    /// Whether a run may claim the pending notice at `now` (no live lease held by another run).
    pub fn claimable(&self, now: DateTime<Utc>) -> bool {
        self.due().is_some() && self.lease_until.is_none_or(|until| until <= now)
    }

    /// The notice the item holds, if any: a status notice first (it supersedes any alert).
    pub fn due(&self) -> Option<Due> {
        match (&self.pending_status, self.pending_alert) {
            (Some(status), _) => Some(Due::Status(status.clone())),
            (None, Some(alert)) => Some(Due::Alert(alert)),
            (None, None) => None,
        }
    }

    /// The one rule for the derived attributes: an item is in the watch index while its job is
    /// open (and not retired) or a notice is pending; otherwise it gets its TTL.
    pub fn refresh_derived(&mut self, now: DateTime<Utc>, retention: chrono::Duration) {
        // A pending alert keeps a settled resource (an idle throughput) watched until it is sent.
        let watched = (self.is_open() && !self.retired)
            || self.pending_status.is_some()
            || self.pending_alert.is_some();
        // A watched item keeps the scope its run gave it (a member account's key carries the
        // account, which the item alone cannot tell from the function's own).
        self.watch = watched.then(|| self.watch.take().unwrap_or_else(|| self.scope()));
        self.expires_at = (!watched).then(|| now + retention);
    }

    /// The write that records the pending notice `due` as published at `now`.
    pub fn sent(&self, due: &Due, now: DateTime<Utc>, retention: chrono::Duration) -> Sent {
        let mut after = self.clone();
        match due {
            Due::Status(_) => after.pending_status = None,
            Due::Alert(_) => after.pending_alert = None,
        }
        after.refresh_derived(now, retention);
        Sent {
            due: due.clone(),
            job_status: self.status.clone(),
            at: now,
            watch: after.watch,
            expires_at: after.expires_at,
            resend: false,
        }
    }
}
