//! The `bedrock-agent` containers of knowledge-base ingestion (restJson1): knowledge bases and
//! data sources, with the List operations' paging. Their ingestion jobs are a job family
//! (`families/kb_ingestion.rs`).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::input;
use crate::error::{ApiError, ApiResult};
use crate::knowledge::{self, DataSource, KnowledgeBase};
use crate::scoped::Scoped;

type Created = ApiResult<(StatusCode, Json<Value>)>;

/// `maxResults` (1..=1000, default 1000) and `nextToken` of a List body.
pub fn paging(body: &Map<String, Value>) -> ApiResult<(usize, Option<String>)> {
    let max = match body.get("maxResults") {
        None | Some(Value::Null) => 1000,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=1000).contains(&n) => n as usize,
            _ => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
                )))
            }
        },
    };
    let token = body.get("nextToken").and_then(Value::as_str);
    if token.is_some_and(|t| t.is_empty() || t.len() > 2048) {
        return Err(ApiError::validation("The pagination token is not valid."));
    }
    Ok((max, token.map(str::to_owned)))
}

/// `([0-9a-zA-Z][_-]?){1,100}` (knowledge base and data source names).
fn name(body: &Map<String, Value>) -> ApiResult<String> {
    let name = input::required_str(body, "name")?;
    let valid = !name.is_empty()
        && name.len() <= 200
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("__")
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ([0-9a-zA-Z][_-]?){{1,100}}"
        )))
    }
}

/// The `type` of a configuration object, one of `allowed`.
fn typed_config(body: &Map<String, Value>, member: &str, allowed: &[&str]) -> ApiResult<Value> {
    let config = input::required_obj(body, member)?;
    let kind = config
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| input::missing(&format!("{member}.type")))?;
    if !allowed.contains(&kind) {
        return Err(ApiError::validation(format!(
            "Value '{kind}' at '{member}.type' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        )));
    }
    Ok(config.clone())
}

pub fn optional_str(body: &Map<String, Value>, member: &str) -> Option<String> {
    body.get(member).and_then(Value::as_str).map(str::to_owned)
}

pub async fn create_knowledge_base(app: Scoped, raw: Bytes) -> Created {
    app.enter("CreateKnowledgeBase").await?;
    let body = input::body(&raw)?;
    let name = name(&body)?;
    let role_arn = input::required_str(&body, "roleArn")?.to_owned();
    let configuration = typed_config(
        &body,
        "knowledgeBaseConfiguration",
        &["VECTOR", "KENDRA", "SQL", "MANAGED"],
    )?;
    let mut store = app.store.write().await;
    let registry = &mut store.knowledge;
    let token = optional_str(&body, "clientToken");
    let retried = token.as_ref().and_then(|t| registry.tokens.get(t)).cloned();
    let id = retried.unwrap_or_else(|| app.new_agent_id());
    let kb = registry
        .bases
        .entry(id.clone())
        .or_insert_with(|| KnowledgeBase {
            arn: app.arn("knowledge-base", &id),
            id: id.clone(),
            name,
            description: optional_str(&body, "description"),
            role_arn,
            configuration,
            storage: body.get("storageConfiguration").cloned(),
            created: Utc::now(),
        })
        .clone();
    if let Some(t) = token {
        registry.tokens.insert(t, id);
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "knowledgeBase": knowledge::render_base(&kb) })),
    ))
}

pub async fn get_knowledge_base(app: Scoped, Path(kb_id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetKnowledgeBase").await?;
    let store = app.store.read().await;
    let kb = store.knowledge.base(&kb_id)?;
    Ok(Json(json!({ "knowledgeBase": knowledge::render_base(kb) })))
}

pub async fn list_knowledge_bases(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("ListKnowledgeBases").await?;
    let (max, token) = paging(&input::body_or_empty(&raw)?)?;
    let store = app.store.read().await;
    let (bases, next) = store.knowledge.bases_page(max, token.as_deref())?;
    let summaries: Vec<Value> = bases
        .into_iter()
        .map(knowledge::render_base_summary)
        .collect();
    Ok(Json(with_token(
        json!({ "knowledgeBaseSummaries": summaries }),
        next,
    )))
}

pub async fn create_data_source(
    app: Scoped,
    Path(kb_id): Path<String>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    app.enter("CreateDataSource").await?;
    let body = input::body(&raw)?;
    let name = name(&body)?;
    let configuration = typed_config(
        &body,
        "dataSourceConfiguration",
        &[
            "S3",
            "WEB",
            "CONFLUENCE",
            "SALESFORCE",
            "SHAREPOINT",
            "CUSTOM",
            "REDSHIFT_METADATA",
        ],
    )?;
    let mut store = app.store.write().await;
    store.knowledge.base(&kb_id)?;
    let registry = &mut store.knowledge;
    let token = optional_str(&body, "clientToken");
    let retried = token.as_ref().and_then(|t| registry.tokens.get(t)).cloned();
    let id = retried.unwrap_or_else(|| app.new_agent_id());
    let ds = registry
        .sources
        .entry((kb_id.clone(), id.clone()))
        .or_insert_with(|| DataSource {
            kb_id,
            id: id.clone(),
            name,
            description: optional_str(&body, "description"),
            configuration,
            deletion_policy: optional_str(&body, "dataDeletionPolicy"),
            created: Utc::now(),
        })
        .clone();
    if let Some(t) = token {
        registry.tokens.insert(t, id);
    }
    Ok(Json(json!({ "dataSource": knowledge::render_source(&ds) })))
}

pub async fn list_data_sources(
    app: Scoped,
    Path(kb_id): Path<String>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    app.enter("ListDataSources").await?;
    let (max, token) = paging(&input::body_or_empty(&raw)?)?;
    let store = app.store.read().await;
    let (sources, next) = store
        .knowledge
        .sources_page(&kb_id, max, token.as_deref())?;
    let summaries: Vec<Value> = sources
        .into_iter()
        .map(knowledge::render_source_summary)
        .collect();
    Ok(Json(with_token(
        json!({ "dataSourceSummaries": summaries }),
        next,
    )))
}

pub fn with_token(mut out: Value, next: Option<String>) -> Value {
    if let Some(t) = next {
        out["nextToken"] = json!(t);
    }
    out
}
