//! The notice an alert produces: the v1 document with `type: alert`, a subject that says what is
//! wrong first, and an email that says what to look at.

use std::fmt::Write;

use serde_json::json;

use super::email::{duration, group};
use super::notice::{attributes, display_name, Audience, Class};
use super::presentation::{Presentation, Tags};
use super::{locations, progress_note, subject, Notice};
use crate::domain::batch_activity::ModelActivity;
use crate::domain::{Alert, AlertKind, Basis, Estimate, JobRecord, Outcome};

impl Notice {
    /// The notice of `alert` about `record` (tags already limited to `NOTIFY_TAGS`).
    pub fn alert(
        record: &JobRecord,
        alert: &Alert,
        presentation: &Presentation,
        tags: &Tags,
    ) -> Self {
        let (dedup_key, display_name) = (alert_key(record, alert), display_name(record));
        let account_name = presentation.account_name.as_deref();
        let subject = alert_subject(record, alert, &display_name, account_name);
        let email = render(record, alert, &display_name);
        let seconds = |d: chrono::Duration| d.num_seconds();
        let body = json!({
            "schema": "bedrock-jobwatch/notification/v1",
            "schemaVersion": "1.3",
            "type": "alert",
            "alert": alert.kind,
            "dedupKey": dedup_key,
            "jobKind": record.kind,
            "jobArn": record.pk,
            "jobId": record.pk.id(),
            "jobName": record.name.as_ref().map(|_| &display_name),
            "region": record.region,
            "account": record.pk.account(),
            "accountName": account_name,
            "modelId": record.model_id,
            "status": record.status,
            "previousStatus": record.previous_status,
            "outcome": Outcome::Progress,
            "messageTruncated": false,
            "submitTime": record.submit_time,
            "deadline": record.deadline,
            "elapsedSeconds": seconds(alert.elapsed),
            "thresholdSeconds": seconds(alert.threshold),
            "medianSeconds": alert.median.map(seconds),
            "suggestion": suggestion(alert.kind, record),
            "recordCounts": (!record.counts.is_empty()).then_some(&record.counts),
            "progress": record.estimate().map(|e| progress_json(&e)),
            "hourlyCost": record.hourly_cost.as_ref().map(super::notice::hourly_json),
            // The evidence of a confirmed stall, on that alert only: a later alert of the job
            // (overdue, expiring) must not show figures read when it stalled.
            "batchMetrics": record.model_activity.filter(|_| alert.kind == AlertKind::Stalled),
            "progressNote": progress_note(record).filter(|_| shows_stage(alert.kind)),
            "consoleUrl": locations::console_url(record, record.phase()),
            "tags": tags,
            "text": &email,
        });
        let to = Audience { account_name, tags };
        let class = Class::Alert(alert.kind.as_str());
        let attributes = attributes(record, &record.status, class, &to);
        Self {
            attributes,
            dedup_key,
            subject,
            body,
            email,
            outcome: Outcome::Progress,
        }
    }
}

/// `{ARN}#{kind}`: an alert is sent once per job; an idle one once per idle stretch and day
/// (`#{since}#{day}`, from the item, so a re-send after a crash repeats it).
fn alert_key(record: &JobRecord, alert: &Alert) -> String {
    match (alert.kind, &record.idle) {
        (AlertKind::Idle, Some(idle)) => format!("{}#{}#{}", record.pk, alert.kind, idle.key()),
        _ => format!("{}#{}", record.pk, alert.kind),
    }
}

/// `[Bedrock] Alert stalled: batch inference {name} ({account})`.
fn alert_subject(record: &JobRecord, alert: &Alert, name: &str, account: Option<&str>) -> String {
    let family = record.kind.label().trim_end_matches(" job").to_lowercase();
    let account = account.or(record.pk.account());
    subject::job_subject(&format!("Alert {}", alert.kind), &family, name, account)
}

