//! The Bedrock emulator in-process, SDK clients pointed at it, and its control API.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_bedrock::config::retry::RetryConfig;
use bedrock_emulator::{Running, Scope, Settings};
use jobwatch::adapters::families::AnySource;
use jobwatch::domain::JobKind;
use serde_json::{json, Value};

/// A running emulator with `bedrock` and `bedrock-runtime` clients and an HTTP client for
/// `/_emulator/` control calls. The clients address the default account and region;
/// [`Emulator::in_scope`] gives a handle on the same emulator whose clients address another.
pub struct Emulator {
    pub running: Arc<Running>,
    /// The config the clients were built from (region, credentials, retries).
    pub base: SdkConfig,
    /// The account and region this handle's clients address (`None`: the defaults).
    pub scope: Option<Scope>,
    pub bedrock: aws_sdk_bedrock::Client,
    pub runtime: aws_sdk_bedrockruntime::Client,
    /// bedrock-agent (knowledge bases, data sources, ingestion jobs).
    pub agent: aws_sdk_bedrockagent::Client,
    /// bedrock-data-automation-runtime (awsJson).
    pub data_automation: aws_sdk_bedrockdataautomationruntime::Client,
    pub http: reqwest::Client,
}

impl Emulator {
    /// Clients without retries: a test of the emulator sees every error as it is sent.
    pub async fn start() -> Emulator {
        Self::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> Emulator {
        let base = crate::sdk_config("http://127.0.0.1:1")
            .into_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        Self::start_on(settings, &base).await
    }

    /// An emulator whose jobs spend `step_ms` in each state when they advance on their own.
    pub async fn start_with_step(step_ms: u64) -> Emulator {
        Self::start_with(Settings {
            lifecycle: bedrock_emulator::AutoAdvance {
                step: std::time::Duration::from_millis(step_ms),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
    }

    /// Clients from `base` (region, credentials, retries), pointed at the emulator.
    pub async fn start_on(settings: Settings, base: &SdkConfig) -> Emulator {
        let running = bedrock_emulator::start(settings)
            .await
            .expect("emulator starts");
        Self::clients(Arc::new(running), base, None)
    }

    /// Handles sharing one running emulator: `base` says whom the clients sign as, and where.
    pub(crate) fn clients(running: Arc<Running>, base: &SdkConfig, scope: Option<Scope>) -> Self {
        let bedrock = aws_sdk_bedrock::config::Builder::from(base)
            .endpoint_url(running.endpoint())
            .build();
        let runtime = aws_sdk_bedrockruntime::config::Builder::from(base)
            .endpoint_url(running.endpoint())
            .build();
        let agent = aws_sdk_bedrockagent::config::Builder::from(base)
            .endpoint_url(running.endpoint())
            .build();
        let data_automation = aws_sdk_bedrockdataautomationruntime::config::Builder::from(base)
            .endpoint_url(running.endpoint())
            .build();
        Emulator {
            bedrock: aws_sdk_bedrock::Client::from_conf(bedrock),
            agent: aws_sdk_bedrockagent::Client::from_conf(agent),
            data_automation: aws_sdk_bedrockdataautomationruntime::Client::from_conf(
                data_automation,
            ),
            runtime: aws_sdk_bedrockruntime::Client::from_conf(runtime),
            running,
            base: base.clone(),
            scope,
            http: reqwest::Client::new(),
        }
    }

    /// The adapter of `kind` on this emulator, built as the Lambda builds it
    /// (`AnySource::new`, default settings: no output manifests, no tags).
    pub fn source(&self, kind: JobKind) -> AnySource {
        let sdk = self.base.to_builder().endpoint_url(self.endpoint()).build();
        let vars = [
            ("JOBS_TABLE", "jobs"),
            ("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t"),
            ("AWS_REGION", "us-east-1"),
        ];
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = jobwatch::Config::from_vars(&vars).expect("the test kit's settings are valid");
        AnySource::new(kind, &sdk, &config)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.running.endpoint()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/_emulator/{path}", self.endpoint())
    }

    /// `POST /_emulator/{path}`; the call must succeed.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(self.url(path))
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
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("control call")
            .json()
            .await
            .expect("control json")
    }

    /// How many times the emulator answered `operation` (the `stats` control call).
    pub async fn calls_of(&self, operation: &str) -> u64 {
        self.control_get("stats").await["requests"]["operations"][operation]
            .as_u64()
            .unwrap_or(0)
    }

    /// The next `times` calls of each of `operations` answer `ThrottlingException`.
    pub async fn throttle(&self, operations: &[&str], times: u32) {
        for operation in operations {
            let fault =
                json!({"operation": operation, "error": "ThrottlingException", "count": times});
            self.control("faults", fault).await;
        }
    }

    /// Clears every fault rule.
    pub async fn clear_faults(&self) {
        let response = self
            .http
            .delete(self.url("faults"))
            .send()
            .await
            .expect("control call");
        assert!(response.status().is_success());
    }

    /// Forces a job's status (the job named by its ARN).
    pub async fn set_status(&self, arn: &str, status: &str) -> Value {
        let encoded = arn.replace('/', "%2F").replace(':', "%3A");
        self.control(
            &format!("jobs/{encoded}/status"),
            json!({ "status": status }),
        )
        .await
    }

    /// Forces a batch job's status and record counts (a running job's progress).
    pub async fn set_progress(&self, arn: &str, status: &str, processed: i64, total: i64) -> Value {
        let encoded = arn.replace('/', "%2F").replace(':', "%3A");
        self.control(
            &format!("jobs/{encoded}/status"),
            json!({
                "status": status,
                "counts": {"totalRecordCount": total, "processedRecordCount": processed},
            }),
        )
        .await
    }

    /// A knowledge base (`CreateKnowledgeBase` through the SDK); returns its id.
    pub async fn create_knowledge_base(&self, name: &str) -> String {
        use aws_sdk_bedrockagent::types::{
            KnowledgeBaseConfiguration, KnowledgeBaseType, VectorKnowledgeBaseConfiguration,
        };
        let vector = VectorKnowledgeBaseConfiguration::builder()
            .embedding_model_arn(
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
            )
            .build()
            .expect("vector config");
        let config = KnowledgeBaseConfiguration::builder()
            .r#type(KnowledgeBaseType::Vector)
            .vector_knowledge_base_configuration(vector)
            .build()
            .expect("kb config");
        let out = self
            .agent
            .create_knowledge_base()
            .name(name)
            .role_arn("arn:aws:iam::123456789012:role/KnowledgeBaseRole")
            .knowledge_base_configuration(config)
            .send()
            .await
            .expect("CreateKnowledgeBase");
        out.knowledge_base()
            .expect("kb")
            .knowledge_base_id()
            .to_owned()
    }

    /// An S3 data source of `kb_id` (`CreateDataSource`); returns its id.
    pub async fn create_data_source(&self, kb_id: &str, name: &str) -> String {
        use aws_sdk_bedrockagent::types::{
            DataSourceConfiguration, DataSourceType, S3DataSourceConfiguration,
        };
        let s3 = S3DataSourceConfiguration::builder()
            .bucket_arn(format!("arn:aws:s3:::{}", name.to_lowercase()))
            .build()
            .expect("s3 config");
        let config = DataSourceConfiguration::builder()
            .r#type(DataSourceType::S3)
            .s3_configuration(s3)
            .build()
            .expect("ds config");
        let out = self
            .agent
            .create_data_source()
            .knowledge_base_id(kb_id)
            .name(name)
            .data_source_configuration(config)
            .send()
            .await
            .expect("CreateDataSource");
        out.data_source().expect("ds").data_source_id().to_owned()
    }

    /// `StartIngestionJob`; returns the job's id. `description` may carry
    /// `emulator:outcome=STATUS` (how it ends when it advances on its own).
    pub async fn start_ingestion_job(&self, kb_id: &str, ds_id: &str, description: &str) -> String {
        let out = self
            .agent
            .start_ingestion_job()
            .knowledge_base_id(kb_id)
            .data_source_id(ds_id)
            .description(description)
            .send()
            .await
            .expect("StartIngestionJob");
        out.ingestion_job()
            .expect("job")
            .ingestion_job_id()
            .to_owned()
    }

    /// `InvokeDataAutomationAsync`; returns the invocation ARN. `outcome` sets the
    /// `emulator:outcome` tag (how it ends when it advances on its own).
    pub async fn invoke_data_automation(&self, input: &str, outcome: Option<&str>) -> String {
        use aws_sdk_bedrockdataautomationruntime::types::{
            InputConfiguration, OutputConfiguration, Tag,
        };
        let tags = outcome.map(|o| {
            vec![Tag::builder()
                .key("emulator:outcome")
                .value(o)
                .build()
                .expect("tag")]
        });
        self.data_automation
            .invoke_data_automation_async()
            .input_configuration(
                InputConfiguration::builder()
                    .s3_uri(format!("s3://documents-in/{input}"))
                    .build()
                    .expect("input"),
            )
            .output_configuration(
                OutputConfiguration::builder()
                    .s3_uri("s3://documents-out/bda")
                    .build()
                    .expect("output"),
            )
            .data_automation_profile_arn(
                "arn:aws:bedrock:us-east-1:123456789012:data-automation-profile/us.data-automation-v1",
            )
            .set_tags(tags)
            .send()
            .await
            .expect("InvokeDataAutomationAsync")
            .invocation_arn()
            .to_owned()
    }

    /// The EventBridge event Bedrock would emit for the job's current state.
    pub async fn event_of(&self, arn: &str) -> Value {
        let id = arn.rsplit('/').next().unwrap_or(arn);
        self.control_get(&format!("jobs/{id}/event")).await
    }

    /// The ARNs of every job the emulator has (of this handle's scope, for a scoped handle), in
    /// its listing order.
    pub async fn job_arns(&self) -> Vec<String> {
        self.control_get(&format!("jobs{}", self.scope_query()))
            .await["jobs"]
            .as_array()
            .map(|jobs| {
                jobs.iter()
                    .filter_map(|j| j["arn"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
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

    /// A batch job; `outcome` is the `emulator:outcome` tag (how auto-advance ends it).
    pub async fn create_batch_tagged(&self, name: &str, outcome: Option<&str>) -> String {
        let tags: Vec<(&str, &str)> = outcome
            .map(|o| ("emulator:outcome", o))
            .into_iter()
            .collect();
        self.create_batch_with_tags(name, &tags).await
    }

    /// A batch job created with these resource tags (`tags` member).
    pub async fn create_batch_with_tags(&self, name: &str, tags: &[(&str, &str)]) -> String {
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
        for (key, value) in tags {
            request = request.tags(Tag::builder().key(*key).value(*value).build().unwrap());
        }
        request.send().await.expect("create batch job").job_arn
    }

    pub async fn create_import(&self, name: &str) -> String {
        self.try_create_import(name)
            .await
            .expect("create import job")
    }

    /// `CreateModelImportJob` as the SDK answers it (for tests of its errors).
    pub async fn try_create_import(
        &self,
        name: &str,
    ) -> Result<
        String,
        aws_sdk_bedrock::error::SdkError<
            aws_sdk_bedrock::operation::create_model_import_job::CreateModelImportJobError,
        >,
    > {
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
            .map(|r| r.job_arn)
    }

    pub async fn start_async_invoke(&self, prefix: &str) -> String {
        self.start_async_invoke_with_tags(prefix, &[]).await
    }

    /// An asynchronous invocation started with these tags (`tags` member of StartAsyncInvoke).
    pub async fn start_async_invoke_with_tags(
        &self,
        prefix: &str,
        tags: &[(&str, &str)],
    ) -> String {
        use aws_sdk_bedrockruntime::types::{
            AsyncInvokeOutputDataConfig, AsyncInvokeS3OutputDataConfig, Tag,
        };
        use aws_smithy_types::Document;
        let input = Document::Object(
            [("taskType".to_owned(), Document::String("TEXT_VIDEO".into()))]
                .into_iter()
                .collect(),
        );
        let mut request = self
            .runtime
            .start_async_invoke()
            .model_id("amazon.nova-reel-v1:0")
            .model_input(input)
            .output_data_config(AsyncInvokeOutputDataConfig::S3OutputDataConfig(
                AsyncInvokeS3OutputDataConfig::builder()
                    .s3_uri(format!("s3://video-bucket/{prefix}"))
                    .build()
                    .unwrap(),
            ));
        for (key, value) in tags {
            request = request.tags(Tag::builder().key(*key).value(*value).build().unwrap());
        }
        request
            .send()
            .await
            .expect("start async invoke")
            .invocation_arn
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
}

impl Emulator {
    /// An automated evaluation job: of a model, or (`rag`) of a knowledge base.
    pub async fn create_evaluation(&self, name: &str, rag: bool) -> String {
        let body: Value = serde_json::from_value(json!({
            "jobName": name,
            "roleArn": "arn:aws:iam::123456789012:role/EvalRole",
            "applicationType": if rag { "RagEvaluation" } else { "ModelEvaluation" },
            "evaluationConfig": {"automated": {"datasetMetricConfigs": [{
                "taskType": "QuestionAndAnswer",
                "dataset": {"name": "Builtin.BoolQ"},
                "metricNames": ["Builtin.Accuracy"]}]}},
            "inferenceConfig": if rag {
                json!({"ragConfigs": [{"knowledgeBaseConfig": {"retrieveConfig": {
                    "knowledgeBaseId": "KB12345678",
                    "knowledgeBaseRetrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 5}}}}}]})
            } else {
                json!({"models": [{"bedrockModel": {"modelIdentifier": "amazon.nova-lite-v1:0"}}]})
            },
            "outputDataConfig": {"s3Uri": "s3://eval-bucket/results/"}
        }))
        .unwrap();
        self.rest("evaluation-jobs", body).await
    }

    /// A copy of a custom model of `us-west-2` into this region, named `target`.
    pub async fn create_model_copy(&self, target: &str) -> String {
        self.bedrock
            .create_model_copy_job()
            .source_model_arn(
                "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghijkl",
            )
            .target_model_name(target)
            .send()
            .await
            .expect("create model copy job")
            .job_arn
    }

    /// A create call sent as JSON (union-heavy requests are shorter this way than with builders).
    async fn rest(&self, path: &str, body: Value) -> String {
        let response = self
            .http
            .post(format!("{}/{path}{}", self.endpoint(), self.scope_query()))
            .json(&body)
            .send()
            .await
            .expect("emulator reachable");
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap_or_default()
        );
        response.json::<Value>().await.unwrap()["jobArn"]
            .as_str()
            .unwrap()
            .to_owned()
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
