//! The register message a state machine sends (`{"jobArn", "taskToken", "succeedOn"?}`), checked
//! before anything is read or written. Pure.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::domain::{JobArn, JobKind, Phase};

/// Longest task token Step Functions issues (botocore: `taskToken` max 2048).
pub const MAX_TOKEN: usize = 2048;
/// Longest ARN accepted (the table's partition key holds it with a prefix and a hash).
pub const MAX_ARN: usize = 1600;

/// A valid request to wait for one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitRequest {
    pub job_arn: JobArn,
    pub family: JobKind,
    pub task_token: String,
    /// The phases that resume the workflow with success; every other end fails its task.
    pub succeed_on: BTreeSet<Phase>,
}

impl WaitRequest {
    /// A request this deployment cannot serve (for `reason`), its task still to be told.
    pub fn invalid(&self, reason: String) -> Invalid {
        Invalid {
            token: Some(self.task_token.clone()),
            reason,
        }
    }
}

/// Why a message is not a request; `token` is set when the task can still be told so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub token: Option<String>,
    pub reason: String,
}

/// The phases that succeed when the message names none: the job's (or resource's) full success.
pub fn default_succeed_on() -> BTreeSet<Phase> {
    BTreeSet::from([Phase::Succeeded])
}

/// The family of a Bedrock job ARN (`arn:{partition}:bedrock:{region}:{account}:{type}/{id}`),
/// `None` when it is not one.
pub fn family_of(arn: &str) -> Option<JobKind> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    let envelope_ok = prefix == "arn"
        && matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    let (_, id) = resource.split_once('/')?;
    if !envelope_ok || id.is_empty() || id.ends_with('/') {
        return None;
    }
    JobKind::ALL.into_iter().find(|kind| {
        let arn = kind.family().arn;
        arn.service == service && arn.matches(resource)
    })
}

/// Reads a register message's body; `watched`: the families this deployment polls.
pub fn parse_request(body: &str, watched: &[JobKind]) -> Result<WaitRequest, Invalid> {
    let value: Value = serde_json::from_str(body).map_err(|e| Invalid {
        token: None,
        reason: format!("the message is not JSON: {e}"),
    })?;
    let token = match value.get("taskToken").and_then(Value::as_str) {
        Some(t) if (1..=MAX_TOKEN).contains(&t.len()) => t.to_owned(),
        Some(_) => return Err(invalid(None, "taskToken must be 1 to 2048 characters")),
        None => {
            return Err(invalid(
                None,
                "taskToken is missing: pass \"taskToken.$\": \"$$.Task.Token\"",
            ))
        }
    };
    let fail = |reason: String| invalid(Some(token.clone()), &reason);
    let arn = match value.get("jobArn").and_then(Value::as_str) {
        Some(arn) if arn.len() <= MAX_ARN => arn,
        Some(_) => return Err(fail(format!("jobArn is longer than {MAX_ARN} characters"))),
        None => return Err(fail("jobArn is missing (a string)".into())),
    };
    let family = family_of(arn).ok_or_else(|| {
        fail(format!(
            "jobArn {arn:?} is not the ARN of a Bedrock job this project knows"
        ))
    })?;
    if !watched.contains(&family) {
        return Err(fail(format!(
            "this deployment does not watch {family} jobs ({arn})"
        )));
    }
    let succeed_on = match value.get("succeedOn") {
        None | Some(Value::Null) => default_succeed_on(),
        Some(list) => phases(list).map_err(fail)?,
    };
    Ok(WaitRequest {
        job_arn: JobArn::new(arn),
        family,
        task_token: token,
        succeed_on,
    })
}

/// `succeedOn`: a non-empty list of terminal phase names (`succeeded`, `partially-succeeded`, ...).
fn phases(list: &Value) -> Result<BTreeSet<Phase>, String> {
    let names = list
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or("succeedOn must be a non-empty list of phase names")?;
    names
        .iter()
        .map(|name| {
            let name = name.as_str().unwrap_or_default();
            Phase::parse(name)
                .filter(|p| p.is_terminal())
                .ok_or_else(|| {
                    format!("succeedOn: {name:?} is not a terminal phase (succeeded, partially-succeeded, failed, stopped, expired)")
                })
        })
        .collect()
}

