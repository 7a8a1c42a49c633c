//! Job families as data: each is one [`Family`] entry naming its kind, words for people, status
//! vocabulary, console page, IAM actions and Bedrock event. Adding a family adds a `JobKind`
//! variant and one entry here (plus its adapter); nothing else in the core changes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::regions;
use super::status::{JobStatus, Phase};

/// Declares `JobKind` and `JobKind::ALL` from one list, so that a variant can never be missing
/// from `ALL` (every loop over the families, the docs tables, the template checks read `ALL`).
macro_rules! job_kinds {
    ($($variant:ident,)*) => {
        /// The Bedrock job families we watch.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum JobKind {
            $($variant,)*
        }

        impl JobKind {
            pub const ALL: [JobKind; [$(JobKind::$variant),*].len()] = [$(JobKind::$variant),*];
        }
    };
}

job_kinds! {
    BatchInference,
    ModelImport,
    AsyncInvoke,
    ModelCustomization,
    KbIngestion,
    DataAutomation,
    ModelEvaluation,
    ModelCopy,
    ProvisionedThroughput,
    CustomModelDeployment,
    CustomModel,
    FlowExecution,
    LibraryIngestion,
    AdvancedPromptOptimization,
    AutomatedReasoningBuild,
    AgentcoreBatchEvaluation,
}

/// How a resource whose lifecycle re-opens is watched again after it settled (provisioned
/// throughput, custom model deployments): a job never leaves its end, a resource does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reopen {
    /// Statuses a settled resource moves to when it is changed (`Updating`): each run lists
    /// them with the API's status filter, whatever the number of settled resources.
    pub statuses: &'static [&'static str],
    /// The `details` member that dates each settling (`lastModifiedTime`): an observation
    /// dated later than the stored one starts a new cycle, and the notice's dedup key
    /// carries it, so that each settling is told once and told apart from the last.
    pub cycle: &'static str,
}

/// Bedrock's own state-change event for a family, for the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventShape {
    /// The event's `source` (`aws.bedrock`).
    pub source: &'static str,
    /// Every detail type of the family's events (one per state change, or one for all).
    pub detail_types: &'static [&'static str],
    /// `detail` member holding the job ARN (else the event's first resource is used), or its id
    /// when `named_by_id` is set.
    pub arn_field: &'static str,
    /// Set when the event names the job by id only: the ARN is built from the family's
    /// [`ArnShape`] and the event's own region and account.
    pub named_by_id: bool,
    /// `detail` member holding the reported status (informational only).
    pub status_field: &'static str,
}

/// How a family's jobs are named: `arn:{partition}:{service}:{region}:{account}:{resource}/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArnShape {
    /// The ARN's service (`bedrock`).
    pub service: &'static str,
    /// The resource type before the first `/` (`model-invocation-job`).
    pub resource: &'static str,
    /// Set for jobs named below a parent resource (`knowledge-base/{id}/.../ingestion-job/{id}`):
    /// the path segment that tells them from the parent itself.
    pub nested: Option<&'static str>,
}

impl ArnShape {
    /// Whether `resource` (the ARN's part after the account) names a job of this shape.
    pub fn matches(&self, resource: &str) -> bool {
        let Some((kind, id)) = resource.split_once('/') else {
            return false;
        };
        let nested = self.nested.is_some_and(|n| id.contains(&format!("/{n}/")));
        kind == self.resource && nested == self.nested.is_some()
    }
}

/// What a finished job's output (`output_s3_uri`) is, for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// A location the job writes its own folder in (`{output}/{job id}/`, with a manifest).
    JobFolder,
    /// The resource the job creates (a model ARN), which exists only once it succeeded.
    Resource {
        /// The console page of that resource (`custom-models/item?arn=`), when one is known.
        console_item: Option<&'static str>,
    },
    /// A data location (shown with `EMAIL_DETAIL=full`).
    Location,
}

/// Defaults of the early-warning alerts (`STUCK_AFTER`, `RUNNING_AFTER` override them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertDefaults {
    /// Waiting statuses: batch jobs legitimately queue behind quota for hours; the other
    /// families' waiting statuses last minutes.
    pub stuck_after_hours: u32,
    /// Running without progress counters: by how long the family's work usually takes.
    pub running_after_hours: u32,
    /// The family's stall is checked against CloudWatch's `AWS/Bedrock/Batch` metrics of the
    /// job's model before it is alerted (batch inference: `crate::adapters::batch_metrics`).
    pub stall_metrics: bool,
}

