//! The `bedrock` control-plane operations: batch inference and model import jobs.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use super::input::{self, ListParams};
use super::render;
use crate::error::{ApiError, ApiResult};
use crate::lifecycle;
use crate::model::{Job, JobKind, Status};
use crate::scoped::Scoped;

type Q = Query<HashMap<String, String>>;

const BATCH_LIST: ListParams = ListParams {
    after: "submitTimeAfter",
    before: "submitTimeBefore",
    sort_by: "CreationTime",
    name_filter: true,
};

/// Import and customization jobs filter on creation time.
const IMPORT_LIST: ListParams = ListParams {
    after: "creationTimeAfter",
    before: "creationTimeBefore",
    sort_by: "CreationTime",
    name_filter: true,
};

pub async fn create_batch(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("CreateModelInvocationJob").await?;
    let body = input::body(&raw)?;
    let name = input::required_str(&body, "jobName")?;
    input::job_name("jobName", name)?;
    input::required_str(&body, "roleArn")?;
    input::required_str(&body, "modelId")?;
    let input_cfg = input::required_obj(&body, "inputDataConfig")?;
    input::s3_uri(input_cfg, &["s3InputDataConfig", "s3Uri"])?;
    let output_cfg = input::required_obj(&body, "outputDataConfig")?;
    input::s3_uri(output_cfg, &["s3OutputDataConfig", "s3Uri"])?;
    if let Some(hours) = body.get("timeoutDurationInHours") {
        if !hours.as_i64().is_some_and(|h| (24..=168).contains(&h)) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{hours}' at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value between 24 and 168"
            )));
        }
    }
    if let Some(t) = body.get("modelInvocationType").and_then(Value::as_str) {
        if !matches!(t, "InvokeModel" | "Converse") {
            return Err(ApiError::validation(format!(
                "Value '{t}' at 'modelInvocationType' failed to satisfy constraint: Member must satisfy enum value set: [InvokeModel, Converse]"
            )));
        }
    }
    let arn = create(&app, JobKind::BatchInference, Some(name), &body).await?;
    Ok(Json(json!({ "jobArn": arn })))
}

pub async fn get_batch(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetModelInvocationJob").await?;
    get(&app, JobKind::BatchInference, &id).await
}

pub async fn list_batch(app: Scoped, Query(q): Q) -> ApiResult<Json<Value>> {
    app.enter("ListModelInvocationJobs").await?;
    list(
        &app,
        JobKind::BatchInference,
        &BATCH_LIST,
        &q,
        "invocationJobSummaries",
        vec![],
        vec![],
    )
    .await
}

pub async fn stop_batch(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("StopModelInvocationJob").await?;
    stop(&app, JobKind::BatchInference, &id).await
}

pub async fn stop_customization(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("StopModelCustomizationJob").await?;
    stop(&app, JobKind::ModelCustomization, &id).await
}

/// Moves a running job to `Stopping`; it reaches `Stopped` one lifecycle step later.
pub async fn stop(app: &Scoped, kind: JobKind, id: &str) -> ApiResult<Json<Value>> {
    input::identifier(kind, id)?;
    let mut store = app.store.write().await;
    let job = store
        .find_mut(kind, id)
        .ok_or_else(|| not_found(kind, id))?;
    if job.status.is_terminal() || job.status.is_stopping() {
        return Err(ApiError::conflict(format!(
            "The job {} can't be stopped because it is in status {}.",
            job.arn, job.status
        )));
    }
    lifecycle::transition(job, Status::Stopping, None, chrono::Utc::now());
    job.planned_outcome = Some(Status::Stopped);
    Ok(Json(json!({})))
}

pub async fn create_import(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateModelImportJob").await?;
    let body = input::body(&raw)?;
    let name = input::required_str(&body, "jobName")?;
    input::job_name("jobName", name)?;
    let model_name = input::required_str(&body, "importedModelName")?;
    input::job_name("importedModelName", model_name)?;
    input::required_str(&body, "roleArn")?;
    let source = input::required_obj(&body, "modelDataSource")?;
    input::s3_uri(source, &["s3DataSource", "s3Uri"])?;
    {
        // A retried create (same token) returns the first job; a new job may not reuse a name.
        let store = app.store.read().await;
        let token = body.get("clientRequestToken").and_then(Value::as_str);
        let retried = token.is_some_and(|t| store.by_token(JobKind::ModelImport, t).is_some());
        if store.name_taken(JobKind::ModelImport, name) && !retried {
            return Err(ApiError::conflict(format!(
                "A model import job named {name} already exists."
            )));
        }
    }
    let arn = create(&app, JobKind::ModelImport, Some(name), &body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "jobArn": arn }))))
}

