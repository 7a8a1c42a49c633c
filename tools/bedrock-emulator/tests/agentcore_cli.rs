//! AgentCore batch evaluations driven by the AWS CLI (`aws bedrock-agentcore ...`: botocore
//! parses every answer strictly by the service model): start, get, list with `maxResults` and
//! `nextToken`, stop and delete, and the service's own validation messages.
//!
//! The AWS CLI v1 bundles its own botocore (`awscli/botocore`, 1.43.62 here), whose
//! `bedrock-agentcore` model is older than the installed botocore's (1.43.127): it lacks
//! `StartBatchEvaluation`'s `outputConfig` and still requires `logGroupNames`. `AWS_DATA_PATH`
//! makes the CLI load the newer model from the installed botocore (docs/architecture/testing.md).

mod common;

use common::{spawn, Cli, Emulator};
use serde_json::Value;

/// `aws bedrock-agentcore` with the installed botocore's newer model.
const AGENTCORE: Cli = Cli {
    service: "bedrock-agentcore",
    region: "us-east-1",
    newer_models: true,
};

/// [`aws`] in another region.
fn aws_in(emulator: &Emulator, region: &'static str, args: &[&str]) -> Result<Value, String> {
    Cli {
        region,
        ..AGENTCORE
    }
    .run(emulator, args)
}

fn aws(emulator: &Emulator, args: &[&str]) -> Result<Value, String> {
    AGENTCORE.run(emulator, args)
}

fn ok(emulator: &Emulator, args: &[&str]) -> Value {
    AGENTCORE.ok(emulator, args)
}

const SOURCE: &str = r#"{"cloudWatchLogs":{"serviceNames":["support_agent.DEFAULT"],"logGroupNames":["/aws/bedrock-agentcore/runtimes/support_agent-DEFAULT"]}}"#;
const OUTPUT: &str = r#"{"cloudWatchConfig":{"logGroupName":"/evals/results","logStreamName":"nightly","resultDestination":"DEDICATED_LOG_GROUP"}}"#;

fn start(emulator: &Emulator, name: &str) -> Value {
    ok(
        emulator,
        &[
            "start-batch-evaluation",
            "--batch-evaluation-name",
            name,
            "--data-source-config",
            SOURCE,
            "--evaluators",
            "evaluatorId=Builtin.Helpfulness",
            "evaluatorId=Builtin.GoalSuccessRate",
            "--output-config",
            OUTPUT,
        ],
    )
}

