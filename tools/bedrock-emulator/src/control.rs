//! The `/_emulator/` control API: force transitions, seed history, inject faults, read stats.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{Duration, Utc};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::{lock, App, FaultRule};
use crate::error::{ApiError, ApiResult};
use crate::lifecycle;
use crate::model::{iso, Job, JobKind, RecordCounts, Status};
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
    lifecycle::transition(job, Status::parse(&body.status), body.message, Utc::now());
    if let Some(counts) = body.counts {
        job.counts = counts;
    }
    // A forced job no longer follows a planned lifecycle.
    job.planned_outcome = None;
    // Ingestion statistics and invocation results are what their notifications show.
    // So are a resource's failure message and a completed update's new model.
    let shows_details = matches!(
        job.kind,
        JobKind::KbIngestion
            | JobKind::DataAutomation
            | JobKind::ProvisionedThroughput
            | JobKind::CustomModelDeployment
            | JobKind::CustomModel
    );
    if shows_details && job.status.is_terminal() {
        app.with_rng(|rng| lifecycle::finish_details(job, rng));
    }
    Ok(Json(job_view(job)))
}

/// `GET /_emulator/jobs/{arn-or-id}/event`: the EventBridge event Bedrock would emit for the job's
/// current state (batch inference and customization jobs only, as in Bedrock), in the documented
/// shape, ready for `cargo lambda invoke --data-file`.
pub async fn job_event(app: &Scoped, id: &str) -> ApiResult<Json<Value>> {
    let mut store = app.store.write().await;
    let job = store
        .find_any_mut(id)
        .ok_or_else(|| ApiError::not_found(format!("No job {id}")))?
        .clone();
    let (detail_type, detail) = match job.kind {
        JobKind::BatchInference => (
            "Batch Inference Job State Change",
            json!({
                "version": "0.0",
                "accountId": app.scope.account,
                "batchJobName": job.name,
                "batchJobArn": job.arn,
                "batchModelId": job.spec.get("modelId"),
                "status": job.status,
                "failureMessage": job.message.clone().unwrap_or_default(),
                // Bedrock sends this one in a human format, not ISO-8601.
                "creationTime": job.submit_time.format("%b %-d, %Y, %-I:%M:%S %p").to_string(),
            }),
        ),
        JobKind::ModelCustomization => (
            "Model Customization Job State Change",
            json!({
                "version": "0.0",
                "jobName": job.name,
                "jobArn": job.arn,
                "outputModelName": job.spec.get("customModelName"),
                "outputModelArn": job.spec.get("outputModelArn"),
                "roleArn": job.spec.get("roleArn"),
                "jobStatus": job.status,
                "failureMessage": job.message.clone().unwrap_or_default(),
                "creationTime": iso(job.submit_time),
                "lastModifiedTime": iso(job.last_modified_time),
                "endTime": job.end_time.map(iso),
                "baseModelArn": job.spec.get("baseModelArn"),
            }),
        ),
        JobKind::DataAutomation => return data_automation_event(app, &job).map(Json),
        _ => {
            return Err(ApiError::validation(
                "Bedrock emits no EventBridge events for this job family",
            ))
        }
    };
    Ok(Json(json!({
        "version": "0",
        "id": format!("{}-{}", job.id, job.last_modified_time.timestamp_millis()),
        "detail-type": detail_type,
        "source": "aws.bedrock",
        "account": app.scope.account,
        "time": job.last_modified_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": app.scope.region,
        "resources": [job.arn],
        "detail": detail,
    })))
}

