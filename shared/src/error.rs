//! The one error type of the library, mapped to a stable Lambda `errorType`.

use lambda_runtime::Diagnostic;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An AWS service's error as the SDK reported it: its error code (when the service sent one)
/// and message. Kept typed in the cause chain so that callers can tell throttling apart
/// without matching on text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFault {
    pub code: Option<String>,
    pub detail: String,
}

impl ServiceFault {
    /// Error codes AWS services use for throttling.
    pub const THROTTLING: &'static [&'static str] = &[
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    ];

    /// The code of an operation the region's endpoint does not serve.
    pub const NOT_OFFERED: &'static str = "UnknownOperationException";

    pub fn new(code: Option<&str>, detail: impl Into<String>) -> Self {
        Self {
            code: code.map(str::to_owned),
            detail: detail.into(),
        }
    }

    pub fn is_throttling(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| Self::THROTTLING.contains(&c))
    }

    /// What the operator can do about it, where AWS's own message says too little.
    fn hint(&self) -> Option<&'static str> {
        match self.code.as_deref()? {
            // AWS's answer in an opt-in region the account has not enabled (and to keys it does
            // not know).
            "UnrecognizedClientException" | "InvalidClientTokenId" => Some(
                "is the region enabled for this account? Opt-in regions must be enabled \
                 (Account settings); else remove it from REGIONS",
            ),
            _ => None,
        }
    }
}

impl std::fmt::Display for ServiceFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.detail)?,
            None => f.write_str(&self.detail)?,
        }
        match self.hint() {
            Some(hint) => write!(f, " ({hint})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ServiceFault {}

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

impl ConfigError {
    /// The environment variable at fault.
    pub fn variable(&self) -> &'static str {
        match self {
            ConfigError::Missing(name) | ConfigError::Invalid { name, .. } => name,
        }
    }
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
    /// A member account's role could not be assumed (its trust policy, the external id, or STS).
    #[error("cannot assume role {role} (check its trust policy names this function's role, and the external id)")]
    AssumeRole {
        role: String,
        retryable: bool,
        #[source]
        source: BoxError,
    },
    /// Reading the organisation's accounts failed (Organizations).
    #[error("Organizations {operation} failed (the central account must be the management account, a delegated administrator, or set ORG_ROLE_ARN to a read-only role there)")]
    Organizations {
        operation: &'static str,
        retryable: bool,
        #[source]
        source: BoxError,
    },
    /// Queueing work items failed (SQS).
    #[error("SQS {operation} failed")]
    Queue {
        operation: &'static str,
        retryable: bool,
        #[source]
        source: BoxError,
    },
    /// A Step Functions task-token callback (workflow waits) failed.
    #[error("Step Functions {operation} failed")]
    Workflow {
        operation: &'static str,
        retryable: bool,
        #[source]
        source: BoxError,
    },
    /// Reading CloudWatch metrics (idle provisioned throughput) failed.
    #[error("CloudWatch {operation} failed")]
    Metrics {
        operation: &'static str,
        retryable: bool,
        #[source]
        source: BoxError,
    },
    /// A failure in one (account, region) scope of a fleet, named.
    #[error("scope {scope}")]
    Scope {
        scope: String,
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Whether running again later can succeed (throttling, 5xx, timeouts, partial runs).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Bedrock { retryable, .. }
            | Error::Store { retryable, .. }
            | Error::Notify { retryable, .. }
            | Error::AssumeRole { retryable, .. }
            | Error::Organizations { retryable, .. }
            | Error::Queue { retryable, .. }
            | Error::Workflow { retryable, .. }
            | Error::Metrics { retryable, .. } => *retryable,
            Error::Scope { source, .. } => source.is_retryable(),
            Error::Incomplete { .. } => true,
            Error::Config(_) | Error::Corrupt { .. } | Error::Event(_) => false,
        }
    }

    /// Whether an AWS service throttled the call (after the SDK's own retries).
    pub fn is_throttling(&self) -> bool {
        self.service_fault()
            .is_some_and(ServiceFault::is_throttling)
    }

    /// Whether Bedrock's endpoint in that region does not offer the operation (the family's
    /// API is not launched there): AWS answers `UnknownOperationException`.
    pub fn is_not_offered_here(&self) -> bool {
        self.service_fault()
            .is_some_and(|f| f.code.as_deref() == Some(ServiceFault::NOT_OFFERED))
    }

    /// The AWS service's own error in the cause chain, if any.
    fn service_fault(&self) -> Option<&ServiceFault> {
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            if let Some(fault) = cause.downcast_ref::<ServiceFault>() {
                return Some(fault);
            }
            source = cause.source();
        }
        None
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
            Error::AssumeRole { .. } => "AssumeRole",
            Error::Organizations { .. } => "Organizations",
            Error::Queue { .. } => "Sqs",
            Error::Workflow { .. } => "StepFunctions",
            Error::Metrics { .. } => "CloudWatch",
            Error::Scope { source, .. } => source.kind(),
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
