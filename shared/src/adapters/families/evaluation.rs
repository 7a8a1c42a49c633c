//! `JobSource` for model evaluation jobs (model and RAG evaluations) on the `bedrock`
//! control-plane API.

use aws_sdk_bedrock::types::{EvaluationJobStatus, SortJobsBy, SortOrder};
use aws_sdk_bedrock::Client;
use futures::Stream;

use crate::adapters::sdk::{found, from_smithy, Calls};
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Model evaluation jobs (`ListEvaluationJobs`, `GetEvaluationJob`).
#[derive(Debug, Clone)]
pub struct EvaluationSource {
    client: Client,
    calls: Calls,
}

impl EvaluationSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, _config: &crate::config::Config) -> Self {
        Self::new(Client::new(sdk))
    }
}

/// What the email and the message say about an evaluation besides its status and model.
fn details(
    application: Option<&str>,
    job_type: &str,
    tasks: &[String],
    knowledge_base: Option<String>,
) -> Details {
    let mut details = Details::new();
    if let Some(kb) = knowledge_base {
        details.insert("knowledgeBaseId".into(), kb);
    }
    // The API leaves applicationType out for model evaluations created before RAG evaluations.
    details.insert(
        "applicationType".into(),
        application.unwrap_or("ModelEvaluation").to_owned(),
    );
    details.insert("jobType".into(), job_type.to_owned());
    if !tasks.is_empty() {
        details.insert("evaluationTaskTypes".into(), tasks.join(", "));
    }
    details
}

impl JobSource for EvaluationSource {
    fn kind(&self) -> JobKind {
        JobKind::ModelEvaluation
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        list_pages!(
                    self.calls,
                    self.client.list_evaluation_jobs(),
                    filter,
                    after: set_creation_time_after,
                    status: EvaluationJobStatus,
                    sort: (SortJobsBy::CreationTime, SortOrder::Ascending),
                    "ListEvaluationJobs",
                    |page| page.job_summaries().iter().map(|j| {
                        let summary = j.inference_config_summary();
                        let tasks: Vec<String> =
                            j.evaluation_task_types().iter().map(|t| t.as_str().to_owned()).collect();
                        ObservedJob {
        name: Some(j.job_name().to_owned()),
        model_id: summary
                                .and_then(|c| c.model_config_summary())
                                .and_then(|m| m.bedrock_model_identifiers().first())
                                .cloned(),
        details: details(
                                j.application_type().map(|a| a.as_str()),
                                j.job_type().as_str(),
                                &tasks,
                                summary
                                    .and_then(|c| c.rag_config_summary())
                                    .and_then(|r| r.bedrock_knowledge_base_identifiers().first())
                                    .cloned(),
                            ),
        ..ObservedJob::new(JobKind::ModelEvaluation, JobArn::new(j.job_arn()), JobStatus::new(j.status().as_str()), from_smithy(j.creation_time()))
        }
                    })
                )
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_evaluation_job()
            .job_identifier(arn.as_str())
            .send()
            .await;
        found("GetEvaluationJob", result, |j| {
            let status = JobStatus::new(j.status().as_str());
            let finished = JobKind::ModelEvaluation.family().is_terminal(&status);
            let tasks: Vec<String> = j
                .evaluation_config()
                .and_then(|c| c.as_automated().ok().map(|a| a.dataset_metric_configs()))
                .or_else(|| {
                    j.evaluation_config()
                        .and_then(|c| c.as_human().ok().map(|h| h.dataset_metric_configs()))
                })
                .unwrap_or_default()
                .iter()
                .map(|d| d.task_type().as_str().to_owned())
                .collect();
            ObservedJob {
                name: Some(j.job_name().to_owned()),
                model_id: model(j.inference_config()),
                message: (!j.failure_messages().is_empty())
                    .then(|| j.failure_messages().join("; ")),
                // No end time in the API: a finished job was last modified when it finished.
                end_time: finished
                    .then(|| j.last_modified_time().map(from_smithy))
                    .flatten(),
                output_s3_uri: j.output_data_config().map(|o| o.s3_uri().to_owned()),
                details: details(
                    j.application_type().map(|a| a.as_str()),
                    j.job_type().as_str(),
                    &tasks,
                    knowledge_base(j.inference_config()),
                ),
                ..ObservedJob::new(
                    JobKind::ModelEvaluation,
                    JobArn::new(j.job_arn()),
                    status,
                    from_smithy(j.creation_time()),
                )
            }
        })
    }

    /// A job first seen in a listing lacks what only the Get reports (results location, failure
    /// messages, when it finished): one Get for a job about to be notified. Best effort.
    async fn enrich(&self, job: &mut ObservedJob) {
        if job.output_s3_uri.is_some() {
            return; // already read with a Get
        }
        let Ok(Some(full)) = self.get(&job.arn).await else {
            return;
        };
        job.message = job.message.take().or(full.message);
        job.output_s3_uri = full.output_s3_uri;
        job.end_time = job.end_time.or(full.end_time);
        job.model_id = job.model_id.take().or(full.model_id);
        for (key, value) in full.details {
            job.details.entry(key).or_insert(value);
        }
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

type Inference = aws_sdk_bedrock::types::EvaluationInferenceConfig;

/// The first model a job evaluates: a Bedrock model, a precomputed source, or the model that
/// generates a RAG evaluation's responses.
fn model(config: Option<&Inference>) -> Option<String> {
    use aws_sdk_bedrock::types::{EvaluationModelConfig, RagConfig};
    match config? {
        Inference::Models(models) => match models.first()? {
            EvaluationModelConfig::BedrockModel(m) => Some(m.model_identifier().to_owned()),
            EvaluationModelConfig::PrecomputedInferenceSource(p) => {
                Some(p.inference_source_identifier().to_owned())
            }
            _ => None,
        },
        Inference::RagConfigs(rags) => match rags.first()? {
            RagConfig::KnowledgeBaseConfig(kb) => kb
                .as_retrieve_and_generate_config()
                .ok()
                .and_then(|r| r.knowledge_base_configuration())
                .map(|c| c.model_arn().to_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// The knowledge base a RAG evaluation retrieves from.
fn knowledge_base(config: Option<&Inference>) -> Option<String> {
    use aws_sdk_bedrock::types::RagConfig;
    let Inference::RagConfigs(rags) = config? else {
        return None;
    };
    let RagConfig::KnowledgeBaseConfig(kb) = rags.first()? else {
        return None;
    };
    kb.as_retrieve_config()
        .ok()
        .map(|r| r.knowledge_base_id().to_owned())
        .or_else(|| {
            kb.as_retrieve_and_generate_config()
                .ok()
                .and_then(|r| r.knowledge_base_configuration())
                .map(|c| c.knowledge_base_id().to_owned())
        })
}
