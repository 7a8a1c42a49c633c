//! The CLI's one error type and its exit codes.

use jobwatch::error::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The operator's input is wrong (unknown ARN, malformed time, ...): exit code 2.
    #[error("{0}")]
    BadInput(String),
    /// The configuration (environment) is missing or invalid: exit code 2.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The job's state refuses the command (say why and what to do): exit code 1.
    #[error("{0}")]
    Refused(String),
    /// An AWS call failed: exit code 1.
    #[error("{}", .0.chain())]
    Aws(#[from] jobwatch::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::BadInput(_) | CliError::Config(_) => 2,
            CliError::Refused(_) | CliError::Aws(_) => 1,
        }
    }
}
