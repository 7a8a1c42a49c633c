//! Data Automation library ingestion jobs on `bedrock-data-automation` (restJson1):
//! `InvokeDataAutomationLibraryIngestionJob` (`PUT`), `GetDataAutomationLibraryIngestionJob` and
//! `ListDataAutomationLibraryIngestionJobs` (both `POST` with a JSON body), in a library
//! (`CreateDataAutomationLibrary`, `ListDataAutomationLibraries`), kept in the store's `parents`
//! by ARN. There is no Stop.
//!
//! Both ARNs (library, job) travel percent-encoded in one path segment each, decoded by the
//! extractor. The collection URIs end in `/`: the Rust SDK drops it, the CLI keeps it.
//!
//! A job's ARN (`data-automation-library-ingestion-job/{id}`) does not name its library, and
//! Get needs both: the emulator names a job as the pollers do,
//! `{library ARN}/library-ingestion-job/{id}`, and answers the real ARN on the wire.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use serde_json::{json, Map, Value};

use crate::api::bedrock_agent::{paging, with_token};
use crate::api::{input, jobs, tagging};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::{ListQuery, Store};

type Created = ApiResult<(StatusCode, Json<Value>)>;

pub struct LibraryIngestion;

static FACTS: Facts = Facts {
    kind: JobKind::LibraryIngestion,
    arn_resource: "data-automation-library-ingestion-job",
    statuses: &[
        Status::IngestionInProgress,
        Status::BuildCompleted,
        Status::CompletedWithErrors,
        Status::IngestionFailed,
    ],
    initial: Status::IngestionInProgress,
    steps: &[],
    shown_as: &[],
    // Its own operations validate the library and job ARNs.
    identifier: Identifier::Any,
    tag_member: Some("tags"),
    names_identify: false,
    named: false,
    // The error of a job that failed or ended with errors is what its notifications show.
    details_when_forced: true,
};

const LIBRARIES: &str = "/data-automation-libraries";
const JOBS: &str = "/data-automation-libraries/{library}/library-ingestion-jobs";

impl Family for LibraryIngestion {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route(
                &format!("{LIBRARIES}/"),
                put(create_library).post(list_libraries),
            )
            .route(LIBRARIES, put(create_library).post(list_libraries))
            .route(&format!("{JOBS}/"), put(invoke).post(list))
            .route(JOBS, put(invoke).post(list))
            .route(&format!("{JOBS}/{{job}}"), post(get_one))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        render_job(job, view == View::Full)
    }

    fn finish(&self, job: &mut Job, _: &mut StdRng) {
        let (kind, message) = match job.status {
            Status::CompletedWithErrors => ("PartialIngestion", "3 of 120 vocabulary entities were not ingested: phrase exceeds 256 characters."),
            Status::IngestionFailed => ("ValidationError", "The input file is not a valid vocabulary manifest (line 1: expected a JSON object)."),
            _ => return,
        };
        if job.message.is_none() {
            job.message = Some(message.into());
            job.spec.insert("errorType".into(), kind.into());
        }
    }

    fn produce(&self, _: &App, _: &mut Job, _: DateTime<Utc>) -> Option<Job> {
        None
    }

    fn event(&self, _: &Job, _: &Scope) -> ApiResult<Value> {
        Err(events::none())
    }

    /// A `seeded-library` library, made on first use.
    fn seed_place(
        &self,
        app: &Scoped,
        store: &mut Store,
        _: SeedTarget,
    ) -> ApiResult<Option<Place>> {
        let library = new_library(app, "seeded0library0001", "seeded-library", Utc::now());
        let arn = library["libraryArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        store.parents.entry(arn.clone()).or_insert(library);
        Ok(Some((arn, String::new())))
    }

    /// Seeded jobs draw an id of their own shape (a UUID).
    fn seed_job(&self, app: &Scoped, place: Option<&Place>, _: String) -> Seeded {
        let (library, _) = place.cloned().unwrap_or_default();
        let id = app.new_uuid();
        let spec = json!({
            "libraryArn": library,
            "entityType": "VOCABULARY",
            "operationType": "UPSERT",
            "outputConfiguration": {"s3Uri": "s3://seeded-output/library-ingestion/"},
        });
        Seeded::new(
            id.clone(),
            format!("{library}/library-ingestion-job/{id}"),
            spec,
        )
    }
}

fn new_library(app: &Scoped, id: &str, name: &str, now: DateTime<Utc>) -> Value {
    json!({
        "libraryArn": app.arn("data-automation-library", id),
        "libraryName": name,
        "creationTime": iso(now),
    })
}

fn arn_error(member: &str, raw: &str, resource: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{raw}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(|-cn|-iso|-iso-[a-z]|-us-gov):bedrock:[a-zA-Z0-9-]*:[0-9]{{12}}:{resource}/[a-zA-Z0-9-]{{12,36}}"
    ))
}

