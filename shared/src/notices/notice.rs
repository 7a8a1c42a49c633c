//! The notification a terminal transition produces: subject, JSON body, filterable attributes.

use serde_json::{json, Value};

use super::presentation::{tag_attribute, Presentation, Tags};
use super::{locations, subject};
use crate::domain::{JobRecord, JobStatus, Outcome};

/// A rendered notification, ready for any notifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Stable across retries: `{job ARN}#{status}` (`#{cycle}` added for re-opening resources).
    pub dedup_key: String,
    /// One line, fewer than 100 characters (SNS rules): status, family, name, account.
    pub subject: String,
    /// The machine-readable document (the `default` variant).
    pub body: Value,
    /// The plain-text variant for email subscribers (also in the document as `text`).
    pub email: String,
    /// Message attributes for subscription filter policies (values never empty).
    pub attributes: Vec<(String, String)>,
    /// What a digest line needs (outcome, display name, status, a short message).
    pub outcome: Outcome,
}

/// Longest service message carried in a notice; the rest is cut and marked.
const MAX_MESSAGE_CHARS: usize = 2048;
/// Longest job name carried (the API allows 63; anything longer is cut and marked).
pub(super) const MAX_NAME_CHARS: usize = 256;

impl Notice {
    /// A notice with the default presentation and no tags.
    pub fn new(record: &JobRecord, status: &JobStatus) -> Self {
        Self::build(record, status, &Presentation::default(), &Tags::new())
    }

    /// A notice for `status` of `record`, with `tags` (already limited to `NOTIFY_TAGS`).
    pub fn build(
        record: &JobRecord,
        status: &JobStatus,
        presentation: &Presentation,
        tags: &Tags,
    ) -> Self {
        let dedup_key = dedup_key(record, status);
        let outcome = record.kind.family().phase(status).outcome();
        let name = display_name(record);
        let account_name = presentation.account_name.as_deref();
        let shown_account = account_name.or(record.pk.account());
        let family = record.kind.label().trim_end_matches(" job").to_lowercase();
        let subject = subject::job_subject(status.as_str(), &family, &name, shown_account);
        let (message, truncated) = truncate(record.message.as_deref(), MAX_MESSAGE_CHARS);
        let view = super::email::View {
            record,
            status,
            name: &name,
            message: message.as_deref(),
            account_name,
            tags,
            detail: presentation.email_detail,
        };
        let email = super::email::render(&view);
        let body = body(&view, &dedup_key, truncated, &email);
        let to = Audience { account_name, tags };
        Self {
            attributes: attributes(record, status, Class::Terminal(outcome), &to),
            dedup_key,
            subject,
            body,
            email,
            outcome,
        }
    }

    /// The job's name as people see it (the id for nameless jobs), bounded.
    pub fn display_name(&self) -> &str {
        self.body["jobName"]
            .as_str()
            .or(self.body["jobId"].as_str())
            .unwrap_or_default()
    }
}

/// The machine-readable document (schema `bedrock-jobwatch/notification/v1`): every field a
/// subscriber may read, the email text included.
fn body(view: &super::email::View<'_>, dedup_key: &str, truncated: bool, email: &str) -> Value {
    let (record, status) = (view.record, view.status);
    let phase = record.kind.family().phase(status);
    let outcome = phase.outcome();
    json!({
        "schema": "bedrock-jobwatch/notification/v1",
        "schemaVersion": "1.3",
        "type": "terminal",
        "dedupKey": dedup_key,
        "jobKind": record.kind,
        "jobArn": record.pk,
        "jobId": record.pk.id(),
        "jobName": record.name.as_ref().map(|_| view.name),
        "region": record.region,
        "account": record.pk.account(),
        "accountName": view.account_name,
        "modelId": record.model_id,
        "status": status,
        "previousStatus": record.previous_status,
        "outcome": outcome,
        "message": view.message,
        "messageTruncated": truncated,
        "submitTime": record.submit_time,
        "endTime": record.end_time,
        "durationSeconds": record.end_time.map(|end| (end - record.submit_time).num_seconds().max(0)),
        "inputS3Uri": record.input_s3_uri,
        "outputS3Uri": record.output_s3_uri,
        "outputFolder": locations::output_folder(record),
        "manifestS3Uri": locations::manifest_uri(record, phase),
        "consoleUrl": locations::console_url(record, phase),
        "recordCounts": (!record.counts.is_empty()).then_some(&record.counts),
        "details": (!record.details.is_empty()).then_some(&record.details),
        "estimatedCost": record.cost.as_ref().map(cost_json),
        "hourlyCost": record.ready_hourly_cost(phase).map(hourly_json),
        "tags": view.tags,
        "text": email,
    })
}

