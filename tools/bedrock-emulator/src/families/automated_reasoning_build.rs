//! Automated Reasoning policy build workflows on the `bedrock` control plane
//! (`StartAutomatedReasoningPolicyBuildWorkflow`, `GetAutomatedReasoningPolicyBuildWorkflow`,
//! `ListAutomatedReasoningPolicyBuildWorkflows`, `CancelAutomatedReasoningPolicyBuildWorkflow`,
//! `GetAutomatedReasoningPolicyBuildWorkflowResultAssets`) and the policies they run in
//! (`CreateAutomatedReasoningPolicy`, `ListAutomatedReasoningPolicies`), as botocore's model
//! has them. The policy ARN is a path label (percent-encoded by the SDKs, decoded by the
//! router). Workflows are listed newest first (the service does not document its order).
//!
//! A workflow has no ARN: the emulator names it like the pollers do,
//! `{policyArn}/build-workflow/{buildWorkflowId}`. `emulator:outcome=STATUS` in the source
//! document's description picks how it ends.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{body::Bytes, Json, Router};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::api::{input, jobs};
use crate::app::App;
use crate::details;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::Store;

pub struct AutomatedReasoningBuild;

static FACTS: Facts = Facts {
    kind: JobKind::AutomatedReasoningBuild,
    arn_resource: "build-workflow",
    statuses: &[
        Status::BuildScheduled,
        Status::CancelRequested,
        Status::Preprocessing,
        Status::Building,
        Status::Testing,
        Status::BuildCompleted,
        Status::IngestionFailed,
        Status::Cancelled,
    ],
    initial: Status::BuildScheduled,
    steps: &[
        (Status::BuildScheduled, Status::Preprocessing),
        (Status::Preprocessing, Status::Building),
        (Status::Building, Status::Testing),
        (Status::CancelRequested, Status::Cancelled),
    ],
    shown_as: &[],
    // Its own operations validate the policy ARN and the workflow id.
    identifier: Identifier::Any,
    // Start takes no tags (the policy does).
    tag_member: None,
    names_identify: false,
    named: false,
    // The quality report and the build log's errors are what its notifications show.
    details_when_forced: true,
};

const POLICIES: &str = "/automated-reasoning-policies";
const WORKFLOWS: &str = "/automated-reasoning-policies/{policy}/build-workflows";
const TYPES: [&str; 7] = [
    "INGEST_CONTENT",
    "REFINE_POLICY",
    "IMPORT_POLICY",
    "GENERATE_FIDELITY_REPORT",
    "GENERATE_POLICY_SCENARIOS",
    "RESOLVE_POLICY_AMBIGUITIES",
    "ITERATIVELY_REFINE_POLICY",
];
const ASSETS: [&str; 8] = [
    "BUILD_LOG",
    "QUALITY_REPORT",
    "POLICY_DEFINITION",
    "GENERATED_TEST_CASES",
    "POLICY_SCENARIOS",
    "FIDELITY_REPORT",
    "ASSET_MANIFEST",
    "SOURCE_DOCUMENT",
];
const FAILURE: &str = "The source document could not be translated into a policy: no rules could be extracted from it.";