/// An ARN of `resource` whose id is `[a-zA-Z0-9-]{12,36}`; its id.
fn arn_id<'a>(member: &str, raw: &'a str, resource: &str) -> ApiResult<&'a str> {
    let id = raw
        .strip_prefix("arn:aws")
        .and_then(|_| raw.split_once(&format!(":{resource}/")))
        .map(|(_, id)| id)
        .filter(|id| (12..=36).contains(&id.len()))
        .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    id.ok_or_else(|| arn_error(member, raw, resource))
}

/// The library a path names (validated, then found), or `ResourceNotFoundException`.
fn library<'a>(store: &'a Store, raw: &str) -> ApiResult<&'a Value> {
    arn_id("libraryArn", raw, "data-automation-library")?;
    store
        .parents
        .get(raw)
        .ok_or_else(|| ApiError::not_found(format!("Data Automation library {raw} not found.")))
}

/// `CreateDataAutomationLibrary` (`PUT`): `libraryName` `[a-zA-Z0-9-_]+`, 1..=128.
async fn create_library(app: Scoped, raw: Bytes) -> Created {
    app.enter("CreateDataAutomationLibrary").await?;
    let body = input::body(&raw)?;
    let name = input::required_str(&body, "libraryName")?;
    let valid = (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'libraryName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+"
        )));
    }
    tagging::parse_tags("tags", body.get("tags"))?;
    let mut store = app.store.write().await;
    let taken = store.parents.values().any(|p| p["libraryName"] == name);
    if taken {
        return Err(ApiError::conflict(format!(
            "A library named {name} already exists."
        )));
    }
    let library = new_library(&app, &app.new_uuid(), name, Utc::now());
    let arn = library["libraryArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    store.parents.insert(arn.clone(), library);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "libraryArn": arn, "status": "ACTIVE" })),
    ))
}

/// `ListDataAutomationLibraries` (`POST`): the scope's libraries by ARN. A `projectFilter` is
/// validated; no library belongs to a project here, so a filtered listing is empty.
async fn list_libraries(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("ListDataAutomationLibraries").await?;
    let body = input::body_or_empty(&raw)?;
    let (max, token) = paging(&body)?;
    let filtered = body.get("projectFilter").filter(|f| !f.is_null());
    if let Some(filter) = filtered {
        let project = filter["projectArn"]
            .as_str()
            .ok_or_else(|| input::missing("projectFilter.projectArn"))?;
        arn_id(
            "projectFilter.projectArn",
            project,
            "data-automation-project",
        )?;
        if let Some(stage) = filter["projectStage"]
            .as_str()
            .filter(|s| !["DEVELOPMENT", "LIVE"].contains(s))
        {
            return Err(input::enum_error(
                "projectFilter.projectStage",
                stage,
                &["DEVELOPMENT", "LIVE"],
            ));
        }
    }
    let after = token
        .map(|t| {
            t.strip_prefix("v1.")
                .map(str::to_owned)
                .ok_or_else(|| ApiError::validation("The pagination token is not valid."))
        })
        .transpose()?;
    let store = app.store.read().await;
    let mut libraries: Vec<&Value> = store
        .parents
        .iter()
        .filter(|(arn, _)| arn.contains(":data-automation-library/") && filtered.is_none())
        .filter(|(arn, _)| after.as_ref().is_none_or(|a| arn.as_str() > a.as_str()))
        .map(|(_, l)| l)
        .take(max + 1)
        .collect();
    let next = (libraries.len() > max).then(|| {
        libraries.truncate(max);
        libraries
            .last()
            .map(|l| format!("v1.{}", l["libraryArn"].as_str().unwrap_or_default()))
    });
    Ok(Json(with_token(
        json!({ "libraries": libraries }),
        next.flatten(),
    )))
}

/// `DataAutomationLibraryIngestionJob` (Get) or its summary (List).
fn render_job(job: &Job, full: bool) -> Value {
    let (region, account) =
        Scope::of_arn(&job.arn).map_or_else(Default::default, |s| (s.region, s.account));
    let mut v = json!({
        "jobArn": format!("arn:aws:bedrock:{region}:{account}:{}/{}", FACTS.arn_resource, job.id),
        "jobStatus": job.status,
        "entityType": job.spec_str("entityType"),
        "operationType": job.spec_str("operationType"),
        "creationTime": iso(job.submit_time),
    });
    if let Some(end) = job.end_time {
        v["completionTime"] = json!(iso(end));
    }
    if full {
        v["outputConfiguration"] = job
            .spec
            .get("outputConfiguration")
            .cloned()
            .unwrap_or(Value::Null);
        if let Some(m) = &job.message {
            v["errorMessage"] = json!(m);
        }
        if let Some(t) = job.spec_str("errorType") {
            v["errorType"] = json!(t);
        }
    }
    v
}

