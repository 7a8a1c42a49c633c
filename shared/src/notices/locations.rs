//! Where a finished job's results are and where to look at it: the job's own output folder and
//! manifest (batch), its resulting resource (import, customization), its console page.

use crate::domain::Output;
use crate::domain::{JobKind, JobRecord, Outcome, Phase};

/// The job's own output folder: batch inference writes `{output}/{job id}/`.
pub fn output_folder(record: &JobRecord) -> Option<String> {
    let output = record.output_s3_uri.as_deref()?;
    (record.kind.family().output == Output::JobFolder)
        .then(|| format!("{}/{}/", output.trim_end_matches('/'), record.pk.id()))
}

/// The batch output manifest (`{output}/{job id}/manifest.json.out`), written when the job
/// finishes with results.
pub fn manifest_uri(record: &JobRecord, phase: Phase) -> Option<String> {
    let has_results = matches!(phase.outcome(), Outcome::Success | Outcome::Partial);
    output_folder(record)
        .filter(|_| has_results)
        .map(|f| format!("{f}manifest.json.out"))
}

/// The resource a job produced (an imported or custom model ARN), only once it succeeded: a
/// failed job's planned model does not exist.
pub fn result(record: &JobRecord, phase: Phase) -> Option<&str> {
    let produces_resource = produces_resource(record.kind);
    let exists = matches!(phase.outcome(), Outcome::Success | Outcome::Partial);
    record
        .output_s3_uri
        .as_deref()
        .filter(|_| produces_resource && exists)
}

/// Families whose `output_s3_uri` is the resource the job creates (a model ARN), not a place
/// where it writes data.
fn produces_resource(kind: JobKind) -> bool {
    matches!(kind.family().output, Output::Resource { .. })
}

/// Whether the family's output is a data location (shown only with `EMAIL_DETAIL=full`).
pub fn output_location(record: &JobRecord) -> Option<&str> {
    let is_location = !produces_resource(record.kind);
    record.output_s3_uri.as_deref().filter(|_| is_location)
}

/// The console page for the job: the resource it produced where the family names that page
/// (customization: `#/custom-models/item?arn=`, the only per-job form we could verify), else
/// the family's list page.
pub fn console_url(record: &JobRecord, phase: Phase) -> String {
    let region = &record.region;
    let base = format!("https://{region}.console.aws.amazon.com/bedrock/home?region={region}#/");
    let family = record.kind.family();
    match (family.output, result(record, phase)) {
        (
            Output::Resource {
                console_item: Some(page),
            },
            Some(model),
        ) => format!("{base}{page}{}", encode(model)),
        _ => format!("{base}{}", family.console_page),
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