impl Family for AutomatedReasoningBuild {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route(POLICIES, post(create_policy).get(list_policies))
            .route(WORKFLOWS, get(list))
            .route(&format!("{WORKFLOWS}/{{id}}"), get(get_one))
            .route(&format!("{WORKFLOWS}/{{id}}/start"), post(start))
            .route(&format!("{WORKFLOWS}/{{id}}/cancel"), post(cancel))
            .route(&format!("{WORKFLOWS}/{{id}}/result-assets"), get(assets))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        render_workflow(job, view == View::Full)
    }

    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        details::draw_total(rng);
        match job.status {
            Status::BuildCompleted => {
                let rules = rng.random_range(5..=60);
                let report = json!({
                    "typeCount": rng.random_range(1..=8), "variableCount": rng.random_range(4..=40),
                    "ruleCount": rules, "unusedTypes": [], "unusedTypeValues": [],
                    "unusedVariables": ["is_contractor"], "conflictingRules": ["R7", "R9"],
                    "disjointRuleSets": [],
                });
                job.spec.insert("qualityReport".into(), report);
            }
            Status::IngestionFailed if job.message.is_none() => {
                job.message = Some(FAILURE.to_owned())
            }
            _ => {}
        }
    }

    fn produce(&self, _: &App, _: &mut Job, _: DateTime<Utc>) -> Option<Job> {
        None
    }

    fn event(&self, _: &Job, _: &Scope) -> ApiResult<Value> {
        Err(events::none())
    }

    /// Seeded workflows go into a `seeded-policy` policy, made on first use.
    fn seed_place(
        &self,
        app: &Scoped,
        store: &mut Store,
        _: SeedTarget,
    ) -> ApiResult<Option<Place>> {
        let existing = policies(store).find(|p| p["name"] == "seeded-policy");
        let arn = match existing {
            Some(p) => p["policyArn"].as_str().unwrap_or_default().to_owned(),
            None => insert_policy(app, store, "seeded-policy", None)["policyArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        Ok(Some((arn, String::new())))
    }

    fn seed_job(&self, app: &Scoped, place: Option<&Place>, _: String) -> Seeded {
        let policy = place.map(|(p, _)| p.clone()).unwrap_or_default();
        let id = uuid_v4(app);
        let spec = json!({
            "policyArn": policy,
            "buildWorkflowType": "INGEST_CONTENT",
            "documentName": "hr-leave-policy.pdf",
            "documentContentType": "pdf",
        });
        Seeded::new(id.clone(), format!("{policy}/build-workflow/{id}"), spec)
    }
}

/// A UUID version 4, as the model's `buildWorkflowId` pattern requires.
fn uuid_v4(app: &Scoped) -> String {
    let mut id = app.new_uuid().into_bytes();
    id[14] = b'4';
    id[19] = b"89ab"[usize::from(id[19]) % 4];
    String::from_utf8(id).unwrap_or_default()
}

/// `AutomatedReasoningPolicyBuildWorkflowSummary` and, with the document, the Get output.
fn render_workflow(job: &Job, full: bool) -> Value {
    let mut v = json!({
        "policyArn": job.spec_str("policyArn"),
        "buildWorkflowId": job.id,
        "status": job.status,
        "buildWorkflowType": job.spec_str("buildWorkflowType"),
        "createdAt": iso(job.submit_time),
        "updatedAt": iso(job.last_modified_time),
    });
    if full {
        for key in ["documentName", "documentContentType", "documentDescription"] {
            if let Some(value) = job.spec_str(key) {
                v[key] = json!(value);
            }
        }
    }
    v
}

/// Every policy of the scope, ordered by ARN (the List's order; ARNs page as tokens).
fn policies(store: &Store) -> impl Iterator<Item = &Value> {
    store
        .containers
        .iter()
        .filter(|(arn, _)| arn.contains(":automated-reasoning-policy/"))
        .map(|(_, p)| p)
}

fn insert_policy(app: &Scoped, store: &mut Store, name: &str, description: Option<&str>) -> Value {
    let id = app.new_id();
    let arn = app.arn("automated-reasoning-policy", &id);
    let now = iso(Utc::now());
    let mut policy = json!({
        "policyArn": arn, "name": name, "version": "DRAFT", "policyId": id,
        "createdAt": now, "updatedAt": now,
    });
    if let Some(d) = description {
        policy["description"] = json!(d);
    }
    store.containers.insert(arn, policy.clone());
    policy
}

/// The policy a path names, or `ResourceNotFoundException`.
fn policy<'a>(store: &'a Store, arn: &str) -> ApiResult<&'a Value> {
    let valid = arn.starts_with("arn:aws") && arn.contains(":automated-reasoning-policy/");
    if !valid || arn.len() > 2048 {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{arn}' at 'policyArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{{1,20}}:[0-9]{{12}}:automated-reasoning-policy/[a-z0-9]{{12}}(:([1-9][0-9]{{0,11}}))?"
        )));
    }
    store
        .containers
        .get(arn)
        .ok_or_else(|| ApiError::not_found(format!("The policy {arn} could not be found.")))
}

/// `maxResults` (1..=1000, default 1000) and `nextToken` of a List.
fn paging(q: &HashMap<String, String>) -> ApiResult<(usize, Option<String>)> {
    let max = match q.get("maxResults") {
        None => 1000,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{raw}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
            ))),
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

/// One page of `items` after `token` (an item's key), and the token of the next page.
fn page<T>(
    items: Vec<(String, T)>,
    max: usize,
    token: Option<&str>,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let start = match token {
        None => 0,
        Some(t) => items
            .iter()
            .position(|(k, _)| k == t)
            .map(|i| i + 1)
            .ok_or_else(|| ApiError::validation("The pagination token is not valid."))?,
    };
    let mut rest: Vec<(String, T)> = items.into_iter().skip(start).take(max + 1).collect();
    let next = (rest.len() > max).then(|| {
        rest.truncate(max);
        rest.last().map(|(k, _)| k.clone())
    });
    Ok((rest.into_iter().map(|(_, v)| v).collect(), next.flatten()))
}

