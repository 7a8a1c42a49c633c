//! `JobSource` for model copy jobs (a custom model copied to another region) on the `bedrock`
//! control-plane API.

use aws_sdk_bedrock::types::{ModelCopyJobStatus, SortJobsBy, SortOrder};
use aws_sdk_bedrock::Client;
use futures::Stream;

use crate::adapters::sdk::{found, from_smithy, Calls};
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Model copy jobs (`ListModelCopyJobs`, `GetModelCopyJob`).
#[derive(Debug, Clone)]
pub struct ModelCopySource {
    client: Client,
    calls: Calls,
}

impl ModelCopySource {
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

/// The Get output and the List summary have the same members under different types. A copy
/// job has no name of its own: the target model's name is the one its owner chose. It reports
/// no end time either.
macro_rules! observe_copy {
    ($job:expr) => {{
        let job = $job;
        let mut details = Details::new();
        details.insert("sourceModelArn".into(), job.source_model_arn().to_owned());
        details.insert("sourceAccountId".into(), job.source_account_id().to_owned());
        details.insert("targetModelArn".into(), job.target_model_arn().to_owned());
        if let Some(name) = job.source_model_name() {
            details.insert("sourceModelName".into(), name.to_owned());
        }
        ObservedJob {
            name: job.target_model_name().map(str::to_owned),
            model_id: Some(job.source_model_arn().to_owned()),
            message: job.failure_message().map(str::to_owned),
            output_s3_uri: Some(job.target_model_arn().to_owned()),
            details,
            ..ObservedJob::new(
                JobKind::ModelCopy,
                JobArn::new(job.job_arn()),
                JobStatus::new(job.status().as_str()),
                from_smithy(job.creation_time()),
            )
        }
    }};
}

impl JobSource for ModelCopySource {
    fn kind(&self) -> JobKind {
        JobKind::ModelCopy
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        list_pages!(
            self.calls,
            self.client.list_model_copy_jobs(),
            filter,
            after: set_creation_time_after,
            status: ModelCopyJobStatus,
            sort: (SortJobsBy::CreationTime, SortOrder::Ascending),
            "ListModelCopyJobs",
            |page| page.model_copy_job_summaries().iter().map(|j| observe_copy!(j))
        )
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_model_copy_job()
            .job_arn(arn.as_str())
            .send()
            .await;
        found("GetModelCopyJob", result, |j| observe_copy!(&j))
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}
