//! Model customization (`CreateModelCustomizationJob`, `GetModelCustomizationJob`,
//! `ListModelCustomizationJobs`, `StopModelCustomizationJob`): a completed job produces a
//! custom model (`Active`, naming the job), and Bedrock emits an EventBridge event per state.

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
use crate::api::render::{common, put, s, summary_head};
use crate::app::App;
use crate::details;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, RecordCounts, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::Store;

pub struct ModelCustomization;

static FACTS: Facts = Facts {
    kind: JobKind::ModelCustomization,
    arn_resource: "model-customization-job",
    statuses: &[
        Status::InProgress,
        Status::Completed,
        Status::Failed,
        Status::Stopping,
        Status::Stopped,
    ],
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
    "baseModelArn",
    "roleArn",
    "customModelName",
    "customizationType",
    "trainingDataConfig",
    "validationDataConfig",
    "outputDataConfig",
    "hyperParameters",
    "vpcConfig",
];

const CUSTOMIZATION_TYPES: [&str; 5] = [
    "FINE_TUNING",
    "CONTINUED_PRE_TRAINING",
    "DISTILLATION",
    "REINFORCEMENT_FINE_TUNING",
    "IMPORTED",
];

impl Family for ModelCustomization {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route("/model-customization-jobs", post(create).get(list))
            .route("/model-customization-jobs/{id}", get(get_one))
            .route("/model-customization-jobs/{id}/stop", post(stop))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        match view {
            View::Full => full(job),
            View::Summary => summary(job),
        }
    }

    /// A completed job's output model (the ticker then makes it: see `produce`).
    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        details::draw_total(rng);
        if job.status != Status::Completed {
            return details::settle(job, "The model failed to process the request.");
        }
        let model = job
            .spec_str("customModelName")
            .unwrap_or("custom")
            .to_owned();
        let arn = format!(
            "{}:custom-model/{model}/{}",
            job.arn
                .split(":model-customization-job/")
                .next()
                .unwrap_or_default(),
            job.id
        );
        job.spec.insert("outputModelArn".into(), arn.into());
    }

    fn produce(&self, app: &App, job: &mut Job, now: DateTime<Utc>) -> Option<Job> {
        produced_model(app, job, now)
    }

    fn event(&self, job: &Job, scope: &Scope) -> ApiResult<Value> {
        let detail = json!({
            "version": "0.0",
            "jobName": job.name,
            "jobArn": job.arn,
            "outputModelName": job.spec.get("customModelName"),
            "outputModelArn": job.spec.get("outputModelArn"),
            "roleArn": job.spec.get("roleArn"),
            "jobStatus": job.status,
            "failureMessage": job.message.clone().unwrap_or_default(),
            "creationTime": iso(job.submit_time),
            "lastModifiedTime": iso(job.last_modified_time),
            "endTime": job.end_time.map(iso),
            "baseModelArn": job.spec.get("baseModelArn"),
        });
        let detail_type = "Model Customization Job State Change";
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
        let (region, account) = (&app.scope.region, &app.scope.account);
        let arn = app.arn("model-customization-job/amazon.titan-text-express-v1", &id);
        let spec = json!({
            "baseModelArn": format!("arn:aws:bedrock:{region}::foundation-model/amazon.titan-text-express-v1"),
            "roleArn": format!("arn:aws:iam::{account}:role/BedrockJobRole"),
            "customModelName": "seeded-custom",
            "customizationType": "FINE_TUNING",
            "trainingDataConfig": {"s3Uri": "s3://seeded-train/train.jsonl"},
            "validationDataConfig": {"validators": []},
            "outputDataConfig": {"s3Uri": "s3://seeded-output/"}
        });
        Seeded::new(id, arn, spec)
    }
}

/// `GetModelCustomizationJob`.
fn full(job: &Job) -> Value {
    let mut m = common(job, ECHOED);
    m.insert("jobArn".into(), json!(job.arn));
    put(&mut m, "jobName", s(job.name.as_deref()));
    put(&mut m, "failureMessage", s(job.message.as_deref()));
    m.insert("creationTime".into(), json!(iso(job.submit_time)));
    put(&mut m, "outputModelArn", s(job.spec_str("outputModelArn")));
    put(
        &mut m,
        "outputModelName",
        s(job.spec_str("customModelName")),
    );
    m.insert("statusDetails".into(), status_details(job));
    Value::Object(m)
}