/// The Data Automation event of the invocation's state, in the shape the Bedrock user guide's
/// sample shows (`job_id`, `job_status`, no `resources`). Only the Succeeded sample is
/// documented: the `job_status` words of the other three events are the emulator's guess.
fn data_automation_event(app: &Scoped, job: &Job) -> ApiResult<Value> {
    let (detail_type, job_status) = match job.status {
        Status::Created => ("Bedrock Data Automation Job Created", "CREATED"),
        Status::Success => ("Bedrock Data Automation Job Succeeded", "SUCCESS"),
        Status::ClientError => (
            "Bedrock Data Automation Job Failed With Client Error",
            "CLIENT_ERROR",
        ),
        Status::ServiceError => (
            "Bedrock Data Automation Job Failed With Service Error",
            "SERVICE_ERROR",
        ),
        ref other => {
            return Err(ApiError::validation(format!(
                "Bedrock emits no Data Automation event for status {other}"
            )))
        }
    };
    let s3_object = |config: &str| {
        let uri = job
            .spec
            .get(config)
            .and_then(|c| c.get("s3Uri"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (bucket, key) = uri
            .trim_start_matches("s3://")
            .split_once('/')
            .unwrap_or((uri, ""));
        json!({ "s3_bucket": bucket, "name": key })
    };
    Ok(json!({
        "version": "0",
        "id": format!("{}-{}", job.id, job.last_modified_time.timestamp_millis()),
        "detail-type": detail_type,
        "source": "aws.bedrock",
        "account": app.scope.account,
        "time": job.last_modified_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": app.scope.region,
        "resources": [],
        "detail": {
            "job_id": job.id,
            "job_status": job_status,
            "semantic_modality": "Document",
            "input_s3_object": s3_object("inputConfiguration"),
            "output_s3_location": s3_object("outputConfiguration"),
            "error_message": job.message.clone().unwrap_or_default(),
        },
    }))
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
    /// The scope the jobs go to (default: the emulator's default account and region).
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
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
    let mut weighted: Vec<(String, u32)> = seed.statuses.into_iter().collect();
    weighted.sort();
    if weighted.is_empty() {
        // Each family's own word for it: `COMPLETE` for ingestion jobs, `Success` for invocations.
        let completed = crate::model::fit_outcome(seed.kind, &Status::Completed);
        weighted.push((completed.as_str().to_owned(), 1));
    }
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return Err(ApiError::validation("status weights must not all be zero"));
    }
    let place = match seed.kind {
        JobKind::KbIngestion => Some(
            seeded_place(
                &app,
                seed.knowledge_base_id.as_deref(),
                seed.data_source_id.as_deref(),
            )
            .await?,
        ),
        _ => None,
    };
    let now = Utc::now();
    let newest = now - Duration::milliseconds((seed.newest_hours_ago * 3_600_000.0) as i64);
    let spread_ms = (seed.spread_hours * 3_600_000.0).max(1.0) as i64;
    let jobs: Vec<Job> = (0..seed.count)
        .map(|i| {
            let id = app.new_id();
            let (offset, mut roll) =
                app.with_rng(|rng| (rng.random_range(0..spread_ms), rng.random_range(0..total)));
            let status = weighted
                .iter()
                .find(|(_, w)| {
                    let hit = roll < *w;
                    roll = roll.saturating_sub(*w);
                    hit
                })
                .map_or(Status::Completed, |(s, _)| Status::parse(s));
            let submit = newest - Duration::milliseconds(offset);
            let modified = submit + Duration::milliseconds((now - submit).num_milliseconds() / 2);
            let (id, arn) = seeded_identity(&app, seed.kind, place.as_ref(), id);
            // Async invocations, model copies, ingestion jobs and invocations have no name.
            let unnamed = [
                JobKind::AsyncInvoke,
                JobKind::ModelCopy,
                JobKind::KbIngestion,
                JobKind::DataAutomation,
            ];
            let mut job = Job {
                kind: seed.kind,
                arn,
                id,
                name: (!unnamed.contains(&seed.kind)).then(|| format!("{}-{i}", seed.name_prefix)),
                status: status.clone(),
                message: None,
                submit_time: submit,
                last_modified_time: modified,
                end_time: status.is_terminal().then_some(modified),
                client_request_token: None,
                counts: RecordCounts::default(),
                spec: seeded_spec(
                    seed.kind,
                    &app.scope.region,
                    &app.scope.account,
                    place.as_ref(),
                ),
                planned_outcome: None,
                tags: Default::default(),
            };
            if status.is_terminal() {
                app.with_rng(|rng| lifecycle::finish_details(&mut job, rng));
            }
            job
        })
        .collect();
    let created = jobs.len();
    app.store.write().await.insert_many(jobs);
    Ok(Json(json!({ "created": created })))
}

/// Where seeded ingestion jobs go: (knowledge base ARN, data source id).
type Place = (String, String);

/// The knowledge base and data source the seed names (which must exist), or the default ones.
async fn seeded_place(app: &Scoped, kb: Option<&str>, ds: Option<&str>) -> ApiResult<Place> {
    let mut store = app.store.write().await;
    let registry = &mut store.knowledge;
    if let (Some(kb), Some(ds)) = (kb, ds) {
        let arn = registry.base(kb)?.arn.clone();
        registry.source(kb, ds)?;
        return Ok((arn, ds.to_owned()));
    }
    let kb_id = "SEEDEDKB01".to_owned();
    let ds_id = "SEEDEDDS01".to_owned();
    let now = Utc::now();
    let kb = registry.bases.entry(kb_id.clone()).or_insert_with(|| crate::knowledge::KnowledgeBase {
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
    registry.sources.entry((kb_id.clone(), ds_id.clone())).or_insert_with(|| crate::knowledge::DataSource {
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

/// A seeded job's id and ARN, in its family's shape.
fn seeded_identity(
    app: &Scoped,
    kind: JobKind,
    place: Option<&Place>,
    id: String,
) -> (String, String) {
    match (kind, place) {
        (JobKind::ModelCustomization, _) => {
            let arn = app.arn("model-customization-job/amazon.titan-text-express-v1", &id);
            (id, arn)
        }
        (JobKind::KbIngestion, Some((kb_arn, ds))) => {
            let id = app.new_agent_id();
            let arn = format!("{kb_arn}/data-source/{ds}/ingestion-job/{id}");
            (id, arn)
        }
        (JobKind::DataAutomation, _) => {
            let id = app.new_uuid();
            let arn = app.arn(kind.arn_resource(), &id);
            (id, arn)
        }
        (kind, _) => {
            let arn = app.arn(kind.arn_resource(), &id);
            (id, arn)
        }
    }
}

fn seeded_spec(
    kind: JobKind,
    region: &str,
    account: &str,
    place: Option<&Place>,
) -> serde_json::Map<String, Value> {
    let role = format!("arn:aws:iam::{account}:role/BedrockJobRole");
    let spec = match kind {
        JobKind::BatchInference => json!({
            "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
            "roleArn": role,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://seeded-input/records.jsonl", "s3InputFormat": "JSONL"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://seeded-output/"}},
            "timeoutDurationInHours": 24,
            "modelInvocationType": "InvokeModel"
        }),
        JobKind::ModelImport => json!({
            "importedModelName": "seeded-model",
            "roleArn": role,
            "modelDataSource": {"s3DataSource": {"s3Uri": "s3://seeded-models/llama/"}}
        }),
        JobKind::AsyncInvoke => json!({
            "modelArn": format!("arn:aws:bedrock:{region}::foundation-model/amazon.nova-reel-v1:0"),
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://seeded-output/videos"}}
        }),
        JobKind::ModelEvaluation => json!({
            "roleArn": role,
            "jobType": "Automated",
            "applicationType": "ModelEvaluation",
            "evaluationConfig": {"automated": {"datasetMetricConfigs": [{
                "taskType": "Summarization",
                "dataset": {"name": "Builtin.Gigaword"},
                "metricNames": ["Builtin.Accuracy", "Builtin.Robustness"]}]}},
            "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": "anthropic.claude-3-haiku-20240307-v1:0"}}]},
            "outputDataConfig": {"s3Uri": "s3://seeded-evals/"}
        }),
        JobKind::ProvisionedThroughput => json!({
            "modelArn": format!("arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0:200k"),
            "desiredModelArn": format!("arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0:200k"),
            "foundationModelArn": format!("arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0:200k"),
            "modelUnits": 1,
            "desiredModelUnits": 1,
            "commitmentDuration": "OneMonth"
        }),
        // A seeded `Updating` deployment is being moved to this model (Get shows updateDetails).
        JobKind::CustomModelDeployment => json!({
            "modelArn": format!("arn:aws:bedrock:{region}:{account}:custom-model/imported/abcdefghijkl"),
            "updateModelArn": format!("arn:aws:bedrock:{region}:{account}:custom-model/imported/mnopqrstuvwx")
        }),
        JobKind::CustomModel => json!({
            "baseModelArn": format!("arn:aws:bedrock:{region}::foundation-model/amazon.titan-text-express-v1"),
            "customizationType": "FINE_TUNING"
        }),
        JobKind::ModelCopy => json!({
            "sourceModelArn": format!("arn:aws:bedrock:us-west-2:{account}:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghijkl"),
            "sourceAccountId": account,
            "targetModelName": "seeded-copy",
            "targetModelArn": format!("arn:aws:bedrock:{region}:{account}:custom-model/amazon.titan-text-express-v1:0:8k/mnopqrstuvwx")
        }),
        JobKind::ModelCustomization => json!({
            "baseModelArn": format!("arn:aws:bedrock:{region}::foundation-model/amazon.titan-text-express-v1"),
            "roleArn": role,
            "customModelName": "seeded-custom",
            "customizationType": "FINE_TUNING",
            "trainingDataConfig": {"s3Uri": "s3://seeded-train/train.jsonl"},
            "validationDataConfig": {"validators": []},
            "outputDataConfig": {"s3Uri": "s3://seeded-output/"}
        }),
        JobKind::KbIngestion => {
            let (kb_arn, ds) = place.cloned().unwrap_or_default();
            json!({
                "knowledgeBaseId": kb_arn.rsplit('/').next().unwrap_or_default(),
                "dataSourceId": ds,
            })
        }
        JobKind::DataAutomation => json!({
            "inputConfiguration": {"s3Uri": "s3://seeded-input/invoice.pdf"},
            "outputConfiguration": {"s3Uri": "s3://seeded-output/bda"},
            "dataAutomationProfileArn": format!("arn:aws:bedrock:{region}:{account}:data-automation-profile/us.data-automation-v1"),
        }),
    };
    match spec {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
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
            *totals.entry(kind.arn_resource()).or_default() += store.count(kind);
            counts.insert(kind.arn_resource().to_owned(), json!(store.count(kind)));
        }
        scopes.insert(scope.label(), Value::Object(counts));
    }
    let jobs: serde_json::Map<String, Value> = JobKind::ALL
        .iter()
        .map(|k| {
            let n = totals.get(k.arn_resource()).copied().unwrap_or(0);
            (k.arn_resource().to_owned(), json!(n))
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
