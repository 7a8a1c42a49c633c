//! The EventBridge envelope of the events the families emit (`GET /_emulator/jobs/{job}/event`).

use serde_json::{json, Value};

use crate::error::ApiError;
use crate::model::Job;
use crate::scope::Scope;

/// An `aws.bedrock` event about `job` (at its last modification), with these `resources`.
pub fn envelope(
    job: &Job,
    scope: &Scope,
    detail_type: &str,
    resources: Value,
    detail: Value,
) -> Value {
    json!({
        "version": "0",
        "id": format!("{}-{}", job.id, job.last_modified_time.timestamp_millis()),
        "detail-type": detail_type,
        "source": "aws.bedrock",
        "account": scope.account,
        "time": job.last_modified_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": scope.region,
        "resources": resources,
        "detail": detail,
    })
}

/// The answer for a family Bedrock emits no events for.
pub fn none() -> ApiError {
    ApiError::validation("Bedrock emits no EventBridge events for this job family")
}
