//! Notices an operator sends by hand, marked as such wherever a reader looks: the subject, the
//! email text, the document (`resend` / `test`) and a message attribute (filter policies can
//! route or drop them).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::Notice;

use crate::domain::{JobArn, JobKind, JobRecord, JobStatus};

/// The ARN of the made-up job a test notification describes: a batch inference job in the
/// topic's account (`jobwatchtest` is a valid 12-character job id).
pub fn test_job_arn(region: &str, account: &str) -> JobArn {
    JobArn::new(format!(
        "arn:aws:bedrock:{region}:{account}:model-invocation-job/jobwatchtest"
    ))
}

impl Notice {
    /// A re-send of a notification already published (`jobwatch-cli renotify`). It gets its
    /// own deduplication key, so that a FIFO topic delivers it; consumers that must act once
    /// per transition recognise it by `resend: true`.
    pub fn resent(mut self, at: DateTime<Utc>) -> Self {
        self.dedup_key = format!("{}#resend-{}", self.dedup_key, at.timestamp());
        let note = format!(
            "RE-SENT by an operator on {}: this job's notification was published before.",
            at.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        self.mark("[re-sent]", &note, "resend")
    }

    /// A test notification (`jobwatch-cli test-notify`): nothing finished.
    pub fn test(self) -> Self {
        self.mark(
            "[TEST]",
            "TEST NOTIFICATION from bedrock-jobwatch: no Bedrock job finished. It checks that notifications reach you.",
            "test",
        )
    }

    fn mark(mut self, tag: &str, note: &str, flag: &'static str) -> Self {
        self.subject = prefixed(tag, &self.subject);
        self.email = format!("{note}\n\n{}", self.email);
        if let Value::Object(body) = &mut self.body {
            body.insert("dedupKey".into(), Value::String(self.dedup_key.clone()));
            body.insert("text".into(), Value::String(self.email.clone()));
            body.insert(flag.into(), Value::Bool(true));
        }
        // Attributes stay at most 10 (SQS raw delivery): a test says so in `type`; a re-send
        // keeps its type (subscribers filtering on it still get it) and says so in the body.
        if flag == "test" {
            for (name, value) in &mut self.attributes {
                if name == "type" {
                    *value = "test".to_owned();
                }
            }
        }
        self
    }
}

/// `tag` before the subject, cut (at a character boundary) to SNS's limit.
fn prefixed(tag: &str, subject: &str) -> String {
    let mut out = format!("{tag} {subject}");
    while out.len() > super::subject::MAX_SUBJECT_BYTES {
        out.pop();
    }
    out
}

/// The made-up finished job of a test notification, in `status` (a batch inference status).
pub fn test_record(arn: JobArn, status: &JobStatus, now: DateTime<Utc>) -> JobRecord {
    let region = arn.region().unwrap_or_default().to_owned();
    let submitted = now - chrono::Duration::minutes(1);
    JobRecord {
        name: Some("jobwatch-test-notification".into()),
        previous_status: Some(JobStatus::new("InProgress")),
        message: Some("This is a test notification; no job ran.".into()),
        end_time: Some(now),
        ..JobRecord::new(
            JobKind::BatchInference,
            arn,
            region,
            status.clone(),
            submitted,
            now,
        )
    }
}