/// Everything that varies between families.
#[derive(Debug, PartialEq, Eq)]
pub struct Family {
    pub kind: JobKind,
    /// Stable id: table scope, message `jobKind`, `job_kind` attribute, function names.
    pub name: &'static str,
    /// The template's key (`Families` mapping, logical ids, the `WatchedFamilies` parameter).
    pub key: &'static str,
    /// Words for people (subjects and emails).
    pub label: &'static str,
    /// Every status the API documents, in lifecycle order, with its phase. Non-terminal entries
    /// are ranked by position (to refuse moving backwards) and are the List filter values used
    /// to sweep open jobs.
    pub vocabulary: &'static [(&'static str, Phase)],
    /// Console page of the family (`#/{page}`).
    pub console_page: &'static str,
    /// How emails label the job's output location or resulting resource.
    pub output_label: &'static str,
    /// The IAM actions the family's poller needs (List, Get).
    pub iam_actions: &'static [&'static str],
    /// Family-specific details a job carries (`ObservedJob::details` keys, API member names)
    /// and how emails label them, in the order emails show them.
    pub details: &'static [(&'static str, &'static str)],
    /// The `details` keys that tell a running job's progress without record counts (a
    /// customization job's stages, an ingestion job's document statistics): refreshed while
    /// the status stays the same, and shown by `jobwatch-cli` and the alerts ([`super::stages`]).
    pub progress_details: &'static [&'static str],
    pub event: Option<EventShape>,
    /// Set for resources that settle and may re-open (see [`Reopen`]); `None` for jobs.
    pub reopen: Option<Reopen>,
    /// What a resource that became ready makes possible, for people (`{arn}`: its ARN).
    pub ready: Option<&'static str>,
    /// Where the family's API exists: what `REGIONS=all-bedrock` expands to ([`regions`]).
    pub regions: &'static [&'static str],
    pub arn: ArnShape,
    pub output: Output,
    pub alerts: AlertDefaults,
}

use Phase::*;

pub static BATCH_INFERENCE: Family = Family {
    kind: JobKind::BatchInference,
    name: "batch-inference",
    key: "BatchInference",
    label: "Batch inference job",
    vocabulary: &[
        ("Submitted", Pending),
        ("Validating", Pending),
        ("Scheduled", Pending),
        ("InProgress", Running),
        ("Stopping", Stopping),
        ("Completed", Succeeded),
        ("PartiallyCompleted", PartiallySucceeded),
        ("Failed", Failed),
        ("Stopped", Stopped),
        ("Expired", Expired),
    ],
    console_page: "batch-inference",
    output_label: "Output:",
    iam_actions: &[
        "bedrock:ListModelInvocationJobs",
        "bedrock:GetModelInvocationJob",
    ],
    details: &[],
    progress_details: &[],
    event: Some(EventShape {
        detail_types: &["Batch Inference Job State Change"],
        source: "aws.bedrock",
        arn_field: "batchJobArn",
        named_by_id: false,
        status_field: "status",
    }),
    reopen: None,
    ready: None,
    // Batch inference (`CreateModelInvocationJob`): the regions of its supported-models table.
    regions: &[
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
    ],
    arn: ArnShape {
        service: "bedrock",
        resource: "model-invocation-job",
        nested: None,
    },
    output: Output::JobFolder,
    alerts: AlertDefaults {
        stuck_after_hours: 6,
        running_after_hours: 24,
        stall_metrics: true,
    },
};

pub static MODEL_IMPORT: Family = Family {
    kind: JobKind::ModelImport,
    name: "model-import",
    key: "ModelImport",
    label: "Model import job",
    vocabulary: &[
        ("InProgress", Running),
        ("Completed", Succeeded),
        ("Failed", Failed),
    ],
    console_page: "imported-models",
    output_label: "Result:",
    iam_actions: &["bedrock:ListModelImportJobs", "bedrock:GetModelImportJob"],
    details: &[],
    progress_details: &[],
    event: None,
    reopen: None,
    ready: None,
    regions: regions::BEDROCK,
    arn: ArnShape {
        service: "bedrock",
        resource: "model-import-job",
        nested: None,
    },
    output: Output::Resource { console_item: None },
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 6,
        stall_metrics: false,
    },
};

