//! The poller of Data Automation library ingestion jobs, for
//! `cargo lambda invoke library-ingestion-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::LibraryIngestion).await
}
