//! The emulator binary driven by the AWS CLI (`aws bedrock ...`, botocore parses every response
//! strictly by the service model) for evaluation and model copy jobs and for the resource
//! families (provisioned throughput, custom models and deployments: create, get, list with the
//! real filters, update, delete and the documented errors), and its control API by a raw HTTP
//! client, with a job ARN pasted as is (slashes and colons unencoded).

mod common;

use common::{raw, set_status, spawn, Cli, Emulator};
use serde_json::Value;

const BEDROCK: Cli = Cli::of("bedrock");

fn aws(emulator: &Emulator, args: &[&str]) -> Result<Value, String> {
    BEDROCK.run(emulator, args)
}

/// [`aws`] for another service the emulator stands in for (`pricing`).
fn aws_service(emulator: &Emulator, service: &'static str, args: &[&str]) -> Result<Value, String> {
    Cli::of(service).run(emulator, args)
}

fn ok(emulator: &Emulator, args: &[&str]) -> Value {
    BEDROCK.ok(emulator, args)
}

const EVALUATION_CONFIG: &str = r#"{"automated":{"datasetMetricConfigs":[{"taskType":"Summarization","dataset":{"name":"Builtin.Gigaword"},"metricNames":["Builtin.Accuracy"]}]}}"#;
const MODELS: &str = r#"{"models":[{"bedrockModel":{"modelIdentifier":"amazon.nova-lite-v1:0"}}]}"#;
const RAG: &str = r#"{"ragConfigs":[{"knowledgeBaseConfig":{"retrieveConfig":{"knowledgeBaseId":"KB12345678","knowledgeBaseRetrievalConfiguration":{"vectorSearchConfiguration":{"numberOfResults":5}}}}}]}"#;

fn create_evaluation(emulator: &Emulator, name: &str, inference: &str) -> String {
    let created = ok(
        emulator,
        &[
            "create-evaluation-job",
            "--job-name",
            name,
            "--role-arn",
            "arn:aws:iam::123456789012:role/EvalRole",
            "--evaluation-config",
            EVALUATION_CONFIG,
            "--inference-config",
            inference,
            "--output-data-config",
            "s3Uri=s3://eval-bucket/out/",
        ],
    );
    created["jobArn"].as_str().unwrap().to_owned()
}

