//! Flow executions on `bedrock-agent-runtime` (`StartFlowExecution`, `GetFlowExecution`,
//! `ListFlowExecutions`, `StopFlowExecution`), run by an alias of a flow, and the flows and
//! aliases they run in on `bedrock-agent` (`CreateFlow`, `ListFlows`, `CreateFlowAlias`), kept
//! in the store's `parents` by ARN.
//!
//! Both services sign as `bedrock` and share the `/flows/` prefix: `GET /flows/{id}/executions`
//! (runtime) and the agent's own routes differ by their last segment. The collection URI of
//! `CreateFlow`/`ListFlows` ends in `/`: the Rust SDK drops it, the CLI keeps it. ARN-valued
//! identifiers arrive percent-encoded in one segment and are decoded by the extractor.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use serde_json::{json, Map, Value};

use crate::api::bedrock_agent::with_token;
use crate::api::{input, jobs};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::{ListQuery, Store};

type Created = ApiResult<(StatusCode, Json<Value>)>;
type Params = Query<std::collections::HashMap<String, String>>;

pub struct FlowExecution;

static FACTS: Facts = Facts {
    kind: JobKind::FlowExecution,
    // Executions are named below their flow and alias
    // (`flow/{id}/alias/{id}/execution/{id}`); this word only keeps the facts' resources apart.
    arn_resource: "flow-execution",
    statuses: &[
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::TimedOut,
        Status::Aborted,
    ],
    initial: Status::Running,
    steps: &[],
    shown_as: &[],
    // Its own operations validate flow, alias and execution identifiers.
    identifier: Identifier::Any,
    // StartFlowExecution takes no tags (the flow and the alias do).
    tag_member: None,
    names_identify: false,
    named: false,
    // The errors of a failed or timed-out execution are what its notifications show.
    details_when_forced: true,
};

/// The model's page cap: `flowSummaries` and `flowExecutionSummaries` hold at most 10 items,
/// whatever `maxResults` asks.
const MODEL_PAGE: usize = 10;

const EXECUTIONS: &str = "/flows/{flow}/aliases/{alias}/executions";

impl Family for FlowExecution {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route("/flows/", post(create_flow).get(list_flows))
            .route("/flows", post(create_flow).get(list_flows))
            .route("/flows/{flow}/aliases", post(create_alias))
            .route("/flows/{flow}/executions", get(list))
            .route(EXECUTIONS, post(start))
            .route(&format!("{EXECUTIONS}/{{execution}}"), get(get_one))
            .route(&format!("{EXECUTIONS}/{{execution}}/stop"), post(stop))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        render_execution(job, view == View::Full)
    }

    fn finish(&self, job: &mut Job, _: &mut StdRng) {
        if job.message.is_none() {
            job.message = match job.status {
                Status::Failed => Some("Node InvokeModel failed: the model returned a ValidationException: input is too long for the requested model.".into()),
                Status::TimedOut => Some("The flow execution did not finish within 24 hours.".into()),
                _ => None,
            };
        }
    }

    fn produce(&self, _: &App, _: &mut Job, _: DateTime<Utc>) -> Option<Job> {
        None
    }

    fn event(&self, _: &Job, _: &Scope) -> ApiResult<Value> {
        Err(events::none())
    }

    /// A `seeded-flow` flow with a `live` alias, made on first use.
    fn seed_place(
        &self,
        app: &Scoped,
        store: &mut Store,
        _: SeedTarget,
    ) -> ApiResult<Option<Place>> {
        let now = Utc::now();
        let flow = new_flow(app, "SEEDEDFLW1", "seeded-flow", None, now);
        let flow_arn = flow["arn"].as_str().unwrap_or_default().to_owned();
        store.parents.entry(flow_arn.clone()).or_insert(flow);
        let alias = new_alias(
            &flow_arn,
            "SEEDEDALI1",
            "live",
            json!([{"flowVersion": "1"}]),
            now,
        );
        let alias_arn = alias["arn"].as_str().unwrap_or_default().to_owned();
        store.parents.entry(alias_arn).or_insert(alias);
        Ok(Some((flow_arn, "SEEDEDALI1".into())))
    }

    /// Seeded executions draw an id of their own shape (a UUID).
    fn seed_job(&self, app: &Scoped, place: Option<&Place>, _: String) -> Seeded {
        let (flow_arn, alias) = place.cloned().unwrap_or_default();
        let id = app.new_uuid();
        let arn = format!("{flow_arn}/alias/{alias}/execution/{id}");
        let spec = json!({
            "flowIdentifier": tail(&flow_arn),
            "flowAliasIdentifier": alias,
            "flowVersion": "1",
        });
        Seeded::new(id, arn, spec)
    }
}

