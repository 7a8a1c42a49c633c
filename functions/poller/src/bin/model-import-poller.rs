//! The poller of Bedrock model import jobs, for `cargo lambda invoke model-import-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::ModelImport).await
}