#[test]
fn the_aws_cli_creates_gets_lists_and_stops_evaluation_jobs() {
    let emulator = spawn(&[]);
    let model = create_evaluation(&emulator, "cli-model-eval", MODELS);
    let rag = create_evaluation(&emulator, "cli-rag-eval", RAG);
    assert!(model.contains(":evaluation-job/"), "{model}");

    let job = ok(&emulator, &["get-evaluation-job", "--job-identifier", &rag]);
    assert_eq!(job["status"], "InProgress");
    assert_eq!(job["applicationType"], "RagEvaluation");
    assert_eq!(job["jobType"], "Automated");
    assert_eq!(job["outputDataConfig"]["s3Uri"], "s3://eval-bucket/out/");

    // --page-size 1: the CLI follows nextToken across pages
    let listed = ok(
        &emulator,
        &[
            "list-evaluation-jobs",
            "--status-equals",
            "InProgress",
            "--sort-by",
            "CreationTime",
            "--sort-order",
            "Ascending",
            "--page-size",
            "1",
        ],
    );
    let arns: Vec<&str> = listed["jobSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["jobArn"].as_str().unwrap())
        .collect();
    assert_eq!(
        arns,
        [model.as_str(), rag.as_str()],
        "oldest first, every page"
    );
    let rag_only = ok(
        &emulator,
        &[
            "list-evaluation-jobs",
            "--application-type-equals",
            "RagEvaluation",
        ],
    );
    assert_eq!(rag_only["jobSummaries"].as_array().unwrap().len(), 1);
    assert_eq!(
        rag_only["jobSummaries"][0]["inferenceConfigSummary"]["ragConfigSummary"]
            ["bedrockKnowledgeBaseIdentifiers"][0],
        "KB12345678"
    );

    ok(
        &emulator,
        &["stop-evaluation-job", "--job-identifier", &model],
    );
    let stopped = ok(
        &emulator,
        &["get-evaluation-job", "--job-identifier", &model],
    );
    // Stopping, then Stopped one lifecycle step (2 s) later
    assert!(
        ["Stopping", "Stopped"].contains(&stopped["status"].as_str().unwrap()),
        "{stopped}"
    );
    let again = aws(
        &emulator,
        &["stop-evaluation-job", "--job-identifier", &model],
    )
    .unwrap_err();
    assert!(again.contains("ConflictException"), "{again}");

    let missing = model.replace(model.rsplit('/').next().unwrap(), "zzzzzzzzzzzz");
    let err = aws(
        &emulator,
        &["get-evaluation-job", "--job-identifier", &missing],
    )
    .unwrap_err();
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    let err = aws(
        &emulator,
        &["list-evaluation-jobs", "--status-equals", "Done"],
    )
    .unwrap_err();
    assert!(err.contains("ValidationException"), "{err}");
}

#[test]
fn the_aws_cli_creates_gets_and_lists_model_copy_jobs() {
    let emulator = spawn(&[]);
    let source = "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghijkl";
    let mut arns = Vec::new();
    for target in ["support-bot-eu", "support-bot-ap"] {
        let created = ok(
            &emulator,
            &[
                "create-model-copy-job",
                "--source-model-arn",
                source,
                "--target-model-name",
                target,
            ],
        );
        arns.push(created["jobArn"].as_str().unwrap().to_owned());
    }
    let job = ok(&emulator, &["get-model-copy-job", "--job-arn", &arns[0]]);
    assert_eq!(job["status"], "InProgress");
    assert_eq!(job["sourceModelArn"], source);
    assert_eq!(job["sourceAccountId"], "123456789012");
    assert_eq!(job["targetModelName"], "support-bot-eu");
    assert!(job["targetModelArn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:bedrock:us-east-1:123456789012:custom-model/"));

    let listed = ok(
        &emulator,
        &[
            "list-model-copy-jobs",
            "--source-account-equals",
            "123456789012",
            "--source-model-arn-equals",
            source,
            "--page-size",
            "1",
        ],
    );
    assert_eq!(listed["modelCopyJobSummaries"].as_array().unwrap().len(), 2);
    let named = ok(
        &emulator,
        &[
            "list-model-copy-jobs",
            "--target-model-name-contains",
            "bot-ap",
        ],
    );
    assert_eq!(
        named["modelCopyJobSummaries"][0]["jobArn"],
        arns[1].as_str()
    );
    assert_eq!(named["modelCopyJobSummaries"].as_array().unwrap().len(), 1);
    let failed = ok(
        &emulator,
        &["list-model-copy-jobs", "--status-equals", "Failed"],
    );
    assert_eq!(failed["modelCopyJobSummaries"].as_array().unwrap().len(), 0);

    let err = aws(
        &emulator,
        &[
            "create-model-copy-job",
            "--source-model-arn",
            "arn:aws:bedrock:us-west-2:123456789012:imported-model/abcdefghijkl",
            "--target-model-name",
            "x",
        ],
    )
    .unwrap_err();
    assert!(err.contains("ValidationException"), "{err}");
}

#[test]
fn the_control_api_takes_a_job_arn_pasted_as_is_encoded_or_its_id() {
    let emulator = spawn(&[]);
    let arn = create_evaluation(&emulator, "raw-arn", MODELS);
    let id = arn.rsplit('/').next().unwrap().to_owned();
    let encoded = arn.replace(':', "%3A").replace('/', "%2F");
    for (path, status) in [
        (format!("/_emulator/jobs/{arn}/status"), "Stopping"),
        (format!("/_emulator/jobs/{encoded}/status"), "Failed"),
        (format!("/_emulator/jobs/{id}/status"), "Completed"),
    ] {
        let (code, job) = raw(
            &emulator.endpoint,
            "POST",
            &path,
            &format!(r#"{{"status":"{status}"}}"#),
        );
        assert_eq!(
            (code, job["status"].as_str()),
            (200, Some(status)),
            "{path}"
        );
        assert_eq!(job["arn"], arn.as_str());
    }
    let got = ok(&emulator, &["get-evaluation-job", "--job-identifier", &arn]);
    assert_eq!(got["status"], "Completed");

    // a batch job's ARN and a customization ARN (two slashes) pasted as is
    let (code, _) = raw(
        &emulator.endpoint,
        "POST",
        "/_emulator/jobs/arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghijkl/status",
        r#"{"status":"Completed"}"#,
    );
    assert_eq!(code, 404, "no such job: a clear not-found");
    let (code, body) = raw(
        &emulator.endpoint,
        "POST",
        &format!("/_emulator/jobs/{arn}/nonsense"),
        r#"{"status":"Completed"}"#,
    );
    assert_eq!(code, 404, "{body}");
    let (code, deleted) = raw(
        &emulator.endpoint,
        "DELETE",
        &format!("/_emulator/jobs/{arn}"),
        "",
    );
    assert_eq!((code, deleted["arn"].as_str()), (200, Some(arn.as_str())));
}
#[test]
fn the_aws_cli_creates_gets_lists_updates_and_deletes_the_three_resource_families() {
    let emulator = spawn(&[]);
    let e = &emulator;
    // A custom model from imported weights: Creating, then Active.
    let model = ok(
        e,
        &[
            "create-custom-model",
            "--model-name",
            "support-v1",
            "--model-source-config",
            r#"{"s3DataSource":{"s3Uri":"s3://acme-models/support-v1/"}}"#,
        ],
    )["modelArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ok(e, &["get-custom-model", "--model-identifier", &model])["modelStatus"],
        "Creating"
    );
    let conflict = aws(e, &["create-custom-model", "--model-name", "support-v1"]).unwrap_err();
    assert!(conflict.contains("ConflictException"), "{conflict}");
    let early = aws(
        e,
        &[
            "create-custom-model-deployment",
            "--model-deployment-name",
            "early",
            "--model-arn",
            &model,
        ],
    )
    .unwrap_err();
    assert!(
        early.contains("ValidationException"),
        "only an Active model deploys: {early}"
    );
    set_status(e, &model, "Active");
    let listed = ok(e, &["list-custom-models", "--model-status", "Active"]);
    assert_eq!(listed["modelSummaries"][0]["modelArn"], model.as_str());
    assert_eq!(
        ok(e, &["list-custom-models", "--model-status", "Creating"])["modelSummaries"],
        serde_json::json!([])
    );

    // A deployment: Active, then an update that only the Get shows.
    let deployment = ok(
        e,
        &[
            "create-custom-model-deployment",
            "--model-deployment-name",
            "support-endpoint",
            "--model-arn",
            &model,
        ],
    )["customModelDeploymentArn"]
        .as_str()
        .unwrap()
        .to_owned();
    set_status(e, &deployment, "Active");
    ok(
        e,
        &[
            "update-custom-model-deployment",
            "--custom-model-deployment-identifier",
            "support-endpoint",
            "--model-arn",
            &model,
        ],
    );
    let got = ok(
        e,
        &[
            "get-custom-model-deployment",
            "--custom-model-deployment-identifier",
            &deployment,
        ],
    );
    assert_eq!(got["status"], "Active");
    assert_eq!(got["updateDetails"]["updateStatus"], "Updating");
    let active = ok(
        e,
        &["list-custom-model-deployments", "--status-equals", "Active"],
    );
    let summary = &active["modelDeploymentSummaries"][0];
    assert_eq!(summary["customModelDeploymentName"], "support-endpoint");
    assert!(
        summary.get("updateDetails").is_none(),
        "summaries have no updateDetails"
    );
    let bad = aws(
        e,
        &[
            "list-custom-model-deployments",
            "--status-equals",
            "Updating",
        ],
    )
    .unwrap_err();
    assert!(
        bad.contains("Invalid choice") || bad.contains("ValidationException"),
        "{bad}"
    );

    // Provisioned throughput: created, listed by status with pages, updated, deleted.
    for i in 0..3 {
        ok(
            e,
            &[
                "create-provisioned-model-throughput",
                "--provisioned-model-name",
                &format!("pt-{i}"),
                "--model-id",
                "anthropic.claude-3-haiku-20240307-v1:0:200k",
                "--model-units",
                "1",
                "--commitment-duration",
                "OneMonth",
            ],
        );
    }
    let pt = ok(
        e,
        &[
            "get-provisioned-model-throughput",
            "--provisioned-model-id",
            "pt-0",
        ],
    );
    assert_eq!(
        (pt["status"].as_str(), pt["modelUnits"].as_i64()),
        (Some("Creating"), Some(1))
    );
    assert!(pt["commitmentExpirationTime"].is_string());
    let arn = pt["provisionedModelArn"].as_str().unwrap().to_owned();
    let page = ok(
        e,
        &[
            "list-provisioned-model-throughputs",
            "--status-equals",
            "Creating",
            "--sort-by",
            "CreationTime",
            "--sort-order",
            "Ascending",
            "--max-results",
            "2",
            "--no-paginate",
        ],
    );
    assert_eq!(
        page["provisionedModelSummaries"].as_array().unwrap().len(),
        2
    );
    assert!(page["nextToken"].is_string());
    let all = ok(
        e,
        &["list-provisioned-model-throughputs", "--page-size", "1"],
    );
    assert_eq!(
        all["provisionedModelSummaries"].as_array().unwrap().len(),
        3,
        "the CLI follows nextToken"
    );
    let not_ready = aws(
        e,
        &[
            "update-provisioned-model-throughput",
            "--provisioned-model-id",
            &arn,
            "--desired-provisioned-model-name",
            "pt-renamed",
        ],
    )
    .unwrap_err();
    assert!(not_ready.contains("ValidationException"), "{not_ready}");
    set_status(e, &arn, "InService");
    ok(
        e,
        &[
            "update-provisioned-model-throughput",
            "--provisioned-model-id",
            &arn,
            "--desired-provisioned-model-name",
            "pt-renamed",
        ],
    );
    let updating = ok(
        e,
        &[
            "list-provisioned-model-throughputs",
            "--status-equals",
            "Updating",
        ],
    );
    assert_eq!(
        updating["provisionedModelSummaries"][0]["provisionedModelName"],
        "pt-renamed"
    );
    let bad_units = aws(
        e,
        &[
            "create-provisioned-model-throughput",
            "--provisioned-model-name",
            "pt-x",
            "--model-id",
            &model,
            "--model-units",
            "0",
        ],
    )
    .unwrap_err();
    assert!(
        bad_units.contains("ValidationException") || bad_units.contains("0"),
        "{bad_units}"
    );

    // A model in use cannot be deleted; deleted resources are gone.
    let in_use = aws(e, &["delete-custom-model", "--model-identifier", &model]).unwrap_err();
    assert!(in_use.contains("ConflictException"), "{in_use}");
    ok(
        e,
        &[
            "delete-custom-model-deployment",
            "--custom-model-deployment-identifier",
            &deployment,
        ],
    );
    ok(
        e,
        &[
            "delete-provisioned-model-throughput",
            "--provisioned-model-id",
            &arn,
        ],
    );
    let gone = aws(
        e,
        &[
            "get-provisioned-model-throughput",
            "--provisioned-model-id",
            &arn,
        ],
    )
    .unwrap_err();
    assert!(gone.contains("ResourceNotFoundException"), "{gone}");
    ok(e, &["delete-custom-model", "--model-identifier", &model]);
}

#[test]
fn the_aws_cli_reads_a_region_without_the_api_as_an_unknown_operation() {
    // given the emulator, and a region where batch inference is not offered (af-south-1 has no
    // Bedrock; eu-west-2 has the control plane but not batch inference)
    let emulator = spawn(&[]);
    // when the AWS CLI lists there, and where it is offered
    let refused = aws(
        &emulator,
        &["list-model-invocation-jobs", "--region", "eu-west-2"],
    )
    .expect_err("not offered in eu-west-2");
    let offered = ok(
        &emulator,
        &["list-model-import-jobs", "--region", "eu-west-2"],
    );
    // then botocore parses AWS's error code, and the control plane still answers there
    assert!(
        refused.contains("(UnknownOperationException)")
            && refused.contains("ListModelInvocationJobs"),
        "{refused}"
    );
    assert!(offered["modelImportJobSummaries"].is_array(), "{offered}");
}

#[test]
fn the_price_list_stand_in_answers_the_aws_cli_in_the_real_record_shape() {
    // given the emulator
    let emulator = spawn(&[]);
    let filter = "Type=TERM_MATCH,Field=regionCode,Value=us-east-1";

    // when the CLI reads AmazonBedrock for us-east-1, one page of 2 and then every page
    let one = [
        "get-products",
        "--service-code",
        "AmazonBedrock",
        "--filters",
        filter,
    ];
    let page = aws_service(
        &emulator,
        "pricing",
        &[&one[..], &["--max-results", "2", "--no-paginate"]].concat(),
    )
    .unwrap();
    let all = aws_service(&emulator, "pricing", &one).unwrap();
    let unknown = aws_service(
        &emulator,
        "pricing",
        &["get-products", "--service-code", "AmazonEC2"],
    );

    // then PriceList is JSON in strings, paged with NextToken, every row of the region's
    let rows = page["PriceList"].as_array().unwrap();
    assert_eq!(
        (rows.len(), page["FormatVersion"].as_str()),
        (2, Some("aws_v1"))
    );
    assert!(page["NextToken"].is_string());
    let record: Value = serde_json::from_str(rows[0].as_str().unwrap()).unwrap();
    assert_eq!(record["product"]["attributes"]["regionCode"], "us-east-1");
    let term = record["terms"]["OnDemand"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    let dimension = term["priceDimensions"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert!(dimension["pricePerUnit"]["USD"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .is_ok());
    let all = all["PriceList"].as_array().unwrap();
    assert!(all.len() > 2);
    assert!(all
        .iter()
        .all(|r| r.as_str().unwrap().contains("\"regionCode\":\"us-east-1\"")));
    // and provisioned-throughput rows are priced per model unit and hour, per commitment
    let hourly = |usage: &str| {
        all.iter().any(|r| {
            let r = r.as_str().unwrap();
            r.contains(usage) && r.contains("\"unit\":\"hour\"")
        })
    };
    assert!(hourly(
        "USE1-Nova2.0Lite-ProvisionedThroughput-1month-ModelUnits"
    ));
    assert!(hourly(
        "USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits"
    ));
    // and another service is NotFoundException
    assert!(unknown.unwrap_err().contains("NotFoundException"));
}

#[test]
fn the_aws_cli_reads_a_customization_jobs_stages() {
    // given a customization job created with the AWS CLI
    let emulator = spawn(&[]);
    let created = ok(
        &emulator,
        &[
            "create-model-customization-job",
            "--job-name",
            "staged-cli",
            "--custom-model-name",
            "staged-cli-model",
            "--role-arn",
            "arn:aws:iam::123456789012:role/BedrockJobRole",
            "--base-model-identifier",
            "amazon.titan-text-express-v1",
            "--training-data-config",
            "s3Uri=s3://training-bucket/train.jsonl",
            "--output-data-config",
            "s3Uri=s3://output-bucket/",
        ],
    );
    let arn = created["jobArn"].as_str().unwrap().to_owned();

    // when botocore reads it back, and lists it
    let got = ok(
        &emulator,
        &["get-model-customization-job", "--job-identifier", &arn],
    );
    let listed = ok(&emulator, &["list-model-customization-jobs"]);

    // then both parse `statusDetails` by the model: validating, the rest not started
    let stages = &got["statusDetails"];
    assert_eq!(stages["validationDetails"]["status"], "InProgress");
    assert!(stages["validationDetails"]["creationTime"].is_string());
    assert_eq!(stages["dataProcessingDetails"]["status"], "NotStarted");
    assert_eq!(stages["trainingDetails"]["status"], "NotStarted");
    let summary = &listed["modelCustomizationJobSummaries"][0];
    assert_eq!(summary["statusDetails"], *stages);
}
