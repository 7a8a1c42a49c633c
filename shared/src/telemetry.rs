//! Structured logging: JSON lines, honouring Lambda's log-level controls (`AWS_LAMBDA_LOG_LEVEL`,
//! `RUST_LOG`). Payloads (model inputs, outputs) are never logged; only ids and statuses.

/// Installs the default subscriber of the Lambda runtime (JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`).
pub fn init() {
    lambda_runtime::tracing::init_default_subscriber();
}