pub static ASYNC_INVOKE: Family = Family {
    kind: JobKind::AsyncInvoke,
    name: "async-invoke",
    key: "AsyncInvoke",
    label: "Async invocation",
    vocabulary: &[
        ("InProgress", Running),
        ("Completed", Succeeded),
        ("Failed", Failed),
    ],
    console_page: "overview",
    output_label: "Output:",
    iam_actions: &["bedrock:ListAsyncInvokes", "bedrock:GetAsyncInvoke"],
    details: &[],
    progress_details: &[],
    event: None,
    reopen: None,
    ready: None,
    // Asynchronous invocation (`StartAsyncInvoke`): the video models that take it.
    regions: &["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"],
    arn: ArnShape {
        service: "bedrock",
        resource: "async-invoke",
        nested: None,
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 2,
        stall_metrics: false,
    },
};

pub static MODEL_CUSTOMIZATION: Family = Family {
    kind: JobKind::ModelCustomization,
    name: "model-customization",
    key: "Customization",
    label: "Model customization job",
    vocabulary: &[
        ("InProgress", Running),
        ("Stopping", Stopping),
        ("Completed", Succeeded),
        ("Failed", Failed),
        ("Stopped", Stopped),
    ],
    console_page: "custom-models",
    output_label: "Result:",
    iam_actions: &[
        "bedrock:ListModelCustomizationJobs",
        "bedrock:GetModelCustomizationJob",
    ],
    details: &[],
    progress_details: &["statusDetails"],
    event: Some(EventShape {
        detail_types: &["Model Customization Job State Change"],
        source: "aws.bedrock",
        arn_field: "jobArn",
        named_by_id: false,
        status_field: "jobStatus",
    }),
    reopen: None,
    ready: None,
    regions: regions::BEDROCK,
    arn: ArnShape {
        service: "bedrock",
        resource: "model-customization-job",
        nested: None,
    },
    output: Output::Resource {
        console_item: Some("custom-models/item?arn="),
    },
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 72,
        stall_metrics: false,
    },
};

/// Knowledge-base ingestion jobs (bedrock-agent). They have no ARN of their own: a job is named
/// by its knowledge base's ARN followed by `/data-source/{id}/ingestion-job/{id}`. No time filter
/// on the List: each data source's jobs are listed newest first, down to the watermark.
pub static KB_INGESTION: Family = Family {
    kind: JobKind::KbIngestion,
    name: "kb-ingestion",
    key: "KbIngestion",
    label: "Knowledge base ingestion job",
    vocabulary: &[
        ("STARTING", Pending),
        ("IN_PROGRESS", Running),
        ("STOPPING", Stopping),
        ("COMPLETE", Succeeded),
        ("FAILED", Failed),
        ("STOPPED", Stopped),
    ],
    console_page: "knowledge-bases",
    output_label: "Knowledge base:",
    details: &[],
    iam_actions: &[
        "bedrock:ListKnowledgeBases",
        "bedrock:GetKnowledgeBase",
        "bedrock:ListDataSources",
        "bedrock:ListIngestionJobs",
        "bedrock:GetIngestionJob",
    ],
    progress_details: &["statistics"],
    event: None,
    reopen: None,
    ready: None,
    regions: regions::BEDROCK,
    arn: ArnShape {
        service: "bedrock",
        resource: "knowledge-base",
        nested: Some("ingestion-job"),
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 24,
        stall_metrics: false,
    },
};

pub static MODEL_EVALUATION: Family = Family {
    kind: JobKind::ModelEvaluation,
    name: "model-evaluation",
    key: "ModelEvaluation",
    label: "Model evaluation job",
    // `Deleting` follows a terminal status (BatchDeleteEvaluationJob) and reports no outcome:
    // a job first seen deleting is watched until it is gone, never notified.
    vocabulary: &[
        ("InProgress", Running),
        ("Stopping", Stopping),
        ("Deleting", Unknown),
        ("Completed", Succeeded),
        ("Failed", Failed),
        ("Stopped", Stopped),
    ],
    console_page: "model-evaluation",
    output_label: "Results:",
    iam_actions: &["bedrock:ListEvaluationJobs", "bedrock:GetEvaluationJob"],
    details: &[
        ("applicationType", "Evaluation:"),
        ("knowledgeBaseId", "Knowledge base:"),
        ("jobType", "Evaluated by:"),
        ("evaluationTaskTypes", "Tasks:"),
    ],
    progress_details: &[],
    event: None,
    reopen: None,
    ready: None,
    regions: regions::BEDROCK,
    arn: ArnShape {
        service: "bedrock",
        resource: "evaluation-job",
        nested: None,
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 24,
        stall_metrics: false,
    },
};

