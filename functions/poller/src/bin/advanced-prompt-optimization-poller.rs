//! The poller of Bedrock advanced prompt optimization jobs, for
//! `cargo lambda invoke advanced-prompt-optimization-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::AdvancedPromptOptimization).await
}