fn with_token(mut out: Value, next: Option<String>) -> Value {
    if let Some(token) = next {
        out["nextToken"] = json!(token);
    }
    out
}

async fn create_policy(app: Scoped, raw: Bytes) -> ApiResult<Json<Value>> {
    app.enter("CreateAutomatedReasoningPolicy").await?;
    let body = input::body(&raw)?;
    let name = input::required_str(&body, "name")?;
    let valid = !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' '));
    if !valid {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-zA-Z-_ ]+",
        ));
    }
    let description = body.get("description").and_then(Value::as_str);
    let mut store = app.store.write().await;
    Ok(Json(insert_policy(&app, &mut store, name, description)))
}

/// Without `policyArn`: every policy's DRAFT; with it, that policy's versions (the emulator
/// makes none).
async fn list_policies(
    app: Scoped,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    app.enter("ListAutomatedReasoningPolicies").await?;
    let (max, token) = paging(&q)?;
    let store = app.store.read().await;
    let rows: Vec<(String, Value)> = match q.get("policyArn") {
        Some(arn) => {
            policy(&store, arn)?;
            Vec::new()
        }
        None => policies(&store)
            .map(|p| {
                (
                    p["policyArn"].as_str().unwrap_or_default().to_owned(),
                    p.clone(),
                )
            })
            .collect(),
    };
    let (summaries, next) = page(rows, max, token.as_deref())?;
    let out = json!({ "automatedReasoningPolicySummaries": summaries });
    Ok(Json(with_token(out, next)))
}

/// The workflow `id` of the policy, or `ResourceNotFoundException`.
fn find<'a>(store: &'a Store, policy_arn: &str, id: &str) -> ApiResult<&'a Job> {
    policy(store, policy_arn)?;
    store
        .find(FACTS.kind, id)
        .filter(|j| j.spec_str("policyArn") == Some(policy_arn))
        .ok_or_else(|| ApiError::not_found(format!("The build workflow {id} could not be found.")))
}

async fn list(
    app: Scoped,
    Path(policy_arn): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    app.enter("ListAutomatedReasoningPolicyBuildWorkflows")
        .await?;
    let (max, token) = paging(&q)?;
    let store = app.store.read().await;
    policy(&store, &policy_arn)?;
    let rows: Vec<(String, Value)> = store
        .of_kind(FACTS.kind)
        .rev()
        .filter(|j| j.spec_str("policyArn") == Some(policy_arn.as_str()))
        .map(|j| (j.id.clone(), render_workflow(j, false)))
        .collect();
    let (summaries, next) = page(rows, max, token.as_deref())?;
    let out = json!({ "automatedReasoningPolicyBuildWorkflowSummaries": summaries });
    Ok(Json(with_token(out, next)))
}

