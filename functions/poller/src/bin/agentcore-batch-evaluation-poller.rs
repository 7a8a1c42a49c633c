//! The poller of AgentCore batch evaluations, for `cargo lambda invoke agentcore-batch-evaluation-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::AgentcoreBatchEvaluation).await
}