/// `StatusDetails`: a stage set through the control endpoint as the API spells it, else the
/// stages the job's status implies (a running job validating, a finished one through all three;
/// a stage not started has a status only).
fn status_details(job: &Job) -> Value {
    if let Some(set) = job.spec.get("statusDetails") {
        return set.clone();
    }
    let first = match job.status {
        Status::Completed => "Completed",
        Status::Failed => "Failed",
        Status::Stopping => "Stopping",
        Status::Stopped => "Stopped",
        _ => "InProgress",
    };
    let later = if first == "Completed" {
        "Completed"
    } else {
        "NotStarted"
    };
    let stage = |status: &str| match status {
        "NotStarted" => json!({ "status": status }),
        _ => json!({
            "status": status,
            "creationTime": iso(job.submit_time),
            "lastModifiedTime": iso(job.last_modified_time),
        }),
    };
    json!({
        "validationDetails": stage(first),
        "dataProcessingDetails": stage(later),
        "trainingDetails": stage(later),
    })
}

/// `ModelCustomizationJobSummary`.
fn summary(job: &Job) -> Value {
    let mut m = summary_head(job);
    put(
        &mut m,
        "baseModelArn",
        job.spec.get("baseModelArn").cloned(),
    );
    put(&mut m, "customModelArn", s(job.spec_str("outputModelArn")));
    put(
        &mut m,
        "customModelName",
        s(job.spec_str("customModelName")),
    );
    put(
        &mut m,
        "customizationType",
        job.spec.get("customizationType").cloned(),
    );
    m.insert("statusDetails".into(), status_details(job));
    Value::Object(m)
}

/// The custom model a completed customization job produced, as `ListCustomModels` and
/// `GetCustomModel` then show it (`Active`, naming the job); its ARN becomes the job's
/// `outputModelArn`.
fn produced_model(app: &App, job: &mut Job, now: DateTime<Utc>) -> Option<Job> {
    if job.status != Status::Completed {
        return None;
    }
    let base_arn = job.spec.get("baseModelArn").cloned().unwrap_or_default();
    let base = base_arn
        .as_str()
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("custom");
    let id = app.new_id();
    // The model lives where its job ran (the job's ARN names the account and region).
    let scope = Scope::of_arn(&job.arn).unwrap_or_else(|| app.default_scope());
    let arn = format!(
        "arn:aws:bedrock:{}:{}:custom-model/{base}/{id}",
        scope.region, scope.account
    );
    job.spec.insert("outputModelArn".into(), arn.clone().into());
    let mut spec = Map::new();
    spec.insert("baseModelArn".into(), base_arn.clone());
    spec.insert("jobArn".into(), job.arn.clone().into());
    let kind = job.spec.get("customizationType").cloned();
    spec.insert(
        "customizationType".into(),
        kind.unwrap_or("FINE_TUNING".into()),
    );
    Some(Job {
        kind: JobKind::CustomModel,
        id,
        arn,
        name: job.spec_str("customModelName").map(str::to_owned),
        status: Status::Active,
        message: None,
        submit_time: now,
        last_modified_time: now,
        end_time: Some(now),
        client_request_token: None,
        counts: RecordCounts::default(),
        spec,
        planned_outcome: None,
        tags: Default::default(),
    })
}

async fn create(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
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
        if !CUSTOMIZATION_TYPES.contains(&t) {
            return Err(ApiError::validation(format!(
                "Value '{t}' at 'customizationType' is not valid"
            )));
        }
    }
    if jobs::name_in_use(&app, &FACTS, &body, &name).await {
        return Err(ApiError::conflict(format!(
            "A model customization job named {name} already exists."
        )));
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
    let arn = jobs::create(&app, &ModelCustomization, Some(&name), &body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "jobArn": arn }))))
}

async fn get_one(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetModelCustomizationJob").await?;
    jobs::get(&app, &ModelCustomization, &id).await
}

async fn list(app: Scoped, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    app.enter("ListModelCustomizationJobs").await?;
    let member = "modelCustomizationJobSummaries";
    let filters = SpecFilters::default();
    jobs::list(
        &app,
        &ModelCustomization,
        &CREATION_TIME,
        &q,
        member,
        filters,
    )
    .await
}

async fn stop(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("StopModelCustomizationJob").await?;
    jobs::stop(&app, &FACTS, &id).await
}
