//! The emulator binary driven by the AWS CLI (botocore parses every answer strictly by the
//! service model) for advanced prompt optimization jobs and Automated Reasoning policy build
//! workflows: create or start, get, list with each real parameter, stop or cancel, and the
//! service's errors. The installed CLI (botocore 1.43.62 here) has every operation used.

mod common;

use common::{set_status, spawn, Cli, Emulator};
use serde_json::Value;

const BEDROCK: Cli = Cli::of("bedrock");

fn aws(emulator: &Emulator, args: &[&str]) -> Result<Value, String> {
    BEDROCK.run(emulator, args)
}

fn ok(emulator: &Emulator, args: &[&str]) -> Value {
    BEDROCK.ok(emulator, args)
}

fn arns(listed: &Value, member: &str, key: &str) -> Vec<String> {
    listed[member]
        .as_array()
        .unwrap_or_else(|| panic!("{member} in {listed}"))
        .iter()
        .map(|j| j[key].as_str().unwrap().to_owned())
        .collect()
}

fn create_optimization(emulator: &Emulator, name: &str, token: &str) -> String {
    let created = ok(
        emulator,
        &[
            "create-advanced-prompt-optimization-job",
            "--job-name",
            name,
            "--input-config",
            "s3Uri=s3://prompt-bucket/input/prompts.jsonl",
            "--output-config",
            &format!("s3Uri=s3://prompt-bucket/optimized/{name}/"),
            "--model-configurations",
            r#"[{"modelId":"amazon.nova-lite-v1:0"},{"modelId":"anthropic.claude-3-haiku-20240307-v1:0"}]"#,
            "--client-token",
            token,
        ],
    );
    created["jobArn"].as_str().unwrap().to_owned()
}

