//! `JobSource` for Bedrock Data Automation invocations on the `bedrock-data-automation-runtime`
//! API (awsJson 1.1).
//!
//! The API has no List: invocations become known through Bedrock's events (`Bedrock Data
//! Automation Job Created / Succeeded / Failed With ...`), which the handler confirms with one
//! Get each, and every poll Gets the open ones it knows (the safety net for lost events). The
//! listing of this source is therefore empty and costs nothing.

use aws_sdk_bedrockdataautomationruntime::types::AutomationJobStatus;
use aws_sdk_bedrockdataautomationruntime::Client;
use chrono::Utc;
use futures::{stream, Stream};

use crate::adapters::sdk::{found, from_smithy, Calls};
use crate::domain::{JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Data Automation invocations (`GetDataAutomationStatus`).
#[derive(Debug, Clone)]
pub struct DataAutomationSource {
    client: Client,
    calls: Calls,
}

impl DataAutomationSource {
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

/// `{errorType}: {errorMessage}`, or whichever of the two the service sent.
fn failure(error_type: Option<&str>, error_message: Option<&str>) -> Option<String> {
    fn present(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    match (present(error_type), present(error_message)) {
        (Some(t), Some(m)) => Some(format!("{t}: {m}")),
        (t, m) => t.or(m).map(str::to_owned),
    }
}

impl JobSource for DataAutomationSource {
    fn kind(&self) -> JobKind {
        JobKind::DataAutomation
    }

    /// No List operation exists: nothing to discover (events register invocations).
    fn list(&self, _filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        stream::empty()
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_data_automation_status()
            .invocation_arn(arn.as_str())
            .send()
            .await;
        found("GetDataAutomationStatus", result, |out| ObservedJob {
            message: failure(out.error_type(), out.error_message()),
            end_time: out.job_completion_time().map(from_smithy),
            output_s3_uri: out.output_configuration().map(|o| o.s3_uri().to_owned()),
            ..ObservedJob::new(
                JobKind::DataAutomation,
                arn.clone(),
                JobStatus::new(out.status().map_or("", AutomationJobStatus::as_str)),
                // The API may leave it out (an invocation not yet started): first seen is close.
                out.job_submission_time().map_or_else(Utc::now, from_smithy),
            )
        })
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

#[cfg(test)]
mod tests {
    use super::failure;

    #[test]
    fn the_failure_message_names_the_error_type_and_says_what_happened() {
        assert_eq!(
            failure(
                Some("ClientError"),
                Some("The input file is not a supported format.")
            )
            .as_deref(),
            Some("ClientError: The input file is not a supported format.")
        );
        assert_eq!(
            failure(None, Some("Internal error")).as_deref(),
            Some("Internal error")
        );
        assert_eq!(failure(Some(" "), Some("")), None);
    }
}
