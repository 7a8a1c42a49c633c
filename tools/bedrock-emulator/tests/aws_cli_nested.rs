//! The emulator binary driven by the AWS CLI for the nested families of issue 32: flows, their
//! aliases and executions (`aws bedrock-agent`, `aws bedrock-agent-runtime`), and Data
//! Automation libraries and their ingestion jobs (`aws bedrock-data-automation`). botocore parses
//! every answer strictly by the service model; ARN-valued path labels go percent-encoded, and
//! the CLI keeps the trailing `/` of collection URIs that the Rust SDK drops.
//!
//! The installed AWS CLI (1.46.x, botocore 1.43.x) already has every operation used here.

mod common;

use common::{spawn, Cli, Emulator};
use serde_json::Value;

fn ok(emulator: &Emulator, service: &'static str, args: &[&str]) -> Value {
    Cli::of(service).ok(emulator, args)
}

fn err(emulator: &Emulator, service: &'static str, args: &[&str]) -> String {
    Cli::of(service).err(emulator, args)
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a string: {v}"))
        .to_owned()
}

const INPUTS: &str = r#"[{"nodeName":"FlowInputNode","nodeOutputName":"document","content":{"document":"summarise the ticket"}}]"#;

/// A flow and its `live` alias on version 3: (flow id, flow ARN, alias id).
fn flow_with_alias(e: &Emulator, name: &str) -> (String, String, String) {
    let flow = ok(
        e,
        "bedrock-agent",
        &[
            "create-flow",
            "--name",
            name,
            "--execution-role-arn",
            "arn:aws:iam::123456789012:role/FlowRole",
        ],
    );
    assert_eq!(flow["status"], "Prepared");
    assert_eq!(flow["version"], "DRAFT");
    let (id, arn) = (s(&flow["id"]), s(&flow["arn"]));
    let alias = ok(
        e,
        "bedrock-agent",
        &[
            "create-flow-alias",
            "--flow-identifier",
            &id,
            "--name",
            "live",
            "--routing-configuration",
            "flowVersion=3",
        ],
    );
    assert_eq!(alias["flowId"], id.as_str());
    assert!(s(&alias["arn"]).starts_with(&format!("{arn}/alias/")));
    (id, arn, s(&alias["id"]))
}

fn start(e: &Emulator, flow: &str, alias: &str) -> String {
    let started = ok(
        e,
        "bedrock-agent-runtime",
        &[
            "start-flow-execution",
            "--flow-identifier",
            flow,
            "--flow-alias-identifier",
            alias,
            "--inputs",
            INPUTS,
        ],
    );
    s(&started["executionArn"])
}

