//! Scheduled Lambda: notifies when Bedrock batch inference jobs reach a terminal state.

use jobwatch::adapters::batch::BatchInferenceSource;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve(BatchInferenceSource::from_sdk).await
}
