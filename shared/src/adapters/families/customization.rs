//! `JobSource` for model customization (fine-tuning) jobs on the `bedrock` control-plane API.

use aws_sdk_bedrock::types::{FineTuningJobStatus, SortJobsBy, SortOrder, StatusDetails};
use aws_sdk_bedrock::Client;
use futures::Stream;

use crate::adapters::sdk::{found, from_smithy, Calls};
use crate::domain::stages::encode_stages;
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Model customization jobs (`ListModelCustomizationJobs`, `GetModelCustomizationJob`).
#[derive(Debug, Clone)]
pub struct CustomizationSource {
    client: Client,
    calls: Calls,
}

impl CustomizationSource {
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

/// The job's stages (`statusDetails`), as the item keeps them; none when the API gave none.
fn stage_details(s: Option<&StatusDetails>) -> Details {
    let Some(s) = s else {
        return Details::new();
    };
    let stages: Vec<(&str, &str)> = [
        (
            "validation",
            s.validation_details().and_then(|d| d.status()),
        ),
        (
            "dataProcessing",
            s.data_processing_details().and_then(|d| d.status()),
        ),
        ("training", s.training_details().and_then(|d| d.status())),
    ]
    .into_iter()
    .filter_map(|(stage, status)| Some((stage, status?.as_str())))
    .collect();
    match stages.is_empty() {
        true => Details::new(),
        false => Details::from([("statusDetails".to_owned(), encode_stages(&stages))]),
    }
}

impl JobSource for CustomizationSource {
    fn kind(&self) -> JobKind {
        JobKind::ModelCustomization
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        list_pages!(
                    self.calls,
                    self.client.list_model_customization_jobs(),
                    filter,
                    after: set_creation_time_after,
                    status: FineTuningJobStatus,
                    sort: (SortJobsBy::CreationTime, SortOrder::Ascending),
                    "ListModelCustomizationJobs",
                    |page| page.model_customization_job_summaries().iter().map(|j| ObservedJob {
        name: Some(j.job_name().to_owned()),
        model_id: Some(j.base_model_arn().to_owned()),
        end_time: j.end_time().map(from_smithy),
        output_s3_uri: j.custom_model_arn().map(str::to_owned),
        details: stage_details(j.status_details()),
        ..ObservedJob::new(JobKind::ModelCustomization, JobArn::new(j.job_arn()), JobStatus::new(j.status().as_str()), from_smithy(j.creation_time()))
        })
                )
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_model_customization_job()
            .job_identifier(arn.as_str())
            .send()
            .await;
        found("GetModelCustomizationJob", result, |j| ObservedJob {
            name: Some(j.job_name().to_owned()),
            model_id: Some(j.base_model_arn().to_owned()),
            message: j.failure_message().map(str::to_owned),
            end_time: j.end_time().map(from_smithy),
            input_s3_uri: j
                .training_data_config()
                .and_then(|c| c.s3_uri())
                .map(str::to_owned),
            output_s3_uri: j.output_model_arn().map(str::to_owned),
            details: stage_details(j.status_details()),
            ..ObservedJob::new(
                JobKind::ModelCustomization,
                JobArn::new(j.job_arn()),
                JobStatus::new(j.status().map_or("", |s| s.as_str())),
                from_smithy(j.creation_time()),
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
