//! Resources that settle and may re-open, on the `bedrock` control plane: provisioned
//! throughput (`Create/Get/List/Update/DeleteProvisionedModelThroughput`), custom model
//! deployments (`Create/Get/List/Update/DeleteCustomModelDeployment`) and custom models
//! (`CreateCustomModel`, `GetCustomModel`, `ListCustomModels`, `DeleteCustomModel`). Members,
//! filters and errors as the botocore model has them.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::Json;
use chrono::{Duration, Utc};
use serde_json::{json, Map, Value};

use super::bedrock::{create, get, list, not_found};
use super::input::{self, ListParams};
use crate::error::{ApiError, ApiResult};
use crate::lifecycle;
use crate::model::{iso, Job, JobKind, Status};
use crate::scoped::Scoped;

type Q = Query<HashMap<String, String>>;

const CREATION_TIME: ListParams = ListParams {
    after: "creationTimeAfter",
    before: "creationTimeBefore",
    sort_by: "CreationTime",
    name_filter: true,
};

const COMMITMENTS: [&str; 2] = ["OneMonth", "SixMonths"];

fn name(member: &str, raw: &str) -> ApiResult<()> {
    match input::resource_name(raw) {
        true => Ok(()),
        false => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{raw}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ([0-9a-zA-Z][_-]?)+ and length 1..63"
        ))),
    }
}

/// A model identifier as an ARN: a foundation model id becomes its ARN; a custom model ARN
/// must name a custom model the emulator has (`ResourceNotFoundException` otherwise).
async fn model_arn(app: &Scoped, member: &str, raw: &str) -> ApiResult<String> {
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

/// Refuses a name another resource of `kind` already has (`409` where the operation models
/// `ConflictException`, else a `ValidationException`).
async fn name_free(
    app: &Scoped,
    kind: JobKind,
    body: &Map<String, Value>,
    name: &str,
) -> ApiResult<()> {
    let store = app.store.read().await;
    let token = body.get("clientRequestToken").and_then(Value::as_str);
    let retried = token.is_some_and(|t| store.by_token(kind, t).is_some());
    if !store.name_taken(kind, name) || retried {
        return Ok(());
    }
    let message = format!("A {} named {name} already exists.", kind.arn_resource());
    Err(match kind {
        JobKind::CustomModel => ApiError::conflict(message),
        _ => ApiError::validation(message),
    })
}

pub async fn create_throughput(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateProvisionedModelThroughput").await?;
    let mut body = input::body(&raw)?;
    let pt_name = input::required_str(&body, "provisionedModelName")?.to_owned();
    name("provisionedModelName", &pt_name)?;
    let units = body
        .get("modelUnits")
        .cloned()
        .ok_or_else(|| input::missing("modelUnits"))?;
    if units.as_i64().is_none_or(|u| u < 1) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{units}' at 'modelUnits' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )));
    }
    if let Some(c) = body.get("commitmentDuration").and_then(Value::as_str) {
        if !COMMITMENTS.contains(&c) {
            return Err(input::enum_error("commitmentDuration", c, &COMMITMENTS));
        }
    }
    let model_id = input::required_str(&body, "modelId")?.to_owned();
    let model = model_arn(&app, "modelId", &model_id).await?;
    name_free(&app, JobKind::ProvisionedThroughput, &body, &pt_name).await?;
    let foundation = foundation_of(&app, &model).await;
    body.insert("modelArn".into(), json!(model));
    body.insert("desiredModelArn".into(), json!(model));
    body.insert("foundationModelArn".into(), json!(foundation));
    body.insert("desiredModelUnits".into(), units);
    body.remove("provisionedModelName");
    let arn = create(&app, JobKind::ProvisionedThroughput, Some(&pt_name), &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "provisionedModelArn": arn })),
    ))
}

/// The foundation model under a model ARN (a custom model's base model).
async fn foundation_of(app: &Scoped, model: &str) -> String {
    let store = app.store.read().await;
    store
        .find(JobKind::CustomModel, model)
        .and_then(|m| m.spec_str("baseModelArn").map(str::to_owned))
        .unwrap_or_else(|| model.to_owned())
}

pub async fn get_throughput(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetProvisionedModelThroughput").await?;
    get(&app, JobKind::ProvisionedThroughput, &id).await
}

pub async fn list_throughputs(app: Scoped, Query(q): Q) -> ApiResult<Json<Value>> {
    app.enter("ListProvisionedModelThroughputs").await?;
    let equals = q
        .get("modelArnEquals")
        .map(|m| vec![("modelArn", m.clone())])
        .unwrap_or_default();
    list(
        &app,
        JobKind::ProvisionedThroughput,
        &CREATION_TIME,
        &q,
        "provisionedModelSummaries",
        equals,
        vec![],
    )
    .await
}

/// Starts an update: the resource is `Updating` (re-opened) and, when it advances on its own,
/// settles again in `settles_in`.
fn start_update(app: &Scoped, job: &mut Job, settles_in: Status) {
    let advances = app.settings.auto_advance || job.planned_outcome.is_some();
    lifecycle::transition(job, Status::Updating, None, Utc::now());
    job.end_time = None;
    job.planned_outcome = advances.then_some(settles_in);
}

