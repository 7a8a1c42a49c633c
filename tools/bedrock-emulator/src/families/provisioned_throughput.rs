//! Provisioned throughput (`Create/Get/List/Update/DeleteProvisionedModelThroughput`): a resource
//! that settles (`InService`) and re-opens on an update (`Updating`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use serde_json::{json, Map, Value};

use crate::api::input::{self, CREATION_TIME};
use crate::api::jobs::{self, not_found, SpecFilters};
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

pub struct ProvisionedThroughput;

static FACTS: Facts = Facts {
    kind: JobKind::ProvisionedThroughput,
    arn_resource: "provisioned-model",
    statuses: &[
        Status::Creating,
        Status::InService,
        Status::Updating,
        Status::Failed,
    ],
    initial: Status::Creating,
    steps: &[],
    shown_as: &[],
    identifier: Identifier::ResourceName,
    tag_member: Some("tags"),
    names_identify: true,
    named: true,
    details_when_forced: true,
};

const COMMITMENTS: [&str; 2] = ["OneMonth", "SixMonths"];

impl Family for ProvisionedThroughput {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route("/provisioned-model-throughput", post(create))
            .route(
                "/provisioned-model-throughput/{id}",
                get(get_one).patch(update).delete(delete),
            )
            .route("/provisioned-model-throughputs", get(list))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        let mut m = Map::new();
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
            put(&mut m, key, job.spec.get(key).cloned());
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
        if view == View::Full {
            put(
                &mut m,
                "failureMessage",
                job.message.clone().map(Value::String),
            );
        }
        Value::Object(m)
    }

    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        details::draw_total(rng);
        details::settle(
            job,
            "Insufficient capacity for the requested model units in this region. Try fewer model units or another region.",
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
        let model = format!(
            "arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0:200k"
        );
        let spec = json!({
            "modelArn": model,
            "desiredModelArn": model,
            "foundationModelArn": model,
            "modelUnits": 1,
            "desiredModelUnits": 1,
            "commitmentDuration": "OneMonth"
        });
        Seeded::new(id.clone(), app.arn(FACTS.arn_resource, &id), spec)
    }
}

async fn create(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateProvisionedModelThroughput").await?;
    let mut body = input::body(&raw)?;
    let pt_name = input::required_str(&body, "provisionedModelName")?.to_owned();
    resources::name("provisionedModelName", &pt_name)?;
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
    let model = resources::model_arn(&app, "modelId", &model_id).await?;
    resources::name_free(&app, &FACTS, &body, &pt_name, ApiError::validation).await?;
    let foundation = resources::foundation_of(&app, &model).await;
    body.insert("modelArn".into(), json!(model));
    body.insert("desiredModelArn".into(), json!(model));
    body.insert("foundationModelArn".into(), json!(foundation));
    body.insert("desiredModelUnits".into(), units);
    body.remove("provisionedModelName");
    let arn = jobs::create(&app, &ProvisionedThroughput, Some(&pt_name), &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "provisionedModelArn": arn })),
    ))
}

async fn get_one(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetProvisionedModelThroughput").await?;
    jobs::get(&app, &ProvisionedThroughput, &id).await
}

async fn list(app: Scoped, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    app.enter("ListProvisionedModelThroughputs").await?;
    let equals = q
        .get("modelArnEquals")
        .map(|m| vec![("modelArn", m.clone())])
        .unwrap_or_default();
    let filters = SpecFilters {
        equals,
        contains: vec![],
    };
    let member = "provisionedModelSummaries";
    jobs::list(
        &app,
        &ProvisionedThroughput,
        &CREATION_TIME,
        &q,
        member,
        filters,
    )
    .await
}

async fn update(app: Scoped, Path(id): Path<String>, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("UpdateProvisionedModelThroughput").await?;
    input::identifier(&FACTS, &id)?;
    let body = input::body_or_empty(&raw)?;
    let new_name = body
        .get("desiredProvisionedModelName")
        .and_then(Value::as_str);
    if let Some(n) = new_name {
        resources::name("desiredProvisionedModelName", n)?;
    }
    let new_model = match body.get("desiredModelId").and_then(Value::as_str) {
        Some(m) => Some(resources::model_arn(&app, "desiredModelId", m).await?),
        None => None,
    };
    let mut store = app.store.write().await;
    let job = store
        .find_mut(FACTS.kind, &id)
        .ok_or_else(|| not_found(&FACTS, &id))?;
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
    resources::start_update(&app, job, Status::InService);
    if let Some(n) = new_name {
        store.rename(FACTS.kind, &job_id, n);
    }
    Ok(Json(json!({})))
}

async fn delete(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("DeleteProvisionedModelThroughput").await?;
    resources::delete(&app, &FACTS, &id, resources::unused).await
}
