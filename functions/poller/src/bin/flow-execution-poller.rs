//! The poller of flow executions, for `cargo lambda invoke flow-execution-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::FlowExecution).await
}
