//! The two small ports of workflow waits: Step Functions' task-token callbacks, and where the
//! waits are kept. Real adapters: `adapters::step_functions`, `adapters::waits`; in memory:
//! `testing::{MemoryWorkflows, MemoryWaits}`.

use std::future::Future;

use chrono::{DateTime, Utc};
use futures::Stream;

use super::wait::Wait;
use crate::domain::{JobArn, JobKind, Lease, RunId};
use crate::error::Error;
use crate::ports::{Page, Write};

/// How Step Functions took a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The token was open and is now answered (or, for a heartbeat, kept alive).
    Accepted,
    /// The token is closed for good (`InvalidToken`, `TaskTimedOut`, `TaskDoesNotExist`): the
    /// task ended (answered before, timed out, execution stopped). Nothing to retry.
    Closed(String),
}

/// The error codes of a token Step Functions will never accept again.
pub const CLOSED_TOKEN: [&str; 3] = ["InvalidToken", "TaskTimedOut", "TaskDoesNotExist"];

/// Resumes waiting Step Functions tasks.
pub trait Workflows: Send + Sync {
    /// `SendTaskSuccess` with `output` (JSON).
    fn succeed(
        &self,
        token: &str,
        output: &str,
    ) -> impl Future<Output = Result<Answer, Error>> + Send;

    /// `SendTaskFailure` with `error` (what a `Catch` matches) and `cause`.
    fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<Answer, Error>> + Send;

    /// `SendTaskHeartbeat`: the watcher is alive (`HeartbeatSeconds`).
    fn heartbeat(&self, token: &str) -> impl Future<Output = Result<Answer, Error>> + Send;

    /// Calls made so far.
    fn calls(&self) -> u64;
}

/// Where waits are kept (the jobs table).
pub trait WaitStore: Send + Sync {
    /// Stores a new wait; `LostRace` when the same job and token are already waiting.
    fn add(&self, wait: &Wait) -> impl Future<Output = Result<Write, Error>> + Send;

    /// The waits on jobs of `family`, a page at a time.
    fn waits_of(&self, family: JobKind) -> impl Stream<Item = Page<Wait>> + Send + '_;

    /// The waits on one job.
    fn waits_on(
        &self,
        family: JobKind,
        arn: &JobArn,
    ) -> impl Future<Output = Result<Vec<Wait>, Error>> + Send;

    /// Takes `lease` on a wait that no other run holds a live lease on at `now`.
    fn claim(
        &self,
        wait: &Wait,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Write, Error>> + Send;

    /// Deletes a wait after its answer; with `owner`, only while that run holds its lease.
    fn remove(
        &self,
        wait: &Wait,
        owner: Option<&RunId>,
    ) -> impl Future<Output = Result<Write, Error>> + Send;

    /// Gives `owner`'s lease back (a failed callback), so the next run retries at once.
    fn release(
        &self,
        wait: &Wait,
        owner: &RunId,
    ) -> impl Future<Output = Result<Write, Error>> + Send;
}

impl<T: Workflows> Workflows for std::sync::Arc<T> {
    fn succeed(
        &self,
        token: &str,
        output: &str,
    ) -> impl Future<Output = Result<Answer, Error>> + Send {
        (**self).succeed(token, output)
    }
    fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<Answer, Error>> + Send {
        (**self).fail(token, error, cause)
    }
    fn heartbeat(&self, token: &str) -> impl Future<Output = Result<Answer, Error>> + Send {
        (**self).heartbeat(token)
    }
    fn calls(&self) -> u64 {
        (**self).calls()
    }
}

impl<T: WaitStore> WaitStore for std::sync::Arc<T> {
    fn add(&self, wait: &Wait) -> impl Future<Output = Result<Write, Error>> + Send {
        (**self).add(wait)
    }
    fn waits_of(&self, family: JobKind) -> impl Stream<Item = Page<Wait>> + Send + '_ {
        (**self).waits_of(family)
    }
    fn waits_on(
        &self,
        family: JobKind,
        arn: &JobArn,
    ) -> impl Future<Output = Result<Vec<Wait>, Error>> + Send {
        (**self).waits_on(family, arn)
    }
    fn claim(
        &self,
        wait: &Wait,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Write, Error>> + Send {
        (**self).claim(wait, lease, now)
    }
    fn remove(
        &self,
        wait: &Wait,
        owner: Option<&RunId>,
    ) -> impl Future<Output = Result<Write, Error>> + Send {
        (**self).remove(wait, owner)
    }
    fn release(
        &self,
        wait: &Wait,
        owner: &RunId,
    ) -> impl Future<Output = Result<Write, Error>> + Send {
        (**self).release(wait, owner)
    }
}
