//! Custom models (`CreateCustomModel`, `GetCustomModel`, `ListCustomModels`,
//! `DeleteCustomModel`): `Creating`, then `Active` or `Failed`. A completed customization job
//! produces one too (see `model_customization`).

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
use crate::api::render::put;
use crate::api::resources;
use crate::app::App;
use crate::details;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::Store;

pub struct CustomModel;

static FACTS: Facts = Facts {
    kind: JobKind::CustomModel,
    arn_resource: "custom-model",
    statuses: &[Status::Active, Status::Creating, Status::Failed],
    initial: Status::Creating,
    steps: &[],
    shown_as: &[],
    identifier: Identifier::ResourceName,
    // CreateCustomModel's `modelTags` are moved to `tags` by its handler.
    tag_member: Some("tags"),
    names_identify: true,
    named: true,
    details_when_forced: true,
};

impl Family for CustomModel {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route("/custom-models", get(list))
            .route("/custom-models/create-custom-model", post(create))
            .route("/custom-models/{id}", get(get_one).delete(delete))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        let spec = |k: &str| job.spec.get(k).cloned();
        let mut m = Map::new();
        m.insert("modelArn".into(), json!(job.arn));
        m.insert("modelName".into(), json!(job.name));
        m.insert("creationTime".into(), json!(iso(job.submit_time)));
        put(&mut m, "baseModelArn", spec("baseModelArn"));
        put(&mut m, "customizationType", spec("customizationType"));
        m.insert("modelStatus".into(), json!(job.status));
        match view {
            View::Summary => {
                // A summary names its base model too; imported weights have none.
                m.entry("baseModelArn").or_insert_with(|| json!(job.arn));
                m.insert("baseModelName".into(), json!(""));
            }
            View::Full => {
                put(&mut m, "modelKmsKeyArn", spec("modelKmsKeyArn"));
                put(&mut m, "jobArn", spec("jobArn"));
                put(
                    &mut m,
                    "failureMessage",
                    job.message.clone().map(Value::String),
                );
            }
        }
        Value::Object(m)
    }

    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        details::draw_total(rng);
        details::settle(
            job,
            "The model weights could not be read: config.json is missing from the S3 location.",
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
        let region = &app.scope.region;
        let spec = json!({
            "baseModelArn": format!("arn:aws:bedrock:{region}::foundation-model/amazon.titan-text-express-v1"),
            "customizationType": "FINE_TUNING"
        });
        Seeded::new(id.clone(), app.arn(FACTS.arn_resource, &id), spec)
    }
}

async fn create(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateCustomModel").await?;
    let mut body = input::body(&raw)?;
    let model = input::required_str(&body, "modelName")?.to_owned();
    resources::name("modelName", &model)?;
    if let Some(source) = body.get("modelSourceConfig") {
        input::s3_uri(source, &["s3DataSource", "s3Uri"])?;
    }
    resources::name_free(&app, &FACTS, &body, &model, ApiError::conflict).await?;
    // Imported weights: the model's ARN says so (custom-model/imported/{id}).
    body.insert("baseModelId".into(), json!("imported"));
    body.insert("customizationType".into(), json!("IMPORTED"));
    if let Some(tags) = body.remove("modelTags") {
        body.insert("tags".into(), tags);
    }
    body.remove("modelName");
    let arn = jobs::create(&app, &CustomModel, Some(&model), &body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "modelArn": arn }))))
}

async fn get_one(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetCustomModel").await?;
    jobs::get(&app, &CustomModel, &id).await
}

async fn list(app: Scoped, Query(mut q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
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
    let filters = SpecFilters {
        equals,
        contains: vec![],
    };
    jobs::list(
        &app,
        &CustomModel,
        &CREATION_TIME,
        &q,
        "modelSummaries",
        filters,
    )
    .await
}

async fn delete(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("DeleteCustomModel").await?;
    resources::delete(&app, &FACTS, &id, in_use).await
}

/// A custom model that a deployment or a provisioned throughput uses cannot be deleted.
fn in_use(store: &Store, arn: &str) -> ApiResult<()> {
    let used = store
        .all()
        .any(|j| j.kind != JobKind::CustomModel && j.spec_str("modelArn") == Some(arn));
    match used {
        false => Ok(()),
        true => Err(ApiError::conflict(format!(
            "The custom model {arn} is in use by a deployment or provisioned throughput."
        ))),
    }
}
