//! Knowledge-base ingestion jobs on `bedrock-agent` (`StartIngestionJob`, `GetIngestionJob`,
//! `ListIngestionJobs`, `StopIngestionJob`), in a data source of a knowledge base (see
//! `api/bedrock_agent.rs`), with `ListIngestionJobs`' real sorting, filters and paging.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::api::bedrock_agent::{optional_str, paging, with_token};
use crate::api::{input, jobs};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::knowledge::{DataSource, KnowledgeBase};
use crate::model::{iso, Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::Store;

type Created = ApiResult<(StatusCode, Json<Value>)>;

pub struct KbIngestion;

static FACTS: Facts = Facts {
    kind: JobKind::KbIngestion,
    // Ingestion jobs have no ARN: the emulator names them like the pollers do,
    // `{knowledge base ARN}/data-source/{id}/ingestion-job/{id}`.
    arn_resource: "ingestion-job",
    statuses: &[
        Status::Starting,
        Status::IngestionInProgress,
        Status::Complete,
        Status::IngestionFailed,
        Status::IngestionStopping,
        Status::IngestionStopped,
    ],
    initial: Status::Starting,
    steps: &[(Status::Starting, Status::IngestionInProgress)],
    shown_as: &[],
    // Its own operations validate its ids (`[0-9a-zA-Z]{10}`).
    identifier: Identifier::Any,
    // StartIngestionJob takes no tags (the knowledge base does).
    tag_member: None,
    names_identify: false,
    named: false,
    // Ingestion statistics are what its notifications show.
    details_when_forced: true,
};

const JOBS: &str = "/knowledgebases/{kb}/datasources/{ds}/ingestionjobs";

impl Family for KbIngestion {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    /// bedrock-agent's collection URIs end in `/`; the Rust SDK drops it, the CLI keeps it.
    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route(&format!("{JOBS}/"), put(start).post(list))
            .route(JOBS, put(start).post(list))
            .route(&format!("{JOBS}/{{job}}"), get(get_one))
            .route(&format!("{JOBS}/{{job}}/stop"), post(stop))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        render_job(job, view == View::Full)
    }

    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        statistics(job, rng)
    }

    fn produce(&self, _: &App, _: &mut Job, _: DateTime<Utc>) -> Option<Job> {
        None
    }

    fn event(&self, _: &Job, _: &Scope) -> ApiResult<Value> {
        Err(events::none())
    }

    fn seed_place(
        &self,
        app: &Scoped,
        store: &mut Store,
        target: SeedTarget,
    ) -> ApiResult<Option<Place>> {
        seeded_place(app, store, target).map(Some)
    }

    /// Seeded ingestion jobs draw an id of their own shape.
    fn seed_job(&self, app: &Scoped, place: Option<&Place>, id: String) -> Seeded {
        let (id, arn) = match place {
            Some((kb_arn, ds)) => {
                let id = app.new_agent_id();
                let arn = format!("{kb_arn}/data-source/{ds}/ingestion-job/{id}");
                (id, arn)
            }
            None => (id.clone(), app.arn(FACTS.arn_resource, &id)),
        };
        let (kb_arn, ds) = place.cloned().unwrap_or_default();
        let spec = json!({
            "knowledgeBaseId": kb_arn.rsplit('/').next().unwrap_or_default(),
            "dataSourceId": ds,
        });
        Seeded::new(id, arn, spec)
    }
}

/// An ingestion job's statistics (and failure reasons when it failed), as `GetIngestionJob`
/// reports them.
fn statistics(job: &mut Job, rng: &mut StdRng) {
    let scanned: i64 = rng.random_range(10..=5000);
    let failed = match job.status {
        Status::IngestionFailed => scanned,
        Status::Complete => rng.random_range(0..=scanned / 50),
        _ => 0,
    };
    let indexed = match job.status {
        Status::IngestionStopped => rng.random_range(0..scanned - failed),
        _ => scanned - failed,
    };
    let modified = rng.random_range(0..=indexed / 4);
    job.spec.insert(
        "statistics".into(),
        serde_json::json!({
            "numberOfDocumentsScanned": scanned,
            "numberOfMetadataDocumentsScanned": 0,
            "numberOfNewDocumentsIndexed": indexed - modified,
            "numberOfModifiedDocumentsIndexed": modified,
            "numberOfMetadataDocumentsModified": 0,
            "numberOfDocumentsDeleted": rng.random_range(0..=scanned / 100),
            "numberOfDocumentsFailed": failed,
            "numberOfDocumentsSkipped": 0,
        }),
    );
    if job.status == Status::IngestionFailed && job.message.is_none() {
        job.message = Some(
            "The knowledge base role is not authorized to perform s3:GetObject on the data source bucket."
                .into(),
        );
    }
}