pub async fn update_throughput(
    app: Scoped,
    Path(id): Path<String>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    app.enter("UpdateProvisionedModelThroughput").await?;
    input::identifier(JobKind::ProvisionedThroughput, &id)?;
    let body = input::body_or_empty(&raw)?;
    let new_name = body
        .get("desiredProvisionedModelName")
        .and_then(Value::as_str);
    if let Some(n) = new_name {
        name("desiredProvisionedModelName", n)?;
    }
    let new_model = match body.get("desiredModelId").and_then(Value::as_str) {
        Some(m) => Some(model_arn(&app, "desiredModelId", m).await?),
        None => None,
    };
    let mut store = app.store.write().await;
    let kind = JobKind::ProvisionedThroughput;
    let job = store
        .find_mut(kind, &id)
        .ok_or_else(|| not_found(kind, &id))?;
    if job.status != Status::InService {
        return Err(ApiError::validation(format!(
            "The provisioned model {} can't be updated because it is in status {}.",
            job.arn, job.status
        )));
    }
    let job_id = job.id.clone();
    if let Some(model) = new_model {
        job.spec.insert("desiredModelArn".into(), json!(model));
    }
    start_update(&app, job, Status::InService);
    if let Some(n) = new_name {
        store.rename(kind, &job_id, n);
    }
    Ok(Json(json!({})))
}

pub async fn delete_throughput(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("DeleteProvisionedModelThroughput").await?;
    delete(&app, JobKind::ProvisionedThroughput, &id).await
}

/// Deletes a resource; a custom model that a deployment or a throughput uses cannot be.
async fn delete(app: &Scoped, kind: JobKind, id: &str) -> ApiResult<Json<Value>> {
    input::identifier(kind, id)?;
    let mut store = app.store.write().await;
    let arn = store
        .find(kind, id)
        .map(|j| j.arn.clone())
        .ok_or_else(|| not_found(kind, id))?;
    let in_use = kind == JobKind::CustomModel
        && store.all().any(|j| {
            j.kind != JobKind::CustomModel && j.spec_str("modelArn") == Some(arn.as_str())
        });
    if in_use {
        return Err(ApiError::conflict(format!(
            "The custom model {arn} is in use by a deployment or provisioned throughput."
        )));
    }
    store.remove(&arn);
    Ok(Json(json!({})))
}

/// An existing custom model that is `Active` (what a deployment needs).
async fn active_model(app: &Scoped, raw: &str) -> ApiResult<String> {
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

pub async fn create_deployment(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateCustomModelDeployment").await?;
    let mut body = input::body(&raw)?;
    let deployment = input::required_str(&body, "modelDeploymentName")?.to_owned();
    name("modelDeploymentName", &deployment)?;
    let model = input::required_str(&body, "modelArn")?.to_owned();
    let model = active_model(&app, &model).await?;
    name_free(&app, JobKind::CustomModelDeployment, &body, &deployment).await?;
    body.insert("modelArn".into(), json!(model));
    body.remove("modelDeploymentName");
    let arn = create(
        &app,
        JobKind::CustomModelDeployment,
        Some(&deployment),
        &body,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "customModelDeploymentArn": arn })),
    ))
}

pub async fn get_deployment(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetCustomModelDeployment").await?;
    get(&app, JobKind::CustomModelDeployment, &id).await
}

pub async fn list_deployments(app: Scoped, Query(q): Q) -> ApiResult<Json<Value>> {
    app.enter("ListCustomModelDeployments").await?;
    let equals = q
        .get("modelArnEquals")
        .map(|m| vec![("modelArn", m.clone())])
        .unwrap_or_default();
    let params = ListParams {
        after: "createdAfter",
        before: "createdBefore",
        ..CREATION_TIME
    };
    list(
        &app,
        JobKind::CustomModelDeployment,
        &params,
        &q,
        "modelDeploymentSummaries",
        equals,
        vec![],
    )
    .await
}

pub async fn update_deployment(
    app: Scoped,
    Path(id): Path<String>,
    raw: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("UpdateCustomModelDeployment").await?;
    let kind = JobKind::CustomModelDeployment;
    input::identifier(kind, &id)?;
    let body = input::body(&raw)?;
    let model = input::required_str(&body, "modelArn")?.to_owned();
    let model = active_model(&app, &model).await?;
    let mut store = app.store.write().await;
    let job = store
        .find_mut(kind, &id)
        .ok_or_else(|| not_found(kind, &id))?;
    if job.status.listed_as(kind) != Status::Active || job.status == Status::Updating {
        return Err(ApiError::validation(format!(
            "The deployment {} can't be updated because it is in status {}.",
            job.arn, job.status
        )));
    }
    job.spec.insert("updateModelArn".into(), json!(model));
    start_update(&app, job, Status::UpdateCompleted);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "customModelDeploymentArn": job.arn })),
    ))
}

pub async fn delete_deployment(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("DeleteCustomModelDeployment").await?;
    delete(&app, JobKind::CustomModelDeployment, &id).await
}