fn invalid(token: Option<String>, reason: &str) -> Invalid {
    Invalid {
        token,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    #[test]
    fn every_family_is_found_from_its_arn() {
        let cases = [
            ("model-invocation-job/abc", JobKind::BatchInference),
            ("model-import-job/abc", JobKind::ModelImport),
            ("async-invoke/abc", JobKind::AsyncInvoke),
            ("model-customization-job/abc", JobKind::ModelCustomization),
            (
                "knowledge-base/KB/data-source/DS/ingestion-job/J",
                JobKind::KbIngestion,
            ),
            ("data-automation-invocation/abc", JobKind::DataAutomation),
            ("evaluation-job/abc", JobKind::ModelEvaluation),
            ("model-copy-job/abc", JobKind::ModelCopy),
            ("provisioned-model/abc", JobKind::ProvisionedThroughput),
            (
                "custom-model-deployment/abc",
                JobKind::CustomModelDeployment,
            ),
            (
                "custom-model/amazon.titan-text-express-v1:0:8k/abc",
                JobKind::CustomModel,
            ),
            ("flow/F/alias/A/execution/E", JobKind::FlowExecution),
            (
                "data-automation-library/L/library-ingestion-job/J",
                JobKind::LibraryIngestion,
            ),
            (
                "advanced-prompt-optimization-job/abc",
                JobKind::AdvancedPromptOptimization,
            ),
            (
                "automated-reasoning-policy/abcdefghijkl/build-workflow/9f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
                JobKind::AutomatedReasoningBuild,
            ),
            (
                "batch-evaluate/nightly_eval-abcdefghij",
                JobKind::AgentcoreBatchEvaluation,
            ),
        ];
        for (resource, kind) in cases {
            // each family's own service (bedrock, bedrock-agentcore)
            let service = kind.family().arn.service;
            let arn = format!("arn:aws:{service}:us-east-1:{ACCOUNT}:{resource}");
            assert_eq!(family_of(&arn), Some(kind), "{arn}");
        }
        assert_eq!(cases.len(), JobKind::ALL.len());
    }

    #[test]
    fn malformed_arns_name_no_family() {
        for arn in [
            "",
            "not-an-arn",
            "arn:aws:bedrock:us-east-1:123:model-invocation-job/abc",
            "arn:aws:s3:us-east-1:123456789012:model-invocation-job/abc",
            "arn:aws:bedrock:us-east-1:123456789012:batch-evaluate/nightly_eval-abcdefghij",
            "arn:aws:bedrock::123456789012:model-invocation-job/abc",
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/",
            "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB",
            "arn:aws:bedrock:us-east-1:123456789012:foundation-model/x",
            "arn:other:bedrock:us-east-1:123456789012:model-invocation-job/abc",
        ] {
            assert_eq!(family_of(arn), None, "{arn}");
        }
    }

    fn body(value: Value) -> String {
        value.to_string()
    }

    const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc";

    #[test]
    fn a_valid_message_names_the_job_the_token_and_the_phases_that_succeed() {
        let msg = body(
            serde_json::json!({"jobArn": ARN, "taskToken": "t", "succeedOn": ["succeeded", "Partially-Succeeded"]}),
        );
        let request = parse_request(&msg, &JobKind::ALL).expect("valid");
        assert_eq!(request.family, JobKind::BatchInference);
        assert_eq!(request.task_token, "t");
        assert_eq!(
            request.succeed_on,
            BTreeSet::from([Phase::Succeeded, Phase::PartiallySucceeded])
        );
        let plain = parse_request(
            &body(serde_json::json!({"jobArn": ARN, "taskToken": "t"})),
            &JobKind::ALL,
        );
        assert_eq!(plain.expect("valid").succeed_on, default_succeed_on());
    }

    #[test]
    fn bad_messages_are_invalid_with_the_token_when_there_is_one() {
        let cases: [(String, Option<&str>, &str); 7] = [
            ("{not json".into(), None, "not JSON"),
            (
                body(serde_json::json!({"jobArn": ARN})),
                None,
                "taskToken is missing",
            ),
            (
                body(serde_json::json!({"jobArn": ARN, "taskToken": ""})),
                None,
                "1 to 2048",
            ),
            (
                body(serde_json::json!({"taskToken": "t"})),
                Some("t"),
                "jobArn is missing",
            ),
            (
                body(serde_json::json!({"jobArn": "arn:aws:s3:::b", "taskToken": "t"})),
                Some("t"),
                "not the ARN",
            ),
            (
                body(
                    serde_json::json!({"jobArn": ARN, "taskToken": "t", "succeedOn": ["running"]}),
                ),
                Some("t"),
                "not a terminal phase",
            ),
            (
                body(serde_json::json!({"jobArn": ARN, "taskToken": "t", "succeedOn": []})),
                Some("t"),
                "non-empty",
            ),
        ];
        for (msg, token, reason) in cases {
            let invalid = parse_request(&msg, &JobKind::ALL).expect_err(&msg);
            assert_eq!(invalid.token.as_deref(), token, "{msg}");
            assert!(invalid.reason.contains(reason), "{msg}: {}", invalid.reason);
        }
    }

    #[test]
    fn a_family_the_deployment_does_not_watch_is_invalid() {
        let msg = body(serde_json::json!({"jobArn": ARN, "taskToken": "t"}));
        let invalid = parse_request(&msg, &[JobKind::ModelImport]).expect_err("not watched");
        assert!(
            invalid.reason.contains("does not watch batch-inference"),
            "{}",
            invalid.reason
        );
    }
}