/// The knowledge base and data source a seed names (which must exist), or the default ones
/// (a `seeded-kb` knowledge base with a `seeded-source` data source, made on first use).
fn seeded_place(app: &Scoped, store: &mut Store, target: SeedTarget) -> ApiResult<Place> {
    let registry = &mut store.knowledge;
    if let (Some(kb), Some(ds)) = (target.knowledge_base_id, target.data_source_id) {
        let arn = registry.base(kb)?.arn.clone();
        registry.source(kb, ds)?;
        return Ok((arn, ds.to_owned()));
    }
    let kb_id = "SEEDEDKB01".to_owned();
    let ds_id = "SEEDEDDS01".to_owned();
    let now = Utc::now();
    let kb = registry.bases.entry(kb_id.clone()).or_insert_with(|| KnowledgeBase {
        id: kb_id.clone(),
        arn: app.arn("knowledge-base", &kb_id),
        name: "seeded-kb".into(),
        description: None,
        role_arn: format!("arn:aws:iam::{}:role/KnowledgeBaseRole", app.scope.account),
        configuration: json!({"type": "VECTOR", "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": format!("arn:aws:bedrock:{}::foundation-model/amazon.titan-embed-text-v2:0", app.scope.region)}}),
        storage: None,
        created: now,
    });
    let arn = kb.arn.clone();
    registry.sources.entry((kb_id.clone(), ds_id.clone())).or_insert_with(|| DataSource {
        kb_id,
        id: ds_id.clone(),
        name: "seeded-source".into(),
        description: None,
        configuration: json!({"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::seeded-documents"}}),
        deletion_policy: None,
        created: now,
    });
    Ok((arn, ds_id))
}

/// `IngestionJob` (Get, Start, Stop) and, without `failureReasons`, `IngestionJobSummary`.
fn render_job(job: &Job, full: bool) -> Value {
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

async fn start(app: Scoped, Path((kb_id, ds_id)): Path<(String, String)>, raw: Bytes) -> Created {
    app.enter("StartIngestionJob").await?;
    let body = input::body_or_empty(&raw)?;
    let mut store = app.store.write().await;
    let kb_arn = store.knowledge.base(&kb_id)?.arn.clone();
    store.knowledge.source(&kb_id, &ds_id)?;
    let token = optional_str(&body, "clientToken");
    if let Some(existing) = token.as_deref().and_then(|t| store.by_token(FACTS.kind, t)) {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "ingestionJob": render_job(existing, true) })),
        ));
    }
    let description = optional_str(&body, "description");
    let planned_outcome =
        outcome_in(description.as_deref()).or_else(|| jobs::planned(&app, &FACTS));
    let job = new_ingestion_job(&app, &kb_arn, &ds_id, description, token, planned_outcome);
    let view = render_job(&job, true);
    store.insert(job, FACTS.names_identify);
    Ok((StatusCode::ACCEPTED, Json(json!({ "ingestionJob": view }))))
}

/// A `STARTING` ingestion job of the data source `ds_id` of the knowledge base `kb_arn`.
fn new_ingestion_job(
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
        .find(FACTS.kind, job_id)
        .filter(|j| {
            j.spec_str("knowledgeBaseId") == Some(kb) && j.spec_str("dataSourceId") == Some(ds)
        })
        .ok_or_else(|| {
            ApiError::not_found(format!("Ingestion job with id {job_id} does not exist"))
        })
}

async fn get_one(
    app: Scoped,
    Path((kb_id, ds_id, job_id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    app.enter("GetIngestionJob").await?;
    let store = app.store.read().await;
    let job = find_job(&store, &kb_id, &ds_id, &job_id)?;
    Ok(Json(json!({ "ingestionJob": render_job(job, true) })))
}

async fn stop(
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
    job.transition(Status::IngestionStopping, None, Utc::now());
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
    let allowed = FACTS.status_names();
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

/// The data source's jobs that pass the filters, in the query's order.
fn sorted_jobs<'a>(
    store: &'a Store,
    kb_id: &str,
    ds_id: &str,
    query: &JobQuery,
) -> Vec<(SortKey, &'a Job)> {
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
        .of_kind(FACTS.kind)
        .filter(|j| j.spec_str("knowledgeBaseId") == Some(kb_id))
        .filter(|j| j.spec_str("dataSourceId") == Some(ds_id))
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
    jobs
}

async fn list(
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
    let jobs = sorted_jobs(&store, &kb_id, &ds_id, &query);
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
