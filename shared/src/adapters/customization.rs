//! `JobSource` for model customization (fine-tuning) jobs on the `bedrock` control-plane API.

use aws_sdk_bedrock::types::FineTuningJobStatus;
use aws_sdk_bedrock::Client;

use super::{bedrock_error, found, from_smithy, to_smithy};
use crate::domain::{JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Listing};

/// Model customization jobs (`ListModelCustomizationJobs`, `GetModelCustomizationJob`).
#[derive(Debug, Clone)]
pub struct CustomizationSource {
    client: Client,
}

impl CustomizationSource {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, _config: &crate::config::Config) -> Self {
        Self::new(Client::new(sdk))
    }
}

const OPEN: &[JobStatus] = &[JobStatus::InProgress, JobStatus::Stopping];

impl JobSource for CustomizationSource {
    fn kind(&self) -> JobKind {
        JobKind::ModelCustomization
    }

    fn open_statuses(&self) -> &'static [JobStatus] {
        OPEN
    }

    async fn list(&self, filter: &ListFilter) -> Result<Listing, Error> {
        let mut request = self
            .client
            .list_model_customization_jobs()
            .max_results(1000);
        if let Some(after) = filter.submitted_after {
            request = request.creation_time_after(to_smithy(after));
        }
        if let Some(s) = &filter.status {
            request = request.status_equals(FineTuningJobStatus::from(s.as_str()));
        }
        list_pages!(request, filter, "ListModelCustomizationJobs", |page| page
            .model_customization_job_summaries()
            .iter()
            .map(|j| ObservedJob {
                kind: JobKind::ModelCustomization,
                arn: JobArn::new(j.job_arn()),
                name: Some(j.job_name().to_owned()),
                status: JobStatus::parse(j.status().as_str()),
                model_id: Some(j.base_model_arn().to_owned()),
                message: None,
                submit_time: from_smithy(j.creation_time()),
                end_time: j.end_time().map(from_smithy),
                input_s3_uri: None,
                output_s3_uri: j.custom_model_arn().map(str::to_owned),
                counts: Default::default(),
            }),)
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        let result = self
            .client
            .get_model_customization_job()
            .job_identifier(arn.as_str())
            .send()
            .await;
        found("GetModelCustomizationJob", result, |j| ObservedJob {
            kind: JobKind::ModelCustomization,
            arn: JobArn::new(j.job_arn()),
            name: Some(j.job_name().to_owned()),
            status: JobStatus::parse(j.status().map_or("", |s| s.as_str())),
            model_id: Some(j.base_model_arn().to_owned()),
            message: j.failure_message().map(str::to_owned),
            submit_time: from_smithy(j.creation_time()),
            end_time: j.end_time().map(from_smithy),
            input_s3_uri: j
                .training_data_config()
                .and_then(|c| c.s3_uri())
                .map(str::to_owned),
            output_s3_uri: j.output_model_arn().map(str::to_owned),
            counts: Default::default(),
        })
    }
}
