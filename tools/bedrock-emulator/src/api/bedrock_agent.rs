//! The `bedrock-agent` operations of knowledge-base ingestion (restJson1): knowledge bases, data
//! sources and ingestion jobs, with the List operations' real sorting, filters and paging.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::input;
use crate::error::{ApiError, ApiResult};
use crate::knowledge::{self, DataSource, KnowledgeBase};
use crate::lifecycle;
use crate::model::{iso, Job, JobKind, Status};
use crate::scoped::Scoped;

type Created = ApiResult<(StatusCode, Json<Value>)>;

/// `maxResults` (1..=1000, default 1000) and `nextToken` of a List body.
fn paging(body: &Map<String, Value>) -> ApiResult<(usize, Option<String>)> {
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

fn optional_str(body: &Map<String, Value>, member: &str) -> Option<String> {
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

fn with_token(mut out: Value, next: Option<String>) -> Value {
    if let Some(t) = next {
        out["nextToken"] = json!(t);
    }
    out
}

/// `IngestionJob` (Get, Start, Stop) and, without `failureReasons`, `IngestionJobSummary`.
pub fn render_job(job: &Job, full: bool) -> Value {
    let mut v = json!({
        "knowledgeBaseId": job.spec_str("knowledgeBaseId"),
        "dataSourceId": job.spec_str("dataSourceId"),
        "ingestionJobId": job.id,
        "status": job.status,
        "startedAt": iso(job.submit_time),
        "updatedAt": iso(job.last_modified_time),
    });
    if let Some(d) = job.spec_str("description") {
        v["description"] = json!(d);
    }
    if let Some(s) = job.spec.get("statistics") {
        v["statistics"] = s.clone();
    }
    if full {
        if let Some(m) = &job.message {
            v["failureReasons"] = json!([m]);
        }
    }
    v
}

/// The `emulator:outcome=STATUS` word in a job's description picks how it ends.
fn outcome_in(description: Option<&str>) -> Option<Status> {
    let word = description?
        .split_whitespace()
        .find_map(|w| w.strip_prefix("emulator:outcome="))?;
    Some(Status::parse(word))
}

pub async fn start_ingestion_job(
    app: Scoped,
    Path((kb_id, ds_id)): Path<(String, String)>,
    raw: Bytes,
) -> Created {
    app.enter("StartIngestionJob").await?;
    let body = input::body_or_empty(&raw)?;
    let mut store = app.store.write().await;
    let kb_arn = store.knowledge.base(&kb_id)?.arn.clone();
    store.knowledge.source(&kb_id, &ds_id)?;
    let token = optional_str(&body, "clientToken");
    if let Some(existing) = token
        .as_deref()
        .and_then(|t| store.by_token(JobKind::KbIngestion, t))
    {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "ingestionJob": render_job(existing, true) })),
        ));
    }
    let description = optional_str(&body, "description");
    let planned_outcome = outcome_in(description.as_deref()).or_else(|| {
        app.settings.auto_advance.then(|| {
            app.with_rng(|rng| {
                app.settings
                    .lifecycle
                    .pick_outcome(JobKind::KbIngestion, rng)
            })
        })
    });
    let job = new_ingestion_job(&app, &kb_arn, &ds_id, description, token, planned_outcome);
    let view = render_job(&job, true);
    store.insert(job);
    Ok((StatusCode::ACCEPTED, Json(json!({ "ingestionJob": view }))))
}

