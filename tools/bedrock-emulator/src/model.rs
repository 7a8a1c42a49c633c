//! The emulator's job records: one struct for every job family, rendered per family on the wire
//! (each family's facts and behaviour: the `family` module and `families/`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Declares `JobKind` and `JobKind::ALL` from one list, so that a variant can never be missing
/// from `ALL`.
macro_rules! job_kinds {
    ($($(#[$doc:meta])* $variant:ident,)*) => {
        /// The Bedrock job families the emulator serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum JobKind {
            $($(#[$doc])* $variant,)*
        }

        impl JobKind {
            pub const ALL: [JobKind; [$(JobKind::$variant),*].len()] = [$(JobKind::$variant),*];
        }
    };
}

job_kinds! {
    /// `CreateModelInvocationJob` (batch inference).
    BatchInference,
    /// `CreateModelImportJob` (custom model import).
    ModelImport,
    /// bedrock-runtime `StartAsyncInvoke`.
    AsyncInvoke,
    /// `CreateModelCustomizationJob` (fine-tuning).
    ModelCustomization,
    /// bedrock-agent `StartIngestionJob` (a data source of a knowledge base).
    KbIngestion,
    /// bedrock-data-automation-runtime `InvokeDataAutomationAsync`.
    DataAutomation,
    /// `CreateEvaluationJob` (model and RAG evaluations).
    ModelEvaluation,
    /// `CreateModelCopyJob` (a custom model copied into this region).
    ModelCopy,
    /// `CreateProvisionedModelThroughput`: a resource that settles (`InService`) and re-opens
    /// (`UpdateProvisionedModelThroughput`: `Updating`).
    ProvisionedThroughput,
    /// `CreateCustomModelDeployment` (on-demand): `Active`, and re-opens on an update (the
    /// job's status is then the update's: `Updating`, `UpdateCompleted`, `UpdateFailed`).
    CustomModelDeployment,
    /// `CreateCustomModel`: `Creating`, then `Active` or `Failed`.
    CustomModel,
    /// `CreateAdvancedPromptOptimizationJob`.
    AdvancedPromptOptimization,
    /// `StartAutomatedReasoningPolicyBuildWorkflow` (in an Automated Reasoning policy).
    AutomatedReasoningBuild,
    /// bedrock-agentcore `StartBatchEvaluation` (AgentCore Evaluations, its own service).
    AgentcoreBatchEvaluation,
    /// bedrock-agent-runtime `StartFlowExecution` (an alias of a flow, from bedrock-agent).
    FlowExecution,
    /// bedrock-data-automation `InvokeDataAutomationLibraryIngestionJob` (into a library).
    LibraryIngestion,
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
    /// Ingestion jobs (bedrock-agent) shout: `STARTING`, `IN_PROGRESS`, `COMPLETE`, ...
    Starting,
    IngestionInProgress,
    IngestionStopping,
    Complete,
    IngestionFailed,
    IngestionStopped,
    /// Data Automation invocations: `Created`, `InProgress`, `Success`, `ServiceError`, `ClientError`.
    Created,
    Success,
    ServiceError,
    ClientError,
    Deleting,
    /// Resources: provisioned throughput, custom models and their deployments.
    Creating,
    InService,
    Updating,
    Active,
    UpdateCompleted,
    UpdateFailed,
    /// Automated Reasoning policy build workflows: `SCHEDULED`, `CANCEL_REQUESTED`,
    /// `PREPROCESSING`, `BUILDING`, `TESTING`, `COMPLETED`, `CANCELLED` (and `FAILED`, the
    /// ingestion jobs' word).
    BuildScheduled,
    CancelRequested,
    Preprocessing,
    Building,
    Testing,
    BuildCompleted,
    Cancelled,
    /// AgentCore batch evaluations shout too, and add these to the ingestion and build words
    /// (`COMPLETED` is `BuildCompleted`): `PENDING`, `COMPLETED_WITH_ERRORS` (some sessions
    /// failed), `DELETING`.
    EvaluationPending,
    CompletedWithErrors,
    EvaluationDeleting,
    /// Flow executions: `Running`, then `Succeeded`, `Failed`, `TimedOut` or `Aborted`; Data
    /// Automation library ingestion jobs shout `COMPLETED` (`BuildCompleted`) and
    /// `COMPLETED_WITH_ERRORS` as AgentCore does.
    Running,
    Succeeded,
    TimedOut,
    Aborted,
    Other(String),
}

impl Status {
    const KNOWN: [Status; 41] = [
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
        Status::Starting,
        Status::IngestionInProgress,
        Status::IngestionStopping,
        Status::Complete,
        Status::IngestionFailed,
        Status::IngestionStopped,
        Status::Created,
        Status::Success,
        Status::ServiceError,
        Status::ClientError,
        Status::Deleting,
        Status::Creating,
        Status::InService,
        Status::Updating,
        Status::Active,
        Status::UpdateCompleted,
        Status::UpdateFailed,
        Status::BuildScheduled,
        Status::CancelRequested,
        Status::Preprocessing,
        Status::Building,
        Status::Testing,
        Status::BuildCompleted,
        Status::Cancelled,
        Status::EvaluationPending,
        Status::CompletedWithErrors,
        Status::EvaluationDeleting,
        Status::Running,
        Status::Succeeded,
        Status::TimedOut,
        Status::Aborted,
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
            Status::Starting => "STARTING",
            Status::IngestionInProgress => "IN_PROGRESS",
            Status::IngestionStopping => "STOPPING",
            Status::Complete => "COMPLETE",
            Status::IngestionFailed => "FAILED",
            Status::IngestionStopped => "STOPPED",
            Status::Created => "Created",
            Status::Success => "Success",
            Status::ServiceError => "ServiceError",
            Status::ClientError => "ClientError",
            Status::Deleting => "Deleting",
            Status::Creating => "Creating",
            Status::InService => "InService",
            Status::Updating => "Updating",
            Status::Active => "Active",
            Status::UpdateCompleted => "UpdateCompleted",
            Status::UpdateFailed => "UpdateFailed",
            Status::BuildScheduled => "SCHEDULED",
            Status::CancelRequested => "CANCEL_REQUESTED",
            Status::Preprocessing => "PREPROCESSING",
            Status::Building => "BUILDING",
            Status::Testing => "TESTING",
            Status::BuildCompleted => "COMPLETED",
            Status::Cancelled => "CANCELLED",
            Status::EvaluationPending => "PENDING",
            Status::CompletedWithErrors => "COMPLETED_WITH_ERRORS",
            Status::EvaluationDeleting => "DELETING",
            Status::Running => "Running",
            Status::Succeeded => "Succeeded",
            Status::TimedOut => "TimedOut",
            Status::Aborted => "Aborted",
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
                | Status::Complete
                | Status::IngestionFailed
                | Status::IngestionStopped
                | Status::Success
                | Status::ServiceError
                | Status::ClientError
                | Status::InService
                | Status::Active
                | Status::UpdateCompleted
                | Status::UpdateFailed
                | Status::BuildCompleted
                | Status::Cancelled
                | Status::Succeeded
                | Status::TimedOut
                | Status::Aborted
                | Status::CompletedWithErrors
        )
    }

    /// A status a job is on its way to being stopped in.
    pub fn is_stopping(&self) -> bool {
        matches!(
            self,
            Status::Stopping | Status::IngestionStopping | Status::CancelRequested
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

/// Maps an outcome to the nearest terminal status the family has: by meaning (succeeded,
/// stopped, failed) when the family has no such word, so `Completed` seeds ingestion jobs as
/// `COMPLETE` and Data Automation invocations as `Success`.
pub fn fit_outcome(statuses: &[Status], outcome: &Status) -> Status {
    use Status::*;
    if statuses.contains(outcome) {
        return outcome.clone();
    }
    let nearest: &[Status] = match outcome {
        PartiallyCompleted | CompletedWithErrors => &[
            PartiallyCompleted,
            CompletedWithErrors,
            Completed,
            BuildCompleted,
            Complete,
            Success,
            InService,
            Active,
            Succeeded,
        ],
        Completed | Complete | Success | InService | Active | BuildCompleted | Succeeded => &[
            Completed,
            BuildCompleted,
            Complete,
            Success,
            InService,
            Active,
            Succeeded,
        ],
        Stopped | IngestionStopped | Cancelled | Aborted => &[
            Stopped,
            IngestionStopped,
            Cancelled,
            Aborted,
            Failed,
            IngestionFailed,
        ],
        _ => &[Failed, IngestionFailed, ClientError],
    };
    nearest
        .iter()
        .find(|s| statuses.contains(s))
        .cloned()
        .unwrap_or(Failed)
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
    /// Resource tags (`ListTagsForResource`), from the create call or `TagResource`.
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

impl Job {
    /// Moves the job to `status` now; terminal statuses set `endTime`.
    pub fn transition(&mut self, status: Status, message: Option<String>, now: DateTime<Utc>) {
        self.last_modified_time = now;
        if status.is_terminal() {
            self.end_time = Some(now);
        }
        if message.is_some() {
            self.message = message;
        }
        self.status = status;
    }

    pub fn spec_str(&self, key: &str) -> Option<&str> {
        self.spec.get(key).and_then(Value::as_str)
    }
}

/// ISO-8601 as the service model's `timestampFormat: iso8601` asks.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Where a family's API is offered when not in every Bedrock control-plane region
/// (`offered::BEDROCK`): a word each of its operations contains, and the regions
/// (`offered::regions_of`). Here, beside the family's variant, so that a new family with regions
/// of its own edits no shared list.
impl JobKind {
    pub fn offered(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            JobKind::BatchInference => Some(("ModelInvocationJob", BATCH_INFERENCE_REGIONS)),
            JobKind::AsyncInvoke => Some(("AsyncInvoke", ASYNC_INVOKE_REGIONS)),
            JobKind::DataAutomation => Some(("DataAutomation", DATA_AUTOMATION_REGIONS)),
            JobKind::AdvancedPromptOptimization => Some((
                "AdvancedPromptOptimization",
                ADVANCED_PROMPT_OPTIMIZATION_REGIONS,
            )),
            JobKind::AgentcoreBatchEvaluation => {
                Some(("BatchEvaluation", AGENTCORE_BATCH_EVALUATION_REGIONS))
            }
            JobKind::FlowExecution => Some(("Flow", FLOW_EXECUTION_REGIONS)),
            _ => None,
        }
    }
}

/// Batch inference (`*ModelInvocationJob*`).
const BATCH_INFERENCE_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "us-gov-west-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-3",
];

/// Asynchronous invocation (`*AsyncInvoke*`).
const ASYNC_INVOKE_REGIONS: &[&str] = &["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"];

/// Bedrock Data Automation (`InvokeDataAutomationAsync`, `GetDataAutomationStatus`).
const DATA_AUTOMATION_REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "us-gov-west-1",
    "ap-south-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
];

/// Advanced prompt optimization (`*AdvancedPromptOptimizationJob*`).
const ADVANCED_PROMPT_OPTIMIZATION_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "eu-central-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
];

/// AgentCore Evaluations (`bedrock-agentcore` `*BatchEvaluation*`): its own service and regions.
const AGENTCORE_BATCH_EVALUATION_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-south-1",
    "ap-southeast-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
];

/// Bedrock Flows (`*Flow*`: the flows of bedrock-agent and their executions on
/// bedrock-agent-runtime): the control plane's less us-west-1, ap-southeast-3 and -4.
const FLOW_EXECUTION_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
];
