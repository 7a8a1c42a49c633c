//! The `bedrock-data-automation-runtime` operations (awsJson 1.1: `POST /` with an
//! `X-Amz-Target: AmazonBedrockKeystoneRuntimeService.{Operation}` header).

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::input;
use crate::error::{ApiError, ApiResult};
use crate::model::{iso, Job, JobKind, Status};
use crate::scoped::Scoped;

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

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// awsJson errors carry their code in the body's `__type` (and the header, as restJson does).
fn error_response(e: ApiError) -> Response {
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
    super::tagging::parse_tags("tags", body.get("tags"))?;
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
    if let Some(existing) = token
        .as_deref()
        .and_then(|t| store.by_token(JobKind::DataAutomation, t))
    {
        return Ok(json!({ "invocationArn": existing.arn }));
    }
    let planned_outcome = input::outcome_tag(body.get("tags")).or_else(|| {
        app.settings.auto_advance.then(|| {
            app.with_rng(|rng| {
                app.settings
                    .lifecycle
                    .pick_outcome(JobKind::DataAutomation, rng)
            })
        })
    });
    let job = new_invocation(app, body, token, planned_outcome);
    let arn = job.arn.clone();
    store.insert(job);
    Ok(json!({ "invocationArn": arn }))
}

/// A `Created` invocation of the request `spec`.
pub fn new_invocation(
    app: &Scoped,
    mut spec: Map<String, Value>,
    token: Option<String>,
    planned_outcome: Option<Status>,
) -> Job {
    spec.remove("clientToken");
    // Validated when the request was read (`InvokeDataAutomationAsync` takes `tags`).
    let tags = super::tagging::parse_tags("tags", spec.get("tags")).unwrap_or_default();
    let id = app.new_uuid();
    let now = Utc::now();
    Job {
        tags,
        kind: JobKind::DataAutomation,
        arn: app.arn("data-automation-invocation", &id),
        id,
        name: None,
        status: Status::Created,
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
        .find(JobKind::DataAutomation, arn)
        .ok_or_else(|| ApiError::not_found(format!("Invocation {arn} does not exist")))?;
    Ok(render_status(job))
}

/// `GetDataAutomationStatus`'s answer.
pub fn render_status(job: &Job) -> Value {
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
