//! Statuses as Bedrock sends them, and the canonical phase each family maps them to.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A job status exactly as the API reported it (`Completed`, `COMPLETE`, `InService`, ...): what
/// users see and filter on. What it *means* is its [`Phase`], given by the job's family.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobStatus(String);

impl JobStatus {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for JobStatus {
    fn from(raw: &str) -> Self {
        Self::new(raw)
    }
}

impl PartialEq<&str> for JobStatus {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Where a job is in its life, whatever its family calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Accepted, waiting to run (`Submitted`, `Scheduled`, `STARTING`, `Created`, ...).
    Pending,
    Running,
    Stopping,
    Succeeded,
    PartiallySucceeded,
    Failed,
    Stopped,
    Expired,
    /// A word this version does not know (a newer API): watched until it becomes one it knows.
    Unknown,
}

impl Phase {
    pub const ALL: [Phase; 9] = [
        Phase::Pending,
        Phase::Running,
        Phase::Stopping,
        Phase::Succeeded,
        Phase::PartiallySucceeded,
        Phase::Failed,
        Phase::Stopped,
        Phase::Expired,
        Phase::Unknown,
    ];

    /// Phases a job never leaves.
    pub const TERMINAL: [Phase; 5] = [
        Phase::Succeeded,
        Phase::PartiallySucceeded,
        Phase::Failed,
        Phase::Stopped,
        Phase::Expired,
    ];

    pub fn is_terminal(self) -> bool {
        Self::TERMINAL.contains(&self)
    }

    /// The name accepted in `NOTIFY_STATUSES` and shown in docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Running => "running",
            Phase::Stopping => "stopping",
            Phase::Succeeded => "succeeded",
            Phase::PartiallySucceeded => "partially-succeeded",
            Phase::Failed => "failed",
            Phase::Stopped => "stopped",
            Phase::Expired => "expired",
            Phase::Unknown => "unknown",
        }
    }

    /// Case-insensitive: `Failed`, `failed` and `FAILED` all name [`Phase::Failed`].
    pub fn parse(name: &str) -> Option<Phase> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(name))
    }

    /// How a job in this phase ended, for subscribers' filter policies.
    pub fn outcome(self) -> Outcome {
        match self {
            Phase::Succeeded => Outcome::Success,
            Phase::PartiallySucceeded => Outcome::Partial,
            Phase::Failed | Phase::Stopped | Phase::Expired => Outcome::Failure,
            Phase::Pending | Phase::Running | Phase::Stopping | Phase::Unknown => Outcome::Progress,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a job ended, for subscribers' filter policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Partial,
    Failure,
    /// Not an end state (only with a custom `NOTIFY_STATUSES`).
    Progress,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Failure => "failure",
            Self::Progress => "progress",
        }
    }
}
