//! The `/_emulator/` control API: force transitions, seed history, inject faults, read stats.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::{lock, App, FaultRule};
use crate::error::{ApiError, ApiResult};
use crate::families::family;
use crate::family::{Facts, Family, SeedTarget, Seeded};
use crate::model::{fit_outcome, iso, Job, JobKind, RecordCounts, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;

/// Body of `POST /_emulator/jobs/{arn-or-id}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForceStatus {
    /// Any string: statuses the SDK does not know yet are allowed on purpose.
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub counts: Option<RecordCounts>,
    /// Members the family's Get and List show, set as the API spells them (a running
    /// ingestion job's `statistics`, a customization job's `statusDetails`).
    #[serde(default)]
    pub spec: Option<serde_json::Map<String, Value>>,
}

type Params = Query<HashMap<String, String>>;

/// `POST /_emulator/jobs/{job}/status`, the job as an id, an encoded ARN or a pasted ARN.
pub async fn job_post(
    State(app): State<Arc<App>>,
    Path(path): Path<String>,
    Query(q): Params,
    Json(body): Json<ForceStatus>,
) -> ApiResult<Json<Value>> {
    let id = job_path(&path, "/status")?;
    force_status(&locate(&app, &id, &q).await, &id, body).await
}

/// `GET /_emulator/jobs/{job}/event`.
pub async fn job_get(
    State(app): State<Arc<App>>,
    Path(path): Path<String>,
    Query(q): Params,
) -> ApiResult<Json<Value>> {
    let id = job_path(&path, "/event")?;
    job_event(&locate(&app, &id, &q).await, &id).await
}

/// The scope a job lives in: the one its ARN names, the one the `account`/`region` parameters
/// name, or else the first scope holding a job of that id (ids are unique across scopes).
async fn locate(app: &Arc<App>, id: &str, q: &HashMap<String, String>) -> Scoped {
    if let Some(scope) = Scope::of_arn(id) {
        return Scoped::new(app.clone(), scope);
    }
    if q.contains_key("region") || q.contains_key("account") {
        let defaults = app.default_scope();
        let pick = |name: &str, default: &String| q.get(name).unwrap_or(default).clone();
        let scope = Scope::new(
            pick("account", &defaults.account),
            pick("region", &defaults.region),
        );
        return Scoped::new(app.clone(), scope);
    }
    for (scope, store) in app.all_stores() {
        if store.write().await.find_any_mut(id).is_some() {
            return Scoped::new(app.clone(), scope);
        }
    }
    Scoped::new(app.clone(), app.default_scope())
}

/// The job part of `{job}{suffix}` (axum has already decoded `%2F` and `%3A`).
fn job_path(path: &str, suffix: &str) -> ApiResult<String> {
    path.trim_start_matches('/')
        .strip_suffix(suffix)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::new(
                "UnknownOperationException",
                axum::http::StatusCode::NOT_FOUND,
                format!("The emulator does not implement /_emulator/jobs/{path}"),
            )
        })
}

pub async fn force_status(app: &Scoped, id: &str, body: ForceStatus) -> ApiResult<Json<Value>> {
    let mut store = app.store.write().await;
    let job = store
        .find_any_mut(id)
        .ok_or_else(|| ApiError::not_found(format!("No job {id}")))?;
    job.transition(Status::parse(&body.status), body.message, Utc::now());
    if let Some(counts) = body.counts {
        job.counts = counts;
    }
    job.spec.extend(body.spec.unwrap_or_default());
    // A forced job no longer follows a planned lifecycle.
    job.planned_outcome = None;
    // What their notifications show (ingestion statistics, invocation results, a resource's
    // failure message and a completed update's new model) is filled in.
    let family = family(job.kind);
    if family.facts().details_when_forced && job.status.is_terminal() {
        app.with_rng(|rng| family.finish(job, rng));
    }
    Ok(Json(job_view(job)))
}

/// `GET /_emulator/jobs/{arn-or-id}/event`: the EventBridge event Bedrock would emit for the job's
/// current state (batch inference, customization jobs and Data Automation invocations only, as
/// in Bedrock), in the documented shape, ready for `cargo lambda invoke --data-file`.
pub async fn job_event(app: &Scoped, id: &str) -> ApiResult<Json<Value>> {
    let mut store = app.store.write().await;
    let job = store
        .find_any_mut(id)
        .ok_or_else(|| ApiError::not_found(format!("No job {id}")))?;
    family(job.kind).event(job, &app.scope).map(Json)
}

