//! `Workflows` on Step Functions: `SendTaskSuccess`, `SendTaskFailure`, `SendTaskHeartbeat`.
//! A closed token's error codes (botocore `stepfunctions`: `InvalidToken`, `TaskTimedOut`,
//! `TaskDoesNotExist`) are an answer, not a failure: the task is over.

use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::Client;

use super::sdk::{sdk_retryable, sdk_source, Calls};
use crate::error::Error;
use crate::workflows::ports::{Answer, Workflows, CLOSED_TOKEN};

#[derive(Debug, Clone)]
pub struct StepFunctions {
    client: Client,
    calls: Calls,
}

impl StepFunctions {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }
}

/// The answer of a callback: accepted, the token closed, or an error.
fn answered<O, E, R>(
    operation: &'static str,
    result: Result<O, SdkError<E, R>>,
) -> Result<Answer, Error>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(Answer::Accepted),
        Err(e) => match e.code().filter(|c| CLOSED_TOKEN.contains(c)) {
            Some(code) => Ok(Answer::Closed(code.to_owned())),
            None => Err(Error::Workflow {
                operation,
                retryable: sdk_retryable(&e),
                source: sdk_source(e),
            }),
        },
    }
}

impl Workflows for StepFunctions {
    async fn succeed(&self, token: &str, output: &str) -> Result<Answer, Error> {
        self.calls.add(1);
        let result = self
            .client
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await;
        answered("SendTaskSuccess", result)
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<Answer, Error> {
        self.calls.add(1);
        let result = self
            .client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await;
        answered("SendTaskFailure", result)
    }

    async fn heartbeat(&self, token: &str) -> Result<Answer, Error> {
        self.calls.add(1);
        let result = self
            .client
            .send_task_heartbeat()
            .task_token(token)
            .send()
            .await;
        answered("SendTaskHeartbeat", result)
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::error::ErrorMetadata;
    use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    type Refusal = SdkError<SendTaskSuccessError, Response>;

    fn refused(code: &str) -> Result<(), Box<Refusal>> {
        let error = SendTaskSuccessError::generic(ErrorMetadata::builder().code(code).build());
        let status = StatusCode::try_from(400).expect("a status");
        let response = Response::new(status, SdkBody::empty());
        Err(Box::new(SdkError::service_error(error, response)))
    }

    #[test]
    fn closed_tokens_are_answers_and_other_refusals_errors_retryable_or_not() {
        for code in ["InvalidToken", "TaskTimedOut", "TaskDoesNotExist"] {
            let answer =
                answered("SendTaskSuccess", refused(code).map_err(|e| *e)).expect("an answer");
            assert_eq!(answer, Answer::Closed(code.into()));
        }
        let throttled = answered(
            "SendTaskSuccess",
            refused("ThrottlingException").map_err(|e| *e),
        )
        .expect_err("an error");
        assert!(throttled.is_retryable() && throttled.is_throttling());
        let rejected = answered("SendTaskSuccess", refused("InvalidOutput").map_err(|e| *e))
            .expect_err("an error");
        assert!(!rejected.is_retryable());
        assert_eq!(
            answered("SendTaskSuccess", Ok::<_, Refusal>(())).ok(),
            Some(Answer::Accepted)
        );
    }
}
