//! How jobs move: forced transitions, and the ticker that advances jobs with a planned outcome
//! through the family's realistic states (`--auto-advance`, the `emulator:outcome` tag, or a stop).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::Rng;

use crate::app::App;
use crate::model::{fit_outcome, Job, JobKind, RecordCounts, Status};
use crate::scope::Scope;
use crate::store::Store;

/// Moves a job to `status` now; terminal statuses set `endTime`.
pub fn transition(job: &mut Job, status: Status, message: Option<String>, now: DateTime<Utc>) {
    job.last_modified_time = now;
    if status.is_terminal() {
        job.end_time = Some(now);
    }
    if message.is_some() {
        job.message = message;
    }
    job.status = status;
}

/// The state after `current` on the way to `outcome`.
fn next_status(kind: JobKind, current: &Status, outcome: &Status) -> Status {
    match (kind, current) {
        (_, Status::Stopping) => Status::Stopped,
        (_, Status::IngestionStopping) => Status::IngestionStopped,
        (JobKind::KbIngestion, Status::Starting) => Status::IngestionInProgress,
        (JobKind::DataAutomation, Status::Created) => Status::InProgress,
        (JobKind::BatchInference, Status::Submitted) => Status::Validating,
        (JobKind::BatchInference, Status::Validating) => Status::Scheduled,
        (JobKind::BatchInference, Status::Scheduled) => Status::InProgress,
        _ => fit_outcome(kind, outcome),
    }
}

/// Fills the details a real job has when it ends: record counts, messages, output ARNs.
pub fn finish_details(job: &mut Job, rng: &mut StdRng) {
    match job.kind {
        JobKind::KbIngestion => return ingestion_details(job, rng),
        JobKind::DataAutomation => return invocation_details(job),
        _ => {}
    }
    let total: i64 = rng.random_range(10..=5000);
    let failed = |job: &Job| {
        match job.kind {
        JobKind::BatchInference => "Job failed: the input file contained no valid records.",
        JobKind::ModelImport => {
            "Model import failed: config.json is missing from the model data source."
        }
        JobKind::ModelEvaluation => {
            "The evaluation dataset could not be read: check the role's access to the S3 location."
        }
        JobKind::ModelCopy => {
            "The source model could not be copied: the KMS key is not accessible."
        }
        JobKind::ProvisionedThroughput => {
            "Insufficient capacity for the requested model units in this region. Try fewer model units or another region."
        }
        JobKind::CustomModelDeployment => {
            "The deployment could not be created: the custom model's artifacts could not be loaded."
        }
        JobKind::CustomModel => {
            "The model weights could not be read: config.json is missing from the S3 location."
        }
        _ => "The model failed to process the request.",
    }
    };
    let status = job.status.clone();
    match status {
        _ if status.is_terminal() && job.kind == JobKind::BatchInference => {
            let (processed, errors) = match status {
                Status::Completed => (total, 0),
                Status::PartiallyCompleted => (total, rng.random_range(1..total / 2)),
                Status::Failed => (0, 0),
                _ => {
                    let done = rng.random_range(0..total);
                    (done, rng.random_range(0..=done / 10))
                }
            };
            job.counts = RecordCounts {
                total_record_count: Some(total),
                processed_record_count: Some(processed),
                success_record_count: Some(processed - errors),
                error_record_count: Some(errors),
            };
            if job.message.is_none() {
                job.message = match status {
                    Status::Failed => Some(failed(job).to_owned()),
                    Status::Expired => {
                        Some("Job expired: it did not complete within the timeout duration.".into())
                    }
                    Status::PartiallyCompleted => {
                        Some(format!("{errors} records failed; see the output manifest."))
                    }
                    _ => None,
                };
            }
        }
        Status::Failed | Status::UpdateFailed if job.message.is_none() => {
            job.message = Some(failed(job).to_owned())
        }
        // An update that completes takes effect: the new model, the new units.
        Status::InService | Status::UpdateCompleted => {
            for (now, desired) in [
                ("modelArn", "desiredModelArn"),
                ("modelUnits", "desiredModelUnits"),
                ("modelArn", "updateModelArn"),
            ] {
                if let Some(v) = job.spec.get(desired).cloned() {
                    job.spec.insert(now.into(), v);
                }
            }
        }
        Status::Completed if job.kind == JobKind::ModelCustomization => {
            let model = job
                .spec_str("customModelName")
                .unwrap_or("custom")
                .to_owned();
            let arn = format!(
                "{}:custom-model/{model}/{}",
                job.arn
                    .split(":model-customization-job/")
                    .next()
                    .unwrap_or_default(),
                job.id
            );
            job.spec.insert("outputModelArn".into(), arn.into());
        }
        Status::Completed if job.kind == JobKind::ModelImport => {
            let id: String = job.id.chars().rev().collect();
            let arn = job
                .arn
                .replace("model-import-job/", "imported-model/")
                .replace(&job.id, &id);
            job.spec.insert("importedModelArn".into(), arn.into());
        }
        _ => {}
    }
}

