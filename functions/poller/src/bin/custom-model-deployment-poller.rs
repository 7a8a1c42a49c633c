//! The poller of Bedrock custom model deployments, for `cargo lambda invoke custom-model-deployment-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::CustomModelDeployment).await
}
