//! AgentCore batch evaluations on `bedrock-agentcore`, the AgentCore data plane
//! (`StartBatchEvaluation`, `GetBatchEvaluation`, `ListBatchEvaluations`, `StopBatchEvaluation`,
//! `DeleteBatchEvaluation`; service model `bedrock-agentcore` 2024-02-28, restJson1).
//!
//! A service of its own: its ARNs are `arn:aws:bedrock-agentcore:...:batch-evaluate/{id}`, its
//! ids are `{name}-{10 characters}` and the Get takes the id only. Its requests sign for
//! `bedrock-agentcore` (the one service a SigV4 credential scope tells apart); its paths
//! (`/evaluations/batch-evaluate...`) are its own, so the router goes by path as for the others.
//! The List takes only `maxResults` (1..=100) and `nextToken`: no filter, no sort. The order is
//! undocumented; the emulator answers newest first (creation time, then id), and its token is
//! the position after a page's last evaluation, so that evaluations started meanwhile never
//! shift a later page (the token stays good between runs: a poller's sweep resumes with it).
//! The token is opaque (hex, as the service's are opaque blobs); one the emulator did not issue
//! is refused with `ValidationException`, which is what the model lists for a bad request.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use serde_json::{json, Map, Value};

use crate::api::input;
use crate::api::render::put;
use crate::app::App;
use crate::details;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::family::{Facts, Family, Identifier, Place, SeedTarget, Seeded, View};
use crate::model::{iso, Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::{ListQuery, Store};

pub struct AgentcoreBatchEvaluation;

static FACTS: Facts = Facts {
    kind: JobKind::AgentcoreBatchEvaluation,
    arn_resource: "batch-evaluate",
    // DELETING: only after DeleteBatchEvaluation of a finished evaluation, which then vanishes.
    statuses: &[
        Status::EvaluationPending,
        Status::IngestionInProgress,
        Status::IngestionStopping,
        Status::EvaluationDeleting,
        Status::BuildCompleted,
        Status::CompletedWithErrors,
        Status::IngestionFailed,
        Status::IngestionStopped,
    ],
    initial: Status::EvaluationPending,
    steps: &[(Status::EvaluationPending, Status::IngestionInProgress)],
    shown_as: &[],
    // The family's handlers validate ids themselves (`{name}-{10 characters}`).
    identifier: Identifier::Any,
    // `tags` is a map here, not a TagList: read by `start`.
    tag_member: None,
    // Names are unique per account (ConflictException); the Get never takes one (the id
    // pattern refuses a name).
    names_identify: true,
    named: true,
    details_when_forced: true,
};

const JOBS: &str = "/evaluations/batch-evaluate";
const RESULT_DESTINATIONS: [&str; 2] = ["DEDICATED_LOG_GROUP", "SOURCE_LOG_GROUP"];
/// The most evaluations a List page holds (`maxResults` 1..=100).
const MAX_PAGE: usize = 100;

impl Family for AgentcoreBatchEvaluation {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn routes(&self) -> Router<Arc<App>> {
        Router::new()
            .route(JOBS, post(start).get(list))
            .route(&format!("{JOBS}/{{id}}"), get(get_one).delete(delete))
            .route(&format!("{JOBS}/{{id}}/stop"), post(stop))
    }

    fn render(&self, job: &Job, view: View) -> Value {
        let mut m = head(job);
        if view == View::Full {
            for key in ["dataSourceConfig", "outputConfig"] {
                put(&mut m, key, job.spec.get(key).cloned());
            }
        }
        Value::Object(m)
    }

    fn finish(&self, job: &mut Job, rng: &mut StdRng) {
        let total = details::draw_total(rng);
        let results = results(job, total);
        job.spec.insert("evaluationResults".into(), results);
        if job.status == Status::IngestionFailed && job.message.is_none() {
            job.message = Some(
                "No agent sessions were found in the log groups for the requested time range."
                    .into(),
            );
        }
    }

    fn produce(&self, _: &App, _: &mut Job, _: DateTime<Utc>) -> Option<Job> {
        None
    }

    fn event(&self, _: &Job, _: &Scope) -> ApiResult<Value> {
        Err(events::none())
    }

    fn seed_place(&self, _: &Scoped, _: &mut Store, _: SeedTarget) -> ApiResult<Option<Place>> {
        Ok(None)
    }

    fn seed_job(&self, app: &Scoped, _: Option<&Place>, id: String) -> Seeded {
        let id = format!("seeded_evaluation-{}", &id[..10]);
        let spec = json!({
            "dataSourceConfig": {"cloudWatchLogs": {
                "serviceNames": ["support_agent.DEFAULT"],
                "logGroupNames": ["/aws/bedrock-agentcore/runtimes/support_agent-DEFAULT"]}},
            "evaluators": [{"evaluatorId": "Builtin.Helpfulness"}, {"evaluatorId": "Builtin.GoalSuccessRate"}],
            "outputConfig": default_output(&id),
        });
        Seeded::new(id.clone(), arn(app, &id), spec)
    }
}

/// `arn:aws:bedrock-agentcore:{region}:{account}:batch-evaluate/{id}`.
fn arn(app: &Scoped, id: &str) -> String {
    format!(
        "arn:aws:bedrock-agentcore:{}:{}:{}/{id}",
        app.scope.region, app.scope.account, FACTS.arn_resource
    )
}

/// Where results go when the request names no place: a log group of the evaluation's own.
fn default_output(id: &str) -> Value {
    json!({"cloudWatchConfig": {
        "logGroupName": "/aws/bedrock-agentcore/evaluations/results",
        "logStreamName": id,
        "resultDestination": "DEDICATED_LOG_GROUP"}})
}

/// The members a summary and a Get share (`BatchEvaluationSummary`).
fn head(job: &Job) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("batchEvaluationId".into(), json!(job.id));
    m.insert("batchEvaluationArn".into(), json!(job.arn));
    m.insert("batchEvaluationName".into(), json!(job.name));
    m.insert("status".into(), json!(job.status));
    m.insert("createdAt".into(), json!(iso(job.submit_time)));
    m.insert("updatedAt".into(), json!(iso(job.last_modified_time)));
    for key in [
        "description",
        "evaluators",
        "insights",
        "evaluationResults",
        "kmsKeyArn",
    ] {
        put(&mut m, key, job.spec.get(key).cloned());
    }
    put(
        &mut m,
        "errorDetails",
        job.message.as_ref().map(|msg| json!([msg])),
    );
    m
}

