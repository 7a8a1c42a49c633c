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
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [
        JobKind::BatchInference,
        JobKind::ModelImport,
        JobKind::AsyncInvoke,
        JobKind::ModelCustomization,
    ];

    /// The ARN resource type, e.g. `model-invocation-job`.
    pub fn arn_resource(self) -> &'static str {
        match self {
            JobKind::BatchInference => "model-invocation-job",
            JobKind::ModelImport => "model-import-job",
            JobKind::AsyncInvoke => "async-invoke",
            JobKind::ModelCustomization => "model-customization-job",
        }
    }

    /// Every status the service model defines for this family.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            JobKind::BatchInference => &[
                "Submitted",
                "Validating",
                "Scheduled",
                "InProgress",
                "Completed",
                "Failed",
                "Stopping",
                "Stopped",
                "PartiallyCompleted",
                "Expired",
            ],
            JobKind::ModelImport | JobKind::AsyncInvoke => &["InProgress", "Completed", "Failed"],
            JobKind::ModelCustomization => {
                &["InProgress", "Completed", "Failed", "Stopping", "Stopped"]
            }
        }
    }

    /// The status a new job starts in.
    pub fn initial_status(self) -> &'static str {
        match self {
            JobKind::BatchInference => "Submitted",
            _ => "InProgress",
        }
    }
}

/// Maps an outcome to the nearest terminal status the family has.
pub fn fit_outcome(kind: JobKind, outcome: &str) -> &str {
    if kind.statuses().contains(&outcome) {
        outcome
    } else if outcome == "PartiallyCompleted" {
        "Completed"
    } else {
        "Failed"
    }
}

/// Whether a status is one a job never leaves (for every family).
pub fn is_terminal(status: &str) -> bool {
    matches!(
        status,
        "Completed" | "Failed" | "Stopped" | "PartiallyCompleted" | "Expired"
    )
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
    pub status: String,
    pub message: Option<String>,
    pub submit_time: DateTime<Utc>,
    pub last_modified_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub client_request_token: Option<String>,
    pub counts: RecordCounts,
    /// The request members echoed back by Get/List (configs, role, model, tags...).
    pub spec: serde_json::Map<String, Value>,
    /// The status auto-advance will finish in.
    pub planned_outcome: Option<String>,
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
