//! Metrics in CloudWatch Embedded Metric Format (EMF): every run writes one JSON document as one
//! log line, and CloudWatch Logs turns its members into metrics (no PutMetricData call, no extra
//! permission). The document is built from the run summary alone, so the metrics say exactly
//! what the summary says. Specification:
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

use crate::poller::RunSummary;

/// Namespace when `METRICS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "BedrockJobwatch";

/// The one dimension: the job family (metrics are per region by nature).
pub const DIMENSION: &str = "JobKind";

/// CloudWatch units used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    Milliseconds,
    /// CloudWatch has no currency unit: dollars are `None`.
    None,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::None => "None",
            Unit::Seconds => "Seconds",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// A metric the pollers emit: its name, unit and meaning (docs/operations/metrics.md, generated from this table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub about: &'static str,
}

const fn metric(name: &'static str, unit: Unit, about: &'static str) -> Metric {
    Metric { name, unit, about }
}

/// Every metric name the code can emit, besides the per-stage failure metrics ([`STAGES`]).
pub const METRICS: &[Metric] = &[
    metric(
        "Polls",
        Unit::Count,
        "scheduled (or manual) polls: 1 per poll",
    ),
    metric(
        "SuccessfulPolls",
        Unit::Count,
        "polls whose listing worked: 1 or 0 (the heartbeat alarm)",
    ),
    metric(
        "Events",
        Unit::Count,
        "Bedrock state-change events handled: 1 per event",
    ),
    metric("OpenJobs", Unit::Count, "open jobs at the end of a poll"),
    metric(
        "OldestOpenJobAge",
        Unit::Seconds,
        "age of the oldest open job (since submission), when one is open",
    ),
    metric("Transitions", Unit::Count, "status changes written"),
    metric(
        "FinishedSuccess",
        Unit::Count,
        "jobs seen to finish with outcome success",
    ),
    metric(
        "FinishedPartial",
        Unit::Count,
        "jobs seen to finish with outcome partial",
    ),
    metric(
        "FinishedFailure",
        Unit::Count,
        "jobs seen to finish failed, stopped or expired",
    ),
    metric("NotificationsSent", Unit::Count, "notifications published"),
    metric(
        "EstimatedCostUsd",
        Unit::None,
        "estimated cost in USD of the jobs notified as finished (batch: manifest tokens x batch price; docs/notifications/cost-and-progress.md): Sum per day or month is the family's spend",
    ),
    metric(
        "PricingCalls",
        Unit::Count,
        "AWS Price List GetProducts calls (0 while the table's prices are under a day old)",
    ),
    metric(
        "RecordsRemaining",
        Unit::Count,
        "with PROGRESS_METRICS=on, per running job (dimensions JobKind, JobId): records not yet processed",
    ),
    metric(
        "RecordsPerHour",
        Unit::None,
        "with PROGRESS_METRICS=on, per running job: the rate its recent counts show",
    ),
    metric(
        "HoursToEstimatedEnd",
        Unit::None,
        "with PROGRESS_METRICS=on, per running job: hours from the run to the end that rate projects (absent at a zero rate; compare with its expiration)",
    ),
    metric(
        "AlertsSent",
        Unit::Count,
        "early-warning alerts published (stuck, stalled, expiring, overdue, idle)",
    ),
    metric(
        "NotificationsPending",
        Unit::Count,
        "notices left for a later run (publish failed, or held by another run)",
    ),
    metric(
        "NotificationLag",
        Unit::Seconds,
        "per notification: job end time to the run that published it",
    ),
    metric(
        "Failures",
        Unit::Count,
        "failed steps of the run, all stages",
    ),
    metric(
        "Throttles",
        Unit::Count,
        "calls still throttled after the SDK's retries",
    ),
    metric("BedrockCalls", Unit::Count, "Bedrock List/Get calls"),
    metric("DynamoDbCalls", Unit::Count, "DynamoDB requests"),
    metric(
        "SnsCalls",
        Unit::Count,
        "publish calls: SNS Publish/PublishBatch, EventBridge PutEvents",
    ),
    metric("RunDuration", Unit::Milliseconds, "wall time of the run"),
    metric(
        "FailingScopes",
        Unit::Count,
        "scopes (and accounts' roles) failing SCOPE_ALARM_AFTER periods in a row or more (the scope-health alarm)",
    ),
    metric(
        "ScopeFailing",
        Unit::Count,
        "per failing scope only (dimension Scope): periods in a row it failed",
    ),
    metric(
        "ScopesPolled",
        Unit::Count,
        "scopes a worker or scheduled fleet started",
    ),
    metric(
        "ScopesNotStarted",
        Unit::Count,
        "due scopes the budget did not reach (first in the next period)",
    ),
    metric(
        "WorkItemsReturned",
        Unit::Count,
        "work items a worker returned to the queue (unfinished)",
    ),
    metric(
        "WorkItemsQueued",
        Unit::Count,
        "work items the dispatcher queued",
    ),
    metric(
        "AccountsWatched",
        Unit::Count,
        "member accounts the organisation refresh selected",
    ),
    metric(
        "AccountsUnwatched",
        Unit::Count,
        "selected accounts not watched: suspended, closing, not in the organisation",
    ),
    metric(
        "WorkflowsSucceeded",
        Unit::Count,
        "waiting Step Functions tasks resumed with SendTaskSuccess (JobKind workflows)",
    ),
    metric(
        "WorkflowsFailed",
        Unit::Count,
        "waiting tasks resumed with SendTaskFailure: the job ended outside succeedOn, or the request was refused (JobKind workflows)",
    ),
    metric(
        "WorkflowHeartbeats",
        Unit::Count,
        "SendTaskHeartbeat calls for open jobs (JobKind workflows)",
    ),
    metric(
        "WorkflowWaitsDropped",
        Unit::Count,
        "waits ended because Step Functions no longer accepts their token: timed out, stopped, answered (JobKind workflows)",
    ),
    metric(
        "WorkflowResumeErrors",
        Unit::Count,
        "resumes and registrations that failed and are retried: a callback, a table or Bedrock read (JobKind workflows; the workflow-resume alarm)",
    ),
    metric(
        "WorkflowWaitsRegistered",
        Unit::Count,
        "waits stored by the register function for open jobs (JobKind workflows)",
    ),
];

