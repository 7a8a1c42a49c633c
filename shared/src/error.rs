//! The one error type of the library, mapped to a stable Lambda `errorType`.

use lambda_runtime::Diagnostic;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Invalid or missing configuration (environment).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid ({value:?}): {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("Bedrock {operation} failed")]
    Bedrock {
        operation: &'static str,
        retryable: bool,
        #[source]
        source: BoxError,
    },
    #[error("DynamoDB {operation} failed")]
    Store {
        operation: &'static str,
        retryable: bool,
        #[source]
        source: BoxError,
    },
    #[error("SNS publish failed")]
    Notify {
        retryable: bool,
        #[source]
        source: BoxError,
    },
    #[error("stored item {key} could not be read")]
    Corrupt {
        key: String,
        #[source]
        source: BoxError,
    },
    #[error("the event is not one this function handles: {0}")]
    Event(String),
    #[error("run incomplete after {failures} failure(s); first: {first}")]
    Incomplete { failures: usize, first: String },
}

impl Error {
    /// Whether running again later can succeed (throttling, 5xx, timeouts, partial runs).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Bedrock { retryable, .. }
            | Error::Store { retryable, .. }
            | Error::Notify { retryable, .. } => *retryable,
            Error::Incomplete { .. } => true,
            Error::Config(_) | Error::Corrupt { .. } | Error::Event(_) => false,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "Config",
            Error::Bedrock { .. } => "Bedrock",
            Error::Store { .. } => "DynamoDB",
            Error::Notify { .. } => "Sns",
            Error::Corrupt { .. } => "CorruptItem",
            Error::Event(_) => "Event",
            Error::Incomplete { .. } => "IncompleteRun",
        }
    }

    /// The message with its whole cause chain, for logs and Lambda diagnostics.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            source = cause.source();
        }
        out
    }
}

impl From<Error> for Diagnostic {
    fn from(e: Error) -> Self {
        let class = if e.is_retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        };
        Diagnostic {
            error_type: format!("{class}.{}", e.kind()),
            error_message: e.chain(),
        }
    }
}
