//! The poller of Bedrock custom models, for `cargo lambda invoke custom-model-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::CustomModel).await
}
