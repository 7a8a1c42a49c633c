//! The one test kit of the project: moto (DynamoDB, SNS, SQS, STS, ...) and the Bedrock emulator
//! on free ports, real SDK clients pointed at them, the emulator's control API, and what a
//! subscriber of the topic receives. The end-to-end tests, the emulator's own tests and the
//! benchmarks all start their stand-ins here.

mod bus;
pub mod emf;
mod emulator;
mod fleet;
mod resources;
mod scopes;
mod stack;

pub use bus::BusQueue;
pub use emulator::{eventually, Emulator};
pub use fleet::StackFleet;
pub use resources::THROUGHPUT_MODEL;
pub use scopes::{access_key_for, RegionFault, DEFAULT_ACCOUNT};
pub use stack::{unique, Stack};

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use serde_json::Value;

/// A moto server process, killed when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts `moto_server` on a free port. Step Functions' interpreter inside moto calls moto's
    /// own services at `localhost:$MOTO_PORT`, so moto must know its port: a port is picked
    /// (bind to 0, release), and a start that loses the port to another process is retried.
    pub async fn start() -> Moto {
        for _ in 0..5 {
            if let Some(moto) = Self::try_start().await {
                moto.execute_state_machines().await;
                return moto;
            }
        }
        panic!("moto_server did not start on a free port in 5 attempts");
    }

    /// `None`: the port was taken before moto bound it (moto exited).
    async fn try_start() -> Option<Moto> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
            .to_string();
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port])
            .env("MOTO_PORT", &port)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server on PATH (pip install 'moto[server]')");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Keeps draining moto's request log so the pipe never fills up and blocks it. The
        // sender is dropped unused if moto exits before it runs (its port was taken).
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Running on http://127.0.0.1:") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
        let started = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .expect("moto_server printed its address within 30 s");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        started.ok().map(|()| moto)
    }

    /// Step Functions on moto runs executions (Task states, waitForTaskToken, Catch) only when
    /// configured to; the workflow-wait tests need it, the others never start one.
    async fn execute_state_machines(&self) {
        reqwest::Client::new()
            .post(format!("{}/moto-api/config", self.endpoint))
            .json(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("moto accepts its Step Functions configuration");
    }
}

/// One SDK config pointed at moto, like `AWS_ENDPOINT_URL` would.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            Credentials::new("testing", "testing", None, None, "static"),
        ))
        .endpoint_url(endpoint)
        .build()
}

/// A notification as a queue subscriber receives it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub subject: String,
    pub body: Value,
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// The published message schema, compiled once per test binary.
pub fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = include_str!("../../../schemas/notification-v1.json");
        let schema: Value = serde_json::from_str(text).expect("schema is JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("a valid JSON Schema")
    })
}

/// What a consumer written against an earlier minor revision of v1 finds wrong with `doc`:
/// `"1.1"` (the first revision open to fields it does not know) or `"1.2"`, as
/// `schemas/notification-v1.json` was at those revisions on main (copies in
/// `tools/testkit/fixtures/`; no release sent them: 0.2.0 sent 1.0). A document of
/// today must still validate against them: new fields are additions, never changes.
pub fn errors_for_consumers_of(version: &str, doc: &Value) -> Vec<String> {
    static V1_1: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    static V1_2: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let (cell, text) = match version {
        "1.1" => (&V1_1, include_str!("../fixtures/notification-v1.1.json")),
        "1.2" => (&V1_2, include_str!("../fixtures/notification-v1.2.json")),
        other => panic!("no copy of schema {other}"),
    };
    let validator = cell.get_or_init(|| {
        let schema: Value = serde_json::from_str(text).expect("schema is JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("a valid JSON Schema")
    });
    validator
        .iter_errors(doc)
        .map(|e| format!("{version}: {e}"))
        .collect()
}

/// The chat topic's message schema (Amazon Q Developer custom notifications), compiled once.
pub fn chat_schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = include_str!("../../../schemas/chat-custom-notification.json");
        let schema: Value = serde_json::from_str(text).expect("schema is JSON");
        jsonschema::validator_for(&schema).expect("a valid JSON Schema")
    })
}

/// Every way `message` breaks the chat schema (none: it is a valid custom notification).
pub fn chat_errors(message: &Value) -> Vec<String> {
    chat_schema()
        .iter_errors(message)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

impl Notification {
    /// Parses what an SQS subscriber receives and validates the body against the v1 schema.
    pub fn from_envelope(envelope: &Value) -> Self {
        let body = envelope["Message"]
            .as_str()
            .map(|m| serde_json::from_str(m).expect("JSON body"))
            .unwrap_or(Value::Null);
        let errors: Vec<String> = schema()
            .iter_errors(&body)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "published message violates schemas/notification-v1.json: {errors:?}\n{body:#}"
        );
        let attributes = envelope["MessageAttributes"]
            .as_object()
            .map(|attrs| {
                attrs
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v["Value"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Notification {
            subject: envelope["Subject"].as_str().unwrap_or_default().to_owned(),
            body,
            attributes,
        }
    }

    pub fn arn(&self) -> &str {
        self.body["jobArn"].as_str().unwrap_or_default()
    }

    pub fn status(&self) -> &str {
        self.body["status"].as_str().unwrap_or_default()
    }

    /// `(job ARN, status, outcome attribute)` of each notification, sorted: what a test of
    /// "one notification per terminal transition" compares.
    pub fn told(notifications: &[Notification]) -> Vec<(String, String, String)> {
        let mut told: Vec<(String, String, String)> = notifications
            .iter()
            .map(|n| {
                let outcome = n.attributes.get("outcome").cloned().unwrap_or_default();
                (n.arn().to_owned(), n.status().to_owned(), outcome)
            })
            .collect();
        told.sort();
        told
    }
}

/// `(ARN, status, outcome)` rows as [`Notification::told`] gives them, sorted.
pub fn transitions(rows: &[(&String, &str, &str)]) -> Vec<(String, String, String)> {
    let mut rows: Vec<(String, String, String)> = rows
        .iter()
        .map(|(arn, status, outcome)| ((*arn).clone(), (*status).to_owned(), (*outcome).to_owned()))
        .collect();
    rows.sort();
    rows
}
