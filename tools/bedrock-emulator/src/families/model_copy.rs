//! Model copies (`CreateModelCopyJob`, `GetModelCopyJob`, `ListModelCopyJobs`): a custom model
//! copied into this region.

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

pub struct ModelCopy;

static FACTS: Facts = Facts {
    kind: JobKind::ModelCopy,
    arn_resource: "model-copy-job",
    statuses: &[Status::InProgress, Status::Completed, Status::Failed],
    initial: Status::InProgress,
    steps: &[],
    shown_as: &[],
    // ModelCopyJobArn: an ARN only.
    identifier: Identifier::ArnOnly,
    // CreateModelCopyJob has no tags for the job: `targetModelTags` tag the new model.
    tag_member: None,
    names_identify: false,
    named: false,
    details_when_forced: false,
};

impl Family for ModelCopy {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route("/model-copy-jobs", post(create).get(list))
            .route("/model-copy-jobs/{arn}", get(get_one))
    }

    /// The Get response; the list summary has the same members.
    fn render(&self, job: &Job, _: View) -> Value {
        render(job)
    }

    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        details::draw_total(rng);
        details::settle(
            job,
            "The source model could not be copied: the KMS key is not accessible.",
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
        let (region, account) = (&app.scope.region, &app.scope.account);
        let spec = json!({
            "sourceModelArn": format!("arn:aws:bedrock:us-west-2:{account}:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghijkl"),
            "sourceAccountId": account,
            "targetModelName": "seeded-copy",
            "targetModelArn": format!("arn:aws:bedrock:{region}:{account}:custom-model/amazon.titan-text-express-v1:0:8k/mnopqrstuvwx")
        });
        Seeded::new(id.clone(), app.arn(FACTS.arn_resource, &id), spec)
    }
}

/// `GetModelCopyJob` and `ModelCopyJobSummary` (the same members).
fn render(job: &Job) -> Value {
    let mut m = Map::new();
    for key in [
        "targetModelArn",
        "targetModelName",
        "sourceAccountId",
        "sourceModelArn",
        "sourceModelName",
        "targetModelTags",
    ] {
        put(&mut m, key, job.spec.get(key).cloned());
    }
    put(
        &mut m,
        "targetModelKmsKeyArn",
        job.spec.get("modelKmsKeyId").cloned(),
    );
    m.insert("jobArn".into(), json!(job.arn));
    m.insert("status".into(), json!(job.status));
    m.insert("creationTime".into(), json!(iso(job.submit_time)));
    put(&mut m, "failureMessage", s(job.message.as_deref()));
    Value::Object(m)
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

async fn create(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
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
    let arn = jobs::create(&app, &ModelCopy, None, &body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "jobArn": arn }))))
}

async fn get_one(app: Scoped, Path(arn): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetModelCopyJob").await?;
    jobs::get(&app, &ModelCopy, &arn).await
}

async fn list(app: Scoped, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
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
    let filters = SpecFilters { equals, contains };
    jobs::list(
        &app,
        &ModelCopy,
        &params,
        &q,
        "modelCopyJobSummaries",
        filters,
    )
    .await
}