/// `evaluationResults` of a finished evaluation: how many sessions ended how, and each
/// evaluator's average score.
fn results(job: &Job, total: i64) -> Value {
    let sessions = total % 40 + 10;
    let (completed, failed) = match job.status {
        Status::BuildCompleted => (sessions, 0),
        Status::CompletedWithErrors => (sessions - 3, 3),
        Status::IngestionStopped => (sessions / 2, 0),
        _ => (0, 0),
    };
    let summaries: Vec<Value> = job
        .spec
        .get("evaluators")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, e)| {
            let score = ((total + 17 * i as i64) % 60 + 40) as f64 / 100.0;
            json!({"evaluatorId": e["evaluatorId"], "statistics": {"averageScore": score},
                   "totalEvaluated": completed, "totalFailed": failed})
        })
        .collect();
    json!({
        "numberOfSessionsCompleted": completed,
        "numberOfSessionsInProgress": 0,
        "numberOfSessionsFailed": failed,
        "totalNumberOfSessions": sessions,
        "numberOfSessionsIgnored": sessions - completed - failed,
        "evaluatorSummaries": summaries,
    })
}

fn pattern_error(member: &str, value: &str, pattern: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
    ))
}

/// `[a-zA-Z][a-zA-Z0-9_]{0,47}`.
fn check_name(name: &str) -> ApiResult<()> {
    let ok = name.len() <= 48
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(())
        .ok_or_else(|| pattern_error("batchEvaluationName", name, "[a-zA-Z][a-zA-Z0-9_]{0,47}"))
}

