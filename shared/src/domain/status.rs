//! Job families and their statuses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The Bedrock job families we watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    BatchInference,
    ModelImport,
    AsyncInvoke,
    ModelCustomization,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::BatchInference => "batch-inference",
            JobKind::ModelImport => "model-import",
            JobKind::AsyncInvoke => "async-invoke",
            JobKind::ModelCustomization => "model-customization",
        }
    }

    /// Words for people (subjects and emails).
    pub fn label(self) -> &'static str {
        match self {
            JobKind::BatchInference => "Batch inference job",
            JobKind::ModelImport => "Model import job",
            JobKind::AsyncInvoke => "Async invocation",
            JobKind::ModelCustomization => "Model customization job",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job status across families. Statuses a newer API adds are kept verbatim in `Unknown`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Submitted,
    Validating,
    Scheduled,
    InProgress,
    Stopping,
    Completed,
    PartiallyCompleted,
    Failed,
    Stopped,
    Expired,
    Unknown(String),
}

impl JobStatus {
    /// Statuses a job never leaves.
    pub const TERMINAL: [JobStatus; 5] = [
        JobStatus::Completed,
        JobStatus::PartiallyCompleted,
        JobStatus::Failed,
        JobStatus::Stopped,
        JobStatus::Expired,
    ];

    /// Parses the wire string; never fails.
    pub fn parse(raw: &str) -> Self {
        match raw {
            "Submitted" => Self::Submitted,
            "Validating" => Self::Validating,
            "Scheduled" => Self::Scheduled,
            "InProgress" => Self::InProgress,
            "Stopping" => Self::Stopping,
            "Completed" => Self::Completed,
            "PartiallyCompleted" => Self::PartiallyCompleted,
            "Failed" => Self::Failed,
            "Stopped" => Self::Stopped,
            "Expired" => Self::Expired,
            other => Self::Unknown(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Submitted => "Submitted",
            Self::Validating => "Validating",
            Self::Scheduled => "Scheduled",
            Self::InProgress => "InProgress",
            Self::Stopping => "Stopping",
            Self::Completed => "Completed",
            Self::PartiallyCompleted => "PartiallyCompleted",
            Self::Failed => "Failed",
            Self::Stopped => "Stopped",
            Self::Expired => "Expired",
            Self::Unknown(raw) => raw,
        }
    }

    /// Whether the job has finished. Unknown statuses are treated as still running, so the job
    /// keeps being watched until it reaches a status we understand.
    pub fn is_terminal(&self) -> bool {
        Self::TERMINAL.contains(self)
    }

    /// Position along a job's life, to refuse moving backwards; `None` for unknown statuses.
    pub fn rank(&self) -> Option<u8> {
        match self {
            Self::Submitted => Some(0),
            Self::Validating => Some(1),
            Self::Scheduled => Some(2),
            Self::InProgress => Some(3),
            Self::Stopping => Some(4),
            Self::Unknown(_) => None,
            _ => Some(5),
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

impl Serialize for JobStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self::parse(&s))
    }
}
