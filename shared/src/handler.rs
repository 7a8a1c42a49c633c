//! The Lambda handler shared by the pollers: accept the trigger, run one poll, summarise.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use std::future::Future;

use chrono::{DateTime, Utc};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;

use crate::domain::{ArnShape, JobArn, JobKind, RunId};
use crate::error::Error;
use crate::metrics::{MetricsSink, RunKind};
use crate::poller::{Budget, Fleet, Poller, RunSummary};
use crate::ports::{JobSource, JobStore, Notifier};

/// Detail type of EventBridge Scheduler / scheduled-rule events.
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

/// What an invocation did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Output {
    /// A scheduled (or manual `{}`) poll of the family.
    Polled(Box<RunSummary>),
    /// A Bedrock state-change event, confirmed with one Get and settled.
    Event(Box<RunSummary>),
    /// The event was not a trigger for this function (logged, nothing done).
    Ignored { reason: String },
}

/// Why an event triggers work, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Poll,
    /// A Bedrock state-change event for one job (its reported status is informational only).
    Job {
        kind: JobKind,
        arn: JobArn,
        reported_status: Option<String>,
    },
    Ignore(String),
}

/// The job a Bedrock state-change event names (the family's `EventShape` says where), else the
/// first resource. Families whose events carry only an id get the ARN built from the event's
/// region and account.
fn job_event(event: &EventBridgeEvent<Value>) -> Option<Trigger> {
    let kind = JobKind::by_event(&event.detail_type)?;
    let family = kind.family();
    let shape = family.event.filter(|shape| shape.source == event.source)?;
    let named = event.detail.get(shape.arn_field).and_then(Value::as_str);
    let arn = match shape.named_by_id {
        true => arn_of_id(event, &family.arn, named?)?,
        false => named
            .map(str::to_owned)
            .or_else(|| event.resources.as_ref().and_then(|r| r.first().cloned()))?,
    };
    let service = format!(":{}:", family.arn.service);
    let valid = arn.starts_with("arn:") && arn.contains(&service) && arn.len() <= 2048;
    valid.then(|| Trigger::Job {
        kind,
        arn: JobArn::new(arn),
        reported_status: event
            .detail
            .get(shape.status_field)
            .and_then(Value::as_str)
            .map(|s| s.chars().take(64).collect()),
    })
}

/// `arn:{partition}:{service}:{region}:{account}:{resource}/{id}` from the event's envelope; `None`
/// when the id or the envelope is not something an ARN can be made of.
fn arn_of_id(event: &EventBridgeEvent<Value>, shape: &ArnShape, id: &str) -> Option<String> {
    let (service, resource) = (shape.service, shape.resource);
    let region = event.region.as_deref()?;
    let account = event.account.as_deref()?;
    let id_ok = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let partition = match region {
        r if r.starts_with("cn-") => "aws-cn",
        r if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    };
    (id_ok && region_ok && account_ok)
        .then(|| format!("arn:{partition}:{service}:{region}:{account}:{resource}/{id}"))
}

/// Classifies an incoming payload: scheduled events and manual `{}` invocations poll; other
/// EventBridge detail types are ignored; anything else is a clear error.
pub fn classify(payload: &Value) -> Result<Trigger, Error> {
    match payload {
        Value::Object(map) if map.is_empty() => Ok(Trigger::Poll),
        Value::Object(_) => {
            match serde_json::from_value::<EventBridgeEvent<Value>>(payload.clone()) {
                Ok(event) if event.detail_type == SCHEDULED_EVENT => Ok(Trigger::Poll),
                Ok(event) if JobKind::emits_events_from(&event.source) => Ok(job_event(&event)
                    .unwrap_or_else(|| {
                        Trigger::Ignore(format!(
                            "Bedrock event {:?} without a usable job ARN",
                            truncate(&event.detail_type)
                        ))
                    })),
                Ok(event) => Ok(Trigger::Ignore(format!(
                    "detail-type {:?} from {:?} is not handled",
                    truncate(&event.detail_type),
                    truncate(&event.source)
                ))),
                Err(e) => Err(Error::Event(format!("not an EventBridge event: {e}"))),
            }
        }
        other => Err(Error::Event(format!(
            "expected a JSON object, got {}",
            kind_of(other)
        ))),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(128).collect()
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Time kept in hand before the Lambda deadline: enough to finish the write or publish under way
/// and to give back leases; at most a quarter of the time left, so short timeouts (Lambda's
/// default is 3 s) still get work done.
pub const DEADLINE_MARGIN_MS: i64 = 5_000;

/// The work budget of an invocation whose deadline is `deadline_ms` (epoch milliseconds).
pub fn budget(deadline_ms: u64, now_ms: i64) -> Budget {
    // Lambda sends epoch milliseconds. A value far from now is not a deadline at all (some local
    // runtimes send 0 or a relative timeout): run without a budget rather than not at all.
    let plausible = (now_ms - 60_000)..=(now_ms + 86_400_000);
    if !plausible.contains(&(deadline_ms as i64)) {
        return Budget::default();
    }
    let remaining = (deadline_ms as i64 - now_ms).max(0);
    let usable = remaining - DEADLINE_MARGIN_MS.min(remaining / 4);
    Budget::until(std::time::Instant::now() + std::time::Duration::from_millis(usable as u64))
}

/// What the handler drives: a fleet of scopes (the deployed functions), or one poller alone.
pub trait Watcher: Send + Sync {
    /// The family watched.
    fn kind(&self) -> Option<JobKind>;

    /// One scheduled poll.
    fn poll(
        &self,
        now: DateTime<Utc>,
        run_id: RunId,
        budget: Budget,
    ) -> impl Future<Output = Result<RunSummary, Error>>;

    /// Confirms the job an event names; `Ok(Err(reason))`: not a job this watcher watches.
    fn confirm<'a>(
        &'a self,
        now: DateTime<Utc>,
        run_id: RunId,
        arn: &'a JobArn,
        own_account: Option<&'a str>,
        budget: Budget,
    ) -> impl Future<Output = Result<Result<RunSummary, String>, Error>> + 'a;
}

impl<S: JobSource, T: JobStore, N: Notifier> Watcher for Fleet<S, T, N> {
    fn kind(&self) -> Option<JobKind> {
        Fleet::kind(self)
    }

    fn poll(
        &self,
        now: DateTime<Utc>,
        run_id: RunId,
        budget: Budget,
    ) -> impl Future<Output = Result<RunSummary, Error>> {
        self.run_within(now, run_id, budget)
    }

    fn confirm<'a>(
        &'a self,
        now: DateTime<Utc>,
        run_id: RunId,
        arn: &'a JobArn,
        own_account: Option<&'a str>,
        budget: Budget,
    ) -> impl Future<Output = Result<Result<RunSummary, String>, Error>> + 'a {
        self.run_one(now, run_id, arn, own_account, budget)
    }
}

