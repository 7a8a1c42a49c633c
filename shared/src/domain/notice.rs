//! The notification a terminal transition produces: subject, JSON body, filterable attributes.

use serde_json::{json, Value};

use super::{JobRecord, JobStatus, Outcome};

/// A rendered notification, ready for any notifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Stable across retries: `{job ARN}#{status}`.
    pub dedup_key: String,
    /// ASCII, one line, at most 100 characters (SNS rules).
    pub subject: String,
    /// The machine-readable document (the `default` variant).
    pub body: Value,
    /// The plain-text variant for email subscribers (also in the document as `text`).
    pub email: String,
    /// Message attributes for subscription filter policies (values never empty).
    pub attributes: Vec<(&'static str, String)>,
}

/// Longest service message carried in a notice; the rest is cut and marked.
const MAX_MESSAGE_CHARS: usize = 2048;
/// Longest job name carried (the API allows 63; anything longer is cut and marked).
const MAX_NAME_CHARS: usize = 256;

impl Notice {
    pub fn new(record: &JobRecord, status: &JobStatus) -> Self {
        let dedup_key = format!("{}#{}", record.pk, status);
        let outcome = record.kind.family().phase(status).outcome();
        let name = record
            .name
            .clone()
            .unwrap_or_else(|| record.pk.id().to_owned());
        let display_name = truncate(Some(&name), MAX_NAME_CHARS).0.unwrap_or_default();
        let subject = sanitize_subject(&format!(
            "[Bedrock] {} {} {}",
            record.kind.label(),
            display_name,
            status
        ));
        let duration = record
            .end_time
            .map(|end| (end - record.submit_time).num_seconds().max(0));
        let (message, truncated) = truncate(record.message.as_deref(), MAX_MESSAGE_CHARS);
        let email = super::email::render(record, status, &display_name, message.as_deref());
        let body = json!({
            "schema": "bedrock-jobwatch/notification/v1",
            "dedupKey": dedup_key,
            "jobKind": record.kind,
            "jobArn": record.pk,
            "jobId": record.pk.id(),
            "jobName": record.name.as_ref().map(|_| &display_name),
            "region": record.region,
            "account": record.pk.account(),
            "modelId": record.model_id,
            "status": status,
            "previousStatus": record.previous_status,
            "outcome": outcome,
            "message": message,
            "messageTruncated": truncated,
            "submitTime": record.submit_time,
            "endTime": record.end_time,
            "durationSeconds": duration,
            "inputS3Uri": record.input_s3_uri,
            "outputS3Uri": record.output_s3_uri,
            "recordCounts": (!record.counts.is_empty()).then_some(&record.counts),
            "details": (!record.details.is_empty()).then_some(&record.details),
            "text": &email,
        });
        Self {
            attributes: attributes(record, status, outcome, &dedup_key),
            dedup_key,
            subject,
            body,
            email,
        }
    }
}

/// Message attributes for filter policies; SNS rejects empty values, so none are sent.
fn attributes(
    record: &JobRecord,
    status: &JobStatus,
    outcome: Outcome,
    dedup_key: &str,
) -> Vec<(&'static str, String)> {
    let mut attributes = vec![
        ("job_kind", record.kind.as_str().to_owned()),
        ("status", status.as_str().to_owned()),
        ("outcome", outcome.as_str().to_owned()),
        ("region", record.region.clone()),
        ("dedup_key", dedup_key.to_owned()),
    ];
    if let Some(model) = record.model_id.as_deref() {
        attributes.push(("model_id", model.to_owned()));
    }
    attributes.retain(|(_, v)| !v.is_empty());
    attributes
}

fn truncate(message: Option<&str>, max: usize) -> (Option<String>, bool) {
    match message {
        Some(m) if m.chars().count() > max => {
            let cut: String = m.chars().take(max).collect();
            (Some(format!("{cut} [truncated]")), true)
        }
        other => (other.map(str::to_owned), false),
    }
}

/// SNS subjects: printable ASCII, no line breaks, 1..=100 characters.
pub fn sanitize_subject(raw: &str) -> String {
    let mut clean: String = raw
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        })
        .collect::<String>()
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if clean.len() > 100 {
        clean.truncate(97);
        clean.push_str("...");
    }
    if clean.is_empty() {
        clean.push_str("Bedrock job notification");
    }
    clean
}
