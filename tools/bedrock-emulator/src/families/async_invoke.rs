//! Asynchronous invocations on `bedrock-runtime` (`StartAsyncInvoke`, `GetAsyncInvoke`,
//! `ListAsyncInvokes`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use serde_json::{json, Value};

use crate::api::input::{self, ListParams};
use crate::api::jobs::{self, SpecFilters};
use crate::api::render::{common, put, s};
use crate::app::App;
use crate::details;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::Store;

pub struct AsyncInvoke;

static FACTS: Facts = Facts {
    kind: JobKind::AsyncInvoke,
    arn_resource: "async-invoke",
    statuses: &[Status::InProgress, Status::Completed, Status::Failed],
    initial: Status::InProgress,
    steps: &[],
    shown_as: &[],
    identifier: Identifier::JobId,
    tag_member: Some("tags"),
    names_identify: false,
    named: false,
    details_when_forced: false,
};

const LIST: ListParams = ListParams {
    after: "submitTimeAfter",
    before: "submitTimeBefore",
    sort_by: "SubmissionTime",
    name_filter: false,
};

impl Family for AsyncInvoke {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route("/async-invoke", post(start).get(list))
            .route("/async-invoke/{arn}", get(get_one))
    }

    /// The Get response; the list summary has the same members.
    fn render(&self, job: &Job, _: View) -> Value {
        let mut m = common(job, &["modelArn", "outputDataConfig"]);
        m.insert("invocationArn".into(), json!(job.arn));
        put(&mut m, "failureMessage", s(job.message.as_deref()));
        m.insert("submitTime".into(), json!(iso(job.submit_time)));
        Value::Object(m)
    }

    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        details::draw_total(rng);
        details::settle(job, "The model failed to process the request.");
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
            "modelArn": format!("arn:aws:bedrock:{region}::foundation-model/amazon.nova-reel-v1:0"),
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://seeded-output/videos"}}
        });
        Seeded::new(id.clone(), app.arn(FACTS.arn_resource, &id), spec)
    }
}

async fn start(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("StartAsyncInvoke").await?;
    let mut body = input::body(&raw)?;
    let model_id = input::required_str(&body, "modelId")?.to_owned();
    let valid_model = model_id.len() <= 256
        && model_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/:".contains(c));
    if !valid_model {
        return Err(ApiError::validation(format!(
            "Value '{model_id}' at 'modelId' is not valid"
        )));
    }
    if body.get("modelInput").is_none_or(|v| v.is_null()) {
        return Err(input::missing("modelInput"));
    }
    let output = input::required_obj(&body, "outputDataConfig")?;
    input::s3_uri(output, &["s3OutputDataConfig", "s3Uri"])?;
    let model_arn = if model_id.starts_with("arn:") {
        model_id
    } else {
        format!(
            "arn:aws:bedrock:{}::foundation-model/{model_id}",
            app.scope.region
        )
    };
    body.insert("modelArn".into(), json!(model_arn));
    let arn = jobs::create(&app, &AsyncInvoke, None, &body).await?;
    Ok(Json(json!({ "invocationArn": arn })))
}

async fn get_one(app: Scoped, Path(arn): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetAsyncInvoke").await?;
    jobs::get(&app, &AsyncInvoke, &arn).await
}

async fn list(app: Scoped, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    app.enter("ListAsyncInvokes").await?;
    let member = "asyncInvokeSummaries";
    jobs::list(
        &app,
        &AsyncInvoke,
        &LIST,
        &q,
        member,
        SpecFilters::default(),
    )
    .await
}