/// The `JobKind` dimension's value of the workflow-wait metrics (all families together, so that
/// one alarm covers them; the family is a property of the line).
pub const WORKFLOWS: &str = "workflows";

/// The dimension of `ScopeFailing`: emitted only for failing scopes, so that its series are
/// as many as the scopes failing now, not as the scopes watched.
pub const SCOPE_DIMENSION: &str = "Scope";

/// Failure stages (as the run summary names them) and their metric, emitted only when a stage
/// failed (a metric that never appears costs nothing).
pub const STAGES: &[(&str, &str)] = &[
    ("list", "FailuresList"),
    ("wide list", "FailuresWideList"),
    ("sweep", "FailuresSweep"),
    ("get", "FailuresGet"),
    ("save", "FailuresSave"),
    ("claim", "FailuresClaim"),
    ("publish", "FailuresPublish"),
    ("mark sent", "FailuresMarkSent"),
    ("release lease", "FailuresReleaseLease"),
    ("save progress", "FailuresSaveProgress"),
];

/// A stage the table does not name (a newer context string) still counts, under this name.
pub const OTHER_STAGE: &str = "FailuresOther";

/// Every metric name the code can emit (the template's dashboard and alarms may use only these).
pub fn names() -> Vec<&'static str> {
    let stages = STAGES.iter().map(|(_, name)| *name);
    METRICS
        .iter()
        .map(|m| m.name)
        .chain(stages)
        .chain([OTHER_STAGE])
        .collect()
}

/// The dimension of the estimated cost per owner (`COST_OWNER_TAG`), in the sets
/// `[JobKind, Owner]` (the family's spend per owner) and `[Owner]` (the owner's, all families).
pub const OWNER_DIMENSION: &str = "Owner";

/// The dimension of the per-job progress metrics (`PROGRESS_METRICS`), with `JobKind`.
pub const JOB_ID_DIMENSION: &str = "JobId";

/// What started the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Poll,
    Event,
}

/// The metric values of one run, by name, from its summary (only the ones that apply).
pub fn values(summary: &RunSummary, kind: RunKind) -> Vec<(&'static str, Unit, Value)> {
    let count = |n: usize| json!(n);
    let mut out = vec![
        ("Transitions", count(summary.transitions)),
        ("FinishedSuccess", count(summary.finished.success)),
        ("FinishedPartial", count(summary.finished.partial)),
        ("FinishedFailure", count(summary.finished.failure)),
        ("NotificationsSent", count(summary.notifications_sent)),
        ("AlertsSent", count(summary.alerts_sent)),
        ("NotificationsPending", count(summary.notifications_pending)),
        ("Failures", count(summary.failures)),
        ("Throttles", count(summary.throttles)),
        ("BedrockCalls", json!(summary.bedrock_calls)),
        ("DynamoDbCalls", json!(summary.store_calls)),
        ("SnsCalls", json!(summary.sns_calls)),
        ("RunDuration", json!(summary.duration_ms)),
    ];
    match kind {
        RunKind::Poll => {
            out.push(("Polls", json!(1)));
            out.push(("SuccessfulPolls", json!(u8::from(summary.discovery_ok))));
        }
        RunKind::Event => out.push(("Events", json!(1))),
    }
    if summary.estimated_cost_micro_usd > 0 {
        out.push((
            "EstimatedCostUsd",
            json!(summary.estimated_cost_micro_usd as f64 / 1e6),
        ));
    }
    if summary.pricing_calls > 0 {
        out.push(("PricingCalls", json!(summary.pricing_calls)));
    }

    if let Some(open) = summary.open_jobs {
        out.push(("OpenJobs", json!(open)));
    }
    if let Some(age) = summary.oldest_open_age_seconds {
        out.push(("OldestOpenJobAge", json!(age)));
    }
    if !summary.notification_lag_seconds.is_empty() {
        // An array: one value per notification, CloudWatch computes the statistics.
        out.push(("NotificationLag", json!(summary.notification_lag_seconds)));
    }
    let mut with_units: Vec<_> = out
        .into_iter()
        .map(|(name, value)| (name, unit_of(name), value))
        .collect();
    with_units.extend(stage_values(summary));
    with_units
}

