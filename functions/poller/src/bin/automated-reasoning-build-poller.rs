//! The poller of Automated Reasoning policy build workflows, for
//! `cargo lambda invoke automated-reasoning-build-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::AutomatedReasoningBuild).await
}
