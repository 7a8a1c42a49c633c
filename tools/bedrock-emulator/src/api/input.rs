//! Request parsing and validation shared by the operations, following the service model's
//! constraints (lengths, patterns, ranges and enums).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::family::{Facts, Identifier};
use crate::model::Status;
use crate::store::ListQuery;

/// Names of a List operation's time-filter query parameters and its only `sortBy` value.
pub struct ListParams {
    pub after: &'static str,
    pub before: &'static str,
    pub sort_by: &'static str,
    pub name_filter: bool,
}

/// The List parameters of most `bedrock` families: creation time, `nameContains`.
pub const CREATION_TIME: ListParams = ListParams {
    after: "creationTimeAfter",
    before: "creationTimeBefore",
    sort_by: "CreationTime",
    name_filter: true,
};

/// The filters and paging of a List call, validated as the service model says.
pub fn list_query(
    facts: &Facts,
    params: &ListParams,
    q: &HashMap<String, String>,
) -> ApiResult<ListQuery> {
    let max_results = max_results(q)?;
    let status = status_filter(facts, q)?;
    let ascending = match q.get("sortOrder").map(String::as_str) {
        None | Some("Descending") => false,
        Some("Ascending") => true,
        Some(other) => return Err(enum_error("sortOrder", other, &["Ascending", "Descending"])),
    };
    if let Some(by) = q.get("sortBy") {
        if by != params.sort_by {
            return Err(enum_error("sortBy", by, &[params.sort_by]));
        }
    }
    let name_contains = match q.get("nameContains") {
        Some(n) if params.name_filter => {
            job_name("nameContains", n)?;
            Some(n.clone())
        }
        _ => None,
    };
    if let Some(token) = q.get("nextToken") {
        if token.is_empty() || token.len() > 2048 {
            return Err(ApiError::validation("The pagination token is not valid."));
        }
    }
    let time = |member: &str| q.get(member).map(|v| timestamp(member, v)).transpose();
    Ok(ListQuery {
        after: time(params.after)?,
        before: time(params.before)?,
        statuses: status,
        name_contains,
        spec_equals: Vec::new(),
        spec_contains: Vec::new(),
        max_results,
        next_token: q.get("nextToken").cloned(),
        ascending,
    })
}

/// `maxResults`: 1..=1000, default 1000.
fn max_results(q: &HashMap<String, String>) -> ApiResult<usize> {
    match q.get("maxResults") {
        None => Ok(1000),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(ApiError::validation(format!(
                "1 validation error detected: Value '{raw}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
            ))),
        },
    }
}

/// `statusEquals`, one of the statuses a List shows, as the job statuses it matches (a
/// deployment listed as `Active` may be updating).
fn status_filter(facts: &Facts, q: &HashMap<String, String>) -> ApiResult<Option<Vec<Status>>> {
    let Some(wanted) = q.get("statusEquals").map(|s| Status::parse(s)) else {
        return Ok(None);
    };
    let listed = facts.listed_statuses();
    if !listed.contains(&wanted) {
        let names: Vec<&str> = listed.iter().map(Status::as_str).collect();
        return Err(enum_error("statusEquals", wanted.as_str(), &names));
    }
    let shown: Vec<Status> = facts
        .statuses
        .iter()
        .filter(|s| facts.listed_as(s) == wanted)
        .cloned()
        .collect();
    Ok(Some(shown))
}

pub fn enum_error(member: &str, value: &str, allowed: &[&str]) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    ))
}

/// Accepts the ISO-8601 forms the SDKs send (and epoch seconds, as some clients do).
pub fn timestamp(member: &str, raw: &str) -> ApiResult<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    raw.parse::<f64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp_millis((secs * 1000.0) as i64))
        .ok_or_else(|| {
            ApiError::validation(format!(
                "Value '{raw}' at '{member}' is not a valid timestamp"
            ))
        })
}

/// `[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*`, 1..=63 characters (batch and import job names).
pub fn job_name(member: &str, name: &str) -> ApiResult<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if first_ok && rest_ok && name.len() <= 63 {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9\\+\\-\\.])* and length 1..63"
        )))
    }
}

/// The identifier in a path: an ARN of the family or what else it accepts, at most 1011
/// characters.
pub fn identifier(facts: &Facts, raw: &str) -> ApiResult<()> {
    let bad = || {
        ApiError::validation(format!(
            "'{raw}' is not a valid {} identifier",
            facts.arn_resource
        ))
    };
    if raw.is_empty() || raw.len() > 1011 {
        return Err(bad());
    }
    if raw.starts_with("arn:") {
        let resource = format!(":{}/", facts.arn_resource);
        let valid = raw.starts_with("arn:aws")
            && raw.contains(":bedrock:")
            && raw.contains(&resource)
            && raw.rsplit('/').next().is_some_and(is_id);
        return if valid { Ok(()) } else { Err(bad()) };
    }
    let valid = match facts.identifier {
        Identifier::JobId => is_id(raw),
        Identifier::Any => true,
        Identifier::JobName => job_name("jobIdentifier", raw).is_ok(),
        Identifier::ArnOnly => false,
        Identifier::ResourceName => resource_name(raw),
    };
    if valid {
        Ok(())
    } else {
        Err(bad())
    }
}

/// A resource name: 1..=63 of `[a-zA-Z0-9-_.+]`, starting with a letter or digit (the
/// service's patterns differ slightly per resource; this is their common core).
pub fn resource_name(s: &str) -> bool {
    s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
}

fn is_id(s: &str) -> bool {
    s.len() == 12
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A JSON request body as an object (the SDKs always send one).
pub fn body(raw: &[u8]) -> ApiResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::validation(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::new(
            "SerializationException",
            axum::http::StatusCode::BAD_REQUEST,
            format!("Could not parse the request body: {e}"),
        )),
    }
}

/// A JSON body that may be empty (operations whose members are all optional).
pub fn body_or_empty(raw: &[u8]) -> ApiResult<Map<String, Value>> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    body(raw)
}

pub fn required_str<'a>(body: &'a Map<String, Value>, member: &str) -> ApiResult<&'a str> {
    body.get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| missing(member))
}

pub fn required_obj<'a>(body: &'a Map<String, Value>, member: &str) -> ApiResult<&'a Value> {
    body.get(member)
        .filter(|v| v.is_object())
        .ok_or_else(|| missing(member))
}

pub fn missing(member: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

/// The S3 URI nested at `path` in the body, validated as `s3://bucket/...`.
pub fn s3_uri(value: &Value, path: &[&str]) -> ApiResult<String> {
    let member = path.join(".");
    let uri = path
        .iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .ok_or_else(|| missing(&member))?;
    let bucket = uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split('/').next());
    match bucket {
        Some(b) if (3..=63).contains(&b.len()) => Ok(uri.to_owned()),
        _ => Err(ApiError::validation(format!(
            "Value '{uri}' at '{member}' failed to satisfy constraint: Member must be an S3 URI"
        ))),
    }
}

/// The value of the `emulator:outcome` tag, which picks the terminal status auto-advance uses.
pub fn outcome_tag(tags: Option<&Value>) -> Option<Status> {
    tags?.as_array()?.iter().find_map(|tag| {
        (tag.get("key")?.as_str()? == "emulator:outcome")
            .then(|| tag.get("value")?.as_str().map(Status::parse))
            .flatten()
    })
}
