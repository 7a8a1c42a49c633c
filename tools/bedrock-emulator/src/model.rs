//! The emulator's job records: one struct for every job family, rendered per family on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The Bedrock job families the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    /// `CreateModelInvocationJob` (batch inference).
    BatchInference,
    /// `CreateModelImportJob` (custom model import).
    ModelImport,
    /// bedrock-runtime `StartAsyncInvoke`.
    AsyncInvoke,
    /// `CreateModelCustomizationJob` (fine-tuning).
    ModelCustomization,
    /// `CreateEvaluationJob` (model and RAG evaluations).
    ModelEvaluation,
    /// `CreateModelCopyJob` (a custom model copied into this region).
    ModelCopy,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::BatchInference,
        JobKind::ModelImport,
        JobKind::AsyncInvoke,
        JobKind::ModelCustomization,
        JobKind::ModelEvaluation,
        JobKind::ModelCopy,
    ];

    /// The ARN resource type, e.g. `model-invocation-job`.
    pub fn arn_resource(self) -> &'static str {
        match self {
            JobKind::BatchInference => "model-invocation-job",
            JobKind::ModelImport => "model-import-job",
            JobKind::AsyncInvoke => "async-invoke",
            JobKind::ModelCustomization => "model-customization-job",
            JobKind::ModelEvaluation => "evaluation-job",
            JobKind::ModelCopy => "model-copy-job",
        }
    }

    /// Every status the service model defines for this family.
    pub fn statuses(self) -> &'static [Status] {
        use Status::*;
        match self {
            JobKind::BatchInference => &[
                Submitted,
                Validating,
                Scheduled,
                InProgress,
                Completed,
                Failed,
                Stopping,
                Stopped,
                PartiallyCompleted,
                Expired,
            ],
            JobKind::ModelImport | JobKind::AsyncInvoke | JobKind::ModelCopy => {
                &[InProgress, Completed, Failed]
            }
            JobKind::ModelCustomization => &[InProgress, Completed, Failed, Stopping, Stopped],
            // Deleting: after BatchDeleteEvaluationJob (only forced through the control API here).
            JobKind::ModelEvaluation => {
                &[InProgress, Completed, Failed, Stopping, Stopped, Deleting]
            }
        }
    }

    /// The status a new job starts in.
    pub fn initial_status(self) -> Status {
        match self {
            JobKind::BatchInference => Status::Submitted,
            _ => Status::InProgress,
        }
    }

    /// The status names, for validation messages.
    pub fn status_names(self) -> Vec<&'static str> {
        self.statuses().iter().map(Status::name).collect()
    }
}

/// A job status on the wire. `Other` holds a word forced through the control API on purpose
/// (a status a newer API might add), which clients must survive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Status {
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
    Deleting,
    Other(String),
}

impl Status {
    const KNOWN: [Status; 11] = [
        Status::Submitted,
        Status::Validating,
        Status::Scheduled,
        Status::InProgress,
        Status::Stopping,
        Status::Completed,
        Status::PartiallyCompleted,
        Status::Failed,
        Status::Stopped,
        Status::Expired,
        Status::Deleting,
    ];

    pub fn parse(raw: &str) -> Status {
        Self::KNOWN
            .into_iter()
            .find(|s| s.name() == raw)
            .unwrap_or_else(|| Status::Other(raw.to_owned()))
    }

    /// The wire name of a known status (`Other` words: see `as_str`).
    fn name(&self) -> &'static str {
        match self {
            Status::Submitted => "Submitted",
            Status::Validating => "Validating",
            Status::Scheduled => "Scheduled",
            Status::InProgress => "InProgress",
            Status::Stopping => "Stopping",
            Status::Completed => "Completed",
            Status::PartiallyCompleted => "PartiallyCompleted",
            Status::Failed => "Failed",
            Status::Stopped => "Stopped",
            Status::Expired => "Expired",
            Status::Deleting => "Deleting",
            Status::Other(_) => "",
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Status::Other(raw) => raw,
            known => known.name(),
        }
    }

    /// A status a job never leaves (for every family).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Status::Completed
                | Status::Failed
                | Status::Stopped
                | Status::PartiallyCompleted
                | Status::Expired
        )
    }
}

impl From<String> for Status {
    fn from(raw: String) -> Self {
        Status::parse(&raw)
    }
}

impl From<Status> for String {
    fn from(status: Status) -> Self {
        status.as_str().to_owned()
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Maps an outcome to the nearest terminal status the family has.
pub fn fit_outcome(kind: JobKind, outcome: &Status) -> Status {
    if kind.statuses().contains(outcome) {
        outcome.clone()
    } else if *outcome == Status::PartiallyCompleted {
        Status::Completed
    } else {
        Status::Failed
    }
}

/// Batch inference record counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordCounts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_record_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processed_record_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_record_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_record_count: Option<i64>,
}

/// One job of any family.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub kind: JobKind,
    /// The 12-character id at the end of the ARN.
    pub id: String,
    pub arn: String,
    /// Job name (async invokes have none).
    pub name: Option<String>,
    pub status: Status,
    pub message: Option<String>,
    pub submit_time: DateTime<Utc>,
    pub last_modified_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub client_request_token: Option<String>,
    pub counts: RecordCounts,
    /// The request members echoed back by Get/List (configs, role, model, tags...).
    pub spec: serde_json::Map<String, Value>,
    /// The status auto-advance will finish in.
    pub planned_outcome: Option<Status>,
}

impl Job {
    pub fn spec_str(&self, key: &str) -> Option<&str> {
        self.spec.get(key).and_then(Value::as_str)
    }
}

/// ISO-8601 as the service model's `timestampFormat: iso8601` asks.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
