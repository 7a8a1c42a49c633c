//! The poller of Bedrock batch inference jobs, for `cargo lambda invoke batch-inference-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::BatchInference).await
}
