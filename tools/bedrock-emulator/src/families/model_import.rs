//! Custom model import (`CreateModelImportJob`, `GetModelImportJob`, `ListModelImportJobs`):
//! a completed job names the imported model.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use serde_json::{json, Value};

use crate::api::input::{self, CREATION_TIME};
use crate::api::jobs::{self, SpecFilters};
use crate::api::render::{common, put, s, summary_head};
use crate::app::App;
use crate::details;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::Store;

pub struct ModelImport;

static FACTS: Facts = Facts {
    kind: JobKind::ModelImport,
    arn_resource: "model-import-job",
    statuses: &[Status::InProgress, Status::Completed, Status::Failed],
    initial: Status::InProgress,
    steps: &[],
    shown_as: &[],
    identifier: Identifier::JobName,
    tag_member: Some("jobTags"),
    names_identify: true,
    named: true,
    details_when_forced: false,
};

/// Members copied verbatim from the create request into the Get response.
const ECHOED: &[&str] = &[
    "importedModelName",
    "roleArn",
    "modelDataSource",
    "vpcConfig",
];

impl Family for ModelImport {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route("/model-import-jobs", post(create).get(list))
            .route("/model-import-jobs/{id}", get(get_one))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        match view {
            View::Full => full(job),
            View::Summary => summary(job),
        }
    }

    /// A completed job's imported model (its id: the job's, reversed).
    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        details::draw_total(rng);
        if job.status != Status::Completed {
            let failure = "Model import failed: config.json is missing from the model data source.";
            return details::settle(job, failure);
        }
        let id: String = job.id.chars().rev().collect();
        let arn = job
            .arn
            .replace("model-import-job/", "imported-model/")
            .replace(&job.id, &id);
        job.spec.insert("importedModelArn".into(), arn.into());
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
            "importedModelName": "seeded-model",
            "roleArn": format!("arn:aws:iam::{account}:role/BedrockJobRole"),
            "modelDataSource": {"s3DataSource": {"s3Uri": "s3://seeded-models/llama/"}}
        });
        Seeded::new(id.clone(), app.arn(FACTS.arn_resource, &id), spec)
    }
}

/// `GetModelImportJob`.
fn full(job: &Job) -> Value {
    let mut m = common(job, ECHOED);
    m.insert("jobArn".into(), json!(job.arn));
    put(&mut m, "jobName", s(job.name.as_deref()));
    put(&mut m, "failureMessage", s(job.message.as_deref()));
    m.insert("creationTime".into(), json!(iso(job.submit_time)));
    put(
        &mut m,
        "importedModelArn",
        s(job.spec_str("importedModelArn")),
    );
    put(
        &mut m,
        "importedModelKmsKeyArn",
        s(job.spec_str("importedModelKmsKeyId")),
    );
    Value::Object(m)
}

/// `ModelImportJobSummary`.
fn summary(job: &Job) -> Value {
    let mut m = summary_head(job);
    put(
        &mut m,
        "importedModelArn",
        s(job.spec_str("importedModelArn")),
    );
    put(
        &mut m,
        "importedModelName",
        s(job.spec_str("importedModelName")),
    );
    Value::Object(m)
}

async fn create(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateModelImportJob").await?;
    let body = input::body(&raw)?;
    let name = input::required_str(&body, "jobName")?;
    input::job_name("jobName", name)?;
    let model_name = input::required_str(&body, "importedModelName")?;
    input::job_name("importedModelName", model_name)?;
    input::required_str(&body, "roleArn")?;
    let source = input::required_obj(&body, "modelDataSource")?;
    input::s3_uri(source, &["s3DataSource", "s3Uri"])?;
    // A retried create (same token) returns the first job; a new job may not reuse a name.
    if jobs::name_in_use(&app, &FACTS, &body, name).await {
        return Err(ApiError::conflict(format!(
            "A model import job named {name} already exists."
        )));
    }
    let arn = jobs::create(&app, &ModelImport, Some(name), &body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "jobArn": arn }))))
}

async fn get_one(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetModelImportJob").await?;
    jobs::get(&app, &ModelImport, &id).await
}

async fn list(app: Scoped, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    app.enter("ListModelImportJobs").await?;
    let member = "modelImportJobSummaries";
    jobs::list(
        &app,
        &ModelImport,
        &CREATION_TIME,
        &q,
        member,
        SpecFilters::default(),
    )
    .await
}
