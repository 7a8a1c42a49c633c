//! The `bedrock` tagging operations (`TagResource`, `UntagResource`, `ListTagsForResource`) on
//! the emulated jobs. Tags given at create time arrive in the member botocore names per
//! operation (each family's `tag_member`): `tags` (CreateModelInvocationJob, bedrock-runtime
//! StartAsyncInvoke) or `jobTags` (CreateModelImportJob, CreateModelCustomizationJob).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::Json;
use serde_json::{json, Map, Value};

use super::input;
use crate::error::{ApiError, ApiResult};
use crate::model::Job;
use crate::scoped::Scoped;

/// The service model's limit on tags per resource (`TagList` max 200).
const MAX_TAGS: usize = 200;

/// Parses a `TagList` (`[{"key": .., "value": ..}]`) with the model's constraints.
pub fn parse_tags(member: &str, value: Option<&Value>) -> ApiResult<BTreeMap<String, String>> {
    let Some(value) = value else {
        return Ok(BTreeMap::new());
    };
    let list = value
        .as_array()
        .ok_or_else(|| ApiError::validation(format!("'{member}' must be a list of tags")))?;
    if list.len() > MAX_TAGS {
        return Err(too_many());
    }
    let mut tags = BTreeMap::new();
    for tag in list {
        let key = tag.get("key").and_then(Value::as_str);
        let value = tag.get("value").and_then(Value::as_str);
        match (key, value) {
            (Some(k), Some(v)) if valid(k, 1, 128) && valid(v, 0, 256) => {
                tags.insert(k.to_owned(), v.to_owned());
            }
            _ => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value at '{member}' failed to satisfy constraint: each tag needs a key (1-128) and a value (0-256) matching [a-zA-Z0-9\\s._:/=+@-]*"
                )))
            }
        }
    }
    Ok(tags)
}

/// `TagKey`/`TagValue`: length bounds and the pattern `[a-zA-Z0-9\s._:/=+@-]*`.
fn valid(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || "._:/=+@-".contains(c))
}

fn too_many() -> ApiError {
    ApiError::new(
        "TooManyTagsException",
        axum::http::StatusCode::BAD_REQUEST,
        format!("A resource can have at most {MAX_TAGS} tags."),
    )
}

/// The job a `resourceARN` names (an exact ARN of any family).
fn resource<'a>(
    body: &Map<String, Value>,
    jobs: impl Iterator<Item = &'a mut Job>,
) -> ApiResult<&'a mut Job> {
    let arn = input::required_str(body, "resourceARN")?;
    if !(20..=1011).contains(&arn.len()) {
        return Err(ApiError::validation(format!(
            "Value '{arn}' at 'resourceARN' failed to satisfy constraint: Member must have length between 20 and 1011"
        )));
    }
    let mut jobs = jobs;
    jobs.find(|j| j.arn == arn)
        .ok_or_else(|| ApiError::not_found(format!("The resource {arn} could not be found.")))
}

pub async fn list_tags(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("ListTagsForResource").await?;
    let body = input::body(&raw)?;
    let mut store = app.store.write().await;
    let job = resource(&body, store.all_mut())?;
    let tags: Vec<Value> = job
        .tags
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    Ok(Json(json!({ "tags": tags })))
}

pub async fn tag(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("TagResource").await?;
    let body = input::body(&raw)?;
    if body.get("tags").is_none() {
        return Err(input::missing("tags"));
    }
    let new = parse_tags("tags", body.get("tags"))?;
    let mut store = app.store.write().await;
    let job = resource(&body, store.all_mut())?;
    let mut merged = job.tags.clone();
    merged.extend(new);
    if merged.len() > MAX_TAGS {
        return Err(too_many());
    }
    job.tags = merged;
    Ok(Json(json!({})))
}

pub async fn untag(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("UntagResource").await?;
    let body = input::body(&raw)?;
    let keys: Vec<String> = body
        .get("tagKeys")
        .ok_or_else(|| input::missing("tagKeys"))?
        .as_array()
        .ok_or_else(|| ApiError::validation("'tagKeys' must be a list of strings"))?
        .iter()
        .map(|k| k.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::validation("'tagKeys' must be a list of strings"))?;
    let mut store = app.store.write().await;
    let job = resource(&body, store.all_mut())?;
    for key in keys {
        job.tags.remove(&key);
    }
    Ok(Json(json!({})))
}