/// `DELETE /_emulator/jobs/{arn-or-id}`: the job disappears, as if deleted from the account.
pub async fn delete_job(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Json<Value>> {
    let id = id.trim_start_matches('/');
    let job = locate(&app, id, &q)
        .await
        .store
        .write()
        .await
        .remove(id)
        .ok_or_else(|| ApiError::not_found(format!("No job {id}")))?;
    Ok(Json(job_view(&job)))
}

/// Body of `POST /_emulator/seed`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    pub kind: JobKind,
    pub count: usize,
    /// Status -> weight, as sent (any word); default all completed (`Completed`, `COMPLETE`, `Success`).
    #[serde(default)]
    pub statuses: HashMap<String, u32>,
    /// Submit times are spread uniformly over this many hours before now (default 720).
    #[serde(default = "default_spread")]
    pub spread_hours: f64,
    /// Optional offset: the newest submit time is this many hours before now (default 0).
    #[serde(default)]
    pub newest_hours_ago: f64,
    #[serde(default = "default_prefix")]
    pub name_prefix: String,
    /// kb-ingestion: the knowledge base and data source the jobs belong to (default: a
    /// `seeded-kb` knowledge base with a `seeded-source` data source, created on first use).
    #[serde(default)]
    pub knowledge_base_id: Option<String>,
    #[serde(default)]
    pub data_source_id: Option<String>,
    /// Unfinished jobs get record counts as if each had been processing at its own steady rate
    /// since submission (families that report counts show them: batch inference).
    #[serde(default)]
    pub progress: Option<SeedProgress>,
    /// The scope the jobs go to (default: the emulator's default account and region).
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

/// `progress` of a seed: `total` records per job, each job taking a time drawn uniformly in
/// `hoursToFinish` (`[low, high]`) for all of them; an unfinished job never shows all done.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedProgress {
    pub total: i64,
    pub hours_to_finish: [f64; 2],
}

impl SeedProgress {
    /// The counts of a job `age` after its submission, taking `hours` for all its records.
    fn counts(&self, age: Duration, hours: f64) -> RecordCounts {
        let done = age.num_seconds() as f64 / 3600.0 / hours.max(0.01);
        let processed = ((self.total as f64 * done) as i64).clamp(0, (self.total - 1).max(0));
        RecordCounts {
            total_record_count: Some(self.total),
            processed_record_count: Some(processed),
            success_record_count: Some(processed),
            error_record_count: Some(0),
        }
    }

    fn draw(&self, rng: &mut rand::rngs::StdRng) -> f64 {
        let [low, high] = self.hours_to_finish;
        if high > low {
            rng.random_range(low..high)
        } else {
            low
        }
    }
}

fn default_spread() -> f64 {
    720.0
}

fn default_prefix() -> String {
    "seeded".into()
}

pub async fn seed(State(app): State<Arc<App>>, Json(seed): Json<Seed>) -> ApiResult<Json<Value>> {
    let defaults = app.default_scope();
    let scope = Scope::new(
        seed.account.clone().unwrap_or(defaults.account),
        seed.region.clone().unwrap_or(defaults.region),
    );
    let app = Scoped::new(app, scope);
    if seed.count > 2_000_000 {
        return Err(ApiError::validation("count must be at most 2000000"));
    }
    let family = family(seed.kind);
    let mix = StatusMix::of(family.facts(), &seed.statuses)?;
    let target = SeedTarget {
        knowledge_base_id: seed.knowledge_base_id.as_deref(),
        data_source_id: seed.data_source_id.as_deref(),
    };
    let place = {
        let mut store = app.store.write().await;
        family.seed_place(&app, &mut store, target)?
    };
    let now = Utc::now();
    let newest = now - Duration::milliseconds((seed.newest_hours_ago * 3_600_000.0) as i64);
    let spread_ms = (seed.spread_hours * 3_600_000.0).max(1.0) as i64;
    let jobs: Vec<Job> = (0..seed.count)
        .map(|i| {
            let id = app.new_id();
            let (offset, roll) = app.with_rng(|rng| {
                (
                    rng.random_range(0..spread_ms),
                    rng.random_range(0..mix.total),
                )
            });
            let submit = newest - Duration::milliseconds(offset);
            let name = format!("{}-{i}", seed.name_prefix);
            let seeded = family.seed_job(&app, place.as_ref(), id);
            let mut job = seeded_job(&app, family, seeded, mix.status(roll), (submit, now), name);
            if let Some(progress) = seed.progress.filter(|_| !job.status.is_terminal()) {
                let hours = app.with_rng(|rng| progress.draw(rng));
                job.counts = progress.counts(now - submit, hours);
            }
            job
        })
        .collect();
    let created = jobs.len();
    let by_name = family.facts().names_identify;
    app.store.write().await.insert_many(jobs, |_| by_name);
    Ok(Json(json!({ "created": created })))
}

