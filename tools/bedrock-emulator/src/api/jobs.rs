//! The operations every `bedrock` job family shares, given the family: create (with client
//! tokens and tags), Get, List (filters, sorting, keyset paging) and Stop.

use std::collections::HashMap;

use axum::Json;
use serde_json::{json, Map, Value};

use super::input::{self, ListParams};
use super::tagging;
use crate::error::{ApiError, ApiResult};
use crate::family::{Facts, Family, View};
use crate::model::{Job, Status};
use crate::scoped::Scoped;

/// Creates a job (or returns the one a repeated `clientRequestToken` already created), with the
/// tags of the operation's tag member.
pub async fn create(
    app: &Scoped,
    family: &dyn Family,
    name: Option<&str>,
    body: &Map<String, Value>,
) -> ApiResult<String> {
    let facts = family.facts();
    let job_tags = match facts.tag_member {
        Some(member) => tagging::parse_tags(member, body.get(member))?,
        None => Default::default(),
    };
    let token = body
        .get("clientRequestToken")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut store = app.store.write().await;
    if let Some(existing) = token.as_deref().and_then(|t| store.by_token(facts.kind, t)) {
        return Ok(existing.arn.clone());
    }
    let id = app.new_id();
    let tags = body
        .get("tags")
        .or_else(|| body.get("jobTags"))
        .or_else(|| body.get("targetModelTags"));
    let planned_outcome = input::outcome_tag(tags).or_else(|| planned(app, facts));
    let job = new_job(app, facts, id, name, body, token, planned_outcome);
    let arn = job.arn.clone();
    store.insert(
        Job {
            tags: job_tags,
            ..job
        },
        facts.names_identify,
    );
    Ok(arn)
}

/// The outcome a new job advances to in `--auto-advance` mode.
pub fn planned(app: &Scoped, facts: &Facts) -> Option<Status> {
    app.settings
        .auto_advance
        .then(|| app.with_rng(|rng| app.settings.lifecycle.pick_outcome(facts.statuses, rng)))
}

/// A new job of the create request `body`.
fn new_job(
    app: &Scoped,
    facts: &Facts,
    id: String,
    name: Option<&str>,
    body: &Map<String, Value>,
    token: Option<String>,
    planned_outcome: Option<Status>,
) -> Job {
    let now = chrono::Utc::now();
    let mut spec = body.clone();
    spec.remove("clientRequestToken");
    spec.remove("jobName");
    spec.remove("modelInput");
    spec.remove("baseModelId");
    Job {
        kind: facts.kind,
        arn: match body.get("baseModelId").and_then(Value::as_str) {
            // Customization ARNs carry the base model: model-customization-job/{model}/{id}.
            Some(base) => app.arn(&format!("{}/{base}", facts.arn_resource), &id),
            None => app.arn(facts.arn_resource, &id),
        },
        id,
        name: name.map(str::to_owned),
        status: facts.initial.clone(),
        message: None,
        submit_time: now,
        last_modified_time: now,
        end_time: None,
        client_request_token: token,
        counts: Default::default(),
        spec,
        planned_outcome,
        tags: Default::default(),
    }
}

/// Refuses a name another job of the family already has, unless the create is a retry (the
/// same client token).
pub async fn name_in_use(
    app: &Scoped,
    facts: &Facts,
    body: &Map<String, Value>,
    name: &str,
) -> bool {
    let store = app.store.read().await;
    let token = body.get("clientRequestToken").and_then(Value::as_str);
    let retried = token.is_some_and(|t| store.by_token(facts.kind, t).is_some());
    store.name_taken(facts.kind, name) && !retried
}

pub async fn get(app: &Scoped, family: &dyn Family, id: &str) -> ApiResult<Json<Value>> {
    let facts = family.facts();
    input::identifier(facts, id)?;
    let store = app.store.read().await;
    let job = store
        .find(facts.kind, id)
        .ok_or_else(|| not_found(facts, id))?;
    Ok(Json(family.render(job, View::Full)))
}

/// The family-specific filters of a List call, on the create request's members.
#[derive(Debug, Default)]
pub struct SpecFilters {
    pub equals: Vec<(&'static str, String)>,
    pub contains: Vec<(&'static str, String)>,
}

pub async fn list(
    app: &Scoped,
    family: &dyn Family,
    params: &ListParams,
    q: &HashMap<String, String>,
    member: &str,
    filters: SpecFilters,
) -> ApiResult<Json<Value>> {
    let facts = family.facts();
    let mut query = input::list_query(facts, params, q)?;
    query.spec_equals = filters.equals;
    query.spec_contains = filters.contains;
    let store = app.store.read().await;
    let page = store.list(facts.kind, &query)?;
    let summaries: Vec<Value> = page
        .jobs
        .iter()
        .map(|j| family.render(j, View::Summary))
        .collect();
    let mut out = Map::new();
    out.insert(member.to_owned(), Value::Array(summaries));
    if let Some(token) = page.next_token {
        out.insert("nextToken".into(), Value::String(token));
    }
    Ok(Json(Value::Object(out)))
}

/// Moves a running job to `Stopping`; it reaches `Stopped` one lifecycle step later.
pub async fn stop(app: &Scoped, facts: &Facts, id: &str) -> ApiResult<Json<Value>> {
    input::identifier(facts, id)?;
    let mut store = app.store.write().await;
    let job = store
        .find_mut(facts.kind, id)
        .ok_or_else(|| not_found(facts, id))?;
    if job.status.is_terminal() || job.status.is_stopping() {
        return Err(ApiError::conflict(format!(
            "The job {} can't be stopped because it is in status {}.",
            job.arn, job.status
        )));
    }
    job.transition(Status::Stopping, None, chrono::Utc::now());
    job.planned_outcome = Some(Status::Stopped);
    Ok(Json(json!({})))
}

pub fn not_found(facts: &Facts, id: &str) -> ApiError {
    ApiError::not_found(format!(
        "The {} {id} could not be found.",
        facts.arn_resource
    ))
}
