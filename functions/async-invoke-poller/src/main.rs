//! Scheduled Lambda: notifies when Bedrock asynchronous invocations (bedrock-runtime) reach a terminal state.

use jobwatch::adapters::async_invoke::AsyncInvokeSource;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve(AsyncInvokeSource::from_sdk).await
}