/// Bedrock Data Automation invocations (bedrock-data-automation-runtime). There is no List:
/// Bedrock's events register and finish invocations; the poll Gets every open one it knows.
pub static DATA_AUTOMATION: Family = Family {
    kind: JobKind::DataAutomation,
    name: "data-automation",
    key: "DataAutomation",
    label: "Data Automation invocation",
    vocabulary: &[
        ("Created", Pending),
        ("InProgress", Running),
        ("Success", Succeeded),
        ("ServiceError", Failed),
        ("ClientError", Failed),
    ],
    console_page: "bedrock-data-automation",
    output_label: "Output:",
    iam_actions: &["bedrock:GetDataAutomationStatus"],
    details: &[],
    // Documented sample (Bedrock user guide, "How EventBridge for Amazon Bedrock works"): the
    // detail names the invocation by `job_id` only, and `resources` is empty.
    progress_details: &[],
    event: Some(EventShape {
        detail_types: &[
            "Bedrock Data Automation Job Created",
            "Bedrock Data Automation Job Succeeded",
            "Bedrock Data Automation Job Failed With Client Error",
            "Bedrock Data Automation Job Failed With Service Error",
        ],
        source: "aws.bedrock",
        arn_field: "job_id",
        named_by_id: true,
        status_field: "job_status",
    }),
    reopen: None,
    ready: None,
    regions: regions::DATA_AUTOMATION,
    arn: ArnShape {
        service: "bedrock",
        resource: "data-automation-invocation",
        nested: None,
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 24,
        stall_metrics: false,
    },
};

pub static MODEL_COPY: Family = Family {
    kind: JobKind::ModelCopy,
    name: "model-copy",
    key: "ModelCopy",
    label: "Model copy job",
    vocabulary: &[
        ("InProgress", Running),
        ("Completed", Succeeded),
        ("Failed", Failed),
    ],
    console_page: "custom-models",
    // The email's Model line is the source model; the message also carries both ARNs in
    // `details` (sourceModelArn, targetModelArn).
    output_label: "Copied to:",
    iam_actions: &["bedrock:ListModelCopyJobs", "bedrock:GetModelCopyJob"],
    details: &[("sourceAccountId", "Source account:")],
    progress_details: &[],
    event: None,
    reopen: None,
    ready: None,
    regions: regions::BEDROCK,
    arn: ArnShape {
        service: "bedrock",
        resource: "model-copy-job",
        nested: None,
    },
    output: Output::Resource { console_item: None },
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 24,
        stall_metrics: false,
    },
};

/// Provisioned throughput: bought model units. It settles (`InService`, `Failed`) and re-opens
/// when it is updated (`UpdateProvisionedModelThroughput`: `Updating`, then `InService` again).
pub static PROVISIONED_THROUGHPUT: Family = Family {
    kind: JobKind::ProvisionedThroughput,
    name: "provisioned-throughput",
    key: "ProvisionedThroughput",
    label: "Provisioned throughput",
    vocabulary: &[
        ("Creating", Pending),
        ("Updating", Running),
        ("InService", Succeeded),
        ("Failed", Failed),
    ],
    console_page: "provisioned-throughput",
    output_label: "Model:",
    iam_actions: &[
        "bedrock:ListProvisionedModelThroughputs",
        "bedrock:GetProvisionedModelThroughput",
    ],
    details: &[
        ("modelUnits", "Model units:"),
        ("desiredModelUnits", "Desired units:"),
        ("commitmentDuration", "Commitment:"),
        ("commitmentExpirationTime", "Commitment ends:"),
        ("foundationModelArn", "Foundation model:"),
        ("lastModifiedTime", "Last modified:"),
    ],
    progress_details: &[],
    event: None,
    reopen: Some(Reopen {
        statuses: &["Updating"],
        cycle: "lastModifiedTime",
    }),
    ready: Some("Invoke it with modelId = {arn}"),
    regions: regions::BEDROCK,
    arn: ArnShape {
        service: "bedrock",
        resource: "provisioned-model",
        nested: None,
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 24,
        stall_metrics: false,
    },
};

