//! The `bedrock-runtime` asynchronous invocation operations.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::Json;
use serde_json::{json, Value};

use super::bedrock::{create, get, list};
use super::input::{self, ListParams};
use crate::error::{ApiError, ApiResult};
use crate::model::JobKind;
use crate::scoped::Scoped;

const ASYNC_LIST: ListParams = ListParams {
    after: "submitTimeAfter",
    before: "submitTimeBefore",
    sort_by: "SubmissionTime",
    name_filter: false,
};

pub async fn start(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
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
    let arn = create(&app, JobKind::AsyncInvoke, None, &body).await?;
    Ok(Json(json!({ "invocationArn": arn })))
}

pub async fn get_one(app: Scoped, Path(arn): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetAsyncInvoke").await?;
    get(&app, JobKind::AsyncInvoke, &arn).await
}

pub async fn list_all(
    app: Scoped,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    app.enter("ListAsyncInvokes").await?;
    list(
        &app,
        JobKind::AsyncInvoke,
        &ASYNC_LIST,
        &q,
        "asyncInvokeSummaries",
        vec![],
        vec![],
    )
    .await
}