/// The document's `progress`: the rate, records left and the end they projected.
fn progress_json(e: &Estimate) -> serde_json::Value {
    json!({
        "recordsPerHour": (e.records_per_hour * 10.0).round() / 10.0,
        "remaining": e.remaining,
        "estimatedEnd": e.end,
        "basis": e.basis,
        "asOf": e.as_of,
    })
}

/// The email's progress line: records left, the rate as measured up to the last recorded count,
/// and the end it projects (for a stalled job: the end it had before it stopped).
pub(super) fn progress_line(e: &Estimate) -> String {
    let end = e.end.map_or("no end in sight".into(), |t| {
        format!("it would finish about {}", t.format("%Y-%m-%d %H:%M UTC"))
    });
    let basis = match e.basis {
        Basis::Observed => "measured up to",
        Basis::SinceSubmit => "averaged from submission to",
    };
    format!(
        "{} records left; at {} records/hour ({basis} {}) {end}",
        group(e.remaining),
        group(e.records_per_hour.round() as i64),
        e.as_of.format("%H:%M UTC")
    )
}

/// Where a job without counts stands is worth saying in the alerts about a running job taking
/// long (`stalled`, `overdue`), not in `stuck` (not started) or `idle` (a resource).
fn shows_stage(kind: AlertKind) -> bool {
    matches!(kind, AlertKind::Stalled | AlertKind::Overdue)
}

/// What CloudWatch said of the model when it confirmed the stall: records pending, nothing
/// processed over the window (account-wide figures for the model, not the job's own).
pub(super) fn activity_line(a: &ModelActivity) -> String {
    let pending = a.records_pending.map_or("no".into(), group);
    let tokens = a
        .tokens_pending
        .map_or(String::new(), |t| format!(" ({} tokens)", group(t)));
    format!(
        "{pending} records pending{tokens} for this model and no tokens processed in the {} before {} (AWS/Bedrock/Batch, account-wide for the model)",
        duration(i64::from(a.window_minutes) * 60),
        a.read_at.format("%H:%M UTC")
    )
}

/// What to do about it, for people and in the document.
fn suggestion(kind: AlertKind, record: &JobRecord) -> &'static str {
    match (kind, record.counts.processed.is_some()) {
        (AlertKind::Expiring, _) => "Records not processed by the expiration time are not processed at all. Check throttling and the batch quotas now; if it cannot finish in time, stop it (processed records keep their output) and submit the rest as a new job.",
        (AlertKind::Stuck, _) => "A waiting job is usually queued behind a quota. Check the family's quotas in Service Quotas and how many jobs of this account are running; stop and resubmit once there is room.",
        (AlertKind::Stalled, true) => "Check the model's invocation throttling and errors in CloudWatch and the input for malformed records. If the count stays still, stop the job (processed records keep their output) and resubmit the rest.",
        (AlertKind::Stalled, false) => "Jobs of this kind usually finish sooner. Check the job in the console and the AWS Health Dashboard; stop and resubmit it if it does not progress.",
        (AlertKind::Idle, _) => "A provisioned throughput is billed for every hour it exists, invoked or not. If callers should be using it, check that they pass its ARN as modelId; if nobody needs it, delete it (one bought with a commitment is billed until the commitment ends).",
        (AlertKind::Overdue, _) => "It is running far longer than earlier jobs of the same model. Check its input size against earlier jobs and the model's throttling; stop and resubmit it if it does not progress.",
    }
}