/// On-demand deployments of custom models. `status` says Creating, Active or Failed; an update
/// (`UpdateCustomModelDeployment`) reports itself in `updateDetails.updateStatus` (Updating,
/// UpdateCompleted, UpdateFailed), which the adapter takes as the status while it is set.
pub static CUSTOM_MODEL_DEPLOYMENT: Family = Family {
    kind: JobKind::CustomModelDeployment,
    name: "custom-model-deployment",
    key: "CustomModelDeployment",
    label: "Custom model deployment",
    vocabulary: &[
        ("Creating", Pending),
        ("Updating", Running),
        ("Active", Succeeded),
        ("UpdateCompleted", Succeeded),
        ("Failed", Failed),
        ("UpdateFailed", Failed),
    ],
    console_page: "custom-models",
    output_label: "Model:",
    iam_actions: &[
        "bedrock:ListCustomModelDeployments",
        "bedrock:GetCustomModelDeployment",
    ],
    details: &[
        ("updateModelArn", "Updated to model:"),
        ("lastUpdatedAt", "Last updated:"),
    ],
    progress_details: &[],
    event: None,
    reopen: Some(Reopen {
        statuses: &["Updating"],
        cycle: "lastUpdatedAt",
    }),
    ready: Some("Invoke it on demand with modelId = {arn}"),
    regions: regions::BEDROCK,
    arn: ArnShape {
        service: "bedrock",
        resource: "custom-model-deployment",
        nested: None,
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 24,
        stall_metrics: false,
    },
};

/// Custom models (`CreateCustomModel`, or the result of a customization or import): they
/// settle once, `Active` or `Failed`.
pub static CUSTOM_MODEL: Family = Family {
    kind: JobKind::CustomModel,
    name: "custom-model",
    key: "CustomModel",
    label: "Custom model",
    vocabulary: &[
        ("Creating", Pending),
        ("Active", Succeeded),
        ("Failed", Failed),
    ],
    console_page: "custom-models",
    output_label: "Model:",
    iam_actions: &["bedrock:ListCustomModels", "bedrock:GetCustomModel"],
    details: &[
        ("customizationType", "Customization:"),
        ("jobArn", "Created by job:"),
    ],
    progress_details: &[],
    event: None,
    reopen: None,
    ready: Some("Deploy it for on-demand inference (CreateCustomModelDeployment) or buy provisioned throughput for it: {arn}"),
    regions: regions::BEDROCK,
    arn: ArnShape {
        service: "bedrock",
        resource: "custom-model",
        nested: None,
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 24,
        stall_metrics: false,
    },
};

/// Flow executions (bedrock-agent-runtime, asynchronous runs of a flow alias). Executions are
/// named below their flow and alias (`flow/{id}/alias/{id}/execution/{id}`), which is also
/// where Get finds them; a listing walks every flow (bedrock-agent `ListFlows`). Executions
/// time out after 24 hours (`TimedOut`, a failure); `StopFlowExecution` makes them `Aborted`.
pub static FLOW_EXECUTION: Family = Family {
    kind: JobKind::FlowExecution,
    name: "flow-execution",
    key: "FlowExecution",
    label: "Flow execution",
    vocabulary: &[
        ("Running", Running),
        ("Succeeded", Succeeded),
        ("Failed", Failed),
        ("TimedOut", Failed),
        ("Aborted", Stopped),
    ],
    console_page: "prompt-flows",
    output_label: "Flow alias:",
    // ListFlows has no resource type; ListFlowExecutions is authorized on the flow,
    // GetFlowExecution on the flow, the alias and the execution (all `flow/...`).
    iam_actions: &[
        "bedrock:ListFlows",
        "bedrock:ListFlowExecutions",
        "bedrock:GetFlowExecution",
    ],
    details: &[
        ("flowAliasIdentifier", "Alias:"),
        ("flowVersion", "Flow version:"),
    ],
    progress_details: &[],
    event: None,
    reopen: None,
    ready: None,
    // Regions with Bedrock Flows ("Supported Regions and models for flows", flows-supported.html,
    // read December 2026): the control plane's less us-west-1, ap-southeast-3 and ap-southeast-4.
    // Flow executions (asynchronous runs) are in preview; the page does not say whether every
    // one of these regions has them (a region without them is reported as not offered).
    regions: &[
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
    ],
    arn: ArnShape {
        service: "bedrock",
        resource: "flow",
        nested: Some("execution"),
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        // A flow execution ends by itself after 24 hours (TimedOut); most take minutes.
        running_after_hours: 6,
        stall_metrics: false,
    },
};

