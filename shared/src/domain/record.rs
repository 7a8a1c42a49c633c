//! The stored state of one job: one DynamoDB item (see the README's table reference).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{JobArn, JobKind, JobStatus, RecordCounts};

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
    /// Optimistic-concurrency version, incremented by every write.
    pub version: u64,
    pub first_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Sparse GSI key (`watch-index`): `{kind}#{region}` while the job is open or a notice is
    /// pending, absent otherwise. A run reads only these items, never the whole history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<String>,
    /// Status whose notification is still to be published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_status: Option<JobStatus>,
    /// Run that holds the right to publish the pending notice, until `lease_until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    /// Epoch seconds; after it, any run may claim the pending notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<i64>,
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
    /// DynamoDB TTL (epoch seconds): set once a job is terminal and nothing is pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A notice still to be published, as found in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingNotice {
    pub record: JobRecord,
    pub status: JobStatus,
}

impl JobRecord {
    /// The watch-index key for a kind in a region.
    pub fn watch_key(kind: JobKind, region: &str) -> String {
        format!("{kind}#{region}")
    }

    /// Whether the job still needs polling.
    pub fn is_open(&self) -> bool {
        !self.status.is_terminal()
    }

    /// The pending notice, if any.
    pub fn pending(&self) -> Option<PendingNotice> {
        self.pending_status.clone().map(|status| PendingNotice {
            record: self.clone(),
            status,
        })
    }

    /// Whether a run may claim the pending notice at `now` (no live lease held by another run).
    pub fn claimable(&self, now: DateTime<Utc>) -> bool {
        self.pending_status.is_some()
            && self
                .lease_until
                .is_none_or(|until| until <= now.timestamp())
    }

    /// Recomputes the derived attributes (`watch`, `expires_at`) from the others.
    pub fn refresh_derived(&mut self, now: DateTime<Utc>, retention: chrono::Duration) {
        let watched = (self.is_open() && !self.retired) || self.pending_status.is_some();
        self.watch = watched.then(|| Self::watch_key(self.kind, &self.region));
        self.expires_at = (!watched).then(|| (now + retention).timestamp());
    }
}