pub async fn create_model(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateCustomModel").await?;
    let mut body = input::body(&raw)?;
    let model = input::required_str(&body, "modelName")?.to_owned();
    name("modelName", &model)?;
    if let Some(source) = body.get("modelSourceConfig") {
        input::s3_uri(source, &["s3DataSource", "s3Uri"])?;
    }
    name_free(&app, JobKind::CustomModel, &body, &model).await?;
    // Imported weights: the model's ARN says so (custom-model/imported/{id}).
    body.insert("baseModelId".into(), json!("imported"));
    body.insert("customizationType".into(), json!("IMPORTED"));
    if let Some(tags) = body.remove("modelTags") {
        body.insert("tags".into(), tags);
    }
    body.remove("modelName");
    let arn = create(&app, JobKind::CustomModel, Some(&model), &body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "modelArn": arn }))))
}

pub async fn get_model(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetCustomModel").await?;
    get(&app, JobKind::CustomModel, &id).await
}

pub async fn list_models(app: Scoped, Query(mut q): Q) -> ApiResult<Json<Value>> {
    app.enter("ListCustomModels").await?;
    // `modelStatus` is this List's status filter.
    if let Some(status) = q.remove("modelStatus") {
        q.insert("statusEquals".into(), status);
    }
    let mut equals = Vec::new();
    if let Some(base) = q.get("baseModelArnEquals") {
        equals.push(("baseModelArn", base.clone()));
    }
    if let Some(base) = q.get("foundationModelArnEquals") {
        equals.push(("baseModelArn", base.clone()));
    }
    list(
        &app,
        JobKind::CustomModel,
        &CREATION_TIME,
        &q,
        "modelSummaries",
        equals,
        vec![],
    )
    .await
}

pub async fn delete_model(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("DeleteCustomModel").await?;
    delete(&app, JobKind::CustomModel, &id).await
}

fn put(m: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        m.insert(key.to_owned(), v);
    }
}

/// The Get output or the List summary of a resource (`summary`: the summary's members).
pub fn render(job: &Job, summary: bool) -> Value {
    let mut m = Map::new();
    let spec = |k: &str| job.spec.get(k).cloned();
    let message = job.message.clone().map(Value::String);
    match job.kind {
        JobKind::ProvisionedThroughput => {
            m.insert("provisionedModelArn".into(), json!(job.arn));
            m.insert("provisionedModelName".into(), json!(job.name));
            for key in [
                "modelArn",
                "desiredModelArn",
                "foundationModelArn",
                "modelUnits",
                "desiredModelUnits",
                "commitmentDuration",
            ] {
                put(&mut m, key, spec(key));
            }
            m.insert("status".into(), json!(job.status));
            m.insert("creationTime".into(), json!(iso(job.submit_time)));
            m.insert(
                "lastModifiedTime".into(),
                json!(iso(job.last_modified_time)),
            );
            let months = match job.spec_str("commitmentDuration") {
                Some("OneMonth") => Some(1),
                Some("SixMonths") => Some(6),
                _ => None,
            };
            put(
                &mut m,
                "commitmentExpirationTime",
                months.map(|n| json!(iso(job.submit_time + Duration::days(30 * n)))),
            );
            if !summary {
                put(&mut m, "failureMessage", message);
            }
        }
        JobKind::CustomModelDeployment => {
            m.insert("customModelDeploymentArn".into(), json!(job.arn));
            let name_member = if summary {
                "customModelDeploymentName"
            } else {
                "modelDeploymentName"
            };
            m.insert(name_member.into(), json!(job.name));
            put(&mut m, "modelArn", spec("modelArn"));
            m.insert("createdAt".into(), json!(iso(job.submit_time)));
            m.insert("status".into(), json!(job.status.listed_as(job.kind)));
            m.insert("lastUpdatedAt".into(), json!(iso(job.last_modified_time)));
            put(&mut m, "failureMessage", message);
            let updating = job.status.listed_as(job.kind) != job.status;
            if !summary {
                put(&mut m, "description", spec("description"));
                if let (true, Some(model)) = (updating, spec("updateModelArn")) {
                    m.insert(
                        "updateDetails".into(),
                        json!({"modelArn": model, "updateStatus": job.status}),
                    );
                }
            }
        }
        _ => {
            m.insert("modelArn".into(), json!(job.arn));
            m.insert("modelName".into(), json!(job.name));
            m.insert("creationTime".into(), json!(iso(job.submit_time)));
            put(&mut m, "baseModelArn", spec("baseModelArn"));
            put(&mut m, "customizationType", spec("customizationType"));
            m.insert("modelStatus".into(), json!(job.status));
            if summary {
                // A summary names its base model too; imported weights have none.
                m.entry("baseModelArn").or_insert_with(|| json!(job.arn));
                m.insert("baseModelName".into(), json!(""));
            } else {
                put(&mut m, "modelKmsKeyArn", spec("modelKmsKeyArn"));
                put(&mut m, "jobArn", spec("jobArn"));
                put(&mut m, "failureMessage", message);
            }
        }
    }
    Value::Object(m)
}
