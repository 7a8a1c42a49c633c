//! Job families as data: each is one [`Family`] entry naming its kind, words for people, status
//! vocabulary, console page, IAM actions and Bedrock event. Adding a family adds a `JobKind`
//! variant and one entry here (plus its adapter); nothing else in the core changes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::status::{JobStatus, Phase};

/// The Bedrock job families we watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    BatchInference,
    ModelImport,
    AsyncInvoke,
    ModelCustomization,
    ModelEvaluation,
    ModelCopy,
}

/// Bedrock's own state-change event for a family (source `aws.bedrock`), for the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventShape {
    pub detail_type: &'static str,
    /// `detail` member holding the job ARN (else the event's first resource is used).
    pub arn_field: &'static str,
    /// `detail` member holding the reported status (informational only).
    pub status_field: &'static str,
}

/// Everything that varies between families.
#[derive(Debug, PartialEq, Eq)]
pub struct Family {
    pub kind: JobKind,
    /// Stable id: table scope, message `jobKind`, `job_kind` attribute, function names.
    pub name: &'static str,
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
    pub event: Option<EventShape>,
}

use Phase::*;

pub static BATCH_INFERENCE: Family = Family {
    kind: JobKind::BatchInference,
    name: "batch-inference",
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
    event: Some(EventShape {
        detail_type: "Batch Inference Job State Change",
        arn_field: "batchJobArn",
        status_field: "status",
    }),
};

pub static MODEL_IMPORT: Family = Family {
    kind: JobKind::ModelImport,
    name: "model-import",
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
    event: None,
};

pub static ASYNC_INVOKE: Family = Family {
    kind: JobKind::AsyncInvoke,
    name: "async-invoke",
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
    event: None,
};

pub static MODEL_CUSTOMIZATION: Family = Family {
    kind: JobKind::ModelCustomization,
    name: "model-customization",
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
    event: Some(EventShape {
        detail_type: "Model Customization Job State Change",
        arn_field: "jobArn",
        status_field: "jobStatus",
    }),
};

pub static MODEL_EVALUATION: Family = Family {
    kind: JobKind::ModelEvaluation,
    name: "model-evaluation",
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
    event: None,
};

pub static MODEL_COPY: Family = Family {
    kind: JobKind::ModelCopy,
    name: "model-copy",
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
    event: None,
};

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::BatchInference,
        JobKind::ModelImport,
        JobKind::AsyncInvoke,
        JobKind::ModelCustomization,
        JobKind::ModelEvaluation,
        JobKind::ModelCopy,
    ];

    pub fn family(self) -> &'static Family {
        match self {
            JobKind::BatchInference => &BATCH_INFERENCE,
            JobKind::ModelImport => &MODEL_IMPORT,
            JobKind::AsyncInvoke => &ASYNC_INVOKE,
            JobKind::ModelCustomization => &MODEL_CUSTOMIZATION,
            JobKind::ModelEvaluation => &MODEL_EVALUATION,
            JobKind::ModelCopy => &MODEL_COPY,
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

    /// The family whose Bedrock event has this detail type.
    pub fn by_event(detail_type: &str) -> Option<JobKind> {
        Self::ALL.into_iter().find(|k| {
            k.family()
                .event
                .is_some_and(|e| e.detail_type == detail_type)
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

    pub fn terminal_statuses(&self) -> impl Iterator<Item = JobStatus> + '_ {
        self.vocabulary
            .iter()
            .filter(|(_, phase)| phase.is_terminal())
            .map(|(raw, _)| JobStatus::new(*raw))
    }
}