/// What follows the last `/` (an id, from an id or an ARN).
fn tail(raw: &str) -> &str {
    raw.rsplit('/').next().unwrap_or(raw)
}

fn alphanumeric(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `FlowIdentifier`: a 10-character id or the flow's ARN; the flow's ARN in this scope.
fn flow_arn(app: &Scoped, raw: &str) -> ApiResult<String> {
    let arn_shaped = raw.starts_with("arn:aws")
        && raw.contains(":flow/")
        && alphanumeric(tail(raw), 10)
        && raw.matches('/').count() == 1;
    if arn_shaped {
        return Ok(raw.to_owned());
    }
    if alphanumeric(raw, 10) {
        return Ok(app.arn("flow", raw));
    }
    Err(ApiError::validation(format!(
        "1 validation error detected: Value '{raw}' at 'flowIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(arn:aws:bedrock:[a-z0-9-]{{1,20}}:[0-9]{{12}}:flow/[0-9a-zA-Z]{{10}})|([0-9a-zA-Z]{{10}})$"
    )))
}

/// The flow a path names, or `ResourceNotFoundException`.
fn flow<'a>(app: &Scoped, store: &'a Store, raw: &str) -> ApiResult<&'a Value> {
    let arn = flow_arn(app, raw)?;
    store
        .parents
        .get(&arn)
        .ok_or_else(|| ApiError::not_found(format!("Flow {} not found.", tail(&arn))))
}

/// The alias id a path names (`TSTALIASID`, an id, or the alias ARN) and the flow version it
/// runs, or `ResourceNotFoundException`.
fn alias(store: &Store, flow: &Value, raw: &str) -> ApiResult<(String, String)> {
    let flow_arn = flow["arn"].as_str().unwrap_or_default();
    let id = tail(raw);
    if id == "TSTALIASID" {
        return Ok((id.to_owned(), "DRAFT".into()));
    }
    let found = store
        .parents
        .get(&format!("{flow_arn}/alias/{id}"))
        .filter(|_| !raw.starts_with("arn:") || raw == format!("{flow_arn}/alias/{id}"));
    let alias = found.ok_or_else(|| {
        ApiError::not_found(format!(
            "Flow alias {id} not found for flow {}.",
            tail(flow_arn)
        ))
    })?;
    let version = alias["routingConfiguration"][0]["flowVersion"]
        .as_str()
        .unwrap_or("DRAFT");
    Ok((id.to_owned(), version.to_owned()))
}

fn new_flow(
    app: &Scoped,
    id: &str,
    name: &str,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "id": id,
        "arn": app.arn("flow", id),
        "name": name,
        "description": description,
        "executionRoleArn": format!("arn:aws:iam::{}:role/FlowExecutionRole", app.scope.account),
        // No PrepareFlow here: a flow is prepared as soon as it exists.
        "status": "Prepared",
        "createdAt": iso(now),
        "updatedAt": iso(now),
        "version": "DRAFT",
    })
}

fn new_alias(flow_arn: &str, id: &str, name: &str, routing: Value, now: DateTime<Utc>) -> Value {
    json!({
        "id": id,
        "flowId": tail(flow_arn),
        "arn": format!("{flow_arn}/alias/{id}"),
        "name": name,
        "routingConfiguration": routing,
        "createdAt": iso(now),
        "updatedAt": iso(now),
    })
}

/// `([0-9a-zA-Z][_-]?){1,100}`: flow and alias names.
fn name(body: &Map<String, Value>) -> ApiResult<String> {
    let name = input::required_str(body, "name")?;
    let valid = (1..=200).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("__")
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match valid {
        true => Ok(name.to_owned()),
        false => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ([0-9a-zA-Z][_-]?){{1,100}}"
        ))),
    }
}

