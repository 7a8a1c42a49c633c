//! Scheduled Lambda: notifies when Bedrock jobs of the family `JOB_FAMILY` names reach a
//! terminal state. The template deploys this one binary for every family, and, with `MODE`, as
//! the dispatcher, the worker, the organisation refresh and the workflow waits' register
//! consumer.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_configured_family().await
}