/// Data Automation library ingestion jobs (bedrock-data-automation): vocabulary upserts and
/// deletes into a library. A job's ARN does not name its library and Get needs both: a job is
/// named by its library's ARN followed by `/library-ingestion-job/{id}`; a listing walks every
/// library (`ListDataAutomationLibraries`). There is no Stop.
pub static LIBRARY_INGESTION: Family = Family {
    kind: JobKind::LibraryIngestion,
    name: "library-ingestion",
    key: "LibraryIngestion",
    label: "Data Automation library ingestion job",
    vocabulary: &[
        ("IN_PROGRESS", Running),
        ("COMPLETED", Succeeded),
        ("COMPLETED_WITH_ERRORS", PartiallySucceeded),
        ("FAILED", Failed),
    ],
    console_page: "bedrock-data-automation",
    output_label: "Output:",
    // ListDataAutomationLibraries takes no required resource type; the List and Get of jobs
    // are authorized on the library (and the Get on the job, `data-automation-library-*`).
    iam_actions: &[
        "bedrock:ListDataAutomationLibraries",
        "bedrock:ListDataAutomationLibraryIngestionJobs",
        "bedrock:GetDataAutomationLibraryIngestionJob",
    ],
    details: &[
        ("operationType", "Operation:"),
        ("entityType", "Entities:"),
        ("libraryArn", "Library:"),
    ],
    progress_details: &[],
    event: None,
    reopen: None,
    ready: None,
    // Data Automation's regions, an upper bound: no page lists the libraries' own.
    regions: regions::DATA_AUTOMATION,
    arn: ArnShape {
        service: "bedrock",
        resource: "data-automation-library",
        nested: Some("library-ingestion-job"),
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 6,
        stall_metrics: false,
    },
};

/// Advanced prompt optimization jobs (`CreateAdvancedPromptOptimizationJob`). The List has no
/// time or status filter: it is read newest first (`sortBy=CreationTime`, `Descending`) down to
/// the watermark, and open jobs are followed with Get. `Deleting` follows
/// `BatchDeleteAdvancedPromptOptimizationJob` and ends in the job vanishing: never notified.
pub static ADVANCED_PROMPT_OPTIMIZATION: Family = Family {
    kind: JobKind::AdvancedPromptOptimization,
    name: "advanced-prompt-optimization",
    key: "AdvancedPromptOptimization",
    label: "Advanced prompt optimization job",
    vocabulary: &[
        ("InProgress", Running),
        ("Stopping", Stopping),
        ("Deleting", Unknown),
        ("Completed", Succeeded),
        ("PartiallyCompleted", PartiallySucceeded),
        ("Failed", Failed),
        ("Stopped", Stopped),
    ],
    console_page: "prompt-management",
    output_label: "Optimized output:",
    iam_actions: &[
        "bedrock:ListAdvancedPromptOptimizationJobs",
        "bedrock:GetAdvancedPromptOptimizationJob",
    ],
    details: &[("modelIds", "Target models:")],
    progress_details: &[],
    event: None,
    reopen: None,
    ready: None,
    // Advanced prompt optimization (`*AdvancedPromptOptimizationJob*`): the user guide's
    // "Supported Regions, models, and quotas" page for it.
    regions: &[
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
    ],
    arn: ArnShape {
        service: "bedrock",
        resource: "advanced-prompt-optimization-job",
        nested: None,
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 24,
        stall_metrics: false,
    },
};

/// Automated Reasoning policy build workflows (`StartAutomatedReasoningPolicyBuildWorkflow`).
/// They have no ARN: a workflow is named by its policy's ARN followed by
/// `/build-workflow/{buildWorkflowId}`. Listed per policy (`ListAutomatedReasoningPolicies`,
/// then `ListAutomatedReasoningPolicyBuildWorkflows`, which has no filter or sort). A cancel is
/// a stop. Regions: not published for the feature; the control plane's list is the upper bound
/// (elsewhere the API answers as not offered, a skip).
pub static AUTOMATED_REASONING_BUILD: Family = Family {
    kind: JobKind::AutomatedReasoningBuild,
    name: "automated-reasoning-build",
    key: "AutomatedReasoningBuild",
    label: "Automated Reasoning policy build",
    vocabulary: &[
        ("SCHEDULED", Pending),
        ("PREPROCESSING", Running),
        ("BUILDING", Running),
        ("TESTING", Running),
        ("CANCEL_REQUESTED", Stopping),
        ("COMPLETED", Succeeded),
        ("FAILED", Failed),
        ("CANCELLED", Stopped),
    ],
    console_page: "automated-reasoning",
    output_label: "Policy:",
    iam_actions: &[
        "bedrock:ListAutomatedReasoningPolicies",
        "bedrock:ListAutomatedReasoningPolicyBuildWorkflows",
        "bedrock:GetAutomatedReasoningPolicyBuildWorkflow",
        "bedrock:GetAutomatedReasoningPolicyBuildWorkflowResultAssets",
    ],
    details: &[
        ("buildWorkflowType", "Build:"),
        ("documentName", "Document:"),
    ],
    progress_details: &[],
    event: None,
    reopen: None,
    ready: None,
    regions: regions::BEDROCK,
    arn: ArnShape {
        service: "bedrock",
        resource: "automated-reasoning-policy",
        nested: Some("build-workflow"),
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 6,
        stall_metrics: false,
    },
};