/// The EMF `Metrics` entries of these names: each with its declared unit.
fn definitions<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Value> {
    names
        .map(|name| json!({ "Name": name, "Unit": unit_of(name).as_str() }))
        .collect()
}

fn unit_of(name: &str) -> Unit {
    METRICS
        .iter()
        .find(|m| m.name == name)
        .map_or(Unit::Count, |m| m.unit)
}

fn stage_values(summary: &RunSummary) -> Vec<(&'static str, Unit, Value)> {
    let mut other = 0;
    let mut out = Vec::new();
    for (stage, n) in summary.failures_by_stage.iter().filter(|(_, n)| **n > 0) {
        match STAGES.iter().find(|(s, _)| s == stage) {
            Some((_, name)) => out.push((*name, Unit::Count, json!(n))),
            None => other += n,
        }
    }
    if other > 0 {
        out.push((OTHER_STAGE, Unit::Count, json!(other)));
    }
    out
}

/// The EMF document of one run: the metrics, the dimension, and a few properties to find the
/// run's log lines (region, run id).
pub fn document(namespace: &str, summary: &RunSummary, kind: RunKind, timestamp_ms: i64) -> Value {
    let values = values(summary, kind);
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit.as_str() }))
        .collect();
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[DIMENSION]],
                "Metrics": definitions,
            }],
        }),
    );
    doc.insert(DIMENSION.into(), json!(summary.job_kind));
    doc.insert("region".into(), json!(summary.region));
    doc.insert("run_id".into(), json!(summary.run_id));
    for (name, _, value) in values {
        doc.insert(name.into(), value);
    }
    Value::Object(doc)
}

/// One EMF document per owner bucket of the run's estimated cost (none without
/// `COST_OWNER_TAG`): `EstimatedCostUsd` in the dimension sets `[JobKind, Owner]` and
/// `[Owner]`. Apart from the run's document, whose `[JobKind]` series stays the family total.
pub fn owner_documents(namespace: &str, summary: &RunSummary, timestamp_ms: i64) -> Vec<Value> {
    let name = "EstimatedCostUsd";
    summary
        .cost_by_owner
        .iter()
        .filter(|(_, micro)| **micro > 0)
        .map(|(owner, micro)| {
            json!({
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [[DIMENSION, OWNER_DIMENSION], [OWNER_DIMENSION]],
                        "Metrics": [{ "Name": name, "Unit": unit_of(name).as_str() }],
                    }],
                },
                DIMENSION: summary.job_kind,
                OWNER_DIMENSION: owner,
                "region": summary.region,
                "run_id": summary.run_id,
                name: *micro as f64 / 1e6,
            })
        })
        .collect()
}

/// One EMF document per running job the run reported with `PROGRESS_METRICS` (none
/// without): records left, rate and hours to the projected end under `[JobKind, JobId]`.
pub fn progress_documents(namespace: &str, summary: &RunSummary, timestamp_ms: i64) -> Vec<Value> {
    summary
        .progress
        .iter()
        .map(|job| {
            let mut values = vec![
                ("RecordsRemaining", json!(job.remaining)),
                ("RecordsPerHour", json!(job.records_per_hour)),
            ];
            if let Some(seconds) = job.seconds_to_end {
                values.push(("HoursToEstimatedEnd", json!(seconds as f64 / 3600.0)));
            }
            let definitions = definitions(values.iter().map(|(name, _)| *name));
            let mut doc = json!({
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [[DIMENSION, JOB_ID_DIMENSION]],
                        "Metrics": definitions,
                    }],
                },
                DIMENSION: summary.job_kind,
                JOB_ID_DIMENSION: job.job_id,
                "region": summary.region,
                "run_id": summary.run_id,
            });
            for (name, value) in values {
                doc[name] = value;
            }
            doc
        })
        .collect()
}

