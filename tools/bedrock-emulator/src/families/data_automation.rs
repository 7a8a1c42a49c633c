//! Data Automation invocations on `bedrock-data-automation-runtime` (awsJson 1.1: `POST /` with
//! an `X-Amz-Target: AmazonBedrockKeystoneRuntimeService.{Operation}` header, dispatched here
//! by the crate root, which shares `POST /` with STS): `InvokeDataAutomationAsync`,
//! `GetDataAutomationStatus`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use serde_json::{json, Map, Value};

use crate::api::{input, jobs, tagging};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::Store;

pub struct DataAutomation;

static FACTS: Facts = Facts {
    kind: JobKind::DataAutomation,
    arn_resource: "data-automation-invocation",
    statuses: &[
        Status::Created,
        Status::InProgress,
        Status::Success,
        Status::ServiceError,
        Status::ClientError,
    ],
    initial: Status::Created,
    steps: &[(Status::Created, Status::InProgress)],
    shown_as: &[],
    // Its own operations validate the invocation ARN.
    identifier: Identifier::Any,
    tag_member: Some("tags"),
    names_identify: false,
    named: false,
    // Invocation results are what its notifications show.
    details_when_forced: true,
};

impl Family for DataAutomation {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    /// None of its own: its operations arrive on `POST /` (see [`dispatch`]).
    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
    }

    /// `GetDataAutomationStatus`'s answer (there is no List).
    fn render(&self, job: &Job, _: View) -> Value {
        render_status(job)
    }

    fn finish(&self, job: &mut Job, _: &mut StdRng) {
        results(job)
    }

    fn produce(&self, _: &App, _: &mut Job, _: DateTime<Utc>) -> Option<Job> {
        None
    }

    fn event(&self, job: &Job, scope: &Scope) -> ApiResult<Value> {
        event(job, scope)
    }

    fn seed_place(&self, _: &Scoped, _: &mut Store, _: SeedTarget) -> ApiResult<Option<Place>> {
        Ok(None)
    }

    /// Seeded invocations draw an id of their own shape (a UUID).
    fn seed_job(&self, app: &Scoped, _: Option<&Place>, _: String) -> Seeded {
        let (region, account) = (&app.scope.region, &app.scope.account);
        let id = app.new_uuid();
        let spec = json!({
            "inputConfiguration": {"s3Uri": "s3://seeded-input/invoice.pdf"},
            "outputConfiguration": {"s3Uri": "s3://seeded-output/bda"},
            "dataAutomationProfileArn": format!("arn:aws:bedrock:{region}:{account}:data-automation-profile/us.data-automation-v1"),
        });
        Seeded::new(id.clone(), app.arn(FACTS.arn_resource, &id), spec)
    }
}

