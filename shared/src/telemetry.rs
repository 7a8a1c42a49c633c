//! Structured logging: JSON lines, honouring Lambda's log-level controls (`AWS_LAMBDA_LOG_LEVEL`,
//! `RUST_LOG`). Payloads (model inputs, outputs) are never logged; only ids and statuses.

/// Installs the default subscriber of the Lambda runtime (JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`).
/// Idempotent: a binary may reach it on more than one path (a bad setting is logged before
/// the runtime starts), and a second global subscriber would panic.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(lambda_runtime::tracing::init_default_subscriber);
}
