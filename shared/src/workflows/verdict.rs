//! What a waiting workflow is told: keep waiting (a heartbeat), success with the job's v1
//! notification document, or a failure whose error a `Catch` matches. Pure, with the API's
//! size limits applied here (botocore `stepfunctions`: `error` 256, `cause` 32768, `output`
//! 262144).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::domain::{JobRecord, Phase};

use crate::notices::{Notice, Presentation, Tags};

/// `SendTaskFailure.error` maximum length.
pub const MAX_ERROR: usize = 256;
/// `SendTaskFailure.cause` maximum length.
pub const MAX_CAUSE: usize = 32_768;
/// `SendTaskSuccess.output` maximum length (256 KiB, Step Functions' payload quota too).
pub const MAX_OUTPUT: usize = 262_144;

/// The error of a request this deployment cannot wait on (bad message, unknown job).
pub const INVALID_REQUEST: &str = "JobWatch.InvalidRequest";
/// The error of a job Bedrock does not have (any more).
pub const NOT_FOUND: &str = "Bedrock.NotFound";

/// What to do for one wait now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The job is still open (or not recorded yet): tell Step Functions the watcher is alive.
    Heartbeat,
    /// The job settled: resume the workflow.
    Answer(Verdict),
}

/// How a settled job resumes its workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Succeed { output: String },
    Fail { error: String, cause: String },
}

/// The `Catch`-able error of a job that ended in `phase` outside `succeedOn`. Exhaustive: a new
/// phase gets its own name.
pub fn error_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Succeeded => "Bedrock.Succeeded",
        Phase::PartiallySucceeded => "Bedrock.PartiallySucceeded",
        Phase::Failed => "Bedrock.Failed",
        Phase::Stopped => "Bedrock.Stopped",
        Phase::Expired => "Bedrock.Expired",
        // Never sent: an unfinished job is not answered.
        Phase::Pending | Phase::Running | Phase::Stopping | Phase::Unknown => "Bedrock.Unfinished",
    }
}

/// The step for a wait on the job `record` describes (`None`: not in the table yet); `tags`:
/// the job's, already limited to `NOTIFY_TAGS` (the success document carries them).
pub fn decide(
    record: Option<&JobRecord>,
    succeed_on: &BTreeSet<Phase>,
    presentation: &Presentation,
    tags: &Tags,
) -> Step {
    let Some(record) = record else {
        return Step::Heartbeat;
    };
    if record.retired {
        let cause = format!("Bedrock no longer has the job {}", record.pk);
        return Step::Answer(fail(NOT_FOUND, &cause));
    }
    if record.is_open() {
        return Step::Heartbeat;
    }
    let phase = record.phase();
    if succeed_on.contains(&phase) {
        let notice = Notice::build(record, &record.status, presentation, tags);
        return Step::Answer(Verdict::Succeed {
            output: output(notice.body),
        });
    }
    let cause = match record.message.as_deref() {
        Some(message) if !message.is_empty() => message.to_owned(),
        _ => format!(
            "{} {} ended {}",
            record.kind.label(),
            record.pk,
            record.status
        ),
    };
    Step::Answer(fail(error_name(phase), &cause))
}

/// A failure verdict within the API's limits.
pub fn fail(error: &str, cause: &str) -> Verdict {
    Verdict::Fail {
        error: cut(error, MAX_ERROR),
        cause: cut(cause, MAX_CAUSE),
    }
}

/// The document as the task's output, within `MAX_OUTPUT`: a document too large loses its
/// email text, then its service message (marked `messageTruncated`), then everything but its
/// identity and outcome, so the workflow always gets valid JSON.
pub fn output(mut document: Value) -> String {
    let fits = |d: &Value| d.to_string().len() <= MAX_OUTPUT;
    if fits(&document) {
        return document.to_string();
    }
    if let Some(map) = document.as_object_mut() {
        map.remove("text");
        if !fits(&Value::Object(map.clone())) {
            map.insert("message".into(), Value::Null);
            map.insert("messageTruncated".into(), Value::Bool(true));
        }
        if !fits(&Value::Object(map.clone())) {
            let keep = [
                "schema",
                "schemaVersion",
                "type",
                "dedupKey",
                "jobKind",
                "jobArn",
                "status",
                "outcome",
            ];
            map.retain(|k, _| keep.contains(&k.as_str()));
        }
    }
    document.to_string()
}