pub async fn create_customization(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateModelCustomizationJob").await?;
    let mut body = input::body(&raw)?;
    let name = input::required_str(&body, "jobName")?.to_owned();
    input::job_name("jobName", &name)?;
    let model_name = input::required_str(&body, "customModelName")?;
    input::job_name("customModelName", model_name)?;
    input::required_str(&body, "roleArn")?;
    let base = input::required_str(&body, "baseModelIdentifier")?.to_owned();
    let training = input::required_obj(&body, "trainingDataConfig")?;
    input::s3_uri(training, &["s3Uri"])?;
    let output = input::required_obj(&body, "outputDataConfig")?;
    input::s3_uri(output, &["s3Uri"])?;
    if let Some(t) = body.get("customizationType").and_then(Value::as_str) {
        let allowed = [
            "FINE_TUNING",
            "CONTINUED_PRE_TRAINING",
            "DISTILLATION",
            "REINFORCEMENT_FINE_TUNING",
            "IMPORTED",
        ];
        if !allowed.contains(&t) {
            return Err(ApiError::validation(format!(
                "Value '{t}' at 'customizationType' is not valid"
            )));
        }
    }
    {
        let store = app.store.read().await;
        let token = body.get("clientRequestToken").and_then(Value::as_str);
        let retried =
            token.is_some_and(|t| store.by_token(JobKind::ModelCustomization, t).is_some());
        if store.name_taken(JobKind::ModelCustomization, &name) && !retried {
            return Err(ApiError::conflict(format!(
                "A model customization job named {name} already exists."
            )));
        }
    }
    let base_model = base.rsplit('/').next().unwrap_or(&base).to_owned();
    let base_arn = if base.starts_with("arn:") {
        base.clone()
    } else {
        format!(
            "arn:aws:bedrock:{}::foundation-model/{base}",
            app.scope.region
        )
    };
    body.insert("baseModelArn".into(), json!(base_arn));
    body.insert("baseModelId".into(), json!(base_model));
    let arn = create(&app, JobKind::ModelCustomization, Some(&name), &body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "jobArn": arn }))))
}

pub async fn get_customization(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetModelCustomizationJob").await?;
    get(&app, JobKind::ModelCustomization, &id).await
}

pub async fn list_customization(app: Scoped, Query(q): Q) -> ApiResult<Json<Value>> {
    app.enter("ListModelCustomizationJobs").await?;
    list(
        &app,
        JobKind::ModelCustomization,
        &IMPORT_LIST,
        &q,
        "modelCustomizationJobSummaries",
        vec![],
        vec![],
    )
    .await
}

pub async fn get_import(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetModelImportJob").await?;
    get(&app, JobKind::ModelImport, &id).await
}

pub async fn list_import(app: Scoped, Query(q): Q) -> ApiResult<Json<Value>> {
    app.enter("ListModelImportJobs").await?;
    list(
        &app,
        JobKind::ModelImport,
        &IMPORT_LIST,
        &q,
        "modelImportJobSummaries",
        vec![],
        vec![],
    )
    .await
}

/// Creates a job (or returns the one a repeated `clientRequestToken` already created), with the
/// tags of the operation's tag member.
pub async fn create(
    app: &Scoped,
    kind: JobKind,
    name: Option<&str>,
    body: &Map<String, Value>,
) -> ApiResult<String> {
    let job_tags = match super::tagging::create_member(kind) {
        Some(member) => super::tagging::parse_tags(member, body.get(member))?,
        None => Default::default(),
    };
    let token = body
        .get("clientRequestToken")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut store = app.store.write().await;
    if let Some(existing) = token.as_deref().and_then(|t| store.by_token(kind, t)) {
        return Ok(existing.arn.clone());
    }
    let id = app.new_id();
    let now = chrono::Utc::now();
    let tags = body
        .get("tags")
        .or_else(|| body.get("jobTags"))
        .or_else(|| body.get("targetModelTags"));
    let planned_outcome = input::outcome_tag(tags).or_else(|| {
        app.settings
            .auto_advance
            .then(|| app.with_rng(|rng| app.settings.lifecycle.pick_outcome(kind, rng)))
    });
    let mut spec = body.clone();
    spec.remove("clientRequestToken");
    spec.remove("jobName");
    spec.remove("modelInput");
    spec.remove("baseModelId");
    let job = Job {
        kind,
        arn: match body.get("baseModelId").and_then(Value::as_str) {
            // Customization ARNs carry the base model: model-customization-job/{model}/{id}.
            Some(base) => app.arn(&format!("{}/{base}", kind.arn_resource()), &id),
            None => app.arn(kind.arn_resource(), &id),
        },
        id,
        name: name.map(str::to_owned),
        status: kind.initial_status(),
        message: None,
        submit_time: now,
        last_modified_time: now,
        end_time: None,
        client_request_token: token,
        counts: Default::default(),
        spec,
        planned_outcome,
        tags: job_tags,
    };
    let arn = job.arn.clone();
    store.insert(job);
    Ok(arn)
}

pub async fn get(app: &Scoped, kind: JobKind, id: &str) -> ApiResult<Json<Value>> {
    input::identifier(kind, id)?;
    let store = app.store.read().await;
    let job = store.find(kind, id).ok_or_else(|| not_found(kind, id))?;
    Ok(Json(render::full(job)))
}

pub async fn list(
    app: &Scoped,
    kind: JobKind,
    params: &ListParams,
    q: &HashMap<String, String>,
    member: &str,
    spec_equals: Vec<(&'static str, String)>,
    spec_contains: Vec<(&'static str, String)>,
) -> ApiResult<Json<Value>> {
    let mut query = input::list_query(kind, params, q)?;
    query.spec_equals = spec_equals;
    query.spec_contains = spec_contains;
    let store = app.store.read().await;
    let page = store.list(kind, &query)?;
    let summaries: Vec<Value> = page.jobs.iter().map(|j| render::summary(j)).collect();
    let mut out = Map::new();
    out.insert(member.to_owned(), Value::Array(summaries));
    if let Some(token) = page.next_token {
        out.insert("nextToken".into(), Value::String(token));
    }
    Ok(Json(Value::Object(out)))
}

pub fn not_found(kind: JobKind, id: &str) -> ApiError {
    ApiError::not_found(format!(
        "The {} {id} could not be found.",
        kind.arn_resource()
    ))
}
