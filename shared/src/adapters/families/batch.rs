//! `JobSource` for batch inference jobs on the `bedrock` control-plane API.

use aws_sdk_bedrock::types::{ModelInvocationJobStatus, SortJobsBy, SortOrder};
use aws_sdk_bedrock::Client;
use futures::Stream;

use crate::adapters::manifest::ManifestReader;
use crate::adapters::sdk::{found, from_smithy, Calls};
use crate::config::Config;
use crate::domain::{JobArn, JobKind, JobStatus, ObservedJob, RecordCounts};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Batch inference jobs (`ListModelInvocationJobs`, `GetModelInvocationJob`).
#[derive(Debug, Clone)]
pub struct BatchInferenceSource {
    client: Client,
    manifests: Option<ManifestReader>,
    calls: Calls,
}

impl BatchInferenceSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            manifests: None,
            calls: Calls::default(),
        }
    }

    /// Also reads output manifests for record and token counts the API does not report.
    pub fn with_manifests(mut self, reader: ManifestReader) -> Self {
        self.manifests = Some(reader);
        self
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        let source = Self::new(Client::new(sdk));
        if config.read_output_manifest {
            // Local stand-ins (an endpoint override) cannot serve virtual-hosted bucket names.
            let s3 = aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(sdk.endpoint_url().is_some())
                .build();
            source.with_manifests(ManifestReader::new(aws_sdk_s3::Client::from_conf(s3)))
        } else {
            source
        }
    }
}

/// The Get output and the List summary have the same members under different types.
macro_rules! observe_batch {
    ($job:expr) => {{
        let job = $job;
        ObservedJob {
            // Optional in the Get output, required in the summary.
            name: Option::<&str>::from(job.job_name()).map(str::to_owned),
            model_id: Some(job.model_id().to_owned()),
            message: job.message().map(str::to_owned),
            end_time: job.end_time().map(from_smithy),
            input_s3_uri: job
                .input_data_config()
                .and_then(|c| c.as_s3_input_data_config().ok())
                .map(|c| c.s3_uri().to_owned()),
            output_s3_uri: job
                .output_data_config()
                .and_then(|c| c.as_s3_output_data_config().ok())
                .map(|c| c.s3_uri().to_owned()),
            counts: RecordCounts {
                total: job.total_record_count(),
                processed: job.processed_record_count(),
                success: job.success_record_count(),
                error: job.error_record_count(),
                ..Default::default()
            },
            deadline: job.job_expiration_time().map(from_smithy),
            ..ObservedJob::new(
                JobKind::BatchInference,
                JobArn::new(job.job_arn()),
                JobStatus::new(job.status().map_or("", |s| s.as_str())),
                from_smithy(job.submit_time()),
            )
        }
    }};
}

impl JobSource for BatchInferenceSource {
    fn kind(&self) -> JobKind {
        JobKind::BatchInference
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        list_pages!(
            self.calls,
            self.client.list_model_invocation_jobs(),
            filter,
            after: set_submit_time_after,
            status: ModelInvocationJobStatus,
            sort: (SortJobsBy::CreationTime, SortOrder::Ascending),
            "ListModelInvocationJobs",
            |page| page
            .invocation_job_summaries()
            .iter()
            .map(|j| observe_batch!(j))
        )
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_model_invocation_job()
            .job_identifier(arn.as_str())
            .send()
            .await;
        found("GetModelInvocationJob", result, |job| observe_batch!(&job))
    }

    async fn enrich(&self, job: &mut ObservedJob) {
        let counts_missing = job.counts.total.is_none() || job.counts.input_tokens.is_none();
        if let (Some(reader), true, true) = (&self.manifests, job.is_terminal(), counts_missing) {
            reader.enrich(job).await;
        }
    }

    async fn tags(&self, arn: &JobArn) -> Result<crate::notices::Tags, Error> {
        crate::adapters::tags::list_tags(&self.client, &self.calls, arn).await
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}
