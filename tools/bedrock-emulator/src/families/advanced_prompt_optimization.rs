//! Advanced prompt optimization jobs (`CreateAdvancedPromptOptimizationJob`,
//! `GetAdvancedPromptOptimizationJob`, `ListAdvancedPromptOptimizationJobs`,
//! `StopAdvancedPromptOptimizationJob`) on the `bedrock` control plane, as botocore's model has
//! them: the List takes only `maxResults`, `nextToken`, `sortBy` (`CreationTime`) and
//! `sortOrder`; Create's idempotency token is `clientToken`; Conflict is a 400.

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

use crate::api::input::{self, ListParams};
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

pub struct AdvancedPromptOptimization;

static FACTS: Facts = Facts {
    kind: JobKind::AdvancedPromptOptimization,
    arn_resource: "advanced-prompt-optimization-job",
    // Deleting: after BatchDeleteAdvancedPromptOptimizationJob (only forced through the
    // control API here).
    statuses: &[
        Status::InProgress,
        Status::Completed,
        Status::Failed,
        Status::PartiallyCompleted,
        Status::Stopping,
        Status::Stopped,
        Status::Deleting,
    ],
    initial: Status::InProgress,
    steps: &[],
    shown_as: &[],
    // The 12-character id or the ARN.
    identifier: Identifier::JobId,
    tag_member: Some("tags"),
    // Get takes the ARN or the id, never the name.
    names_identify: false,
    named: true,
    // The failure message is what its notifications show.
    details_when_forced: true,
};

/// The List's only parameters: no time, status or name filter.
const LIST: ListParams = ListParams {
    after: "",
    before: "",
    sort_by: "CreationTime",
    name_filter: false,
};

const MEMBERS: [&str; 4] = ["maxResults", "nextToken", "sortBy", "sortOrder"];

impl Family for AdvancedPromptOptimization {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route("/advanced-prompt-optimization-jobs", post(create).get(list))
            .route("/advanced-prompt-optimization-jobs/{id}", get(get_one))
            .route("/advanced-prompt-optimization-jobs/{id}/stop", post(stop))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        match view {
            View::Full => full(job),
            View::Summary => summary(job),
        }
    }

    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        details::draw_total(rng);
        let failure = match job.status {
            Status::PartiallyCompleted => {
                "3 of 40 evaluation samples could not be scored: the model's response exceeded maxTokens."
            }
            _ => "The input file could not be read: check the service role's access to the S3 location.",
        };
        if matches!(job.status, Status::Failed | Status::PartiallyCompleted)
            && job.message.is_none()
        {
            job.message = Some(failure.to_owned());
        }
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
        let spec = json!({
            "inputConfig": {"s3Uri": "s3://seeded-prompts/input/prompts.jsonl"},
            "outputConfig": {"s3Uri": format!("s3://seeded-prompts/optimized/{id}/")},
            "modelConfigurations": [{"modelId": "amazon.nova-lite-v1:0"}],
        });
        Seeded::new(id.clone(), app.arn(FACTS.arn_resource, &id), spec)
    }
}

/// `GetAdvancedPromptOptimizationJob`.
fn full(job: &Job) -> Value {
    let mut m = Map::new();
    m.insert("jobArn".into(), json!(job.arn));
    put(&mut m, "jobName", s(job.name.as_deref()));
    for key in [
        "jobDescription",
        "inputConfig",
        "outputConfig",
        "encryptionKeyArn",
        "modelConfigurations",
    ] {
        put(&mut m, key, job.spec.get(key).cloned());
    }
    m.insert("jobStatus".into(), json!(job.status));
    m.insert("creationTime".into(), json!(iso(job.submit_time)));
    m.insert(
        "lastModifiedTime".into(),
        json!(iso(job.last_modified_time)),
    );
    put(&mut m, "failureMessage", s(job.message.as_deref()));
    Value::Object(m)
}

/// `AdvancedPromptOptimizationJobSummary`.
fn summary(job: &Job) -> Value {
    json!({
        "jobArn": job.arn,
        "jobName": job.name,
        "jobStatus": job.status,
        "creationTime": iso(job.submit_time),
        "lastModifiedTime": iso(job.last_modified_time),
    })
}

/// `[a-zA-Z0-9][a-zA-Z0-9.+-]*`, 1..=100 characters.
fn apo_name(name: &str) -> ApiResult<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'));
    match first_ok && rest_ok && name.len() <= 100 {
        true => Ok(()),
        false => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9][a-zA-Z0-9.+-]*"
        ))),
    }
}

/// `modelConfigurations`: 1 to 5, each with a `modelId`.
fn models(body: &Map<String, Value>) -> ApiResult<()> {
    let configs = body
        .get("modelConfigurations")
        .and_then(Value::as_array)
        .ok_or_else(|| input::missing("modelConfigurations"))?;
    if !(1..=5).contains(&configs.len()) {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'modelConfigurations' failed to satisfy constraint: Member must have length between 1 and 5",
        ));
    }
    match configs
        .iter()
        .all(|c| c.get("modelId").is_some_and(Value::is_string))
    {
        true => Ok(()),
        false => Err(input::missing("modelConfigurations.member.modelId")),
    }
}

/// ConflictException as bedrock models it (400).
fn conflict(message: String) -> ApiError {
    ApiError::new("ConflictException", StatusCode::BAD_REQUEST, message)
}

async fn create(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("CreateAdvancedPromptOptimizationJob").await?;
    let mut body = input::body(&raw)?;
    let name = input::required_str(&body, "jobName")?.to_owned();
    apo_name(&name)?;
    input::s3_uri(input::required_obj(&body, "inputConfig")?, &["s3Uri"])?;
    let output = input::s3_uri(input::required_obj(&body, "outputConfig")?, &["s3Uri"])?;
    if !output.ends_with('/') {
        return Err(ApiError::validation(format!(
            "Value '{output}' at 'outputConfig.s3Uri' failed to satisfy constraint: Member must be an S3 prefix ending with /"
        )));
    }
    models(&body)?;
    // The shared create keys idempotency on `clientRequestToken`; this API calls it clientToken.
    if let Some(token) = body.remove("clientToken") {
        body.insert("clientRequestToken".into(), token);
    }
    let arn = jobs::create(&app, &AdvancedPromptOptimization, Some(&name), &body).await?;
    Ok(Json(json!({ "jobArn": arn })))
}

async fn get_one(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetAdvancedPromptOptimizationJob").await?;
    jobs::get(&app, &AdvancedPromptOptimization, &id).await
}

async fn list(app: Scoped, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    app.enter("ListAdvancedPromptOptimizationJobs").await?;
    // The service ignores query parameters its model does not have.
    let q: HashMap<String, String> = q
        .into_iter()
        .filter(|(k, _)| MEMBERS.contains(&k.as_str()))
        .collect();
    let filters = SpecFilters::default();
    let family = &AdvancedPromptOptimization;
    jobs::list(&app, family, &LIST, &q, "jobSummaries", filters).await
}

async fn stop(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("StopAdvancedPromptOptimizationJob").await?;
    jobs::stop(&app, &FACTS, &id)
        .await
        .map_err(|e| match e.code.as_str() {
            "ConflictException" => conflict(e.message),
            _ => e,
        })
}