#[test]
fn the_aws_cli_creates_gets_lists_and_stops_advanced_prompt_optimization_jobs() {
    // given three jobs, the first created twice with the same client token
    let emulator = spawn(&[]);
    let first = create_optimization(&emulator, "support-prompts", "token-1");
    assert_eq!(
        create_optimization(&emulator, "support-prompts", "token-1"),
        first,
        "a retried create returns the same job"
    );
    let second = create_optimization(&emulator, "faq-prompts", "token-2");
    let third = create_optimization(&emulator, "triage.v2+beta", "token-3");
    assert!(
        first.contains(":advanced-prompt-optimization-job/"),
        "{first}"
    );

    // Get: the job as the model has it
    let job = ok(
        &emulator,
        &[
            "get-advanced-prompt-optimization-job",
            "--job-identifier",
            &second,
        ],
    );
    assert_eq!(job["jobStatus"], "InProgress");
    assert_eq!(
        job["outputConfig"]["s3Uri"],
        "s3://prompt-bucket/optimized/faq-prompts/"
    );
    assert_eq!(job["modelConfigurations"].as_array().unwrap().len(), 2);
    let by_id = second.rsplit('/').next().unwrap();
    let same = ok(
        &emulator,
        &[
            "get-advanced-prompt-optimization-job",
            "--job-identifier",
            by_id,
        ],
    );
    assert_eq!(same["jobArn"], second.as_str());

    // List: each parameter (the CLI follows nextToken across pages of one)
    let ascending = ok(
        &emulator,
        &[
            "list-advanced-prompt-optimization-jobs",
            "--sort-by",
            "CreationTime",
            "--sort-order",
            "Ascending",
            "--page-size",
            "1",
        ],
    );
    assert_eq!(
        arns(&ascending, "jobSummaries", "jobArn"),
        [first.clone(), second.clone(), third.clone()]
    );
    let one = ok(
        &emulator,
        &[
            "list-advanced-prompt-optimization-jobs",
            "--sort-order",
            "Descending",
            "--max-results",
            "1",
            "--no-paginate",
        ],
    );
    assert_eq!(arns(&one, "jobSummaries", "jobArn"), vec![third.clone()]);
    let token = one["nextToken"].as_str().expect("a next page").to_owned();
    let rest = ok(
        &emulator,
        &[
            "list-advanced-prompt-optimization-jobs",
            "--sort-order",
            "Descending",
            "--max-results",
            "1000",
            "--next-token",
            &token,
            "--no-paginate",
        ],
    );
    assert_eq!(
        arns(&rest, "jobSummaries", "jobArn"),
        [second.clone(), first.clone()]
    );

    // Stop: empty answer, Stopping, and a second stop conflicts
    let stopped = ok(
        &emulator,
        &[
            "stop-advanced-prompt-optimization-job",
            "--job-identifier",
            &first,
        ],
    );
    assert_eq!(stopped, Value::Null);
    let job = ok(
        &emulator,
        &[
            "get-advanced-prompt-optimization-job",
            "--job-identifier",
            &first,
        ],
    );
    assert!(
        ["Stopping", "Stopped"].contains(&job["jobStatus"].as_str().unwrap()),
        "{job}"
    );
    let again = aws(
        &emulator,
        &[
            "stop-advanced-prompt-optimization-job",
            "--job-identifier",
            &first,
        ],
    )
    .unwrap_err();
    assert!(again.contains("ConflictException"), "{again}");

    // errors: an invalid enum, an unknown job, a bad name
    let err = aws(
        &emulator,
        &[
            "list-advanced-prompt-optimization-jobs",
            "--sort-order",
            "Sideways",
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("ValidationException")
            && err.contains("enum value set: [Ascending, Descending]"),
        "{err}"
    );
    let err = aws(
        &emulator,
        &[
            "list-advanced-prompt-optimization-jobs",
            "--sort-by",
            "Name",
        ],
    )
    .unwrap_err();
    assert!(err.contains("ValidationException"), "{err}");
    let missing = first.replace(by_id_of(&first), "zzzzzzzzzzzz");
    let err = aws(
        &emulator,
        &[
            "get-advanced-prompt-optimization-job",
            "--job-identifier",
            &missing,
        ],
    )
    .unwrap_err();
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    let err = aws(
        &emulator,
        &[
            "create-advanced-prompt-optimization-job",
            "--job-name",
            "bad_name",
            "--input-config",
            "s3Uri=s3://prompt-bucket/in.jsonl",
            "--output-config",
            "s3Uri=s3://prompt-bucket/out/",
            "--model-configurations",
            r#"[{"modelId":"amazon.nova-lite-v1:0"}]"#,
        ],
    )
    .unwrap_err();
    assert!(err.contains("ValidationException"), "{err}");
}

fn by_id_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

fn create_policy(emulator: &Emulator, name: &str) -> String {
    let created = ok(
        emulator,
        &["create-automated-reasoning-policy", "--name", name],
    );
    assert_eq!(created["version"], "DRAFT");
    created["policyArn"].as_str().unwrap().to_owned()
}

const SOURCE: &str = r#"{"workflowContent":{"documents":[{"document":"Full-time employees get 20 days of leave.","documentContentType":"txt","documentName":"hr-leave.txt","documentDescription":"HR leave rules"}]}}"#;

fn start_build(emulator: &Emulator, policy: &str, token: &str) -> String {
    let started = ok(
        emulator,
        &[
            "start-automated-reasoning-policy-build-workflow",
            "--policy-arn",
            policy,
            "--build-workflow-type",
            "INGEST_CONTENT",
            "--source-content",
            SOURCE,
            "--client-request-token",
            token,
        ],
    );
    assert_eq!(started["policyArn"], policy);
    started["buildWorkflowId"].as_str().unwrap().to_owned()
}

#[test]
fn the_aws_cli_starts_gets_lists_and_cancels_automated_reasoning_policy_builds() {
    // given two policies, three builds of the first (one retried with the same token)
    let emulator = spawn(&[]);
    let hr = create_policy(&emulator, "HR leave policy");
    let travel = create_policy(&emulator, "travel-expenses");
    let first = start_build(&emulator, &hr, "token-1");
    assert_eq!(
        start_build(&emulator, &hr, "token-1"),
        first,
        "a retried start"
    );
    let second = start_build(&emulator, &hr, "token-2");
    let third = start_build(&emulator, &hr, "token-3");

    // the policies: one DRAFT row each, a page at a time
    let listed = ok(
        &emulator,
        &["list-automated-reasoning-policies", "--page-size", "1"],
    );
    let mut policies = arns(&listed, "automatedReasoningPolicySummaries", "policyArn");
    policies.sort();
    let mut want = vec![hr.clone(), travel.clone()];
    want.sort();
    assert_eq!(policies, want);
    let one = ok(
        &emulator,
        &[
            "list-automated-reasoning-policies",
            "--max-results",
            "1",
            "--no-paginate",
        ],
    );
    assert!(one["nextToken"].is_string(), "{one}");
    assert_eq!(
        one["automatedReasoningPolicySummaries"][0]["version"],
        "DRAFT"
    );

    // Get: the workflow and its document
    let got = ok(
        &emulator,
        &[
            "get-automated-reasoning-policy-build-workflow",
            "--policy-arn",
            &hr,
            "--build-workflow-id",
            &first,
        ],
    );
    assert_eq!(got["status"], "SCHEDULED");
    assert_eq!(got["buildWorkflowType"], "INGEST_CONTENT");
    assert_eq!(got["documentName"], "hr-leave.txt");

    // List: newest first, each parameter
    let all = ok(
        &emulator,
        &[
            "list-automated-reasoning-policy-build-workflows",
            "--policy-arn",
            &hr,
            "--page-size",
            "1",
        ],
    );
    let ids = arns(
        &all,
        "automatedReasoningPolicyBuildWorkflowSummaries",
        "buildWorkflowId",
    );
    assert_eq!(ids, vec![third.clone(), second.clone(), first.clone()]);
    let page = ok(
        &emulator,
        &[
            "list-automated-reasoning-policy-build-workflows",
            "--policy-arn",
            &hr,
            "--max-results",
            "2",
            "--no-paginate",
        ],
    );
    let token = page["nextToken"].as_str().expect("a next page").to_owned();
    let rest = ok(
        &emulator,
        &[
            "list-automated-reasoning-policy-build-workflows",
            "--policy-arn",
            &hr,
            "--next-token",
            &token,
            "--no-paginate",
        ],
    );
    assert_eq!(
        arns(
            &rest,
            "automatedReasoningPolicyBuildWorkflowSummaries",
            "buildWorkflowId"
        ),
        vec![first.clone()]
    );
    let none = ok(
        &emulator,
        &[
            "list-automated-reasoning-policy-build-workflows",
            "--policy-arn",
            &travel,
        ],
    );
    assert_eq!(
        none["automatedReasoningPolicyBuildWorkflowSummaries"],
        serde_json::json!([])
    );

    // Cancel: empty answer, CANCEL_REQUESTED, idempotent
    let cancel = [
        "cancel-automated-reasoning-policy-build-workflow",
        "--policy-arn",
        &hr,
        "--build-workflow-id",
        &second,
    ];
    assert_eq!(ok(&emulator, &cancel), Value::Null);
    assert_eq!(ok(&emulator, &cancel), Value::Null, "idempotent");
    let got = ok(
        &emulator,
        &[
            "get-automated-reasoning-policy-build-workflow",
            "--policy-arn",
            &hr,
            "--build-workflow-id",
            &second,
        ],
    );
    assert!(
        ["CANCEL_REQUESTED", "CANCELLED"].contains(&got["status"].as_str().unwrap()),
        "{got}"
    );

    // the build assets of a completed and of a failed build
    set_status(
        &emulator,
        &format!("{hr}/build-workflow/{third}"),
        "COMPLETED",
    );
    set_status(&emulator, &format!("{hr}/build-workflow/{first}"), "FAILED");
    let asset = |id: &str, kind: &str| {
        aws(
            &emulator,
            &[
                "get-automated-reasoning-policy-build-workflow-result-assets",
                "--policy-arn",
                &hr,
                "--build-workflow-id",
                id,
                "--asset-type",
                kind,
            ],
        )
    };
    let report = asset(&third, "QUALITY_REPORT").unwrap();
    assert!(
        report["buildWorkflowAssets"]["qualityReport"]["ruleCount"].is_number(),
        "{report}"
    );
    let log = asset(&first, "BUILD_LOG").unwrap();
    assert_eq!(
        log["buildWorkflowAssets"]["buildLog"]["entries"][0]["buildSteps"][0]["messages"][0]
            ["messageType"],
        "ERROR"
    );
    let err = asset(&first, "QUALITY_REPORT").unwrap_err();
    assert!(err.contains("ResourceNotFoundException"), "{err}");

    // errors: an invalid enum, an unknown policy, an unknown workflow
    let err = aws(
        &emulator,
        &[
            "start-automated-reasoning-policy-build-workflow",
            "--policy-arn",
            &hr,
            "--build-workflow-type",
            "BAKE_POLICY",
            "--source-content",
            SOURCE,
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("ValidationException") && err.contains("enum value set: [INGEST_CONTENT"),
        "{err}"
    );
    let err = asset(&third, "EVERYTHING").unwrap_err();
    assert!(err.contains("ValidationException"), "{err}");
    let gone = hr.replace(hr.rsplit('/').next().unwrap(), "zzzzzzzzzzzz");
    let err = aws(
        &emulator,
        &[
            "list-automated-reasoning-policy-build-workflows",
            "--policy-arn",
            &gone,
        ],
    )
    .unwrap_err();
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    let err = aws(
        &emulator,
        &[
            "get-automated-reasoning-policy-build-workflow",
            "--policy-arn",
            &hr,
            "--build-workflow-id",
            "00000000-0000-4000-8000-000000000000",
        ],
    )
    .unwrap_err();
    assert!(err.contains("ResourceNotFoundException"), "{err}");
}