/// Bedrock AgentCore batch evaluations (`bedrock-agentcore`, the AgentCore data plane: its own
/// IAM prefix, signing name and regions). The List has no filter and no documented order, so
/// a steady run reads its first page and one page of a sweep whose cursor the scope keeps
/// (`JobSource::sweep`), and filters itself; the Get takes the id, not the ARN. Results go
/// to CloudWatch Logs (`outputConfig.cloudWatchConfig`), which only the Get reports.
pub static AGENTCORE_BATCH_EVALUATION: Family = Family {
    kind: JobKind::AgentcoreBatchEvaluation,
    name: "agentcore-batch-evaluation",
    key: "AgentcoreBatchEvaluation",
    label: "AgentCore batch evaluation",
    // `DELETING` follows a terminal status (DeleteBatchEvaluation needs one) and ends in the
    // evaluation vanishing: no outcome, as model evaluations' `Deleting`. The CLI's `--wait`
    // and the Delete page name COMPLETED, FAILED and STOPPED as terminal; COMPLETED_WITH_ERRORS
    // (some sessions failed) is a partial success.
    vocabulary: &[
        ("PENDING", Pending),
        ("IN_PROGRESS", Running),
        ("STOPPING", Stopping),
        ("DELETING", Unknown),
        ("COMPLETED", Succeeded),
        ("COMPLETED_WITH_ERRORS", PartiallySucceeded),
        ("FAILED", Failed),
        ("STOPPED", Stopped),
    ],
    // The AgentCore console is its own (`/bedrock-agentcore/home`), which the links, built on
    // the Bedrock console, cannot name: its overview page.
    console_page: "overview",
    // The results go to a CloudWatch Logs log group (`outputConfig.cloudWatchConfig`), the
    // output location (`outputS3Uri`); its stream and destination are details.
    output_label: "Result log group:",
    iam_actions: &[
        "bedrock-agentcore:ListBatchEvaluations",
        "bedrock-agentcore:GetBatchEvaluation",
    ],
    details: &[
        ("logStreamName", "Log stream:"),
        ("resultDestination", "Written to:"),
        ("metricsNamespace", "Metrics namespace:"),
        ("sessions", "Sessions:"),
        ("evaluators", "Evaluators:"),
        ("scores", "Average scores:"),
    ],
    progress_details: &[],
    event: None,
    reopen: None,
    ready: None,
    // The "AgentCore Evaluations" row of the AgentCore feature/region table (devguide
    // agentcore-regions.html, read December 2026: the regions ticked in every copy read; the
    // GA post says nine regions). NEEDS REVIEW: the emulator's family file mirrors this list.
    regions: &[
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
    ],
    // `arn:{partition}:bedrock-agentcore:{region}:{account}:batch-evaluate/{batchEvaluationId}`
    // (Service Authorization Reference, resource type `batch-evaluate`).
    arn: ArnShape {
        service: "bedrock-agentcore",
        resource: "batch-evaluate",
        nested: None,
    },
    output: Output::Location,
    alerts: AlertDefaults {
        stuck_after_hours: 1,
        running_after_hours: 24,
        stall_metrics: false,
    },
};

