//! Scheduled Lambda: notifies when Bedrock jobs of the family `JOB_FAMILY` names reach a
//! terminal state. The template deploys this one binary for every family, and, with
//! `JOBWATCH_MODE=workflow-register`, as the workflow waits' register consumer.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    if jobwatch::workflows::startup::register_mode() {
        return jobwatch::workflows::startup::serve_register().await;
    }
    jobwatch::startup::serve_configured_family().await
}
