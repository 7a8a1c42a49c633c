//! Scheduled Lambda: notifies when Bedrock Data Automation invocations (events and poll) reach a terminal state.

use jobwatch::adapters::data_automation::DataAutomationSource;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve(DataAutomationSource::from_sdk).await
}