impl JobKind {
    pub fn family(self) -> &'static Family {
        match self {
            JobKind::BatchInference => &BATCH_INFERENCE,
            JobKind::ModelImport => &MODEL_IMPORT,
            JobKind::AsyncInvoke => &ASYNC_INVOKE,
            JobKind::ModelCustomization => &MODEL_CUSTOMIZATION,
            JobKind::KbIngestion => &KB_INGESTION,
            JobKind::DataAutomation => &DATA_AUTOMATION,
            JobKind::ModelEvaluation => &MODEL_EVALUATION,
            JobKind::ModelCopy => &MODEL_COPY,
            JobKind::ProvisionedThroughput => &PROVISIONED_THROUGHPUT,
            JobKind::CustomModelDeployment => &CUSTOM_MODEL_DEPLOYMENT,
            JobKind::CustomModel => &CUSTOM_MODEL,
            JobKind::FlowExecution => &FLOW_EXECUTION,
            JobKind::LibraryIngestion => &LIBRARY_INGESTION,
            JobKind::AdvancedPromptOptimization => &ADVANCED_PROMPT_OPTIMIZATION,
            JobKind::AutomatedReasoningBuild => &AUTOMATED_REASONING_BUILD,
            JobKind::AgentcoreBatchEvaluation => &AGENTCORE_BATCH_EVALUATION,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.family().name
    }

    pub fn label(self) -> &'static str {
        self.family().label
    }

    /// The family of this stable name (`batch-inference`, ...), as `JOB_FAMILY` gives it.
    pub fn from_name(name: &str) -> Option<JobKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The family of this name or template key (`batch-inference` or `BatchInference`), as
    /// `WATCHED_FAMILIES` may give it.
    pub fn from_name_or_key(word: &str) -> Option<JobKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == word || k.family().key == word)
    }

    /// Whether some family's state-change events come from `source` (`aws.bedrock`).
    pub fn emits_events_from(source: &str) -> bool {
        Self::ALL
            .into_iter()
            .any(|k| k.family().event.is_some_and(|e| e.source == source))
    }

    /// The family whose Bedrock event has this detail type.
    pub fn by_event(detail_type: &str) -> Option<JobKind> {
        Self::ALL.into_iter().find(|k| {
            k.family()
                .event
                .is_some_and(|e| e.detail_types.contains(&detail_type))
        })
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rank of every terminal status: all of them are the end.
const END: u8 = u8::MAX;

impl Family {
    /// The phase of a raw status; words the family does not list are [`Phase::Unknown`].
    pub fn phase(&self, status: &JobStatus) -> Phase {
        self.vocabulary
            .iter()
            .find(|(raw, _)| *raw == status.as_str())
            .map_or(Phase::Unknown, |(_, phase)| *phase)
    }

    /// Whether a job in `status` has finished. Unknown statuses are not: the job keeps being
    /// watched until it reaches a status we understand.
    pub fn is_terminal(&self, status: &JobStatus) -> bool {
        self.phase(status).is_terminal()
    }

    /// Position along a job's life, to refuse moving backwards; `None` for unknown statuses.
    pub fn rank(&self, status: &JobStatus) -> Option<u8> {
        let position = self
            .vocabulary
            .iter()
            .position(|(raw, _)| *raw == status.as_str())?;
        Some(match self.vocabulary[position].1.is_terminal() {
            true => END,
            false => position as u8,
        })
    }

    /// Statuses of unfinished jobs, the values a List can filter on to sweep them.
    pub fn open_statuses(&self) -> impl Iterator<Item = JobStatus> + '_ {
        self.vocabulary
            .iter()
            .filter(|(_, phase)| !phase.is_terminal())
            .map(|(raw, _)| JobStatus::new(*raw))
    }

    /// Whether a stored settled item may be changed by `observed`: only for a family that
    /// re-opens, and only by an observation dated later (its `Reopen::cycle` detail) than the
    /// stored one, so that a stale listing never re-opens it.
    pub fn starts_new_cycle(&self, known: &super::Details, observed: &super::Details) -> bool {
        let Some(reopen) = self.reopen else {
            return false;
        };
        let date = |d: &super::Details| {
            d.get(reopen.cycle)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        };
        match (date(known), date(observed)) {
            (Some(old), Some(new)) => new > old,
            (None, Some(_)) => true,
            _ => false,
        }
    }

    /// The value that tells a settling of `details` apart from the resource's earlier ones.
    pub fn cycle_of<'d>(&self, details: &'d super::Details) -> Option<&'d str> {
        details.get(self.reopen?.cycle).map(String::as_str)
    }

    pub fn terminal_statuses(&self) -> impl Iterator<Item = JobStatus> + '_ {
        self.vocabulary
            .iter()
            .filter(|(_, phase)| phase.is_terminal())
            .map(|(raw, _)| JobStatus::new(*raw))
    }
}
