//! Scheduled Lambda: notifies when Bedrock custom model import jobs reach a terminal state.

use jobwatch::adapters::model_import::ModelImportSource;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve(ModelImportSource::from_sdk).await
}