/// The weighted statuses of a seed.
struct StatusMix {
    weighted: Vec<(String, u32)>,
    total: u32,
}

impl StatusMix {
    /// The seed's weights, sorted; without any, all completed in the family's own word for it
    /// (`COMPLETE` for ingestion jobs, `Success` for invocations).
    fn of(facts: &Facts, statuses: &HashMap<String, u32>) -> ApiResult<StatusMix> {
        let mut weighted: Vec<(String, u32)> = statuses.clone().into_iter().collect();
        weighted.sort();
        if weighted.is_empty() {
            let completed = fit_outcome(facts.statuses, &Status::Completed);
            weighted.push((completed.as_str().to_owned(), 1));
        }
        let total: u32 = weighted.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return Err(ApiError::validation("status weights must not all be zero"));
        }
        Ok(StatusMix { weighted, total })
    }

    /// The status a roll in `0..total` lands on.
    fn status(&self, mut roll: u32) -> Status {
        self.weighted
            .iter()
            .find(|(_, w)| {
                let hit = roll < *w;
                roll = roll.saturating_sub(*w);
                hit
            })
            .map_or(Status::Completed, |(s, _)| Status::parse(s))
    }
}

/// A seeded job in `status`, submitted at `times.0` and last modified halfway to `times.1`
/// (now), with its ended details.
fn seeded_job(
    app: &Scoped,
    family: &dyn Family,
    seeded: Seeded,
    status: Status,
    (submit, now): (DateTime<Utc>, DateTime<Utc>),
    name: String,
) -> Job {
    let modified = submit + Duration::milliseconds((now - submit).num_milliseconds() / 2);
    let mut job = Job {
        kind: family.facts().kind,
        arn: seeded.arn,
        id: seeded.id,
        name: family.facts().named.then_some(name),
        status: status.clone(),
        message: None,
        submit_time: submit,
        last_modified_time: modified,
        end_time: status.is_terminal().then_some(modified),
        client_request_token: None,
        counts: RecordCounts::default(),
        spec: seeded.spec,
        planned_outcome: None,
        tags: Default::default(),
    };
    if status.is_terminal() {
        app.with_rng(|rng| family.finish(&mut job, rng));
    }
    job
}

pub async fn add_faults(
    State(app): State<Arc<App>>,
    Json(body): Json<FaultsBody>,
) -> ApiResult<Json<Value>> {
    let rules = match body {
        FaultsBody::One(rule) => vec![rule],
        FaultsBody::Many { rules } => rules,
    };
    if let Some(bad) = rules.iter().find(|r| !(0.0..=1.0).contains(&r.rate)) {
        return Err(ApiError::validation(format!(
            "rate {} is not within 0..=1",
            bad.rate
        )));
    }
    app.add_faults(rules);
    Ok(Json(json!({ "rules": app.faults() })))
}

/// Either one rule or `{"rules": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FaultsBody {
    Many { rules: Vec<FaultRule> },
    One(FaultRule),
}

/// `DELETE /_emulator/faults`: every rule, or (`?region=..&account=..`) the rules of a scope.
pub async fn clear_faults(State(app): State<Arc<App>>, Query(q): Params) -> Json<Value> {
    let (region, account) = (q.get("region"), q.get("account"));
    if region.is_none() && account.is_none() {
        app.clear_faults();
    } else {
        app.clear_faults_of(region.map(String::as_str), account.map(String::as_str));
    }
    Json(json!({ "rules": app.faults() }))
}

