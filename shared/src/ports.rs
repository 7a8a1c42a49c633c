//! The three small traits the poller depends on; adapters implement them on the AWS SDKs.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::domain::{Change, JobArn, JobKind, JobRecord, JobStatus, Notice, ObservedJob};
use crate::error::Error;

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only jobs submitted after this instant.
    pub submitted_after: Option<DateTime<Utc>>,
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Stop after this many pages (newest first); `Listing::complete` says whether it did.
    pub max_pages: Option<u64>,
}

/// Jobs returned by a (paginated) List, and how many API calls it took.
#[derive(Debug, Clone)]
pub struct Listing {
    pub jobs: Vec<ObservedJob>,
    pub calls: u64,
    /// False when `max_pages` cut the listing short.
    pub complete: bool,
}

impl Default for Listing {
    fn default() -> Self {
        Self {
            jobs: Vec::new(),
            calls: 0,
            complete: true,
        }
    }
}

impl Listing {
    /// Whether to stop before fetching another page.
    pub fn at_cap(&self, filter: &ListFilter) -> bool {
        filter.max_pages.is_some_and(|max| self.calls >= max)
    }
}

/// Reads one family of Bedrock jobs.
pub trait JobSource: Send + Sync {
    fn kind(&self) -> JobKind;

    /// Non-terminal statuses the List API can filter on (used to sweep open jobs cheaply).
    fn open_statuses(&self) -> &'static [JobStatus];

    /// Lists every job matching `filter`, across all pages.
    fn list(&self, filter: &ListFilter) -> impl Future<Output = Result<Listing, Error>> + Send;

    /// Reads one job; `Ok(None)` when it does not exist (any more).
    fn get(&self, arn: &JobArn) -> impl Future<Output = Result<Option<ObservedJob>, Error>> + Send;

    /// Adds details worth fetching only for a job about to be notified (e.g. the batch output
    /// manifest). Best effort: never fails. The default adds nothing.
    fn enrich(&self, job: &mut ObservedJob) -> impl Future<Output = ()> + Send {
        let _ = job;
        async {}
    }
}

/// Outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved,
    /// Another run changed the item first; nothing was written.
    Conflict,
}

/// The table of known jobs and per-scope watermarks.
pub trait JobStore: Send + Sync {
    /// The submit-time watermark of a scope (`{kind}#{region}`); `None` before the first run.
    fn watermark(
        &self,
        scope: &str,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, Error>> + Send;

    /// Moves the watermark forward (never backwards).
    fn advance_watermark(
        &self,
        scope: &str,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Items that are open or have a pending notice (a sparse index: never the whole history).
    fn watched(&self, scope: &str) -> impl Future<Output = Result<Vec<JobRecord>, Error>> + Send;

    /// Items for these ARNs (missing ones are simply absent).
    fn get_many(
        &self,
        arns: &[JobArn],
    ) -> impl Future<Output = Result<Vec<JobRecord>, Error>> + Send;

    /// Writes `change.record` if the stored version is still `change.expected_version`.
    fn save(&self, change: &Change) -> impl Future<Output = Result<SaveOutcome, Error>> + Send;

    /// Takes the lease on a pending notice if no other run holds a live one.
    fn claim(
        &self,
        arn: &JobArn,
        owner: &str,
        until: i64,
        now: i64,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Gives a lease back after a failed publish, so the next run retries at once.
    fn release(&self, arn: &JobArn, owner: &str) -> impl Future<Output = Result<(), Error>> + Send;

    /// Records that the pending notice for `status` was published. `finished_ttl` is set for
    /// finished jobs: the item leaves the watch index and gets its TTL.
    fn mark_sent(
        &self,
        arn: &JobArn,
        status: &JobStatus,
        owner: &str,
        now: DateTime<Utc>,
        finished_ttl: Option<i64>,
    ) -> impl Future<Output = Result<bool, Error>> + Send;
}

/// Delivers notices to people and machines.
pub trait Notifier: Send + Sync {
    /// Publishes one notice; returns the message id.
    fn publish(&self, notice: &Notice) -> impl Future<Output = Result<String, Error>> + Send;
}