fn required_enum(body: &Map<String, Value>, member: &str, allowed: &[&str]) -> ApiResult<String> {
    let value = input::required_str(body, member)?;
    if !allowed.contains(&value) {
        return Err(input::enum_error(member, value, allowed));
    }
    Ok(value.to_owned())
}

/// The members of the Invoke body, checked as the service model says.
fn invoke_input(body: &Map<String, Value>) -> ApiResult<()> {
    required_enum(body, "entityType", &["VOCABULARY"])?;
    required_enum(body, "operationType", &["UPSERT", "DELETE"])?;
    input::s3_uri(
        &Value::Object(body.clone()),
        &["outputConfiguration", "s3Uri"],
    )?;
    let source = input::required_obj(body, "inputConfiguration")?;
    match (source.get("s3Object"), source.get("inlinePayload")) {
        (Some(_), None) => input::s3_uri(source, &["s3Object", "s3Uri"]).map(drop),
        (None, Some(_)) => Ok(()),
        _ => Err(ApiError::validation(
            "1 validation error detected: Value at 'inputConfiguration' failed to satisfy constraint: Member must have exactly one of s3Object, inlinePayload",
        )),
    }?;
    tagging::parse_tags("tags", body.get("tags")).map(drop)
}

/// `InvokeDataAutomationLibraryIngestionJob` (`PUT`, idempotent by `clientToken`): 201.
async fn invoke(app: Scoped, Path(library_arn): Path<String>, raw: Bytes) -> Created {
    app.enter("InvokeDataAutomationLibraryIngestionJob").await?;
    let mut body = input::body(&raw)?;
    invoke_input(&body)?;
    let mut store = app.store.write().await;
    library(&store, &library_arn)?;
    let token = body
        .remove("clientToken")
        .and_then(|t| t.as_str().map(str::to_owned));
    if let Some(existing) = token.as_deref().and_then(|t| store.by_token(FACTS.kind, t)) {
        return Ok((
            StatusCode::CREATED,
            Json(json!({ "jobArn": render_job(existing, false)["jobArn"] })),
        ));
    }
    let planned_outcome =
        input::outcome_tag(body.get("tags")).or_else(|| jobs::planned(&app, &FACTS));
    let tags = tagging::parse_tags("tags", body.get("tags")).unwrap_or_default();
    body.insert("libraryArn".into(), json!(library_arn));
    let id = app.new_uuid();
    let now = Utc::now();
    let job = Job {
        tags,
        kind: FACTS.kind,
        arn: format!("{library_arn}/library-ingestion-job/{id}"),
        id,
        name: None,
        status: FACTS.initial.clone(),
        message: None,
        submit_time: now,
        last_modified_time: now,
        end_time: None,
        client_request_token: token,
        counts: Default::default(),
        spec: body,
        planned_outcome,
    };
    let arn = render_job(&job, false)["jobArn"].clone();
    store.insert(job, FACTS.names_identify);
    Ok((StatusCode::CREATED, Json(json!({ "jobArn": arn }))))
}

/// `GetDataAutomationLibraryIngestionJob` (`POST`, no body).
async fn get_one(
    app: Scoped,
    Path((library_arn, job_arn)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    app.enter("GetDataAutomationLibraryIngestionJob").await?;
    let id = arn_id("jobArn", &job_arn, FACTS.arn_resource)?;
    let store = app.store.read().await;
    library(&store, &library_arn)?;
    let job = store
        .find(FACTS.kind, id)
        .filter(|j| j.spec_str("libraryArn") == Some(library_arn.as_str()))
        .ok_or_else(|| {
            ApiError::not_found(format!("Library ingestion job {job_arn} not found."))
        })?;
    Ok(Json(json!({ "job": render_job(job, true) })))
}

/// `ListDataAutomationLibraryIngestionJobs` (`POST`): the library's jobs, newest first.
async fn list(app: Scoped, Path(library_arn): Path<String>, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("ListDataAutomationLibraryIngestionJobs").await?;
    let body = input::body_or_empty(&raw)?;
    let (max, token) = paging(&body)?;
    let store = app.store.read().await;
    library(&store, &library_arn)?;
    let query = ListQuery {
        spec_equals: vec![("libraryArn", library_arn)],
        max_results: max,
        next_token: token,
        ascending: false,
        ..Default::default()
    };
    let page = store.list(FACTS.kind, &query)?;
    let jobs: Vec<Value> = page.jobs.iter().map(|j| render_job(j, false)).collect();
    Ok(Json(with_token(json!({ "jobs": jobs }), page.next_token)))
}