#[test]
fn the_aws_cli_starts_gets_lists_stops_and_deletes_batch_evaluations() {
    let emulator = spawn(&[]);
    // given three evaluations started through the CLI
    let first = start(&emulator, "nightly_eval");
    let id = first["batchEvaluationId"].as_str().unwrap().to_owned();
    assert_eq!(first["status"], "PENDING");
    assert!(id.starts_with("nightly_eval-") && id.len() == "nightly_eval-".len() + 10);
    assert_eq!(
        first["batchEvaluationArn"],
        format!("arn:aws:bedrock-agentcore:us-east-1:123456789012:batch-evaluate/{id}")
    );
    start(&emulator, "weekly_eval");
    start(&emulator, "adhoc_eval");

    // when it is read by id: the results location is there
    let got = ok(
        &emulator,
        &["get-batch-evaluation", "--batch-evaluation-id", &id],
    );
    assert_eq!(got["batchEvaluationName"], "nightly_eval");
    assert_eq!(
        got["outputConfig"]["cloudWatchConfig"]["logGroupName"],
        "/evals/results"
    );
    assert_eq!(
        got["evaluators"][1]["evaluatorId"],
        "Builtin.GoalSuccessRate"
    );

    // a page of one, by hand: maxResults and nextToken, the newest first (the emulator's
    // order: the service documents none), behind an opaque token
    let page = ok(&emulator, &["list-batch-evaluations", "--max-results", "1"]);
    assert_eq!(page["batchEvaluations"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["batchEvaluations"][0]["batchEvaluationName"],
        "adhoc_eval"
    );
    let token = page["nextToken"].as_str().expect("more pages").to_owned();
    assert!(!token.contains("adhoc_eval"), "{token}");
    let next = ok(
        &emulator,
        &[
            "list-batch-evaluations",
            "--max-results",
            "1",
            "--next-token",
            &token,
        ],
    );
    assert_ne!(
        next["batchEvaluations"][0]["batchEvaluationId"],
        page["batchEvaluations"][0]["batchEvaluationId"]
    );
    // and the CLI following nextToken itself (--page-size 1): every evaluation once
    let all = ok(&emulator, &["list-batch-evaluations", "--page-size", "1"]);
    let mut names: Vec<&str> = all["batchEvaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["batchEvaluationName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["adhoc_eval", "nightly_eval", "weekly_eval"]);

    // stop: STOPPING at once; a second stop conflicts; a running one cannot be deleted
    let stopped = ok(
        &emulator,
        &["stop-batch-evaluation", "--batch-evaluation-id", &id],
    );
    assert_eq!(stopped["status"], "STOPPING");
    let again = aws(
        &emulator,
        &["stop-batch-evaluation", "--batch-evaluation-id", &id],
    );
    assert!(again.unwrap_err().contains("ConflictException"));
    let running = all["batchEvaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["batchEvaluationName"] == "weekly_eval")
        .unwrap()["batchEvaluationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = aws(
        &emulator,
        &["delete-batch-evaluation", "--batch-evaluation-id", &running],
    );
    assert!(refused.unwrap_err().contains("ConflictException"));
}

#[test]
fn a_finished_evaluation_is_deleted_and_then_not_found() {
    let emulator = spawn(&[]);
    let id = start(&emulator, "to_delete")["batchEvaluationId"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        &emulator,
        &["stop-batch-evaluation", "--batch-evaluation-id", &id],
    );
    // the stop completes one lifecycle step later
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let status = ok(
            &emulator,
            &["get-batch-evaluation", "--batch-evaluation-id", &id],
        );
        if status["status"] == "STOPPED" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let deleted = ok(
        &emulator,
        &["delete-batch-evaluation", "--batch-evaluation-id", &id],
    );
    assert_eq!(deleted["status"], "DELETING");
    let gone = aws(
        &emulator,
        &["get-batch-evaluation", "--batch-evaluation-id", &id],
    );
    assert!(gone.unwrap_err().contains("ResourceNotFoundException"));
}

#[test]
fn invalid_parameters_are_refused_with_the_services_messages() {
    let emulator = spawn(&[]);
    // an enum value the model does not have
    let bad_destination = aws(
        &emulator,
        &[
            "start-batch-evaluation",
            "--batch-evaluation-name",
            "bad_output",
            "--data-source-config",
            SOURCE,
            "--output-config",
            r#"{"cloudWatchConfig":{"resultDestination":"S3"}}"#,
        ],
    )
    .unwrap_err();
    assert!(
        bad_destination.contains("ValidationException")
            && bad_destination.contains("Value 'S3' at 'outputConfig.cloudWatchConfig.resultDestination' failed to satisfy constraint: Member must satisfy enum value set: [DEDICATED_LOG_GROUP, SOURCE_LOG_GROUP]"),
        "{bad_destination}"
    );
    // maxResults above the model's 100 (botocore checks only the minimum itself)
    let too_many = aws(
        &emulator,
        &["list-batch-evaluations", "--max-results", "101"],
    )
    .unwrap_err();
    assert!(
        too_many.contains("Member must have value less than or equal to 100"),
        "{too_many}"
    );
    // a token the service did not issue
    let bad_token = aws(
        &emulator,
        &["list-batch-evaluations", "--next-token", "not-a-token"],
    )
    .unwrap_err();
    assert!(
        bad_token.contains("ValidationException")
            && bad_token.contains("The pagination token is not valid."),
        "{bad_token}"
    );
    // a name outside the pattern, and a Get by ARN instead of id
    let bad_name = aws(
        &emulator,
        &[
            "start-batch-evaluation",
            "--batch-evaluation-name",
            "nightly-eval",
            "--data-source-config",
            SOURCE,
        ],
    )
    .unwrap_err();
    assert!(
        bad_name.contains("[a-zA-Z][a-zA-Z0-9_]{0,47}"),
        "{bad_name}"
    );
    let id = start(&emulator, "by_arn")["batchEvaluationArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_arn = aws(
        &emulator,
        &["get-batch-evaluation", "--batch-evaluation-id", &id],
    )
    .unwrap_err();
    assert!(
        by_arn.contains("ValidationException") && by_arn.contains("'batchEvaluationId'"),
        "{by_arn}"
    );
    // a name already used
    let taken = aws(
        &emulator,
        &[
            "start-batch-evaluation",
            "--batch-evaluation-name",
            "by_arn",
            "--data-source-config",
            SOURCE,
        ],
    )
    .unwrap_err();
    assert!(taken.contains("ConflictException"), "{taken}");
}

#[test]
fn a_region_without_agentcore_evaluations_answers_an_unknown_operation() {
    let emulator = spawn(&[]);
    // ap-northeast-1 has the Bedrock control plane but not AgentCore Evaluations
    let refused = aws_in(&emulator, "ap-northeast-1", &["list-batch-evaluations"]).unwrap_err();
    assert!(
        refused.contains("UnknownOperationException")
            && refused.contains("ListBatchEvaluations is not offered in ap-northeast-1"),
        "{refused}"
    );
    assert!(aws_in(&emulator, "eu-west-1", &["list-batch-evaluations"]).is_ok());
}