/// A Data Automation invocation's result location, or its error.
fn results(job: &mut Job) {
    match job.status {
        Status::Success => {
            let output = job
                .spec
                .get("outputConfiguration")
                .and_then(|o| o.get("s3Uri"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("s3://emulator-output")
                .trim_end_matches('/')
                .to_owned();
            let metadata = format!("{output}/{}/0/job_metadata.json", job.id);
            job.spec.insert("resultUri".into(), metadata.into());
        }
        Status::ClientError if job.message.is_none() => {
            job.spec.insert("errorType".into(), "ClientError".into());
            job.message = Some("The input file is not a supported document format.".into());
        }
        Status::ServiceError if job.message.is_none() => {
            job.spec.insert("errorType".into(), "ServiceError".into());
            job.message = Some("An internal error occurred. Retry the invocation.".into());
        }
        _ => {}
    }
}

/// The Data Automation event of the invocation's state, in the shape the Bedrock user guide's
/// sample shows (`job_id`, `job_status`, no `resources`). Only the Succeeded sample is
/// documented: the `job_status` words of the other three events are the emulator's guess.
fn event(job: &Job, scope: &Scope) -> ApiResult<Value> {
    let (detail_type, job_status) = match job.status {
        Status::Created => ("Bedrock Data Automation Job Created", "CREATED"),
        Status::Success => ("Bedrock Data Automation Job Succeeded", "SUCCESS"),
        Status::ClientError => (
            "Bedrock Data Automation Job Failed With Client Error",
            "CLIENT_ERROR",
        ),
        Status::ServiceError => (
            "Bedrock Data Automation Job Failed With Service Error",
            "SERVICE_ERROR",
        ),
        ref other => {
            return Err(ApiError::validation(format!(
                "Bedrock emits no Data Automation event for status {other}"
            )))
        }
    };
    let s3_object = |config: &str| {
        let uri = job
            .spec
            .get(config)
            .and_then(|c| c.get("s3Uri"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (bucket, key) = uri
            .trim_start_matches("s3://")
            .split_once('/')
            .unwrap_or((uri, ""));
        json!({ "s3_bucket": bucket, "name": key })
    };
    let detail = json!({
        "job_id": job.id,
        "job_status": job_status,
        "semantic_modality": "Document",
        "input_s3_object": s3_object("inputConfiguration"),
        "output_s3_location": s3_object("outputConfiguration"),
        "error_message": job.message.clone().unwrap_or_default(),
    });
    Ok(events::envelope(job, scope, detail_type, json!([]), detail))
}

const TARGET_PREFIX: &str = "AmazonBedrockKeystoneRuntimeService.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Routes a `POST /` by its `X-Amz-Target`.
pub async fn dispatch(app: Scoped, headers: HeaderMap, raw: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let result = match target.strip_prefix(TARGET_PREFIX) {
        Some("InvokeDataAutomationAsync") => invoke(&app, &raw).await,
        Some("GetDataAutomationStatus") => status(&app, &raw).await,
        _ => Err(ApiError::new(
            "UnknownOperationException",
            StatusCode::BAD_REQUEST,
            format!("The emulator does not implement {target:?}"),
        )),
    };
    match result {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(e) => error_response(e),
    }
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// awsJson errors carry their code in the body's `__type` (and the header, as restJson does).
pub(crate) fn error_response(e: ApiError) -> Response {
    let status = match e.status {
        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => s,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = json_response(status, &json!({ "__type": e.code, "message": e.message }));
    if let Ok(code) = HeaderValue::from_str(&e.code) {
        response.headers_mut().insert("x-amzn-errortype", code);
    }
    response
}

/// `s3://bucket/...` at `path`, checked like the service model's `S3Uri`.
fn s3(body: &Map<String, Value>, path: &[&str]) -> ApiResult<String> {
    input::s3_uri(&Value::Object(body.clone()), path)
}

async fn invoke(app: &Scoped, raw: &[u8]) -> ApiResult<Value> {
    app.enter("InvokeDataAutomationAsync").await?;
    let body = input::body(raw)?;
    tagging::parse_tags("tags", body.get("tags"))?;
    s3(&body, &["inputConfiguration", "s3Uri"])?;
    s3(&body, &["outputConfiguration", "s3Uri"])?;
    let profile = input::required_str(&body, "dataAutomationProfileArn")?;
    if !(profile.starts_with("arn:aws") && profile.contains(":data-automation-profile/")) {
        return Err(ApiError::validation(format!(
            "Value '{profile}' at 'dataAutomationProfileArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(|-cn|-iso|-iso-[a-z]|-us-gov):bedrock:[a-zA-Z0-9-]*:(aws|[0-9]{{12}}):data-automation-profile/[a-zA-Z0-9-_.]+"
        )));
    }
    let token = body
        .get("clientToken")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut store = app.store.write().await;
    if let Some(existing) = token.as_deref().and_then(|t| store.by_token(FACTS.kind, t)) {
        return Ok(json!({ "invocationArn": existing.arn }));
    }
    let planned_outcome =
        input::outcome_tag(body.get("tags")).or_else(|| jobs::planned(app, &FACTS));
    let job = new_invocation(app, body, token, planned_outcome);
    let arn = job.arn.clone();
    store.insert(job, FACTS.names_identify);
    Ok(json!({ "invocationArn": arn }))
}

/// A `Created` invocation of the request `spec`.
fn new_invocation(
    app: &Scoped,
    mut spec: Map<String, Value>,
    token: Option<String>,
    planned_outcome: Option<Status>,
) -> Job {
    spec.remove("clientToken");
    // Validated when the request was read (`InvokeDataAutomationAsync` takes `tags`).
    let tags = tagging::parse_tags("tags", spec.get("tags")).unwrap_or_default();
    let id = app.new_uuid();
    let now = Utc::now();
    Job {
        tags,
        kind: JobKind::DataAutomation,
        arn: app.arn(FACTS.arn_resource, &id),
        id,
        name: None,
        status: FACTS.initial.clone(),
        message: None,
        submit_time: now,
        last_modified_time: now,
        end_time: None,
        client_request_token: token,
        counts: Default::default(),
        spec,
        planned_outcome,
    }
}

async fn status(app: &Scoped, raw: &[u8]) -> ApiResult<Value> {
    app.enter("GetDataAutomationStatus").await?;
    let body = input::body(raw)?;
    let arn = input::required_str(&body, "invocationArn")?;
    let valid = arn.starts_with("arn:aws")
        && arn.contains(":data-automation-invocation/")
        && (1..=128).contains(&arn.len());
    if !valid {
        return Err(ApiError::validation(format!(
            "Value '{arn}' at 'invocationArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(|-cn|-iso|-iso-[a-z]|-us-gov):bedrock:[a-zA-Z0-9-]*:[0-9]{{12}}:data-automation-invocation/[a-zA-Z0-9-_]+"
        )));
    }
    let store = app.store.read().await;
    let job = store
        .find(FACTS.kind, arn)
        .ok_or_else(|| ApiError::not_found(format!("Invocation {arn} does not exist")))?;
    Ok(render_status(job))
}

/// `GetDataAutomationStatus`'s answer.
fn render_status(job: &Job) -> Value {
    let mut v = json!({
        "status": job.status,
        "jobSubmissionTime": iso(job.submit_time),
    });
    if let Some(end) = job.end_time {
        v["jobCompletionTime"] = json!(iso(end));
        v["jobDurationInSeconds"] = json!((end - job.submit_time).num_seconds().max(0));
    }
    if let Some(uri) = job.spec_str("resultUri") {
        v["outputConfiguration"] = json!({ "s3Uri": uri });
    }
    if let Some(t) = job.spec_str("errorType") {
        v["errorType"] = json!(t);
    }
    if let Some(m) = &job.message {
        v["errorMessage"] = json!(m);
    }
    v
}
