//! The poller of Bedrock asynchronous invocations (bedrock-runtime), for `cargo lambda invoke async-invoke-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::AsyncInvoke).await
}
