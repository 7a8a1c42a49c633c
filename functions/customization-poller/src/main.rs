//! Scheduled Lambda: notifies when Bedrock model customization (fine-tuning) jobs reach a terminal state.

use jobwatch::adapters::customization::CustomizationSource;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve(CustomizationSource::from_sdk).await
}
