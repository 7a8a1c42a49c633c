//! What one run did: the Lambda's result and a structured log line.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::Error;

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
    /// List calls spent on one wide listing since the oldest open job, instead of Gets.
    pub wide_list_calls: u64,
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
    /// Known open jobs that Bedrock no longer has (counted; retired after repeated misses).
    pub missing: usize,
    pub retired: usize,
    /// The Lambda deadline came near: work left for the next run.
    pub deadline_reached: bool,
    /// Units of work (Gets, writes, publishes) left for the next run because of the deadline.
    pub deferred: usize,
    pub bedrock_calls: u64,
    pub store_calls: u64,
    pub failures: usize,
    /// The first few failures, without payloads.
    pub errors: Vec<String>,
    pub watermark: Option<DateTime<Utc>>,
    pub duration_ms: u64,
}

impl RunSummary {
    pub(super) fn fail(&mut self, context: &str, e: &Error) {
        self.failures += 1;
        tracing::warn!(context, error = %e.chain(), retryable = e.is_retryable(), "step failed");
        if self.errors.len() < 5 {
            self.errors.push(format!("{context}: {}", e.chain()));
        }
    }
}