#[test]
fn the_aws_cli_starts_gets_lists_and_stops_flow_executions() {
    let e = spawn(&[]);
    // given two flows, each with an alias: ListFlows pages them
    let (flow, flow_arn, alias) = flow_with_alias(&e, "ticket-triage");
    flow_with_alias(&e, "invoice-review");
    let listed = ok(&e, "bedrock-agent", &["list-flows", "--page-size", "1"]);
    let names: Vec<&str> = listed["flowSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "the CLI follows nextToken: {listed}");
    assert!(names.contains(&"ticket-triage"));

    // when executions start, by the flow's id and by its ARN, and on the draft test alias
    let first = start(&e, &flow, &alias);
    assert!(first.starts_with(&format!("{flow_arn}/alias/{alias}/execution/")));
    let second = start(&e, &flow_arn, &alias);
    let draft = start(&e, &flow, "TSTALIASID");

    // then Get answers by ids and by ARNs (percent-encoded in the path)
    let exec_id = first.rsplit('/').next().unwrap();
    let got = ok(
        &e,
        "bedrock-agent-runtime",
        &[
            "get-flow-execution",
            "--flow-identifier",
            &flow,
            "--flow-alias-identifier",
            &alias,
            "--execution-identifier",
            exec_id,
        ],
    );
    assert_eq!(got["status"], "Running");
    assert_eq!(got["flowVersion"], "3");
    assert!(got["startedAt"].is_string());
    let by_arn = ok(
        &e,
        "bedrock-agent-runtime",
        &[
            "get-flow-execution",
            "--flow-identifier",
            &flow_arn,
            "--flow-alias-identifier",
            &format!("{flow_arn}/alias/{alias}"),
            "--execution-identifier",
            &first,
        ],
    );
    assert_eq!(by_arn["executionArn"], first.as_str());

    // and List pages (10 at most a page), newest first, filtered by alias when asked
    let all = ok(
        &e,
        "bedrock-agent-runtime",
        &[
            "list-flow-executions",
            "--flow-identifier",
            &flow,
            "--page-size",
            "2",
        ],
    );
    let arns: Vec<&str> = all["flowExecutionSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["executionArn"].as_str().unwrap())
        .collect();
    assert_eq!(arns, [draft.as_str(), second.as_str(), first.as_str()]);
    assert!(all["flowExecutionSummaries"][0]["createdAt"].is_string());
    let one_page = ok(
        &e,
        "bedrock-agent-runtime",
        &[
            "list-flow-executions",
            "--flow-identifier",
            &flow,
            "--no-paginate",
            "--max-results",
            "1",
        ],
    );
    assert_eq!(
        one_page["flowExecutionSummaries"].as_array().unwrap().len(),
        1
    );
    assert!(one_page["nextToken"].is_string());
    let of_alias = ok(
        &e,
        "bedrock-agent-runtime",
        &[
            "list-flow-executions",
            "--flow-identifier",
            &flow,
            "--flow-alias-identifier",
            "TSTALIASID",
        ],
    );
    assert_eq!(
        of_alias["flowExecutionSummaries"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        of_alias["flowExecutionSummaries"][0]["flowVersion"],
        "DRAFT"
    );

    // when one is stopped: Aborted, ended; a second stop conflicts
    let stop = [
        "stop-flow-execution",
        "--flow-identifier",
        &flow,
        "--flow-alias-identifier",
        &alias,
        "--execution-identifier",
        exec_id,
    ];
    let stopped = ok(&e, "bedrock-agent-runtime", &stop);
    assert_eq!(stopped["status"], "Aborted");
    assert!(err(&e, "bedrock-agent-runtime", &stop).contains("ConflictException"));

    // then the documented errors: an unknown alias, a malformed flow id, an invalid enum
    let missing = err(
        &e,
        "bedrock-agent-runtime",
        &[
            "list-flow-executions",
            "--flow-identifier",
            &flow,
            "--flow-alias-identifier",
            "NOSUCHALIA",
        ],
    );
    assert!(missing.contains("ResourceNotFoundException"), "{missing}");
    let malformed = err(
        &e,
        "bedrock-agent-runtime",
        &["list-flow-executions", "--flow-identifier", "short"],
    );
    assert!(malformed.contains("ValidationException"), "{malformed}");
    let bad_enum = err(
        &e,
        "bedrock-agent-runtime",
        &[
            "start-flow-execution",
            "--flow-identifier",
            &flow,
            "--flow-alias-identifier",
            &alias,
            "--inputs",
            INPUTS,
            "--model-performance-configuration",
            "performanceConfig={latency=fastest}",
        ],
    );
    assert!(
        bad_enum.contains("Member must satisfy enum value set: [standard, optimized]"),
        "{bad_enum}"
    );
}

const OUTPUT: &str = "s3Uri=s3://acme-vocabulary/results/";
const INPUT: &str = r#"{"s3Object":{"s3Uri":"s3://acme-vocabulary/terms.jsonl"}}"#;

fn invoke(e: &Emulator, library: &str, outcome: &str) -> String {
    let tags = format!("key=emulator:outcome,value={outcome}");
    let job = ok(
        e,
        "bedrock-data-automation",
        &[
            "invoke-data-automation-library-ingestion-job",
            "--library-arn",
            library,
            "--input-configuration",
            INPUT,
            "--entity-type",
            "VOCABULARY",
            "--operation-type",
            "UPSERT",
            "--output-configuration",
            OUTPUT,
            "--tags",
            &tags,
        ],
    );
    s(&job["jobArn"])
}

#[test]
fn the_aws_cli_creates_libraries_and_invokes_gets_and_lists_their_ingestion_jobs() {
    let e = spawn(&[]);
    // given two libraries: ListDataAutomationLibraries pages them (POST with a JSON body)
    let bda = "bedrock-data-automation";
    let created = ok(
        &e,
        bda,
        &[
            "create-data-automation-library",
            "--library-name",
            "medical-terms",
        ],
    );
    assert_eq!(created["status"], "ACTIVE");
    let library = s(&created["libraryArn"]);
    ok(
        &e,
        bda,
        &[
            "create-data-automation-library",
            "--library-name",
            "product-names",
        ],
    );
    let listed = ok(
        &e,
        bda,
        &["list-data-automation-libraries", "--page-size", "1"],
    );
    assert_eq!(listed["libraries"].as_array().unwrap().len(), 2, "{listed}");
    assert!(listed["libraries"][0]["creationTime"].is_string());

    // when jobs are invoked (PUT, 201), one of them asked to end with errors
    let first = invoke(&e, &library, "COMPLETED_WITH_ERRORS");
    assert!(
        first.contains(":data-automation-library-ingestion-job/"),
        "{first}"
    );
    let second = invoke(&e, &library, "COMPLETED");

    // then Get (POST, both ARNs percent-encoded) and List (newest first, paged) answer them
    let got = ok(
        &e,
        bda,
        &[
            "get-data-automation-library-ingestion-job",
            "--library-arn",
            &library,
            "--job-arn",
            &first,
        ],
    );
    assert_eq!(got["job"]["jobArn"], first.as_str());
    // (the tag's outcome is reached after one lifecycle step, which the CLI may outlast)
    match got["job"]["jobStatus"].as_str().unwrap() {
        "IN_PROGRESS" => assert!(got["job"]["completionTime"].is_null()),
        "COMPLETED_WITH_ERRORS" => assert!(got["job"]["errorMessage"].is_string(), "{got}"),
        other => panic!("{other}"),
    }
    assert_eq!(
        got["job"]["outputConfiguration"]["s3Uri"],
        "s3://acme-vocabulary/results/"
    );
    let all = ok(
        &e,
        bda,
        &[
            "list-data-automation-library-ingestion-jobs",
            "--library-arn",
            &library,
            "--page-size",
            "1",
        ],
    );
    let arns: Vec<&str> = all["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["jobArn"].as_str().unwrap())
        .collect();
    assert_eq!(arns, [second.as_str(), first.as_str()]);
    let one_page = ok(
        &e,
        bda,
        &[
            "list-data-automation-library-ingestion-jobs",
            "--library-arn",
            &library,
            "--no-paginate",
            "--max-results",
            "1",
        ],
    );
    assert!(one_page["nextToken"].is_string(), "{one_page}");

    // and the documented errors: an unknown library, a malformed ARN, an invalid enum
    let unknown = "arn:aws:bedrock:us-east-1:123456789012:data-automation-library/nosuchlibrary01";
    let missing = err(
        &e,
        bda,
        &[
            "list-data-automation-library-ingestion-jobs",
            "--library-arn",
            unknown,
        ],
    );
    assert!(missing.contains("ResourceNotFoundException"), "{missing}");
    let malformed = err(
        &e,
        bda,
        &[
            "get-data-automation-library-ingestion-job",
            "--library-arn",
            &library,
            "--job-arn",
            "job-1",
        ],
    );
    assert!(malformed.contains("ValidationException"), "{malformed}");
    let bad_enum = err(
        &e,
        bda,
        &[
            "invoke-data-automation-library-ingestion-job",
            "--library-arn",
            &library,
            "--input-configuration",
            INPUT,
            "--entity-type",
            "VOCABULARY",
            "--operation-type",
            "MERGE",
            "--output-configuration",
            OUTPUT,
        ],
    );
    assert!(
        bad_enum.contains("Member must satisfy enum value set: [UPSERT, DELETE]"),
        "{bad_enum}"
    );
    let bad_filter = err(
        &e,
        bda,
        &[
            "list-data-automation-libraries",
            "--project-filter",
            "projectArn=arn:aws:bedrock:us-east-1:123456789012:data-automation-project/project000001,projectStage=STAGING",
        ],
    );
    assert!(bad_filter.contains("[DEVELOPMENT, LIVE]"), "{bad_filter}");
}