/// `CreateFlow` (bedrock-agent): `name` and `executionRoleArn`; the definition is echoed.
async fn create_flow(app: Scoped, raw: Bytes) -> Created {
    app.enter("CreateFlow").await?;
    let body = input::body(&raw)?;
    let name = name(&body)?;
    let role = input::required_str(&body, "executionRoleArn")?;
    if !(role.starts_with("arn:aws") && role.contains(":role/")) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{role}' at 'executionRoleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:iam::([0-9]{{12}})?:role/(service-role/)?.+"
        )));
    }
    let mut store = app.store.write().await;
    let taken = store
        .parents
        .values()
        .any(|p| p["name"] == name.as_str() && p.get("flowId").is_none());
    if taken {
        return Err(ApiError::conflict(format!(
            "A flow named {name} already exists."
        )));
    }
    let description = body.get("description").and_then(Value::as_str);
    let mut flow = new_flow(&app, &app.new_agent_id(), &name, description, Utc::now());
    flow["executionRoleArn"] = json!(role);
    if let Some(definition) = body.get("definition") {
        flow["definition"] = definition.clone();
    }
    let arn = flow["arn"].as_str().unwrap_or_default().to_owned();
    store.parents.insert(arn, flow.clone());
    Ok((StatusCode::CREATED, Json(without_nulls(flow))))
}

fn without_nulls(mut v: Value) -> Value {
    if let Value::Object(map) = &mut v {
        map.retain(|_, v| !v.is_null());
    }
    v
}

/// `maxResults` (1..=1000) and `nextToken` of a query string; the page holds at most
/// [`MODEL_PAGE`].
fn query_paging(
    q: &std::collections::HashMap<String, String>,
) -> ApiResult<(usize, Option<String>)> {
    let max = match q.get("maxResults") {
        None => MODEL_PAGE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n.min(MODEL_PAGE),
            _ => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{raw}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
                )))
            }
        },
    };
    let token = q.get("nextToken").cloned();
    if token
        .as_ref()
        .is_some_and(|t| t.is_empty() || t.len() > 2048)
    {
        return Err(ApiError::validation("The pagination token is not valid."));
    }
    Ok((max, token))
}

/// `ListFlows` (bedrock-agent): the scope's flows by ARN, at most 10 a page.
async fn list_flows(app: Scoped, Query(q): Params) -> ApiResult<Json<Value>> {
    app.enter("ListFlows").await?;
    let (max, token) = query_paging(&q)?;
    let after = token
        .map(|t| {
            t.strip_prefix("v1.")
                .map(str::to_owned)
                .ok_or_else(|| ApiError::validation("The pagination token is not valid."))
        })
        .transpose()?;
    let store = app.store.read().await;
    let mut flows: Vec<&Value> = store
        .parents
        .iter()
        .filter(|(arn, p)| p.get("flowId").is_none() && arn.contains(":flow/"))
        .filter(|(arn, _)| after.as_ref().is_none_or(|a| arn.as_str() > a.as_str()))
        .map(|(_, p)| p)
        .take(max + 1)
        .collect();
    let next = (flows.len() > max).then(|| {
        flows.truncate(max);
        flows
            .last()
            .map(|f| format!("v1.{}", f["arn"].as_str().unwrap_or_default()))
    });
    let summaries: Vec<Value> = flows
        .iter()
        .map(|f| {
            let keep = [
                "name",
                "description",
                "id",
                "arn",
                "status",
                "createdAt",
                "updatedAt",
                "version",
            ];
            let map: Map<String, Value> = keep
                .iter()
                .filter_map(|k| {
                    f.get(*k)
                        .filter(|v| !v.is_null())
                        .map(|v| (k.to_string(), v.clone()))
                })
                .collect();
            Value::Object(map)
        })
        .collect();
    Ok(Json(with_token(
        json!({ "flowSummaries": summaries }),
        next.flatten(),
    )))
}

