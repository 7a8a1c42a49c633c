//! `JobSource` for asynchronous invocations on the `bedrock-runtime` API.

use aws_sdk_bedrockruntime::types::{AsyncInvokeStatus, SortAsyncInvocationBy, SortOrder};
use aws_sdk_bedrockruntime::Client;
use futures::Stream;

use crate::adapters::sdk::{found, from_smithy, Calls};
use crate::domain::{JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Asynchronous invocations (`ListAsyncInvokes`, `GetAsyncInvoke`).
#[derive(Debug, Clone)]
pub struct AsyncInvokeSource {
    client: Client,
    /// Tags live on the `bedrock` control plane, not on `bedrock-runtime`.
    tag_reader: Option<aws_sdk_bedrock::Client>,
    calls: Calls,
}

impl AsyncInvokeSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            tag_reader: None,
            calls: Calls::default(),
        }
    }

    /// Reads invocations' tags with this `bedrock` client (else they have none).
    pub fn with_tag_reader(mut self, bedrock: aws_sdk_bedrock::Client) -> Self {
        self.tag_reader = Some(bedrock);
        self
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, config: &crate::config::Config) -> Self {
        let source = Self::new(Client::new(sdk));
        match config.poll.presentation.reads_tags() {
            true => source.with_tag_reader(aws_sdk_bedrock::Client::new(sdk)),
            false => source,
        }
    }
}

/// The List summary and the Get output have the same members under different types.
macro_rules! observe_async {
    ($job:expr) => {{
        let job = $job;
        ObservedJob {
            model_id: Some(job.model_arn().to_owned()),
            message: job.failure_message().map(str::to_owned),
            end_time: job.end_time().map(from_smithy),
            output_s3_uri: job
                .output_data_config()
                .and_then(|c| c.as_s3_output_data_config().ok())
                .map(|c| c.s3_uri().to_owned()),
            ..ObservedJob::new(
                JobKind::AsyncInvoke,
                JobArn::new(job.invocation_arn()),
                JobStatus::new(
                    Option::<&AsyncInvokeStatus>::from(job.status()).map_or("", |s| s.as_str()),
                ),
                from_smithy(job.submit_time()),
            )
        }
    }};
}

impl JobSource for AsyncInvokeSource {
    fn kind(&self) -> JobKind {
        JobKind::AsyncInvoke
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        list_pages!(
            self.calls,
            self.client.list_async_invokes(),
            filter,
            after: set_submit_time_after,
            status: AsyncInvokeStatus,
            sort: (SortAsyncInvocationBy::SubmissionTime, SortOrder::Ascending),
            "ListAsyncInvokes",
            |page| page.async_invoke_summaries().iter().map(|j| observe_async!(j))
        )
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_async_invoke()
            .invocation_arn(arn.as_str())
            .send()
            .await;
        found("GetAsyncInvoke", result, |j| observe_async!(&j))
    }

    async fn tags(&self, arn: &JobArn) -> Result<crate::notices::Tags, Error> {
        match &self.tag_reader {
            Some(bedrock) => crate::adapters::tags::list_tags(bedrock, &self.calls, arn).await,
            None => Ok(Default::default()),
        }
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}
