//! Where each API is offered: a call in a region whose Bedrock endpoint does not serve the
//! operation is answered `UnknownOperationException`, the error AWS frontends give for an
//! operation the endpoint does not know (tools that sweep every region treat it as "not offered
//! here"). The lists mirror the library's `shared/src/domain/regions.rs`; a test in the tests
//! crate keeps the two equal (this crate does not depend on the library).

use axum::http::StatusCode;

use crate::error::ApiError;

/// Regions with the Bedrock control plane (`bedrock`, `bedrock-agent`).
pub const BEDROCK: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
];

/// Batch inference (`*ModelInvocationJob*`).
pub const BATCH_INFERENCE: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "us-gov-west-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-3",
];

/// Asynchronous invocation (`*AsyncInvoke*`).
pub const ASYNC_INVOKE: &[&str] = &["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"];

/// Bedrock Data Automation (`InvokeDataAutomationAsync`, `GetDataAutomationStatus`).
pub const DATA_AUTOMATION: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "us-gov-west-1",
    "ap-south-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
];

/// Advanced prompt optimization (`*AdvancedPromptOptimizationJob*`).
pub const ADVANCED_PROMPT_OPTIMIZATION: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "eu-central-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
];

/// AgentCore Evaluations (`bedrock-agentcore` `*BatchEvaluation*`): its own service and regions.
pub const AGENTCORE_EVALUATIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-south-1",
    "ap-southeast-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
];

/// Bedrock Flows (`*Flow*`: the flows of bedrock-agent and their executions on
/// bedrock-agent-runtime): the control plane's less us-west-1, ap-southeast-3 and -4.
pub const FLOWS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
];

/// The regions that serve `operation`.
pub fn regions_of(operation: &str) -> &'static [&'static str] {
    if operation.contains("Flow") {
        FLOWS
    } else if operation.contains("ModelInvocationJob") {
        BATCH_INFERENCE
    } else if operation.contains("AsyncInvoke") {
        ASYNC_INVOKE
    } else if operation.contains("DataAutomation") {
        DATA_AUTOMATION
    } else if operation.contains("AdvancedPromptOptimization") {
        ADVANCED_PROMPT_OPTIMIZATION
    } else if operation.contains("BatchEvaluation") {
        AGENTCORE_EVALUATIONS
    } else {
        BEDROCK
    }
}

/// `Err`: the answer to `operation` in a region that does not offer it.
pub fn check(operation: &str, region: &str) -> Result<(), ApiError> {
    if regions_of(operation).contains(&region) {
        return Ok(());
    }
    Err(ApiError::new(
        "UnknownOperationException",
        StatusCode::NOT_FOUND,
        format!("{operation} is not offered in {region}"),
    ))
}

#[cfg(test)]
mod tests {
    use crate::offered::*;

    #[test]
    fn an_operation_is_offered_where_its_api_is() {
        assert!(check("ListAsyncInvokes", "us-east-1").is_ok());
        assert!(check("ListAsyncInvokes", "eu-central-1").is_err());
        assert!(check("ListModelImportJobs", "eu-central-1").is_ok());
        assert!(check("GetDataAutomationStatus", "ap-northeast-1").is_err());
        assert!(check("ListFlowExecutions", "us-west-1").is_err());
        assert!(check("ListFlows", "us-west-2").is_ok());
        let refused = check("ListModelInvocationJobs", "af-south-1").unwrap_err();
        assert_eq!(refused.code, "UnknownOperationException");
    }
}
