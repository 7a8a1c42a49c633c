//! The poller of Bedrock model evaluation jobs (model and RAG evaluations), for `cargo lambda invoke model-evaluation-poller`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_family(jobwatch::domain::JobKind::ModelEvaluation).await
}
