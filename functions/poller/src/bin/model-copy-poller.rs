//! The poller of Bedrock model copy jobs, for `cargo lambda invoke model-copy-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::ModelCopy).await
}
