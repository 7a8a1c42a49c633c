//! `JobSource` for custom model import jobs on the `bedrock` control-plane API.

use aws_sdk_bedrock::types::{ModelImportJobStatus, SortJobsBy, SortOrder};
use aws_sdk_bedrock::Client;
use futures::Stream;

use crate::adapters::sdk::{found, from_smithy, Calls};
use crate::domain::{JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Model import jobs (`ListModelImportJobs`, `GetModelImportJob`).
#[derive(Debug, Clone)]
pub struct ModelImportSource {
    client: Client,
    calls: Calls,
}

impl ModelImportSource {
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

fn status(s: Option<&ModelImportJobStatus>) -> JobStatus {
    JobStatus::new(s.map_or("", |s| s.as_str()))
}

impl JobSource for ModelImportSource {
    fn kind(&self) -> JobKind {
        JobKind::ModelImport
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        list_pages!(
                    self.calls,
                    self.client.list_model_import_jobs(),
                    filter,
                    after: set_creation_time_after,
                    status: ModelImportJobStatus,
                    sort: (SortJobsBy::CreationTime, SortOrder::Ascending),
                    "ListModelImportJobs",
                    |page| page
                    .model_import_job_summaries()
                    .iter()
                    .map(|j| ObservedJob {
        name: Some(j.job_name().to_owned()),
        model_id: j.imported_model_name().map(str::to_owned),
        end_time: j.end_time().map(from_smithy),
        output_s3_uri: j.imported_model_arn().map(str::to_owned),
        ..ObservedJob::new(JobKind::ModelImport, JobArn::new(j.job_arn()), status(Some(j.status())), from_smithy(j.creation_time()))
        })
                )
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_model_import_job()
            .job_identifier(arn.as_str())
            .send()
            .await;
        found("GetModelImportJob", result, |j| ObservedJob {
            name: j.job_name().map(str::to_owned),
            model_id: j.imported_model_name().map(str::to_owned),
            message: j.failure_message().map(str::to_owned),
            end_time: j.end_time().map(from_smithy),
            input_s3_uri: j
                .model_data_source()
                .and_then(|s| s.as_s3_data_source().ok())
                .map(|s| s.s3_uri().to_owned()),
            output_s3_uri: j.imported_model_arn().map(str::to_owned),
            ..ObservedJob::new(
                JobKind::ModelImport,
                JobArn::new(j.job_arn().unwrap_or(arn.as_str())),
                status(j.status()),
                j.creation_time().map(from_smithy).unwrap_or_default(),
            )
        })
    }

    async fn tags(&self, arn: &JobArn) -> Result<crate::notices::Tags, Error> {
        crate::adapters::tags::list_tags(&self.client, &self.calls, arn).await
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}