/// The document's `hourlyCost`: as `estimatedCost`, per hour, its text the notice's sentence.
pub(super) fn hourly_json(cost: &crate::domain::CostEstimate) -> Value {
    let mut doc = cost_json(cost);
    doc["text"] = Value::String(crate::domain::idle::ready_sentence(cost));
    doc
}

/// The document's `estimatedCost`: the figure, where its price came from and when, and the
/// same sentence the email shows.
pub(super) fn cost_json(cost: &crate::domain::CostEstimate) -> Value {
    json!({
        "usd": cost.usd(),
        "currency": "USD",
        "estimate": true,
        "source": cost.origin,
        "asOf": cost.as_of,
        "basis": cost.basis,
        "fallback": cost.fallback,
        "overThresholdUsd": cost.over_micro_usd.map(|m| m as f64 / 1e6),
        "text": cost.describe(),
    })
}

/// `{ARN}#{status}`, stable across retries; for a resource that re-opens, `#{cycle}` too (its
/// settling's date), so that each settling has its own key.
fn dedup_key(record: &JobRecord, status: &JobStatus) -> String {
    match record.kind.family().cycle_of(&record.details) {
        Some(cycle) => format!("{}#{status}#{cycle}", record.pk),
        None => format!("{}#{status}", record.pk),
    }
}

pub(super) fn display_name(record: &JobRecord) -> String {
    let name = record.name.as_deref().unwrap_or(record.pk.id());
    truncate(Some(name), MAX_NAME_CHARS).0.unwrap_or_default()
}

/// What routes a message besides the job: the account's name and the job's kept tags.
pub(super) struct Audience<'a> {
    pub account_name: Option<&'a str>,
    pub tags: &'a Tags,
}

/// What kind of message it is, as its first two attributes: `type` and what classifies it
/// (`outcome` for a job's end, `alert` for an alert).
pub(super) enum Class<'a> {
    Terminal(Outcome),
    Alert(&'a str),
}

/// Message attributes for filter policies; SNS rejects empty values, so none are sent. Tags
/// become `tag.{key}` where the key makes a valid attribute name. At most 10 in all (SQS takes
/// no more with raw delivery): 6 fixed, `account_name`, and up to 3 tags. The dedup key is in
/// the document (and the FIFO deduplication id), not an attribute.
pub(super) fn attributes(
    record: &JobRecord,
    status: &JobStatus,
    class: Class,
    to: &Audience,
) -> Vec<(String, String)> {
    let (notice_type, classifier) = match class {
        Class::Terminal(outcome) => ("terminal", ("outcome", outcome.as_str())),
        Class::Alert(kind) => ("alert", ("alert", kind)),
    };
    let mut attributes: Vec<(String, String)> = [
        ("type", notice_type),
        ("job_kind", record.kind.as_str()),
        ("status", status.as_str()),
        classifier,
        ("region", record.region.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if let Some(model) = record.model_id.as_deref() {
        attributes.push(("model_id".into(), model.to_owned()));
    }
    if let Some(account) = to.account_name {
        attributes.push(("account_name".into(), account.to_owned()));
    }
    for (key, value) in to.tags {
        if let Some(name) = tag_attribute(key) {
            attributes.push((name, value.clone()));
        }
    }
    attributes.retain(|(_, v)| !v.is_empty());
    // The job's account (from its ARN: a fleet's subscribers filter on it), when it fits: only
    // `account_name` with three tags and a model leaves no room for it.
    if let Some(account) = record
        .pk
        .account()
        .filter(|_| attributes.len() < MAX_ATTRIBUTES)
    {
        attributes.push(("account".into(), account.to_owned()));
    }
    attributes
}

/// Message attributes SQS accepts with raw delivery.
pub(super) const MAX_ATTRIBUTES: usize = 10;

pub(super) fn truncate(message: Option<&str>, max: usize) -> (Option<String>, bool) {
    match message {
        Some(m) if m.chars().count() > max => {
            let cut: String = m.chars().take(max).collect();
            (Some(format!("{cut} [truncated]")), true)
        }
        other => (other.map(str::to_owned), false),
    }
}
