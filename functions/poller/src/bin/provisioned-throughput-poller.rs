//! The poller of Bedrock provisioned throughput, for `cargo lambda invoke provisioned-throughput-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::ProvisionedThroughput).await
}