/// A `STARTING` ingestion job of the data source `ds_id` of the knowledge base `kb_arn`.
pub fn new_ingestion_job(
    app: &Scoped,
    kb_arn: &str,
    ds_id: &str,
    description: Option<String>,
    token: Option<String>,
    planned_outcome: Option<Status>,
) -> Job {
    let id = app.new_agent_id();
    let kb_id = kb_arn.rsplit('/').next().unwrap_or_default();
    let mut spec = Map::new();
    spec.insert("knowledgeBaseId".into(), json!(kb_id));
    spec.insert("dataSourceId".into(), json!(ds_id));
    if let Some(d) = description {
        spec.insert("description".into(), json!(d));
    }
    let now = Utc::now();
    Job {
        // Ingestion jobs take no tags (their knowledge base does).
        tags: Default::default(),
        kind: JobKind::KbIngestion,
        arn: format!("{kb_arn}/data-source/{ds_id}/ingestion-job/{id}"),
        id,
        name: None,
        status: Status::Starting,
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

/// The ingestion job `job_id` of that data source, or `ResourceNotFoundException`.
fn find_job<'a>(
    store: &'a crate::store::Store,
    kb: &str,
    ds: &str,
    job_id: &str,
) -> ApiResult<&'a Job> {
    store.knowledge.source(kb, ds)?;
    store
        .find(JobKind::KbIngestion, job_id)
        .filter(|j| {
            j.spec_str("knowledgeBaseId") == Some(kb) && j.spec_str("dataSourceId") == Some(ds)
        })
        .ok_or_else(|| {
            ApiError::not_found(format!("Ingestion job with id {job_id} does not exist"))
        })
}

pub async fn get_ingestion_job(
    app: Scoped,
    Path((kb_id, ds_id, job_id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    app.enter("GetIngestionJob").await?;
    let store = app.store.read().await;
    let job = find_job(&store, &kb_id, &ds_id, &job_id)?;
    Ok(Json(json!({ "ingestionJob": render_job(job, true) })))
}

pub async fn stop_ingestion_job(
    app: Scoped,
    Path((kb_id, ds_id, job_id)): Path<(String, String, String)>,
) -> Created {
    app.enter("StopIngestionJob").await?;
    let mut store = app.store.write().await;
    let arn = find_job(&store, &kb_id, &ds_id, &job_id)?.arn.clone();
    let job = store.find_any_mut(&arn).ok_or_else(|| {
        ApiError::not_found(format!("Ingestion job with id {job_id} does not exist"))
    })?;
    if job.status.is_terminal() || job.status.is_stopping() {
        return Err(ApiError::conflict(format!(
            "The ingestion job {job_id} can't be stopped because it is in status {}.",
            job.status
        )));
    }
    lifecycle::transition(job, Status::IngestionStopping, None, Utc::now());
    job.planned_outcome = Some(Status::IngestionStopped);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "ingestionJob": render_job(job, true) })),
    ))
}

/// Sort key of a listed job: (status or "", started at, id).
type SortKey = (String, i64, String);

/// `sortBy` and `filters` of `ListIngestionJobs`, validated against the service model.
struct JobQuery {
    by_status: bool,
    ascending: bool,
    statuses: Option<Vec<Status>>,
}

fn job_query(body: &Map<String, Value>) -> ApiResult<JobQuery> {
    let sort = body.get("sortBy").filter(|v| !v.is_null());
    let attribute = sort
        .map(|s| {
            s.get("attribute")
                .and_then(Value::as_str)
                .ok_or_else(|| input::missing("sortBy.attribute"))
        })
        .transpose()?;
    let order = sort
        .map(|s| {
            s.get("order")
                .and_then(Value::as_str)
                .ok_or_else(|| input::missing("sortBy.order"))
        })
        .transpose()?;
    let by_status = match attribute {
        None | Some("STARTED_AT") => false,
        Some("STATUS") => true,
        Some(other) => {
            return Err(input::enum_error(
                "sortBy.attribute",
                other,
                &["STATUS", "STARTED_AT"],
            ))
        }
    };
    // Without sortBy the emulator lists newest first (the service does not document a default).
    let ascending = match order {
        None | Some("DESCENDING") => false,
        Some("ASCENDING") => true,
        Some(other) => {
            return Err(input::enum_error(
                "sortBy.order",
                other,
                &["ASCENDING", "DESCENDING"],
            ))
        }
    };
    let statuses = match body.get("filters").and_then(Value::as_array) {
        None => None,
        Some(filters) if filters.len() != 1 => {
            return Err(ApiError::validation("1 validation error detected: Value at 'filters' failed to satisfy constraint: Member must have length 1"))
        }
        Some(filters) => Some(status_filter(&filters[0])?),
    };
    Ok(JobQuery {
        by_status,
        ascending,
        statuses,
    })
}