async fn get_one(
    app: Scoped,
    Path((policy_arn, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    app.enter("GetAutomatedReasoningPolicyBuildWorkflow")
        .await?;
    let store = app.store.read().await;
    Ok(Json(render_workflow(find(&store, &policy_arn, &id)?, true)))
}

/// The first document of `sourceContent.workflowContent.documents`, if any (`sourceContent`
/// is the request's payload: the whole body).
fn document(body: &Map<String, Value>) -> Option<&Value> {
    body.get("workflowContent")?
        .get("documents")?
        .as_array()?
        .first()
}

/// The `emulator:outcome=STATUS` word in the document's description.
fn outcome_in(description: Option<&str>) -> Option<Status> {
    let word = description?
        .split_whitespace()
        .find_map(|w| w.strip_prefix("emulator:outcome="))?;
    Some(Status::parse(word))
}

/// A `SCHEDULED` workflow of the policy, with its source document's name and type.
fn new_workflow(
    app: &Scoped,
    policy_arn: &str,
    kind: &str,
    body: &Map<String, Value>,
    token: Option<String>,
) -> Job {
    let mut spec = Map::new();
    spec.insert("policyArn".into(), json!(policy_arn));
    spec.insert("buildWorkflowType".into(), json!(kind));
    let doc = document(body);
    for key in ["documentName", "documentContentType", "documentDescription"] {
        if let Some(v) = doc.and_then(|d| d.get(key)).filter(|v| v.is_string()) {
            spec.insert(key.into(), v.clone());
        }
    }
    let description = spec.get("documentDescription").and_then(Value::as_str);
    let planned = outcome_in(description).or_else(|| jobs::planned(app, &FACTS));
    let id = uuid_v4(app);
    let now = Utc::now();
    Job {
        kind: FACTS.kind,
        arn: format!("{policy_arn}/build-workflow/{id}"),
        id,
        name: None,
        status: FACTS.initial.clone(),
        message: None,
        submit_time: now,
        last_modified_time: now,
        end_time: None,
        client_request_token: token,
        counts: Default::default(),
        spec,
        planned_outcome: planned,
        tags: Default::default(),
    }
}

async fn start(
    app: Scoped,
    Path((policy_arn, kind)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    app.enter("StartAutomatedReasoningPolicyBuildWorkflow")
        .await?;
    if !TYPES.contains(&kind.as_str()) {
        return Err(input::enum_error("buildWorkflowType", &kind, &TYPES));
    }
    // `sourceContent` is the payload: the body itself.
    let body = input::body_or_empty(&raw)?;
    if body.is_empty() {
        return Err(input::missing("sourceContent"));
    }
    let token = headers
        .get("x-amz-client-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut store = app.store.write().await;
    policy(&store, &policy_arn)?;
    if let Some(existing) = token.as_deref().and_then(|t| store.by_token(FACTS.kind, t)) {
        return Ok(Json(
            json!({"policyArn": policy_arn, "buildWorkflowId": existing.id}),
        ));
    }
    let job = new_workflow(&app, &policy_arn, &kind, &body, token);
    let id = job.id.clone();
    store.insert(job, FACTS.names_identify);
    Ok(Json(
        json!({"policyArn": policy_arn, "buildWorkflowId": id}),
    ))
}

/// Idempotent: a workflow already being cancelled (or cancelled) answers 202 again; one that
/// completed or failed cannot be cancelled.
async fn cancel(
    app: Scoped,
    Path((policy_arn, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    app.enter("CancelAutomatedReasoningPolicyBuildWorkflow")
        .await?;
    let mut store = app.store.write().await;
    let arn = find(&store, &policy_arn, &id)?.arn.clone();
    let job = store.find_any_mut(&arn).ok_or_else(|| {
        ApiError::not_found(format!("The build workflow {id} could not be found."))
    })?;
    if matches!(job.status, Status::CancelRequested | Status::Cancelled) {
        return Ok(StatusCode::ACCEPTED);
    }
    if job.status.is_terminal() {
        return Err(ApiError::validation(format!(
            "The build workflow {id} can't be cancelled because it is in status {}.",
            job.status
        )));
    }
    job.transition(Status::CancelRequested, None, Utc::now());
    job.planned_outcome = Some(Status::Cancelled);
    Ok(StatusCode::ACCEPTED)
}

/// `buildWorkflowAssets`: the quality report of a completed build, the build log of a
/// finished one; other asset types are not made by the emulator.
async fn assets(
    app: Scoped,
    Path((policy_arn, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    app.enter("GetAutomatedReasoningPolicyBuildWorkflowResultAssets")
        .await?;
    let asset = q
        .get("assetType")
        .ok_or_else(|| input::missing("assetType"))?;
    if !ASSETS.contains(&asset.as_str()) {
        return Err(input::enum_error("assetType", asset, &ASSETS));
    }
    let store = app.store.read().await;
    let job = find(&store, &policy_arn, &id)?;
    let unavailable = || {
        ApiError::not_found(format!(
            "The build workflow {id} has no {asset} asset in status {}.",
            job.status
        ))
    };
    let assets = match asset.as_str() {
        "QUALITY_REPORT" => {
            json!({"qualityReport": job.spec.get("qualityReport").ok_or_else(unavailable)?})
        }
        "BUILD_LOG" if job.status.is_terminal() => {
            json!({"buildLog": {"entries": [build_log(job)]}})
        }
        _ => return Err(unavailable()),
    };
    Ok(Json(
        json!({"policyArn": policy_arn, "buildWorkflowId": id, "buildWorkflowAssets": assets}),
    ))
}

/// One build log entry: a rule the build tried to add, and how it went.
fn build_log(job: &Job) -> Value {
    let (status, message, kind) = match &job.message {
        Some(m) if job.status == Status::IngestionFailed => ("FAILED", m.as_str(), "ERROR"),
        _ => ("APPLIED", "Rule added from the source document.", "INFO"),
    };
    json!({
        "annotation": {"addRule": {"expression": "(=> is_full_time (>= leave_days 20))"}},
        "status": status,
        "buildSteps": [{"context": {"planning": {}}, "messages": [{"message": message, "messageType": kind}]}],
    })
}
