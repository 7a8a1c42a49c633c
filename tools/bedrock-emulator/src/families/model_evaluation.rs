//! Model and RAG evaluations (`CreateEvaluationJob`, `GetEvaluationJob`, `ListEvaluationJobs`,
//! `StopEvaluationJob`) on the `bedrock` control plane.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use serde_json::{json, Map, Value};

use crate::api::input::{self, CREATION_TIME};
use crate::api::jobs::{self, SpecFilters};
use crate::api::render::{put, s};
use crate::app::App;
use crate::details;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::Store;

pub struct ModelEvaluation;

static FACTS: Facts = Facts {
    kind: JobKind::ModelEvaluation,
    arn_resource: "evaluation-job",
    // Deleting: after BatchDeleteEvaluationJob (only forced through the control API here).
    statuses: &[
        Status::InProgress,
        Status::Completed,
        Status::Failed,
        Status::Stopping,
        Status::Stopped,
        Status::Deleting,
    ],
    initial: Status::InProgress,
    steps: &[],
    shown_as: &[],
    // EvaluationJobIdentifier: an ARN only.
    identifier: Identifier::ArnOnly,
    tag_member: Some("jobTags"),
    names_identify: true,
    named: true,
    details_when_forced: false,
};

const APPLICATION_TYPES: [&str; 2] = ["ModelEvaluation", "RagEvaluation"];

impl Family for ModelEvaluation {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route("/evaluation-jobs", post(create).get(list))
            .route("/evaluation-jobs/{id}", get(get_one))
            .route("/evaluation-job/{id}/stop", post(stop))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        match view {
            View::Full => full(job),
            View::Summary => summary(job),
        }
    }

    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        details::draw_total(rng);
        details::settle(
            job,
            "The evaluation dataset could not be read: check the role's access to the S3 location.",
        );
    }

    fn produce(&self, _: &App, _: &mut Job, _: DateTime<Utc>) -> Option<Job> {
        None
    }

    fn event(&self, _: &Job, _: &Scope) -> ApiResult<Value> {
        Err(events::none())
    }

    fn seed_place(&self, _: &Scoped, _: &mut Store, _: SeedTarget) -> ApiResult<Option<Place>> {
        Ok(None)
    }

    fn seed_job(&self, app: &Scoped, _: Option<&Place>, id: String) -> Seeded {
        let account = &app.scope.account;
        let spec = json!({
            "roleArn": format!("arn:aws:iam::{account}:role/BedrockJobRole"),
            "jobType": "Automated",
            "applicationType": "ModelEvaluation",
            "evaluationConfig": {"automated": {"datasetMetricConfigs": [{
                "taskType": "Summarization",
                "dataset": {"name": "Builtin.Gigaword"},
                "metricNames": ["Builtin.Accuracy", "Builtin.Robustness"]}]}},
            "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": "anthropic.claude-3-haiku-20240307-v1:0"}}]},
            "outputDataConfig": {"s3Uri": "s3://seeded-evals/"}
        });
        Seeded::new(id.clone(), app.arn(FACTS.arn_resource, &id), spec)
    }
}

/// `GetEvaluationJob`: the request's configuration and what the job reports.
fn full(job: &Job) -> Value {
    let mut m = Map::new();
    for key in [
        "jobDescription",
        "roleArn",
        "customerEncryptionKeyId",
        "jobType",
        "applicationType",
        "evaluationConfig",
        "inferenceConfig",
        "outputDataConfig",
    ] {
        put(&mut m, key, job.spec.get(key).cloned());
    }
    m.insert("jobArn".into(), json!(job.arn));
    put(&mut m, "jobName", s(job.name.as_deref()));
    m.insert("status".into(), json!(job.status));
    m.insert("creationTime".into(), json!(iso(job.submit_time)));
    m.insert(
        "lastModifiedTime".into(),
        json!(iso(job.last_modified_time)),
    );
    put(
        &mut m,
        "failureMessages",
        job.message.as_ref().map(|msg| json!([msg])),
    );
    Value::Object(m)
}

/// `EvaluationSummary`: task types and the models and knowledge bases evaluated.
fn summary(job: &Job) -> Value {
    let pointer = |p: &str| {
        job.spec
            .get("evaluationConfig")
            .and_then(|c| c.pointer(p))
            .cloned()
    };
    let metrics = pointer("/automated/datasetMetricConfigs")
        .or_else(|| pointer("/human/datasetMetricConfigs"))
        .unwrap_or(json!([]));
    let tasks: Vec<Value> = metrics
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("taskType").cloned())
        .collect();
    let inference = job.spec.get("inferenceConfig");
    let models: Vec<Value> = inference
        .and_then(|i| i.get("models"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.pointer("/bedrockModel/modelIdentifier").cloned())
        .collect();
    let kbs: Vec<Value> = inference
        .and_then(|i| i.get("ragConfigs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            r.pointer("/knowledgeBaseConfig/retrieveConfig/knowledgeBaseId")
                .or_else(|| r.pointer("/knowledgeBaseConfig/retrieveAndGenerateConfig/knowledgeBaseConfiguration/knowledgeBaseId"))
                .cloned()
        })
        .collect();
    let mut m = Map::new();
    m.insert("jobArn".into(), json!(job.arn));
    put(&mut m, "jobName", s(job.name.as_deref()));
    m.insert("status".into(), json!(job.status));
    m.insert("creationTime".into(), json!(iso(job.submit_time)));
    put(&mut m, "jobType", job.spec.get("jobType").cloned());
    put(
        &mut m,
        "applicationType",
        job.spec.get("applicationType").cloned(),
    );
    m.insert("evaluationTaskTypes".into(), json!(tasks));
    m.insert("modelIdentifiers".into(), json!(models));
    m.insert("ragIdentifiers".into(), json!(kbs));
    m.insert(
        "inferenceConfigSummary".into(),
        json!({
            "modelConfigSummary": {"bedrockModelIdentifiers": models},
            "ragConfigSummary": {"bedrockKnowledgeBaseIdentifiers": kbs},
        }),
    );
    Value::Object(m)
}

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

async fn create(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
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
    if jobs::name_in_use(&app, &FACTS, &body, &name).await {
        return Err(ApiError::conflict(format!(
            "An evaluation job named {name} already exists."
        )));
    }
    body.insert("applicationType".into(), json!(application));
    body.insert("jobType".into(), json!(job_type));
    let arn = jobs::create(&app, &ModelEvaluation, Some(&name), &body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "jobArn": arn }))))
}

async fn get_one(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetEvaluationJob").await?;
    jobs::get(&app, &ModelEvaluation, &id).await
}

async fn list(app: Scoped, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
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
    let filters = SpecFilters {
        equals,
        contains: vec![],
    };
    jobs::list(
        &app,
        &ModelEvaluation,
        &CREATION_TIME,
        &q,
        "jobSummaries",
        filters,
    )
    .await
}

async fn stop(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("StopEvaluationJob").await?;
    jobs::stop(&app, &FACTS, &id).await
}
