//! Provisioned throughput, custom models and custom model deployments on the emulator binary,
//! driven by the AWS CLI (botocore parses every response strictly by the service model): create,
//! get, list with the real filters, update and delete, and the errors the API documents.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Kills the emulator when the test ends, pass or fail.
struct Emulator {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn() -> Emulator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line.trim().trim_start_matches("listening on ").to_owned();
    Emulator { child, endpoint }
}

/// `aws bedrock <args> --endpoint-url ...` with dummy credentials: the parsed JSON output, or
/// the error text when the command fails.
fn aws(emulator: &Emulator, args: &[&str]) -> Result<Value, String> {
    let out = Command::new("aws")
        .arg("bedrock")
        .args(args)
        .args(["--endpoint-url", &emulator.endpoint, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("the AWS CLI is installed (pip install awscli)");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim() {
        "" => Ok(Value::Null),
        json => Ok(serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))),
    }
}

fn ok(emulator: &Emulator, args: &[&str]) -> Value {
    aws(emulator, args).unwrap_or_else(|e| panic!("aws bedrock {args:?}: {e}"))
}

fn raw(endpoint: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    // A chunked body (hyper's default for JSON of unknown length) has sizes around the text.
    let json = json
        .find('{')
        .and_then(|start| json.rfind('}').map(|end| &json[start..=end]))
        .unwrap_or("null");
    (status, serde_json::from_str(json).unwrap())
}

/// Forces a resource's status through the control API.
fn set_status(emulator: &Emulator, arn: &str, status: &str) {
    let (code, _) = raw(
        &emulator.endpoint,
        "POST",
        &format!("/_emulator/jobs/{arn}/status"),
        &format!(r#"{{"status":"{status}"}}"#),
    );
    assert_eq!(code, 200);
}

#[test]
fn the_aws_cli_creates_gets_lists_updates_and_deletes_the_three_resource_families() {
    let emulator = spawn();
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