fn status_filter(filter: &Value) -> ApiResult<Vec<Status>> {
    let attribute = filter
        .get("attribute")
        .and_then(Value::as_str)
        .ok_or_else(|| input::missing("filters.member.attribute"))?;
    if attribute != "STATUS" {
        return Err(input::enum_error(
            "filters.member.attribute",
            attribute,
            &["STATUS"],
        ));
    }
    let operator = filter
        .get("operator")
        .and_then(Value::as_str)
        .ok_or_else(|| input::missing("filters.member.operator"))?;
    if operator != "EQ" {
        return Err(input::enum_error(
            "filters.member.operator",
            operator,
            &["EQ"],
        ));
    }
    let values = filter
        .get("values")
        .and_then(Value::as_array)
        .filter(|v| (1..=10).contains(&v.len()));
    let values = values.ok_or_else(|| ApiError::validation("Value at 'filters.member.values' failed to satisfy constraint: Member must have length between 1 and 10"))?;
    let allowed = JobKind::KbIngestion.status_names();
    values
        .iter()
        .map(|v| {
            let raw = v.as_str().unwrap_or_default();
            if allowed.contains(&raw) {
                Ok(Status::parse(raw))
            } else {
                Err(input::enum_error(
                    "filters.member.values.member",
                    raw,
                    &allowed,
                ))
            }
        })
        .collect()
}

fn encode(key: &SortKey) -> String {
    format!("v1~{}~{}~{}", key.0, key.1, key.2)
}

fn decode(token: &str) -> ApiResult<SortKey> {
    let invalid = || ApiError::validation("The pagination token is not valid.");
    let mut parts = token.splitn(4, '~');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(status), Some(nanos), Some(id)) if !id.is_empty() => Ok((
            status.to_owned(),
            nanos.parse().map_err(|_| invalid())?,
            id.to_owned(),
        )),
        _ => Err(invalid()),
    }
}

pub async fn list_ingestion_jobs(
    app: Scoped,
    Path((kb_id, ds_id)): Path<(String, String)>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    app.enter("ListIngestionJobs").await?;
    let body = input::body_or_empty(&raw)?;
    let (max, token) = paging(&body)?;
    let query = job_query(&body)?;
    let cursor = token.as_deref().map(decode).transpose()?;
    let store = app.store.read().await;
    store.knowledge.source(&kb_id, &ds_id)?;
    let key = |j: &Job| -> SortKey {
        let status = if query.by_status {
            j.status.as_str().to_owned()
        } else {
            String::new()
        };
        (
            status,
            j.submit_time.timestamp_nanos_opt().unwrap_or(i64::MAX),
            j.id.clone(),
        )
    };
    let mut jobs: Vec<(SortKey, &Job)> = store
        .of_kind(JobKind::KbIngestion)
        .filter(|j| j.spec_str("knowledgeBaseId") == Some(kb_id.as_str()))
        .filter(|j| j.spec_str("dataSourceId") == Some(ds_id.as_str()))
        .filter(|j| {
            query
                .statuses
                .as_ref()
                .is_none_or(|s| s.contains(&j.status))
        })
        .map(|j| (key(j), j))
        .collect();
    jobs.sort_by(|a, b| a.0.cmp(&b.0));
    if !query.ascending {
        jobs.reverse();
    }
    let after_cursor = |k: &SortKey| match &cursor {
        None => true,
        Some(c) if query.ascending => k > c,
        Some(c) => k < c,
    };
    let mut page: Vec<&(SortKey, &Job)> = jobs
        .iter()
        .filter(|(k, _)| after_cursor(k))
        .take(max + 1)
        .collect();
    let next = (page.len() > max).then(|| {
        page.truncate(max);
        page.last().map(|(k, _)| encode(k))
    });
    let summaries: Vec<Value> = page.iter().map(|(_, j)| render_job(j, false)).collect();
    Ok(Json(with_token(
        json!({ "ingestionJobSummaries": summaries }),
        next.flatten(),
    )))
}