/// `CreateFlowAlias` (bedrock-agent): one routing entry naming the version it runs.
async fn create_alias(app: Scoped, Path(flow_id): Path<String>, raw: Bytes) -> Created {
    app.enter("CreateFlowAlias").await?;
    let body = input::body(&raw)?;
    let name = name(&body)?;
    let routing = body
        .get("routingConfiguration")
        .and_then(Value::as_array)
        .ok_or_else(|| input::missing("routingConfiguration"))?;
    if routing.len() != 1 {
        return Err(ApiError::validation("1 validation error detected: Value at 'routingConfiguration' failed to satisfy constraint: Member must have length less than or equal to 1"));
    }
    let mut store = app.store.write().await;
    let flow_arn = flow(&app, &store, &flow_id)?["arn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut alias = new_alias(
        &flow_arn,
        &app.new_agent_id(),
        &name,
        Value::Array(routing.clone()),
        Utc::now(),
    );
    if let Some(d) = body.get("description") {
        alias["description"] = d.clone();
    }
    store.parents.insert(
        alias["arn"].as_str().unwrap_or_default().to_owned(),
        alias.clone(),
    );
    Ok((StatusCode::CREATED, Json(alias)))
}

/// `FlowExecutionSummary` (List) or `GetFlowExecution`'s answer.
fn render_execution(job: &Job, full: bool) -> Value {
    let mut v = json!({
        "executionArn": job.arn,
        "flowIdentifier": job.spec_str("flowIdentifier"),
        "flowAliasIdentifier": job.spec_str("flowAliasIdentifier"),
        "flowVersion": job.spec_str("flowVersion"),
        "status": job.status,
    });
    // Get says `startedAt`, the summary `createdAt`.
    let started = if full { "startedAt" } else { "createdAt" };
    v[started] = json!(iso(job.submit_time));
    if let Some(end) = job.end_time {
        v["endedAt"] = json!(iso(end));
    }
    if full {
        if let Some(m) = &job.message {
            let mut error = json!({ "message": m, "nodeName": "InvokeModel" });
            if job.status == Status::TimedOut {
                error = json!({ "error": "ExecutionTimedOut", "message": m });
            }
            v["errors"] = json!([error]);
        }
    }
    v
}

/// The `emulator:outcome=STATUS` word in the input document picks how the execution ends.
fn outcome_in(inputs: &Value) -> Option<Status> {
    let document = inputs[0]["content"]["document"].to_string();
    let word = document
        .split(|c: char| c.is_whitespace() || c == '"')
        .find_map(|w| w.strip_prefix("emulator:outcome="))?;
    Some(Status::parse(word))
}

/// The members of `StartFlowExecution`'s body, checked as the service model says.
fn start_input(body: &Map<String, Value>) -> ApiResult<(Value, Option<String>)> {
    let inputs = body
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| input::missing("inputs"))?;
    if inputs.len() != 1 {
        return Err(ApiError::validation("1 validation error detected: Value at 'inputs' failed to satisfy constraint: Member must have length less than or equal to 1"));
    }
    for member in ["nodeName", "content"] {
        if inputs[0].get(member).is_none_or(Value::is_null) {
            return Err(input::missing(&format!("inputs.1.member.{member}")));
        }
    }
    let latency = body
        .get("modelPerformanceConfiguration")
        .and_then(|m| m["performanceConfig"]["latency"].as_str());
    if let Some(latency) = latency.filter(|l| !["standard", "optimized"].contains(l)) {
        return Err(input::enum_error(
            "modelPerformanceConfiguration.performanceConfig.latency",
            latency,
            &["standard", "optimized"],
        ));
    }
    let name = body.get("flowExecutionName").and_then(Value::as_str);
    let valid_name = |n: &str| {
        (1..=36).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if let Some(n) = name.filter(|n| !valid_name(n)) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'flowExecutionName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9-]{{1,36}}$"
        )));
    }
    Ok((Value::Array(inputs.clone()), name.map(str::to_owned)))
}

