//! Custom model deployments (`Create/Get/List/Update/DeleteCustomModelDeployment`, on-demand):
//! `Active`, and re-opened by an update (the job's status is then the update's: `Updating`,
//! `UpdateCompleted`, `UpdateFailed`, while Get and List show the deployment `Active`).

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

use crate::api::input::{self, ListParams, CREATION_TIME};
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

pub struct CustomModelDeployment;

static FACTS: Facts = Facts {
    kind: JobKind::CustomModelDeployment,
    arn_resource: "custom-model-deployment",
    statuses: &[
        Status::Creating,
        Status::Active,
        Status::Failed,
        Status::Updating,
        Status::UpdateCompleted,
        Status::UpdateFailed,
    ],
    initial: Status::Creating,
    steps: &[],
    shown_as: &[
        (Status::Updating, Status::Active),
        (Status::UpdateCompleted, Status::Active),
        (Status::UpdateFailed, Status::Active),
    ],
    identifier: Identifier::ResourceName,
    tag_member: Some("tags"),
    names_identify: true,
    named: true,
    details_when_forced: true,
};

impl Family for CustomModelDeployment {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route(
                "/model-customization/custom-model-deployments",
                post(create).get(list),
            )
            .route(
                "/model-customization/custom-model-deployments/{id}",
                get(get_one).patch(update).delete(delete),
            )
    }

    fn render(&self, job: &Job, view: View) -> Value {
        let mut m = Map::new();
        m.insert("customModelDeploymentArn".into(), json!(job.arn));
        let name_member = match view {
            View::Summary => "customModelDeploymentName",
            View::Full => "modelDeploymentName",
        };
        m.insert(name_member.into(), json!(job.name));
        put(&mut m, "modelArn", job.spec.get("modelArn").cloned());
        m.insert("createdAt".into(), json!(iso(job.submit_time)));
        let listed = FACTS.listed_as(&job.status);
        m.insert("status".into(), json!(listed));
        m.insert("lastUpdatedAt".into(), json!(iso(job.last_modified_time)));
        put(
            &mut m,
            "failureMessage",
            job.message.clone().map(Value::String),
        );
        let updating = listed != job.status;
        if view == View::Full {
            put(&mut m, "description", job.spec.get("description").cloned());
            if let (true, Some(model)) = (updating, job.spec.get("updateModelArn").cloned()) {
                m.insert(
                    "updateDetails".into(),
                    json!({"modelArn": model, "updateStatus": job.status}),
                );
            }
        }
        Value::Object(m)
    }

    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        details::draw_total(rng);
        details::settle(
            job,
            "The deployment could not be created: the custom model's artifacts could not be loaded.",
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

    /// A seeded `Updating` deployment is being moved to the second model (Get shows
    /// `updateDetails`).
    fn seed_job(&self, app: &Scoped, _: Option<&Place>, id: String) -> Seeded {
        let (region, account) = (&app.scope.region, &app.scope.account);
        let spec = json!({
            "modelArn": format!("arn:aws:bedrock:{region}:{account}:custom-model/imported/abcdefghijkl"),
            "updateModelArn": format!("arn:aws:bedrock:{region}:{account}:custom-model/imported/mnopqrstuvwx")
        });
        Seeded::new(id.clone(), app.arn(FACTS.arn_resource, &id), spec)
    }
}

async fn create(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("CreateCustomModelDeployment").await?;
    let mut body = input::body(&raw)?;
    let deployment = input::required_str(&body, "modelDeploymentName")?.to_owned();
    resources::name("modelDeploymentName", &deployment)?;
    let model = input::required_str(&body, "modelArn")?.to_owned();
    let model = resources::active_model(&app, &model).await?;
    resources::name_free(&app, &FACTS, &body, &deployment, ApiError::validation).await?;
    body.insert("modelArn".into(), json!(model));
    body.remove("modelDeploymentName");
    let arn = jobs::create(&app, &CustomModelDeployment, Some(&deployment), &body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "customModelDeploymentArn": arn })),
    ))
}

async fn get_one(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetCustomModelDeployment").await?;
    jobs::get(&app, &CustomModelDeployment, &id).await
}

async fn list(app: Scoped, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
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
    let filters = SpecFilters {
        equals,
        contains: vec![],
    };
    let member = "modelDeploymentSummaries";
    jobs::list(&app, &CustomModelDeployment, &params, &q, member, filters).await
}

async fn update(
    app: Scoped,
    Path(id): Path<String>,
    raw: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("UpdateCustomModelDeployment").await?;
    input::identifier(&FACTS, &id)?;
    let body = input::body(&raw)?;
    let model = input::required_str(&body, "modelArn")?.to_owned();
    let model = resources::active_model(&app, &model).await?;
    let mut store = app.store.write().await;
    let job = store
        .find_mut(FACTS.kind, &id)
        .ok_or_else(|| not_found(&FACTS, &id))?;
    if FACTS.listed_as(&job.status) != Status::Active || job.status == Status::Updating {
        return Err(ApiError::validation(format!(
            "The deployment {} can't be updated because it is in status {}.",
            job.arn, job.status
        )));
    }
    job.spec.insert("updateModelArn".into(), json!(model));
    resources::start_update(&app, job, Status::UpdateCompleted);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "customModelDeploymentArn": job.arn })),
    ))
}

async fn delete(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("DeleteCustomModelDeployment").await?;
    resources::delete(&app, &FACTS, &id, resources::unused).await
}
