//! Batch inference (`CreateModelInvocationJob`, `GetModelInvocationJob`,
//! `ListModelInvocationJobs`, `StopModelInvocationJob`): submitted, validated, scheduled, run,
//! then record counts; Bedrock emits an EventBridge event for each state.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use crate::api::input::{self, ListParams};
use crate::api::jobs::{self, SpecFilters};
use crate::api::render::{common, put, s};
use crate::app::App;
use crate::details;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, RecordCounts, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::Store;

pub struct BatchInference;

static FACTS: Facts = Facts {
    kind: JobKind::BatchInference,
    arn_resource: "model-invocation-job",
    statuses: &[
        Status::Submitted,
        Status::Validating,
        Status::Scheduled,
        Status::InProgress,
        Status::Completed,
        Status::Failed,
        Status::Stopping,
        Status::Stopped,
        Status::PartiallyCompleted,
        Status::Expired,
    ],
    initial: Status::Submitted,
    steps: &[
        (Status::Submitted, Status::Validating),
        (Status::Validating, Status::Scheduled),
        (Status::Scheduled, Status::InProgress),
    ],
    shown_as: &[],
    identifier: Identifier::JobId,
    tag_member: Some("tags"),
    names_identify: false,
    named: true,
    details_when_forced: false,
};

/// Members copied verbatim from the create request into responses.
const ECHOED: &[&str] = &[
    "modelId",
    "roleArn",
    "inputDataConfig",
    "outputDataConfig",
    "vpcConfig",
    "timeoutDurationInHours",
    "modelInvocationType",
];

const LIST: ListParams = ListParams {
    after: "submitTimeAfter",
    before: "submitTimeBefore",
    sort_by: "CreationTime",
    name_filter: true,
};

impl Family for BatchInference {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route("/model-invocation-job", post(create))
            .route("/model-invocation-job/{id}", get(get_one))
            .route("/model-invocation-job/{id}/stop", post(stop))
            .route("/model-invocation-jobs", get(list))
    }

    /// The Get response; the list summary has the same members.
    fn render(&self, job: &Job, _: View) -> Value {
        let mut m = common(job, ECHOED);
        m.insert("jobArn".into(), json!(job.arn));
        put(&mut m, "jobName", s(job.name.as_deref()));
        put(&mut m, "message", s(job.message.as_deref()));
        m.insert("submitTime".into(), json!(iso(job.submit_time)));
        let hours = job
            .spec
            .get("timeoutDurationInHours")
            .and_then(Value::as_i64)
            .unwrap_or(24);
        let expires = job.submit_time + chrono::Duration::hours(hours);
        m.insert("jobExpirationTime".into(), json!(iso(expires)));
        if let Ok(Value::Object(counts)) = serde_json::to_value(&job.counts) {
            m.extend(counts);
        }
        Value::Object(m)
    }

    /// Record counts and, for a job that did not complete, a message.
    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        let total = details::draw_total(rng);
        if !job.status.is_terminal() {
            return;
        }
        let (processed, errors) = match job.status {
            Status::Completed => (total, 0),
            Status::PartiallyCompleted => (total, rng.random_range(1..total / 2)),
            Status::Failed => (0, 0),
            _ => {
                let done = rng.random_range(0..total);
                (done, rng.random_range(0..=done / 10))
            }
        };
        job.counts = RecordCounts {
            total_record_count: Some(total),
            processed_record_count: Some(processed),
            success_record_count: Some(processed - errors),
            error_record_count: Some(errors),
        };
        if job.message.is_none() {
            job.message = match job.status {
                Status::Failed => {
                    Some("Job failed: the input file contained no valid records.".into())
                }
                Status::Expired => {
                    Some("Job expired: it did not complete within the timeout duration.".into())
                }
                Status::PartiallyCompleted => {
                    Some(format!("{errors} records failed; see the output manifest."))
                }
                _ => None,
            };
        }
    }

    fn produce(&self, _: &App, _: &mut Job, _: DateTime<Utc>) -> Option<Job> {
        None
    }

    fn event(&self, job: &Job, scope: &Scope) -> ApiResult<Value> {
        let detail = json!({
            "version": "0.0",
            "accountId": scope.account,
            "batchJobName": job.name,
            "batchJobArn": job.arn,
            "batchModelId": job.spec.get("modelId"),
            "status": job.status,
            "failureMessage": job.message.clone().unwrap_or_default(),
            // Bedrock sends this one in a human format, not ISO-8601.
            "creationTime": job.submit_time.format("%b %-d, %Y, %-I:%M:%S %p").to_string(),
        });
        let detail_type = "Batch Inference Job State Change";
        Ok(events::envelope(
            job,
            scope,
            detail_type,
            json!([job.arn]),
            detail,
        ))
    }

    fn seed_place(&self, _: &Scoped, _: &mut Store, _: SeedTarget) -> ApiResult<Option<Place>> {
        Ok(None)
    }

    fn seed_job(&self, app: &Scoped, _: Option<&Place>, id: String) -> Seeded {
        let account = &app.scope.account;
        let spec = json!({
            "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
            "roleArn": format!("arn:aws:iam::{account}:role/BedrockJobRole"),
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://seeded-input/records.jsonl", "s3InputFormat": "JSONL"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://seeded-output/"}},
            "timeoutDurationInHours": 24,
            "modelInvocationType": "InvokeModel"
        });
        Seeded::new(id.clone(), app.arn(FACTS.arn_resource, &id), spec)
    }
}

async fn create(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
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
    let arn = jobs::create(&app, &BatchInference, Some(name), &body).await?;
    Ok(Json(json!({ "jobArn": arn })))
}

async fn get_one(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetModelInvocationJob").await?;
    jobs::get(&app, &BatchInference, &id).await
}

async fn list(app: Scoped, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    app.enter("ListModelInvocationJobs").await?;
    let member = "invocationJobSummaries";
    jobs::list(
        &app,
        &BatchInference,
        &LIST,
        &q,
        member,
        SpecFilters::default(),
    )
    .await
}

async fn stop(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("StopModelInvocationJob").await?;
    jobs::stop(&app, &FACTS, &id).await
}
