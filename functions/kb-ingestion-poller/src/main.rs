//! Scheduled Lambda: notifies when knowledge-base ingestion jobs reach a terminal state.

use jobwatch::adapters::kb_ingestion::KbIngestionSource;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve(KbIngestionSource::from_sdk).await
}
