//! Model evaluation jobs (`CreateEvaluationJob`, `GetEvaluationJob`, `ListEvaluationJobs`,
//! `StopEvaluationJob`) and model copy jobs (`CreateModelCopyJob`, `GetModelCopyJob`,
//! `ListModelCopyJobs`) on the `bedrock` control plane.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::bedrock::{create, get, list, stop};
use super::input::{self, ListParams};
use crate::error::{ApiError, ApiResult};
use crate::model::JobKind;
use crate::scoped::Scoped;

type Q = Query<HashMap<String, String>>;

const CREATION_TIME: ListParams = ListParams {
    after: "creationTimeAfter",
    before: "creationTimeBefore",
    sort_by: "CreationTime",
    name_filter: true,
};

const APPLICATION_TYPES: [&str; 2] = ["ModelEvaluation", "RagEvaluation"];

/// `[a-z0-9](-*[a-z0-9]){0,62}`: evaluation job names are lower case.
fn evaluation_name(name: &str) -> ApiResult<()> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    match ok {
        true => Ok(()),
        false => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9](-*[a-z0-9]){{0,62}}"
        ))),
    }
}

/// The one member a union (`evaluationConfig`, `inferenceConfig`) must set.
fn union_member<'a>(
    body: &'a serde_json::Map<String, Value>,
    member: &str,
    allowed: &[&str],
) -> ApiResult<&'a str> {
    let set: Vec<&String> = input::required_obj(body, member)?
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter(|k| allowed.contains(&k.as_str()))
        .collect();
    match set[..] {
        [one] => Ok(one),
        _ => Err(ApiError::validation(format!(
            "1 validation error detected: '{member}' must set exactly one of [{}]",
            allowed.join(", ")
        ))),
    }
}

pub async fn create_evaluation(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateEvaluationJob").await?;
    let mut body = input::body(&raw)?;
    let name = input::required_str(&body, "jobName")?.to_owned();
    evaluation_name(&name)?;
    input::required_str(&body, "roleArn")?;
    let method = union_member(&body, "evaluationConfig", &["automated", "human"])?;
    let job_type = if method == "automated" {
        "Automated"
    } else {
        "Human"
    };
    let inference = union_member(&body, "inferenceConfig", &["models", "ragConfigs"])?;
    let output = input::required_obj(&body, "outputDataConfig")?;
    input::s3_uri(output, &["s3Uri"])?;
    let application = match body.get("applicationType").and_then(Value::as_str) {
        None if inference == "ragConfigs" => "RagEvaluation",
        None => "ModelEvaluation",
        Some(a) if APPLICATION_TYPES.contains(&a) => a,
        Some(other) => {
            return Err(input::enum_error(
                "applicationType",
                other,
                &APPLICATION_TYPES,
            ))
        }
    }
    .to_owned();
    {
        let store = app.store.read().await;
        let token = body.get("clientRequestToken").and_then(Value::as_str);
        let retried = token.is_some_and(|t| store.by_token(JobKind::ModelEvaluation, t).is_some());
        if store.name_taken(JobKind::ModelEvaluation, &name) && !retried {
            return Err(ApiError::conflict(format!(
                "An evaluation job named {name} already exists."
            )));
        }
    }
    body.insert("applicationType".into(), json!(application));
    body.insert("jobType".into(), json!(job_type));
    let arn = create(&app, JobKind::ModelEvaluation, Some(&name), &body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "jobArn": arn }))))
}

pub async fn get_evaluation(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetEvaluationJob").await?;
    get(&app, JobKind::ModelEvaluation, &id).await
}

pub async fn list_evaluation(app: Scoped, Query(q): Q) -> ApiResult<Json<Value>> {
    app.enter("ListEvaluationJobs").await?;
    let mut equals = Vec::new();
    if let Some(a) = q.get("applicationTypeEquals") {
        if !APPLICATION_TYPES.contains(&a.as_str()) {
            return Err(input::enum_error(
                "applicationTypeEquals",
                a,
                &APPLICATION_TYPES,
            ));
        }
        equals.push(("applicationType", a.clone()));
    }
    list(
        &app,
        JobKind::ModelEvaluation,
        &CREATION_TIME,
        &q,
        "jobSummaries",
        equals,
        vec![],
    )
    .await
}

pub async fn stop_evaluation(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("StopEvaluationJob").await?;
    stop(&app, JobKind::ModelEvaluation, &id).await
}

/// `arn:aws:bedrock:{region}:{account}:custom-model/{base}/{id}`: the source of a copy.
fn source_model(arn: &str) -> ApiResult<(String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts[..] {
        ["arn", partition, "bedrock", _region, account, resource]
            if partition.starts_with("aws")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.starts_with("custom-model/") =>
        {
            let base = resource.trim_start_matches("custom-model/");
            let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
            Ok((account.to_owned(), base.to_owned()))
        }
        _ => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{arn}' at 'sourceModelArn' failed to satisfy constraint: Member must be a custom model ARN"
        ))),
    }
}

pub async fn create_copy(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateModelCopyJob").await?;
    let mut body = input::body(&raw)?;
    let source = input::required_str(&body, "sourceModelArn")?.to_owned();
    let target = input::required_str(&body, "targetModelName")?.to_owned();
    let (account, base) = source_model(&source)?;
    let name_ok = !target.is_empty()
        && target.len() <= 63
        && target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && target.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !name_ok {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{target}' at 'targetModelName' failed to satisfy constraint: Member must satisfy regular expression pattern: ([0-9a-zA-Z][_-]?){{1,63}}"
        )));
    }
    let model_id = app.new_id();
    let target_arn = app.arn(&format!("custom-model/{base}"), &model_id);
    body.insert("sourceAccountId".into(), json!(account));
    body.insert("targetModelArn".into(), json!(target_arn));
    let arn = create(&app, JobKind::ModelCopy, None, &body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "jobArn": arn }))))
}

pub async fn get_copy(app: Scoped, Path(arn): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetModelCopyJob").await?;
    get(&app, JobKind::ModelCopy, &arn).await
}

pub async fn list_copy(app: Scoped, Query(q): Q) -> ApiResult<Json<Value>> {
    app.enter("ListModelCopyJobs").await?;
    let mut equals = Vec::new();
    if let Some(a) = q.get("sourceAccountEquals") {
        equals.push(("sourceAccountId", a.clone()));
    }
    if let Some(a) = q.get("sourceModelArnEquals") {
        equals.push(("sourceModelArn", a.clone()));
    }
    let contains = q
        .get("outputModelNameContains")
        .map(|n| vec![("targetModelName", n.clone())])
        .unwrap_or_default();
    let params = ListParams {
        name_filter: false,
        ..CREATION_TIME
    };
    list(
        &app,
        JobKind::ModelCopy,
        &params,
        &q,
        "modelCopyJobSummaries",
        equals,
        contains,
    )
    .await
}
