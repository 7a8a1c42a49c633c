//! Where each API is offered: a call in a region whose Bedrock endpoint does not serve the
//! operation is answered `UnknownOperationException`, the error AWS frontends give for an
//! operation the endpoint does not know (tools that sweep every region treat it as "not offered
//! here"). The control plane's regions are here; a family whose API has regions of its own
//! lists them beside its variant in `model.rs` (`JobKind::offered`). A test in
//! the tests crate keeps each family's equal to the library's `Family::regions` (this crate does
//! not depend on the library).

use axum::http::StatusCode;

use crate::error::ApiError;
use crate::model::JobKind;

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

/// The regions that serve `operation`: those of the family whose word it contains (the
/// longest such word), else the control plane's.
pub fn regions_of(operation: &str) -> &'static [&'static str] {
    JobKind::ALL
        .into_iter()
        .filter_map(JobKind::offered)
        .filter(|(word, _)| operation.contains(word))
        .max_by_key(|(word, _)| word.len())
        .map_or(BEDROCK, |(_, regions)| regions)
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

    fn offered(operation: &str, region: &str) -> Result<(), ApiError> {
        check(operation, region)
    }

    #[test]
    fn an_operation_is_offered_where_its_api_is() {
        assert!(offered("ListAsyncInvokes", "us-east-1").is_ok());
        assert!(offered("ListAsyncInvokes", "eu-central-1").is_err());
        assert!(offered("ListModelImportJobs", "eu-central-1").is_ok());
        assert!(offered("GetDataAutomationStatus", "ap-northeast-1").is_err());
        assert!(offered("ListFlowExecutions", "us-west-1").is_err());
        assert!(offered("ListFlows", "us-west-2").is_ok());
        assert!(offered("ListBatchEvaluations", "ap-northeast-1").is_err());
        let refused = offered("ListModelInvocationJobs", "af-south-1").unwrap_err();
        assert_eq!(refused.code, "UnknownOperationException");
    }
}
