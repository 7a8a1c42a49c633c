//! Shared fixtures for the end-to-end tests: moto (DynamoDB, SNS, SQS) and the Bedrock emulator
//! on free ports, real SDK clients, and a poller wired exactly as the Lambda wires it.

pub mod faults;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_sqs::types::QueueAttributeName;
use bedrock_emulator::{Running, Settings};
use jobwatch::adapters::async_invoke::AsyncInvokeSource;
use jobwatch::adapters::batch::BatchInferenceSource;
use jobwatch::adapters::customization::CustomizationSource;
use jobwatch::adapters::dynamodb::{create_table, DynamoJobStore};
use jobwatch::adapters::model_import::ModelImportSource;
use jobwatch::adapters::sns::SnsNotifier;
use jobwatch::domain::{JobRecord, NotifyPolicy};
use jobwatch::ports::JobSource;
use jobwatch::{PollSettings, Poller};
use serde_json::{json, Value};

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
    /// Starts `moto_server` on a port it picks itself (no race with other tests for a port) and
    /// reads the port from its start-up line.
    pub async fn start() -> Moto {
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server on PATH (pip install 'moto[server]')");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Keeps draining moto's request log so the pipe never fills up and blocks it.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("Running on http://127.0.0.1:").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.trim().to_owned());
                    }
                }
            }
        });
        let port = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .expect("moto_server printed its port within 30 s")
            .expect("moto_server is running");
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
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

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Everything a poller test needs, created fresh per test.
pub struct Stack {
    pub emulator: Running,
    pub moto: Moto,
    pub bedrock: aws_sdk_bedrock::Client,
    pub runtime: aws_sdk_bedrockruntime::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub http: reqwest::Client,
    pub table: String,
    pub topic_arn: String,
    pub queue_url: String,
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> Stack {
        let (emulator, moto) = tokio::join!(bedrock_emulator::start(settings), Moto::start());
        let emulator = emulator.expect("emulator starts");
        let aws = sdk_config(&moto.endpoint);
        let bedrock_conf = aws_sdk_bedrock::config::Builder::from(&aws)
            .endpoint_url(emulator.endpoint())
            .build();
        let runtime_conf = aws_sdk_bedrockruntime::config::Builder::from(&aws)
            .endpoint_url(emulator.endpoint())
            .build();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let table = format!("jobs-{n}");
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        create_table(&dynamodb, &table).await.expect("create table");
        let sns = aws_sdk_sns::Client::new(&aws);
        let topic_arn = sns
            .create_topic()
            .name(format!("notify-{n}"))
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("inbox-{n}"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();
        Stack {
            bedrock: aws_sdk_bedrock::Client::from_conf(bedrock_conf),
            runtime: aws_sdk_bedrockruntime::Client::from_conf(runtime_conf),
            emulator,
            moto,
            dynamodb,
            sns,
            sqs,
            http: reqwest::Client::new(),
            table,
            topic_arn,
            queue_url,
        }
    }

    pub fn settings(&self) -> PollSettings {
        PollSettings {
            region: "us-east-1".into(),
            policy: NotifyPolicy::default(),
            lookback: chrono::Duration::hours(336),
            list_margin: chrono::Duration::minutes(15),
            get_concurrency: 8,
            retention: chrono::Duration::days(90),
            publish_lease: chrono::Duration::minutes(5),
        }
    }

    /// The batch poller, wired with the real adapters against moto and the emulator.
    pub fn poller(&self) -> Poller<BatchInferenceSource, DynamoJobStore, SnsNotifier> {
        self.poller_with(self.settings())
    }

    pub fn poller_with(
        &self,
        settings: PollSettings,
    ) -> Poller<BatchInferenceSource, DynamoJobStore, SnsNotifier> {
        Poller::new(
            BatchInferenceSource::new(self.bedrock.clone()),
            self.store(),
            SnsNotifier::new(self.sns.clone(), &self.topic_arn),
            settings,
        )
    }

    /// A poller of any family, wired like the Lambda wires it.
    pub fn poller_for<S: JobSource>(
        &self,
        source: S,
        settings: PollSettings,
    ) -> Poller<S, DynamoJobStore, SnsNotifier> {
        Poller::new(
            source,
            self.store(),
            SnsNotifier::new(self.sns.clone(), &self.topic_arn),
            settings,
        )
    }

    pub fn import_source(&self) -> ModelImportSource {
        ModelImportSource::new(self.bedrock.clone())
    }

    pub fn async_source(&self) -> AsyncInvokeSource {
        AsyncInvokeSource::new(self.runtime.clone())
    }

    pub fn customization_source(&self) -> CustomizationSource {
        CustomizationSource::new(self.bedrock.clone())
    }

    pub async fn create_customization(&self, name: &str) -> String {
        use aws_sdk_bedrock::types::{OutputDataConfig, TrainingDataConfig};
        self.bedrock
            .create_model_customization_job()
            .job_name(name)
            .custom_model_name(format!("{name}-model"))
            .role_arn("arn:aws:iam::123456789012:role/TuneRole")
            .base_model_identifier("amazon.titan-text-express-v1")
            .training_data_config(
                TrainingDataConfig::builder()
                    .s3_uri("s3://training-bucket/train.jsonl")
                    .build(),
            )
            .output_data_config(
                OutputDataConfig::builder()
                    .s3_uri("s3://training-bucket/out/")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create customization job")
            .job_arn
    }

    pub async fn create_import(&self, name: &str) -> String {
        use aws_sdk_bedrock::types::{ModelDataSource, S3DataSource};
        self.bedrock
            .create_model_import_job()
            .job_name(name)
            .imported_model_name(format!("{name}-model"))
            .role_arn("arn:aws:iam::123456789012:role/ImportRole")
            .model_data_source(ModelDataSource::S3DataSource(
                S3DataSource::builder()
                    .s3_uri("s3://model-bucket/weights/")
                    .build()
                    .unwrap(),
            ))
            .send()
            .await
            .expect("create import job")
            .job_arn
    }

    pub async fn start_async_invoke(&self, prefix: &str) -> String {
        use aws_sdk_bedrockruntime::types::{
            AsyncInvokeOutputDataConfig, AsyncInvokeS3OutputDataConfig,
        };
        let input = aws_smithy_types::Document::Object(
            [(
                "taskType".to_owned(),
                aws_smithy_types::Document::String("TEXT_VIDEO".into()),
            )]
            .into_iter()
            .collect(),
        );
        self.runtime
            .start_async_invoke()
            .model_id("amazon.nova-reel-v1:0")
            .model_input(input)
            .output_data_config(AsyncInvokeOutputDataConfig::S3OutputDataConfig(
                AsyncInvokeS3OutputDataConfig::builder()
                    .s3_uri(format!("s3://video-bucket/{prefix}"))
                    .build()
                    .unwrap(),
            ))
            .send()
            .await
            .expect("start async invoke")
            .invocation_arn
    }

    pub fn store(&self) -> DynamoJobStore {
        DynamoJobStore::new(self.dynamodb.clone(), &self.table)
    }

    /// Environment for the real binary (`Config::from_env`) pointed at these stand-ins.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("JOBS_TABLE", self.table.clone()),
            ("NOTIFY_TOPIC_ARN", self.topic_arn.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_ENDPOINT_URL", self.moto.endpoint.clone()),
            ("AWS_ENDPOINT_URL_BEDROCK", self.emulator.endpoint()),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", self.emulator.endpoint()),
        ]
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/_emulator/{path}", self.emulator.endpoint()))
            .json(&body)
            .send()
            .await
            .expect("control call");
        assert!(
            response.status().is_success(),
            "control {path}: {}",
            response.status()
        );
        response.json().await.expect("control json")
    }

    /// `GET /_emulator/{path}` (jobs, stats, events).
    pub async fn control_get(&self, path: &str) -> Value {
        let url = format!("{}/_emulator/{path}", self.emulator.endpoint());
        self.http
            .get(url)
            .send()
            .await
            .expect("control call")
            .json()
            .await
            .expect("control json")
    }

    /// Clears every fault rule of the emulator.
    pub async fn clear_faults(&self) {
        let url = format!("{}/_emulator/faults", self.emulator.endpoint());
        let response = self.http.delete(url).send().await.expect("control call");
        assert!(response.status().is_success());
    }

    /// Forces a job's status through the emulator's control API.
    pub async fn set_status(&self, arn: &str, status: &str) {
        let id = arn.rsplit('/').next().unwrap_or(arn);
        self.control(&format!("jobs/{id}/status"), json!({ "status": status }))
            .await;
    }

    pub async fn create_batch(&self, name: &str) -> String {
        use aws_sdk_bedrock::types::*;
        self.bedrock
            .create_model_invocation_job()
            .job_name(name)
            .role_arn("arn:aws:iam::123456789012:role/BedrockBatch")
            .model_id("anthropic.claude-3-haiku-20240307-v1:0")
            .input_data_config(ModelInvocationJobInputDataConfig::S3InputDataConfig(
                ModelInvocationJobS3InputDataConfig::builder()
                    .s3_uri("s3://input-bucket/records.jsonl")
                    .build()
                    .unwrap(),
            ))
            .output_data_config(ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
                ModelInvocationJobS3OutputDataConfig::builder()
                    .s3_uri("s3://output-bucket/out/")
                    .build()
                    .unwrap(),
            ))
            .send()
            .await
            .expect("create batch job")
            .job_arn
    }

    /// Every notification delivered so far: drains the subscribed queue until it stays empty.
    pub async fn notifications(&self) -> Vec<Notification> {
        let mut out = Vec::new();
        let mut empty_polls = 0;
        while empty_polls < 2 {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive");
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                empty_polls += 1;
                continue;
            }
            empty_polls = 0;
            for m in messages {
                let envelope: Value =
                    serde_json::from_str(m.body.as_deref().unwrap_or("{}")).expect("SNS envelope");
                out.push(Notification::from_envelope(&envelope));
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
        out
    }

    /// The stored item of a job.
    pub async fn record(&self, arn: &str) -> Option<JobRecord> {
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(arn.to_owned()),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item?;
        Some(serde_dynamo::from_item(item).expect("a valid record"))
    }
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
        let text = include_str!("../../schemas/notification-v1.json");
        let schema: Value = serde_json::from_str(text).expect("schema is JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("a valid JSON Schema")
    })
}

impl Notification {
    /// Parses what an SQS subscriber receives and validates the body against the v1 schema.
    fn from_envelope(envelope: &Value) -> Self {
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
}