/// An EMF document of count metrics under one dimension.
fn plain_document(
    namespace: &str,
    dimension: &str,
    value: &str,
    values: &[(&str, u64)],
    timestamp_ms: i64,
) -> Value {
    let definitions = definitions(values.iter().map(|(name, _)| *name));
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[dimension]],
                "Metrics": definitions,
            }],
        }),
    );
    doc.insert(dimension.into(), json!(value));
    for (name, v) in values {
        doc.insert((*name).into(), json!(v));
    }
    Value::Object(doc)
}

/// Where a run's EMF line goes: standard output (CloudWatch Logs in Lambda), or a buffer that
/// tests read back.
#[derive(Debug, Clone)]
pub struct MetricsSink {
    namespace: String,
    captured: Option<Arc<Mutex<Vec<String>>>>,
}

impl MetricsSink {
    /// Writes each document as one line on standard output.
    pub fn stdout(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            captured: None,
        }
    }

    /// Keeps the lines instead (tests, benchmarks).
    pub fn capture(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            captured: Some(Arc::default()),
        }
    }

    /// The lines captured so far.
    pub fn lines(&self) -> Vec<String> {
        self.captured
            .as_ref()
            .map(|c| c.lock().map(|l| l.clone()).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Emits the run's document (its cost per owner, with `COST_OWNER_TAG`, its running jobs'
    /// progress, with `PROGRESS_METRICS`, and, for a
    /// scheduled fleet, its scopes' health). Never fails
    /// the run: a line that cannot be written is lost (and logged), the summary still says
    /// what happened.
    pub fn emit(&self, summary: &RunSummary, kind: RunKind) {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let line = document(&self.namespace, summary, kind, now_ms).to_string();
        self.write(line);
        for owner in owner_documents(&self.namespace, summary, now_ms) {
            self.write(owner.to_string());
        }
        for job in progress_documents(&self.namespace, summary, now_ms) {
            self.write(job.to_string());
        }
        if !summary.failing_scopes.is_empty() {
            self.emit_health(&summary.job_kind, &[], &summary.failing_scopes);
        }
    }

    /// A worker's run of one family: only its estimated cost (`EstimatedCostUsd` and
    /// `PricingCalls` under `[JobKind]`, and per owner), the figures the family's dashboard
    /// widgets read; the run's other counts are the worker's own metrics.
    pub fn emit_cost(&self, summary: &RunSummary) {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let values = [
            (
                "EstimatedCostUsd",
                summary.estimated_cost_micro_usd as f64 / 1e6,
            ),
            ("PricingCalls", summary.pricing_calls as f64),
        ];
        let definitions = definitions(values.iter().map(|(name, _)| *name));
        let mut doc = json!({
            "_aws": {
                "Timestamp": now_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": definitions,
                }],
            },
            DIMENSION: summary.job_kind,
            "region": summary.region,
            "run_id": summary.run_id,
        });
        for (name, value) in values {
            doc[name] = json!(value);
        }
        self.write(doc.to_string());
        for owner in owner_documents(&self.namespace, summary, now_ms) {
            self.write(owner.to_string());
        }
    }

    /// Metrics of a worker, a dispatcher or a refresh (dimension `JobKind` = `function`, e.g.
    /// `worker`), and one `ScopeFailing` document per failing scope.
    pub fn emit_health(
        &self,
        function: &str,
        values: &[(&'static str, u64)],
        failing: &[crate::poller::FailingScope],
    ) {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut all: Vec<(&str, u64)> = values.to_vec();
        all.push(("FailingScopes", failing.len() as u64));
        self.write(plain_document(&self.namespace, DIMENSION, function, &all, now_ms).to_string());
        for scope in failing {
            let values = [("ScopeFailing", scope.failures as u64)];
            let mut doc = plain_document(
                &self.namespace,
                SCOPE_DIMENSION,
                &scope.scope,
                &values,
                now_ms,
            );
            doc["error"] = json!(scope.error);
            self.write(doc.to_string());
        }
    }

    /// Metrics of workflow waits (dimension `JobKind` = [`WORKFLOWS`]); `source`: the family
    /// whose poller resumed, or the register function.
    pub fn emit_workflows(&self, source: &str, values: &[(&'static str, u64)]) {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut doc = plain_document(&self.namespace, DIMENSION, WORKFLOWS, values, now_ms);
        doc["source"] = json!(source);
        self.write(doc.to_string());
    }

    fn write(&self, line: String) {
        match &self.captured {
            Some(lines) => lines.lock().unwrap_or_else(|p| p.into_inner()).push(line),
            None => {
                let mut out = std::io::stdout().lock();
                if let Err(e) = writeln!(out, "{line}").and_then(|_| out.flush()) {
                    tracing::warn!(error = %e, "metrics line not written");
                }
            }
        }
    }
}