/// `[a-zA-Z][a-zA-Z0-9-_]{0,99}-[a-zA-Z0-9]{10}`: an id, never an ARN.
fn check_id(id: &str) -> ApiResult<()> {
    let ok = id.rsplit_once('-').is_some_and(|(head, tail)| {
        tail.len() == 10
            && tail.chars().all(|c| c.is_ascii_alphanumeric())
            && (1..=100).contains(&head.len())
            && head.starts_with(|c: char| c.is_ascii_alphabetic())
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    ok.then_some(()).ok_or_else(|| {
        pattern_error(
            "batchEvaluationId",
            id,
            "[a-zA-Z][a-zA-Z0-9-_]{0,99}-[a-zA-Z0-9]{10}",
        )
    })
}

/// `dataSourceConfig`: a union, exactly one of its two members, with their required members.
fn check_data_source(body: &Map<String, Value>) -> ApiResult<()> {
    let source = input::required_obj(body, "dataSourceConfig")?;
    let set: Vec<&String> = source
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .collect();
    match set.as_slice() {
        [one] if *one == "cloudWatchLogs" => {
            let names = source["cloudWatchLogs"]["serviceNames"].as_array();
            match names.map(Vec::len) {
                Some(1) => Ok(()),
                Some(_) => Err(ApiError::validation(
                    "1 validation error detected: Value at 'dataSourceConfig.cloudWatchLogs.serviceNames' failed to satisfy constraint: Member must have length less than or equal to 1",
                )),
                None => Err(input::missing("dataSourceConfig.cloudWatchLogs.serviceNames")),
            }
        }
        [one] if *one == "onlineEvaluationConfigSource" => source[one.as_str()]
            ["onlineEvaluationConfigArn"]
            .as_str()
            .map(|_| ())
            .ok_or_else(|| {
                input::missing("dataSourceConfig.onlineEvaluationConfigSource.onlineEvaluationConfigArn")
            }),
        _ => Err(ApiError::validation(
            "1 validation error detected: 'dataSourceConfig' must set exactly one of [cloudWatchLogs, onlineEvaluationConfigSource]",
        )),
    }
}

/// The optional members' constraints: evaluators, client token, description, output.
fn check_options(body: &Map<String, Value>) -> ApiResult<()> {
    let evaluators = body.get("evaluators").and_then(Value::as_array);
    if evaluators.is_some_and(|e| e.len() > 10) {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'evaluators' failed to satisfy constraint: Member must have length less than or equal to 10",
        ));
    }
    let token = body.get("clientToken").and_then(Value::as_str);
    if let Some(t) = token.filter(|t| !(33..=256).contains(&t.len())) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{t}' at 'clientToken' failed to satisfy constraint: Member must have length greater than or equal to 33"
        )));
    }
    let description = body.get("description").and_then(Value::as_str);
    if description.is_some_and(|d| d.len() > 200) {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 200",
        ));
    }
    let destination = body
        .get("outputConfig")
        .and_then(|o| o.pointer("/cloudWatchConfig/resultDestination"))
        .and_then(Value::as_str);
    match destination {
        Some(d) if !RESULT_DESTINATIONS.contains(&d) => Err(input::enum_error(
            "outputConfig.cloudWatchConfig.resultDestination",
            d,
            &RESULT_DESTINATIONS,
        )),
        _ => Ok(()),
    }
}

/// A new evaluation of the start request `body`, named `name`.
fn new_evaluation(app: &Scoped, name: &str, mut body: Map<String, Value>) -> Job {
    let suffix: String = app.new_id().chars().take(10).collect();
    let id = format!("{name}-{suffix}");
    let token = body
        .remove("clientToken")
        .and_then(|t| t.as_str().map(str::to_owned));
    body.remove("batchEvaluationName");
    if !body.contains_key("outputConfig") {
        body.insert("outputConfig".into(), default_output(&id));
    }
    // `emulator:outcome` in the tags picks the status auto-advance ends in.
    let planned = body
        .get("tags")
        .and_then(|t| t.get("emulator:outcome"))
        .and_then(Value::as_str)
        .map(Status::parse)
        .or_else(|| crate::api::jobs::planned(app, &FACTS));
    let now = Utc::now();
    Job {
        kind: FACTS.kind,
        arn: arn(app, &id),
        id,
        name: Some(name.to_owned()),
        status: FACTS.initial.clone(),
        message: None,
        submit_time: now,
        last_modified_time: now,
        end_time: None,
        client_request_token: token,
        counts: Default::default(),
        spec: body,
        planned_outcome: planned,
        tags: Default::default(),
    }
}

/// `StartBatchEvaluation`: 202 with the new evaluation (or the one a repeated client token
/// started).
async fn start(app: Scoped, raw: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("StartBatchEvaluation").await?;
    let body = input::body(&raw)?;
    let name = input::required_str(&body, "batchEvaluationName")?.to_owned();
    check_name(&name)?;
    check_data_source(&body)?;
    check_options(&body)?;
    let mut store = app.store.write().await;
    let token = body.get("clientToken").and_then(Value::as_str);
    let retried = token.and_then(|t| store.by_token(FACTS.kind, t));
    let job = match retried {
        Some(job) => job.clone(),
        None if store.name_taken(FACTS.kind, &name) => {
            return Err(ApiError::conflict(format!(
                "A batch evaluation named {name} already exists."
            )))
        }
        None => {
            let job = new_evaluation(&app, &name, body);
            store.insert(job.clone(), FACTS.names_identify);
            job
        }
    };
    let mut out = head(&job);
    for key in ["outputConfig", "tags"] {
        put(&mut out, key, job.spec.get(key).cloned());
    }
    out.remove("updatedAt");
    Ok((StatusCode::ACCEPTED, Json(Value::Object(out))))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Batch evaluation {id} not found."))
}

async fn get_one(app: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.enter("GetBatchEvaluation").await?;
    check_id(&id)?;
    let store = app.store.read().await;
    let job = store.find(FACTS.kind, &id).ok_or_else(|| not_found(&id))?;
    Ok(Json(AgentcoreBatchEvaluation.render(job, View::Full)))
}