/// The first line: what is wrong, with the figures that show it.
fn headline(record: &JobRecord, alert: &Alert, name: &str) -> String {
    let (label, status) = (record.kind.label(), &record.status);
    let (elapsed, threshold) = (
        duration(alert.elapsed.num_seconds().abs()),
        duration(alert.threshold.num_seconds()),
    );
    match alert.kind {
        AlertKind::Expiring if alert.elapsed.num_seconds() < 0 => format!(
            "{label} \"{name}\" passed its expiration time {elapsed} ago and is still {status}."
        ),
        AlertKind::Expiring => match projected_miss(record) {
            Some(end) => format!(
                "{label} \"{name}\" expires in {elapsed} and at its rate would finish about {end}, after that."
            ),
            None => format!(
                "{label} \"{name}\" expires in {elapsed} and is still {status} (alert {threshold} before)."
            ),
        },
        AlertKind::Stuck => format!(
            "{label} \"{name}\" has been waiting in {status} for {elapsed} (alert after {threshold})."
        ),
        AlertKind::Stalled if record.counts.processed.is_some() => format!(
            "{label} \"{name}\" has not processed a record for {elapsed} (alert after {threshold})."
        ),
        AlertKind::Stalled => format!(
            "{label} \"{name}\" has been {status} for {elapsed} (alert after {threshold})."
        ),
        AlertKind::Overdue => format!(
            "{label} \"{name}\" has been running for {elapsed}, longer than {threshold} ({} times the median of {} for this model).",
            format_factor(alert), alert.median.map_or("-".into(), |m| duration(m.num_seconds()))
        ),
        AlertKind::Idle => format!(
            "{label} \"{name}\" has had no invocations for {elapsed} (alert after {threshold}). {}",
            crate::domain::idle::cost_sentence(record.hourly_cost.as_ref())
        ),
    }
}

/// The projected end of a job its observed rate says will miss its deadline.
fn projected_miss(record: &JobRecord) -> Option<String> {
    let estimate = record.estimate()?;
    let end = estimate.end?;
    (estimate.basis == Basis::Observed && record.deadline.is_some_and(|d| estimate.misses(d)))
        .then(|| end.format("%Y-%m-%d %H:%M UTC").to_string())
}

fn format_factor(alert: &Alert) -> String {
    match alert.median {
        Some(m) if m.num_seconds() > 0 => {
            format!(
                "{:.1}",
                alert.threshold.num_seconds() as f64 / m.num_seconds() as f64
            )
        }
        _ => "-".into(),
    }
}

/// How often this kind is sent (once per job; `idle` at most once a day while it lasts) and
/// how to filter alerts.
fn footer(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Idle => "-- bedrock-jobwatch early warning. You get this at most once a day while it stays\n   idle. Filter alerts in or out with the `type` message attribute.",
        _ => "-- bedrock-jobwatch early warning. You get each kind of alert once per job, and the\n   job's end as usual. Filter alerts in or out with the `type` message attribute.",
    }
}

/// Renders the alert email: headline, progress, what to do, where to look.
fn render(record: &JobRecord, alert: &Alert, name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(record, alert, name));
    let _ = writeln!(out);
    let _ = writeln!(out, "Status:           {}", record.status);
    let submitted = record.submit_time.format("%Y-%m-%d %H:%M UTC");
    let _ = writeln!(out, "Submitted:        {submitted}");
    if let Some(deadline) = record.deadline {
        let _ = writeln!(
            out,
            "Expires:          {}",
            deadline.format("%Y-%m-%d %H:%M UTC")
        );
    }
    if let (Some(processed), total) = (record.counts.processed, record.counts.total) {
        let of = total.map_or(String::new(), |t| format!(" of {}", group(t)));
        let _ = writeln!(out, "Processed:        {}{of} records", group(processed));
    }
    if let Some(estimate) = record.estimate() {
        let _ = writeln!(out, "Progress:         {}", progress_line(&estimate));
    } else if let Some(note) = progress_note(record).filter(|_| shows_stage(alert.kind)) {
        let _ = writeln!(out, "Progress:         {note}");
    }
    if let Some(activity) = record
        .model_activity
        .filter(|_| alert.kind == AlertKind::Stalled)
    {
        let _ = writeln!(out, "Batch metrics:    {}", activity_line(&activity));
    }
    if let Some(model) = &record.model_id {
        let _ = writeln!(out, "Model:            {model}");
    }
    let _ = writeln!(out, "Job ARN:          {}", record.pk);
    let console = locations::console_url(record, record.phase());
    let _ = writeln!(out, "Console:          {console}");
    let _ = writeln!(out);
    let _ = writeln!(out, "What to do: {}", suggestion(alert.kind, record));
    let _ = writeln!(out);
    let _ = write!(out, "{}", footer(alert.kind));
    out
}