/// At most `max` bytes (so at most `max` characters too), cut at a character boundary.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{JobArn, JobKind, JobStatus};
    use chrono::{TimeZone, Utc};

    fn record(kind: JobKind, status: &str, message: Option<&str>) -> JobRecord {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let arn = JobArn::new("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc");
        let mut r = JobRecord::new(kind, arn, "us-east-1".into(), JobStatus::from(status), t, t);
        r.message = message.map(str::to_owned);
        r
    }

    fn answer(r: Option<&JobRecord>, succeed_on: &[Phase]) -> Step {
        decide(
            r,
            &succeed_on.iter().copied().collect(),
            &Presentation::default(),
            &Tags::new(),
        )
    }

    #[test]
    fn each_end_succeeds_or_fails_with_its_error_as_succeed_on_says() {
        use Phase::*;
        let cases: [(&str, &[Phase], Option<&str>); 8] = [
            ("Completed", &[Succeeded], None),
            (
                "PartiallyCompleted",
                &[Succeeded],
                Some("Bedrock.PartiallySucceeded"),
            ),
            ("PartiallyCompleted", &[Succeeded, PartiallySucceeded], None),
            ("Failed", &[Succeeded], Some("Bedrock.Failed")),
            ("Stopped", &[Succeeded], Some("Bedrock.Stopped")),
            ("Expired", &[Succeeded], Some("Bedrock.Expired")),
            ("Completed", &[Failed], Some("Bedrock.Succeeded")),
            ("Failed", &[Failed], None),
        ];
        for (status, succeed_on, error) in cases {
            let r = record(JobKind::BatchInference, status, Some("why"));
            match (answer(Some(&r), succeed_on), error) {
                (Step::Answer(Verdict::Succeed { output }), None) => {
                    let doc: Value = serde_json::from_str(&output).expect("JSON");
                    assert_eq!(doc["status"], status);
                    assert_eq!(doc["schema"], "bedrock-jobwatch/notification/v1");
                }
                (Step::Answer(Verdict::Fail { error, cause }), Some(expected)) => {
                    assert_eq!(error, expected, "{status}");
                    assert_eq!(cause, "why");
                }
                (other, _) => panic!("{status} {succeed_on:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn settled_resources_succeed_on_in_service_and_active() {
        for (kind, status) in [
            (JobKind::ProvisionedThroughput, "InService"),
            (JobKind::CustomModelDeployment, "Active"),
            (JobKind::CustomModel, "Active"),
        ] {
            let step = answer(Some(&record(kind, status, None)), &[Phase::Succeeded]);
            assert!(
                matches!(step, Step::Answer(Verdict::Succeed { .. })),
                "{kind} {status}"
            );
        }
    }

    #[test]
    fn open_and_unrecorded_jobs_get_a_heartbeat() {
        assert_eq!(answer(None, &[Phase::Succeeded]), Step::Heartbeat);
        for status in ["Submitted", "InProgress", "Stopping", "SomethingNew"] {
            let r = record(JobKind::BatchInference, status, None);
            assert_eq!(
                answer(Some(&r), &[Phase::Succeeded]),
                Step::Heartbeat,
                "{status}"
            );
        }
    }

    #[test]
    fn a_retired_job_fails_as_not_found() {
        let mut r = record(JobKind::BatchInference, "InProgress", None);
        r.retired = true;
        let Step::Answer(Verdict::Fail { error, .. }) = answer(Some(&r), &[Phase::Succeeded])
        else {
            panic!("a retired job is answered");
        };
        assert_eq!(error, NOT_FOUND);
    }

    #[test]
    fn a_failure_without_a_message_says_what_ended_how() {
        let r = record(JobKind::BatchInference, "Failed", None);
        let Step::Answer(Verdict::Fail { cause, .. }) = answer(Some(&r), &[Phase::Succeeded])
        else {
            panic!("answered");
        };
        assert!(cause.contains("ended Failed"), "{cause}");
    }

    #[test]
    fn error_and_cause_are_cut_to_the_api_limits_at_character_boundaries() {
        let long = "é".repeat(MAX_CAUSE);
        let Verdict::Fail { error, cause } = fail(&"E".repeat(300), &long) else {
            panic!("a failure");
        };
        assert_eq!(error.len(), MAX_ERROR);
        assert!(cause.len() <= MAX_CAUSE && cause.len() >= MAX_CAUSE - 1);
        assert!(cause.chars().all(|c| c == 'é'));
        assert_eq!(cut("short", 10), "short");
    }

    #[test]
    fn an_oversized_document_is_shrunk_to_valid_json_within_the_limit() {
        let big = "x".repeat(MAX_OUTPUT);
        let cases = [
            (
                serde_json::json!({"jobArn": "a", "text": big, "message": "m"}),
                Some("m"),
            ),
            (
                serde_json::json!({"jobArn": "a", "text": "t", "message": big}),
                None,
            ),
            (
                serde_json::json!({"jobArn": "a", "details": {"k": big}}),
                None,
            ),
        ];
        for (doc, message) in cases {
            let out = output(doc);
            assert!(out.len() <= MAX_OUTPUT);
            let parsed: Value = serde_json::from_str(&out).expect("JSON");
            assert_eq!(parsed["jobArn"], "a");
            assert_eq!(parsed["message"].as_str(), message);
        }
    }
}