/// `maxResults`: 1..=100 (the model's range; the emulator's default is the most).
fn max_results(q: &HashMap<String, String>) -> ApiResult<usize> {
    let Some(raw) = q.get("maxResults") else {
        return Ok(MAX_PAGE);
    };
    match raw.parse::<usize>() {
        Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Ok(n) if n > MAX_PAGE => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{raw}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"
        ))),
        _ => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{raw}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
    }
}

async fn list(app: Scoped, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    app.enter("ListBatchEvaluations").await?;
    let query = ListQuery {
        max_results: max_results(&q)?,
        next_token: q.get("nextToken").map(|t| reveal(t)).transpose()?,
        ..Default::default()
    };
    let store = app.store.read().await;
    let page = store.list(FACTS.kind, &query)?;
    let summaries: Vec<Value> = page
        .jobs
        .iter()
        .map(|j| AgentcoreBatchEvaluation.render(j, View::Summary))
        .collect();
    let mut out = json!({ "batchEvaluations": summaries });
    if let Some(token) = page.next_token {
        out["nextToken"] = json!(opaque(&token));
    }
    Ok(Json(out))
}

/// The store's position as the service's kind of token: opaque to a client.
fn opaque(position: &str) -> String {
    position.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The position a token of [`opaque`] holds; anything else is refused as the service refuses
/// a token it did not issue.
fn reveal(token: &str) -> ApiResult<String> {
    let invalid = || ApiError::validation("The pagination token is not valid.");
    let bytes: Option<Vec<u8>> = token
        .len()
        .is_multiple_of(2)
        .then(|| {
            (0..token.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
                .collect()
        })
        .flatten();
    bytes
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|position| position.starts_with("v1."))
        .ok_or_else(invalid)
}

/// `StopBatchEvaluation`: `STOPPING`, then `STOPPED` one lifecycle step later.
async fn stop(app: Scoped, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("StopBatchEvaluation").await?;
    check_id(&id)?;
    let mut store = app.store.write().await;
    let job = store
        .find_mut(FACTS.kind, &id)
        .ok_or_else(|| not_found(&id))?;
    if job.status.is_terminal() || job.status.is_stopping() {
        return Err(ApiError::conflict(format!(
            "Batch evaluation {id} cannot be stopped in status {}.",
            job.status
        )));
    }
    job.transition(Status::IngestionStopping, None, Utc::now());
    job.planned_outcome = Some(Status::IngestionStopped);
    let mut out =
        json!({"batchEvaluationId": job.id, "batchEvaluationArn": job.arn, "status": job.status});
    if let Some(d) = job.spec.get("description") {
        out["description"] = d.clone();
    }
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// `DeleteBatchEvaluation`: only a finished evaluation (ConflictException while it runs); it
/// answers `DELETING` and is gone.
async fn delete(app: Scoped, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<Value>)> {
    app.enter("DeleteBatchEvaluation").await?;
    check_id(&id)?;
    let mut store = app.store.write().await;
    let job = store.find(FACTS.kind, &id).ok_or_else(|| not_found(&id))?;
    if !job.status.is_terminal() {
        return Err(ApiError::conflict(format!(
            "Batch evaluation {id} is still running (status {}): stop it first.",
            job.status
        )));
    }
    let arn = job.arn.clone();
    store.remove(&arn);
    let out = json!({"batchEvaluationId": id, "batchEvaluationArn": arn, "status": "DELETING"});
    Ok((StatusCode::ACCEPTED, Json(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_name_dash_ten_characters_and_never_an_arn() {
        assert!(check_id("my_eval-abcdefghij").is_ok());
        assert!(check_id("seeded_evaluation-0a1b2c3d4e").is_ok());
        for bad in [
            "my_eval",
            "my_eval-short",
            "1eval-abcdefghij",
            "arn:aws:bedrock-agentcore:us-east-1:123456789012:batch-evaluate/my_eval-abcdefghij",
        ] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_are_opaque_and_only_issued_ones_are_taken() {
        let position = "v1.1700000000000000000.my_eval-abcdefghij";
        let token = opaque(position);
        assert!(!token.contains("my_eval"), "{token}");
        assert_eq!(reveal(&token).unwrap(), position);
        for bad in ["garbage", "v1.1.x", "zz", "abc", &opaque("v2.1.x"), "é"] {
            let e = reveal(bad).unwrap_err();
            assert_eq!(e.code, "ValidationException", "{bad}");
        }
    }

    #[test]
    fn names_follow_the_model_pattern() {
        assert!(check_name("nightly_eval_2").is_ok());
        assert!(check_name("nightly-eval").is_err());
        assert!(check_name("2nightly").is_err());
        assert!(check_name(&"a".repeat(49)).is_err());
    }
}
