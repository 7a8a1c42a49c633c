//! Fixtures: an in-process emulator and real SDK clients pointed at it.
#![allow(dead_code)]

use aws_sdk_bedrock::config::retry::RetryConfig;
use aws_sdk_bedrock::config::{BehaviorVersion, Credentials, Region};
use bedrock_emulator::{Running, Settings};
use serde_json::{json, Value};

pub struct Fixture {
    pub emulator: Running,
    pub bedrock: aws_sdk_bedrock::Client,
    pub runtime: aws_sdk_bedrockruntime::Client,
    pub http: reqwest::Client,
}

pub async fn start() -> Fixture {
    start_with(Settings::default()).await
}

/// An emulator whose jobs spend `step_ms` in each state when they advance on their own.
pub async fn start_with_step(step_ms: u64) -> Fixture {
    start_with(Settings {
        lifecycle: bedrock_emulator::AutoAdvance {
            step: std::time::Duration::from_millis(step_ms),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
}

pub async fn start_with(settings: Settings) -> Fixture {
    let emulator = bedrock_emulator::start(settings)
        .await
        .expect("emulator starts");
    let creds = Credentials::new("test", "test", None, None, "static");
    let bedrock = aws_sdk_bedrock::Client::from_conf(
        aws_sdk_bedrock::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(creds.clone())
            .endpoint_url(emulator.endpoint())
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let runtime = aws_sdk_bedrockruntime::Client::from_conf(
        aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
            .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .endpoint_url(emulator.endpoint())
            .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
            .build(),
    );
    Fixture {
        emulator,
        bedrock,
        runtime,
        http: reqwest::Client::new(),
    }
}

impl Fixture {
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

    pub async fn control_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/_emulator/{path}", self.emulator.endpoint()))
            .send()
            .await
            .expect("control call")
            .json()
            .await
            .expect("control json")
    }

    pub async fn set_status(&self, arn: &str, status: &str) -> Value {
        self.control(
            &format!(
                "jobs/{}/status",
                arn.replace('/', "%2F").replace(':', "%3A")
            ),
            json!({ "status": status }),
        )
        .await
    }

    /// `GetModelInvocationJob` through the SDK.
    pub async fn get_batch(
        &self,
        identifier: &str,
    ) -> Result<
        aws_sdk_bedrock::operation::get_model_invocation_job::GetModelInvocationJobOutput,
        aws_sdk_bedrock::error::SdkError<
            aws_sdk_bedrock::operation::get_model_invocation_job::GetModelInvocationJobError,
        >,
    > {
        self.bedrock
            .get_model_invocation_job()
            .job_identifier(identifier)
            .send()
            .await
    }

    pub async fn create_batch(&self, name: &str) -> String {
        self.create_batch_tagged(name, None).await
    }

    pub async fn create_batch_tagged(&self, name: &str, outcome: Option<&str>) -> String {
        use aws_sdk_bedrock::types::*;
        let mut request = self
            .bedrock
            .create_model_invocation_job()
            .job_name(name)
            .role_arn("arn:aws:iam::123456789012:role/BedrockBatch")
            .model_id("anthropic.claude-3-haiku-20240307-v1:0")
            .input_data_config(ModelInvocationJobInputDataConfig::S3InputDataConfig(
                ModelInvocationJobS3InputDataConfig::builder()
                    .s3_uri("s3://input-bucket/records.jsonl")
                    .s3_input_format(S3InputFormat::Jsonl)
                    .build()
                    .unwrap(),
            ))
            .output_data_config(ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
                ModelInvocationJobS3OutputDataConfig::builder()
                    .s3_uri("s3://output-bucket/out/")
                    .build()
                    .unwrap(),
            ))
            .timeout_duration_in_hours(48);
        if let Some(outcome) = outcome {
            request = request.tags(
                Tag::builder()
                    .key("emulator:outcome")
                    .value(outcome)
                    .build()
                    .unwrap(),
            );
        }
        request.send().await.expect("create batch job").job_arn
    }
}

/// Polls `check` until it yields a value (at most 10 s), instead of sleeping a guessed time.
pub async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
