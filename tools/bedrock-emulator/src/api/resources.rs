//! What the resource families share (provisioned throughput, custom model deployments, custom
//! models: resources that settle and may re-open, on the `bedrock` control plane): names, model
//! identifiers, name conflicts, updates and deletes. Members, filters and errors as the botocore
//! model has them.

use axum::Json;
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::input;
use super::jobs::not_found;
use crate::error::{ApiError, ApiResult};
use crate::family::Facts;
use crate::model::{Job, JobKind, Status};
use crate::scoped::Scoped;
use crate::store::Store;

/// A resource name member (`([0-9a-zA-Z][_-]?)+`, 1..=63).
pub fn name(member: &str, raw: &str) -> ApiResult<()> {
    match input::resource_name(raw) {
        true => Ok(()),
        false => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{raw}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ([0-9a-zA-Z][_-]?)+ and length 1..63"
        ))),
    }
}

/// A model identifier as an ARN: a foundation model id becomes its ARN; a custom model ARN
/// must name a custom model the emulator has (`ResourceNotFoundException` otherwise).
pub async fn model_arn(app: &Scoped, member: &str, raw: &str) -> ApiResult<String> {
    if raw.contains(":custom-model/") {
        let store = app.store.read().await;
        return match store.find(JobKind::CustomModel, raw) {
            Some(model) => Ok(model.arn.clone()),
            None => Err(ApiError::not_found(format!(
                "The model {raw} at '{member}' could not be found."
            ))),
        };
    }
    match raw.starts_with("arn:") {
        true => Ok(raw.to_owned()),
        false => Ok(format!(
            "arn:aws:bedrock:{}::foundation-model/{raw}",
            app.scope.region
        )),
    }
}

/// Refuses a name another resource of the family already has: `conflict` (`409`) where the
/// operation models `ConflictException`, else a `ValidationException`.
pub async fn name_free(
    app: &Scoped,
    facts: &Facts,
    body: &Map<String, Value>,
    name: &str,
    conflict: fn(String) -> ApiError,
) -> ApiResult<()> {
    if !super::jobs::name_in_use(app, facts, body, name).await {
        return Ok(());
    }
    Err(conflict(format!(
        "A {} named {name} already exists.",
        facts.arn_resource
    )))
}

/// The foundation model under a model ARN (a custom model's base model).
pub async fn foundation_of(app: &Scoped, model: &str) -> String {
    let store = app.store.read().await;
    store
        .find(JobKind::CustomModel, model)
        .and_then(|m| m.spec_str("baseModelArn").map(str::to_owned))
        .unwrap_or_else(|| model.to_owned())
}

/// Starts an update: the resource is `Updating` (re-opened) and, when it advances on its own,
/// settles again in `settles_in`.
pub fn start_update(app: &Scoped, job: &mut Job, settles_in: Status) {
    let advances = app.settings.auto_advance || job.planned_outcome.is_some();
    job.transition(Status::Updating, None, Utc::now());
    job.end_time = None;
    job.planned_outcome = advances.then_some(settles_in);
}

/// Deletes a resource, unless `in_use` (what still uses it, with the store locked) refuses.
pub async fn delete(
    app: &Scoped,
    facts: &Facts,
    id: &str,
    in_use: fn(&Store, &str) -> ApiResult<()>,
) -> ApiResult<Json<Value>> {
    input::identifier(facts, id)?;
    let mut store = app.store.write().await;
    let arn = store
        .find(facts.kind, id)
        .map(|j| j.arn.clone())
        .ok_or_else(|| not_found(facts, id))?;
    in_use(&store, &arn)?;
    store.remove(&arn);
    Ok(Json(json!({})))
}

/// Nothing stops the resource from being deleted.
pub fn unused(_: &Store, _: &str) -> ApiResult<()> {
    Ok(())
}

/// An existing custom model that is `Active` (what a deployment needs).
pub async fn active_model(app: &Scoped, raw: &str) -> ApiResult<String> {
    let store = app.store.read().await;
    let model = store.find(JobKind::CustomModel, raw).ok_or_else(|| {
        ApiError::not_found(format!("The custom model {raw} could not be found."))
    })?;
    match model.status {
        Status::Active => Ok(model.arn.clone()),
        ref other => Err(ApiError::validation(format!(
            "The custom model {raw} is in status {other}: only an Active model can be deployed."
        ))),
    }
}
