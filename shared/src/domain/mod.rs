//! Pure domain types: job families, statuses, observed jobs and stored records, the status
//! diff and the alert rules. No SDK types here; what notices say lives in [`crate::notices`].

mod alert;
mod alert_kind;
pub mod batch_activity;
pub mod cost;
mod family;
pub mod idle;
mod ids;
pub mod owner;
mod plan;
pub mod price_list;
pub mod progress;
mod record;
pub mod regions;
mod sink;
pub mod stages;
mod status;

pub use alert::{
    default_running_after, default_stuck_after, due, hold_alert, measure, plan_watch,
    stall_candidate, track_progress, Alert, AlertInputs, AlertSettings, DurationStats, Thresholds,
    WatchContext, DURATIONS_KEPT,
};
pub use alert_kind::AlertKind;
pub use cost::{CostEstimate, PriceOrigin, TokenPrice, UnitHourPrice};
pub use family::{AlertDefaults, ArnShape, EventShape, Family, JobKind, Output, Reopen};
pub use ids::{Lease, RunId, Scope};
pub use plan::{plan, plan_missing, Change, NotifyOn, NotifyPolicy, PlanContext, Skip};
pub use progress::{Basis, Estimate, JobProgress, Observation};
pub use record::{JobRecord, Notified, Sent};
pub use sink::{due_key, Delivered, Due, Sink};
pub use status::{JobStatus, Outcome, Phase};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A job's ARN, the identity of a job across runs, tables and messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobArn(String);

impl JobArn {
    pub fn new(arn: impl Into<String>) -> Self {
        Self(arn.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The job id, the last path segment of the ARN.
    pub fn id(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The region segment of the ARN, when it has one.
    pub fn region(&self) -> Option<&str> {
        self.0.split(':').nth(3).filter(|r| !r.is_empty())
    }

    /// The account segment of the ARN, when it has one.
    pub fn account(&self) -> Option<&str> {
        self.0.split(':').nth(4).filter(|a| !a.is_empty())
    }
}

impl std::fmt::Display for JobArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Batch inference record counts, as far as the API reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCounts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<i64>,
    /// Token totals (from the batch output manifest, when read).
    #[serde(
        default,
        rename = "inputTokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_tokens: Option<i64>,
    #[serde(
        default,
        rename = "outputTokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_tokens: Option<i64>,
}

impl RecordCounts {
    pub fn is_empty(&self) -> bool {
        *self == RecordCounts::default()
    }
}

/// A job as a Bedrock List or Get call shows it right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedJob {
    pub kind: JobKind,
    pub arn: JobArn,
    pub name: Option<String>,
    pub status: JobStatus,
    pub model_id: Option<String>,
    /// Status or failure message from the service.
    pub message: Option<String>,
    pub submit_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub input_s3_uri: Option<String>,
    pub output_s3_uri: Option<String>,
    pub counts: RecordCounts,
    /// When Bedrock expires the job if unfinished (batch `jobExpirationTime`).
    pub deadline: Option<DateTime<Utc>>,
    /// What only this family reports (keys: its `Family::details`), e.g. an evaluation's
    /// `applicationType` or a model copy's source and target model.
    pub details: Details,
}

/// Family-specific facts of a job, by API member name.
pub type Details = std::collections::BTreeMap<String, String>;

impl ObservedJob {
    /// What every listing and Get says: the family, the ARN, the status and when the job was
    /// submitted; the rest as the API reports it (`..ObservedJob::new(...)` for what it does not).
    pub fn new(kind: JobKind, arn: JobArn, status: JobStatus, submit_time: DateTime<Utc>) -> Self {
        Self {
            kind,
            arn,
            name: None,
            status,
            model_id: None,
            message: None,
            submit_time,
            end_time: None,
            input_s3_uri: None,
            output_s3_uri: None,
            counts: RecordCounts::default(),
            deadline: None,
            details: Details::default(),
        }
    }

    /// What the raw status means for this job's family.
    pub fn phase(&self) -> Phase {
        self.kind.family().phase(&self.status)
    }

    pub fn is_terminal(&self) -> bool {
        self.phase().is_terminal()
    }

    pub fn rank(&self) -> Option<u8> {
        self.kind.family().rank(&self.status)
    }
}
