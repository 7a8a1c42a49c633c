//! The poller of Bedrock model customization (fine-tuning) jobs, for `cargo lambda invoke customization-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::ModelCustomization).await
}