/// Body of `POST /_emulator/roles`: how a role's trust policy answers `AssumeRole`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleTrust {
    pub role_arn: String,
    /// The trust policy lets nobody in (AccessDenied naming the role).
    #[serde(default)]
    pub refuse: bool,
    /// The trust policy requires this `sts:ExternalId`.
    #[serde(default)]
    pub external_id: Option<String>,
}

pub async fn set_role(State(app): State<Arc<App>>, Json(trust): Json<RoleTrust>) -> Json<Value> {
    let mut roles = lock(&app.roles);
    if trust.refuse {
        roles.refused.insert(trust.role_arn.clone());
    } else {
        roles.refused.remove(&trust.role_arn);
    }
    match &trust.external_id {
        Some(id) => roles
            .external_ids
            .insert(trust.role_arn.clone(), id.clone()),
        None => roles.external_ids.remove(&trust.role_arn),
    };
    Json(
        json!({ "roleArn": trust.role_arn, "refuse": trust.refuse, "externalId": trust.external_id }),
    )
}

/// Requests per operation and per scope, and jobs per family (all scopes, and per scope).
pub async fn stats(State(app): State<Arc<App>>) -> Json<Value> {
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    let mut scopes = serde_json::Map::new();
    for (scope, store) in app.all_stores() {
        let store = store.read().await;
        let mut counts = serde_json::Map::new();
        for kind in JobKind::ALL {
            let resource = family(kind).facts().arn_resource;
            *totals.entry(resource).or_default() += store.count(kind);
            counts.insert(resource.to_owned(), json!(store.count(kind)));
        }
        scopes.insert(scope.label(), Value::Object(counts));
    }
    let jobs: serde_json::Map<String, Value> = JobKind::ALL
        .iter()
        .map(|k| {
            let resource = family(*k).facts().arn_resource;
            let n = totals.get(resource).copied().unwrap_or(0);
            (resource.to_owned(), json!(n))
        })
        .collect();
    Json(json!({ "requests": app.stats(), "jobs": jobs, "scopes": scopes }))
}

pub async fn reset(State(app): State<Arc<App>>) -> Json<Value> {
    app.clear_stores();
    *lock(&app.roles) = Default::default();
    app.clear_faults();
    app.reset_stats();
    Json(json!({ "reset": true }))
}

/// `GET /_emulator/jobs?kind=batch-inference&status=Completed&region=..&account=..`: ground
/// truth for tests and demos (every scope unless `region`/`account` narrow it).
pub async fn jobs(State(app): State<Arc<App>>, Query(q): Params) -> ApiResult<Json<Value>> {
    let kind: Option<JobKind> = q
        .get("kind")
        .map(|k| {
            serde_json::from_value(json!(k))
                .map_err(|_| ApiError::validation(format!("unknown kind {k}")))
        })
        .transpose()?;
    let mut views: Vec<(Scope, Job)> = Vec::new();
    for (scope, store) in app.all_stores() {
        let in_scope = q.get("region").is_none_or(|r| *r == scope.region)
            && q.get("account").is_none_or(|a| *a == scope.account);
        if !in_scope {
            continue;
        }
        let store = store.read().await;
        views.extend(
            store
                .all()
                .filter(|j| kind.is_none_or(|k| j.kind == k))
                .filter(|j| q.get("status").is_none_or(|s| s == j.status.as_str()))
                .map(|j| (scope.clone(), j.clone())),
        );
    }
    views.sort_by(|a, b| (a.1.submit_time, &a.1.id).cmp(&(b.1.submit_time, &b.1.id)));
    let views: Vec<Value> = views
        .iter()
        .map(|(scope, job)| {
            let mut view = job_view(job);
            view["account"] = json!(scope.account);
            view["region"] = json!(scope.region);
            view
        })
        .collect();
    Ok(Json(json!({ "jobs": views })))
}

fn job_view(job: &Job) -> Value {
    json!({
        "kind": job.kind,
        "arn": job.arn,
        "name": job.name,
        "status": job.status,
        "message": job.message,
        "submitTime": iso(job.submit_time),
        "lastModifiedTime": iso(job.last_modified_time),
        "endTime": job.end_time.map(iso),
        "plannedOutcome": job.planned_outcome,
    })
}