/// One poller alone: every event of its family is confirmed through it.
impl<S: JobSource, T: JobStore, N: Notifier> Watcher for Poller<S, T, N> {
    fn kind(&self) -> Option<JobKind> {
        Some(self.source.kind())
    }

    fn poll(
        &self,
        now: DateTime<Utc>,
        run_id: RunId,
        budget: Budget,
    ) -> impl Future<Output = Result<RunSummary, Error>> {
        self.run_within(now, run_id, budget)
    }

    async fn confirm<'a>(
        &'a self,
        now: DateTime<Utc>,
        run_id: RunId,
        arn: &'a JobArn,
        _own_account: Option<&'a str>,
        budget: Budget,
    ) -> Result<Result<RunSummary, String>, Error> {
        self.run_one(now, run_id, arn, budget).await.map(Ok)
    }
}

/// Runs one invocation; every poll and event run writes its metrics to `metrics`.
pub async fn handle<W: Watcher>(
    fleet: &W,
    metrics: &MetricsSink,
    event: LambdaEvent<Value>,
) -> Result<Output, Error> {
    let run_id = match event.context.request_id.as_str() {
        "" => RunId::new(format!(
            "local-{}",
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        )),
        id => RunId::new(id),
    };
    let now_ms = Utc::now().timestamp_millis();
    tracing::info!(
        remaining_ms = event.context.deadline as i64 - now_ms,
        deadline_ms = event.context.deadline,
        "invocation"
    );
    let budget = budget(event.context.deadline, now_ms);
    match classify(&event.payload)? {
        Trigger::Job {
            kind,
            arn,
            reported_status,
        } if Some(kind) == fleet.kind() => {
            tracing::info!(job_arn = %arn, reported_status, "state-change event");
            let own = own_account(&event.context.invoked_function_arn);
            let summary = match fleet.confirm(Utc::now(), run_id, &arn, own, budget).await? {
                Ok(summary) => summary,
                Err(reason) => return Ok(ignored(reason)),
            };
            metrics.emit(&summary, RunKind::Event);
            tracing::info!(summary = %serde_json::to_string(&summary).unwrap_or_default(), "event handled");
            Ok(Output::Event(Box::new(summary)))
        }
        Trigger::Job { kind, .. } => Ok(ignored(format!(
            "a {kind} event is not for this {} function",
            fleet.kind().map(|k| k.to_string()).unwrap_or_default()
        ))),
        Trigger::Ignore(reason) => Ok(ignored(reason)),
        Trigger::Poll => poll(fleet, metrics, run_id, budget).await,
    }
}

/// The function's own account, from its ARN (`arn:aws:lambda:{region}:{account}:function:..`);
/// `None` where the runtime gives no real ARN (local runs).
pub fn own_account(function_arn: &str) -> Option<&str> {
    function_arn
        .split(':')
        .nth(4)
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

fn ignored(reason: String) -> Output {
    tracing::info!(reason, "event ignored");
    Output::Ignored { reason }
}

/// A scheduled poll. A run whose listing failed (in every scope) is an error for Lambda
/// (alarms); the next run picks up where this one stopped.
async fn poll<W: Watcher>(
    fleet: &W,
    metrics: &MetricsSink,
    run_id: RunId,
    budget: Budget,
) -> Result<Output, Error> {
    let summary = fleet.poll(Utc::now(), run_id, budget).await?;
    metrics.emit(&summary, RunKind::Poll);
    let line = serde_json::to_string(&summary).unwrap_or_default();
    if summary.failures > 0 {
        tracing::warn!(summary = %line, "run finished with failures");
    } else {
        tracing::info!(summary = %line, "run finished");
    }
    if !summary.discovery_ok {
        return Err(Error::Incomplete {
            failures: summary.failures,
            first: summary.errors.first().cloned().unwrap_or_default(),
        });
    }
    Ok(Output::Polled(Box::new(summary)))
}

#[cfg(test)]
mod tests {
    use super::own_account;

    #[test]
    fn the_own_account_comes_from_a_real_function_arn_only() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:batch-inference-poller";
        assert_eq!(own_account(arn), Some("123456789012"));
        for local in ["", "function", "arn:aws:lambda:us-east-1:000:function:x"] {
            assert_eq!(own_account(local), None, "{local:?}");
        }
    }
}