async fn start(
    app: Scoped,
    Path((flow_id, alias_id)): Path<(String, String)>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    app.enter("StartFlowExecution").await?;
    let body = input::body(&raw)?;
    let (inputs, name) = start_input(&body)?;
    let mut store = app.store.write().await;
    let flow = flow(&app, &store, &flow_id)?;
    let flow_arn = flow["arn"].as_str().unwrap_or_default().to_owned();
    let (alias, version) = alias(&store, flow, &alias_id)?;
    let planned_outcome = outcome_in(&inputs).or_else(|| jobs::planned(&app, &FACTS));
    let id = app.new_uuid();
    let now = Utc::now();
    let mut spec = Map::new();
    spec.insert("flowIdentifier".into(), json!(tail(&flow_arn)));
    spec.insert("flowAliasIdentifier".into(), json!(alias));
    spec.insert("flowVersion".into(), json!(version));
    let job = Job {
        tags: Default::default(),
        kind: FACTS.kind,
        arn: format!("{flow_arn}/alias/{alias}/execution/{id}"),
        id,
        name,
        status: FACTS.initial.clone(),
        message: None,
        submit_time: now,
        last_modified_time: now,
        end_time: None,
        client_request_token: None,
        counts: Default::default(),
        spec,
        planned_outcome,
    };
    let arn = job.arn.clone();
    store.insert(job, FACTS.names_identify);
    Ok(Json(json!({ "executionArn": arn })))
}

/// The execution a path names, in that flow and alias, or `ResourceNotFoundException`.
fn find<'a>(
    app: &Scoped,
    store: &'a Store,
    (flow_id, alias_id, execution): &(String, String, String),
) -> ApiResult<&'a Job> {
    let flow = flow(app, store, flow_id)?;
    let (alias, _) = alias(store, flow, alias_id)?;
    let flow_id = flow["id"].as_str().unwrap_or_default();
    store
        .find(FACTS.kind, tail(execution))
        .filter(|j| j.spec_str("flowIdentifier") == Some(flow_id))
        .filter(|j| j.spec_str("flowAliasIdentifier") == Some(alias.as_str()))
        .ok_or_else(|| {
            ApiError::not_found(format!("Flow execution {} not found.", tail(execution)))
        })
}

async fn get_one(
    app: Scoped,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    app.enter("GetFlowExecution").await?;
    let store = app.store.read().await;
    Ok(Json(render_execution(find(&app, &store, &path)?, true)))
}

async fn stop(app: Scoped, Path(path): Path<(String, String, String)>) -> ApiResult<Json<Value>> {
    app.enter("StopFlowExecution").await?;
    let mut store = app.store.write().await;
    let arn = find(&app, &store, &path)?.arn.clone();
    let job = store
        .find_any_mut(&arn)
        .ok_or_else(|| ApiError::not_found(format!("Flow execution {} not found.", path.2)))?;
    if job.status.is_terminal() {
        return Err(ApiError::conflict(format!(
            "The flow execution {} can't be stopped because it is in status {}.",
            job.id, job.status
        )));
    }
    job.transition(Status::Aborted, None, Utc::now());
    job.planned_outcome = None;
    Ok(Json(
        json!({ "executionArn": job.arn, "status": job.status }),
    ))
}

/// `ListFlowExecutions`: a flow's executions (of one alias when `flowAliasIdentifier` is
/// given), newest first, at most 10 a page.
async fn list(
    app: Scoped,
    Path(flow_id): Path<String>,
    Query(q): Params,
) -> ApiResult<Json<Value>> {
    app.enter("ListFlowExecutions").await?;
    let (max, token) = query_paging(&q)?;
    let store = app.store.read().await;
    let flow = flow(&app, &store, &flow_id)?;
    let mut spec_equals = vec![(
        "flowIdentifier",
        flow["id"].as_str().unwrap_or_default().to_owned(),
    )];
    if let Some(raw) = q.get("flowAliasIdentifier") {
        spec_equals.push(("flowAliasIdentifier", alias(&store, flow, raw)?.0));
    }
    let query = ListQuery {
        spec_equals,
        max_results: max,
        next_token: token,
        ascending: false,
        ..Default::default()
    };
    let page = store.list(FACTS.kind, &query)?;
    let summaries: Vec<Value> = page
        .jobs
        .iter()
        .map(|j| render_execution(j, false))
        .collect();
    Ok(Json(with_token(
        json!({ "flowExecutionSummaries": summaries }),
        page.next_token,
    )))
}
