//! The poller of Bedrock Data Automation invocations (events and the poll's safety net), for `cargo lambda invoke data-automation-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::DataAutomation).await
}