/// An ingestion job's statistics (and failure reasons when it failed), as `GetIngestionJob`
/// reports them.
fn ingestion_details(job: &mut Job, rng: &mut StdRng) {
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

/// A Data Automation invocation's result location, or its error.
fn invocation_details(job: &mut Job) {
    match job.status {
        Status::Success => {
            let output = job
                .spec
                .get("outputConfiguration")
                .and_then(|o| o.get("s3Uri"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("s3://emulator-output")
                .trim_end_matches('/')
                .to_owned();
            let metadata = format!("{output}/{}/0/job_metadata.json", job.id);
            job.spec.insert("resultUri".into(), metadata.into());
        }
        Status::ClientError if job.message.is_none() => {
            job.spec.insert("errorType".into(), "ClientError".into());
            job.message = Some("The input file is not a supported document format.".into());
        }
        Status::ServiceError if job.message.is_none() => {
            job.spec.insert("errorType".into(), "ServiceError".into());
            job.message = Some("An internal error occurred. Retry the invocation.".into());
        }
        _ => {}
    }
}

/// Advances every job (of every scope) whose current state has lasted `step`, once.
pub async fn tick(app: &App, step: Duration, now: DateTime<Utc>) {
    let step = chrono::Duration::from_std(step).unwrap_or_default();
    for (_, store) in app.all_stores() {
        tick_store(app, &mut *store.write().await, step, now);
    }
}

fn tick_store(app: &App, store: &mut Store, step: chrono::Duration, now: DateTime<Utc>) {
    let due: Vec<String> = store
        .all()
        .filter(|j| j.planned_outcome.is_some() && !j.status.is_terminal())
        .filter(|j| now - j.last_modified_time >= step)
        .map(|j| j.arn.clone())
        .collect();
    for arn in due {
        let Some(job) = store.find_any_mut(&arn) else {
            continue;
        };
        let outcome = job.planned_outcome.clone().unwrap_or(Status::Completed);
        let next = next_status(job.kind, &job.status, &outcome);
        let finished = next.is_terminal();
        transition(job, next, None, now);
        if finished {
            app.with_rng(|rng| finish_details(job, rng));
        }
        if let Some(model) = produced_model(app, job, now) {
            store.insert(model);
        }
    }
}

/// The custom model a completed customization job produced, as `ListCustomModels` and
/// `GetCustomModel` then show it (`Active`, naming the job); its ARN becomes the job's
/// `outputModelArn`.
fn produced_model(app: &App, job: &mut Job, now: DateTime<Utc>) -> Option<Job> {
    if job.kind != JobKind::ModelCustomization || job.status != Status::Completed {
        return None;
    }
    let base_arn = job.spec.get("baseModelArn").cloned().unwrap_or_default();
    let base = base_arn
        .as_str()
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("custom");
    let id = app.new_id();
    // The model lives where its job ran (the job's ARN names the account and region).
    let scope = Scope::of_arn(&job.arn).unwrap_or_else(|| app.default_scope());
    let arn = format!(
        "arn:aws:bedrock:{}:{}:custom-model/{base}/{id}",
        scope.region, scope.account
    );
    job.spec.insert("outputModelArn".into(), arn.clone().into());
    let mut spec = serde_json::Map::new();
    spec.insert("baseModelArn".into(), base_arn.clone());
    spec.insert("jobArn".into(), job.arn.clone().into());
    let kind = job.spec.get("customizationType").cloned();
    spec.insert(
        "customizationType".into(),
        kind.unwrap_or("FINE_TUNING".into()),
    );
    Some(Job {
        kind: JobKind::CustomModel,
        id,
        arn,
        name: job.spec_str("customModelName").map(str::to_owned),
        status: Status::Active,
        message: None,
        submit_time: now,
        last_modified_time: now,
        end_time: Some(now),
        client_request_token: None,
        counts: RecordCounts::default(),
        spec,
        planned_outcome: None,
        tags: Default::default(),
    })
}

/// Runs [`tick`] forever (spawned by the server).
pub async fn run_ticker(app: Arc<App>) {
    let step = app.settings.lifecycle.step;
    let period = (step / 4).max(Duration::from_millis(20));
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        tick(&app, step, Utc::now()).await;
    }
}
