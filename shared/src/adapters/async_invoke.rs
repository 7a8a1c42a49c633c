//! `JobSource` for asynchronous invocations on the `bedrock-runtime` API.

use aws_sdk_bedrockruntime::types::{AsyncInvokeStatus, SortAsyncInvocationBy, SortOrder};
use aws_sdk_bedrockruntime::Client;
use futures::Stream;

use super::sdk::{found, from_smithy, Calls};
use crate::domain::{JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Asynchronous invocations (`ListAsyncInvokes`, `GetAsyncInvoke`).
#[derive(Debug, Clone)]
pub struct AsyncInvokeSource {
    client: Client,
    calls: Calls,
}

impl AsyncInvokeSource {
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

/// The List summary and the Get output have the same members under different types.
macro_rules! observe_async {
    ($job:expr) => {{
        let job = $job;
        ObservedJob {
            kind: JobKind::AsyncInvoke,
            arn: JobArn::new(job.invocation_arn()),
            name: None,
            status: JobStatus::new(
                Option::<&AsyncInvokeStatus>::from(job.status()).map_or("", |s| s.as_str()),
            ),
            model_id: Some(job.model_arn().to_owned()),
            message: job.failure_message().map(str::to_owned),
            submit_time: from_smithy(job.submit_time()),
            end_time: job.end_time().map(from_smithy),
            input_s3_uri: None,
            output_s3_uri: job
                .output_data_config()
                .and_then(|c| c.as_s3_output_data_config().ok())
                .map(|c| c.s3_uri().to_owned()),
            counts: Default::default(),
            details: Default::default(),
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

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}
