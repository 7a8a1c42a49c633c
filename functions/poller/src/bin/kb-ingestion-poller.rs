//! The poller of knowledge-base ingestion jobs, for `cargo lambda invoke kb-ingestion-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::KbIngestion).await
}
