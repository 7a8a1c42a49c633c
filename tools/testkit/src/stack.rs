//! Everything an end-to-end test needs: the emulator and moto, a jobs table, a topic with a
//! queue subscribed to it, and pollers wired as the Lambda wires them.

use std::ops::Deref;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_sqs::types::QueueAttributeName;
use bedrock_emulator::Settings;
use jobwatch::adapters::dynamodb::{create_table, DynamoJobStore};
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::domain::JobRecord;
use jobwatch::ports::JobSource;
use jobwatch::{PollSettings, Poller};
use serde_json::Value;

use crate::{sdk_config, Emulator, Moto, Notification};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Fresh stand-ins per test. Derefs to its [`Emulator`] (clients and control calls).
pub struct Stack {
    pub emulator: Emulator,
    pub moto: Moto,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub table: String,
    pub topic_arn: String,
    pub queue_url: String,
}

impl Deref for Stack {
    type Target = Emulator;

    fn deref(&self) -> &Emulator {
        &self.emulator
    }
}

/// A name no other stand-in of this process has.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> Stack {
        let moto = Moto::start().await;
        let aws = sdk_config(&moto.endpoint);
        let emulator = Emulator::start_on(settings, &aws).await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        let sns = aws_sdk_sns::Client::new(&aws);
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let table = unique("jobs");
        create_table(&dynamodb, &table).await.expect("create table");
        let topic_arn = sns
            .create_topic()
            .name(unique("notify"))
            .send()
            .await
            .expect("create topic")
            .topic_arn
            .unwrap_or_default();
        let queue_url = subscribed_queue(&sns, &sqs, &topic_arn).await;
        Stack {
            emulator,
            moto,
            dynamodb,
            sns,
            sqs,
            table,
            topic_arn,
            queue_url,
        }
    }

    /// Another jobs table on the same moto (e.g. to compare two pollers).
    pub async fn create_table(&self, name: &str) {
        create_table(&self.dynamodb, name)
            .await
            .expect("create table");
    }

    pub fn settings(&self) -> PollSettings {
        jobwatch::testing::poll_settings()
    }

    /// The batch poller, wired with the real adapters against moto and the emulator.
    pub fn poller(&self) -> Poller<BatchInferenceSource, DynamoJobStore, Sinks> {
        self.poller_with(self.settings())
    }

    pub fn poller_with(
        &self,
        settings: PollSettings,
    ) -> Poller<BatchInferenceSource, DynamoJobStore, Sinks> {
        self.poller_for(BatchInferenceSource::new(self.bedrock.clone()), settings)
    }

    /// A poller of any family, wired like the Lambda wires it.
    pub fn poller_for<S: JobSource>(
        &self,
        source: S,
        settings: PollSettings,
    ) -> Poller<S, DynamoJobStore, Sinks> {
        Poller::new(source, self.store(), self.notifier(), settings)
    }

    /// The price book the Lambda builds (`adapters::pricing::book`): the Price List at
    /// `pricing_endpoint` (the emulator's stand-in, or somewhere unreachable), cached in this
    /// stack's table, then the shipped file; `overrides` as `PRICE_OVERRIDES` gives them.
    pub fn price_book(
        &self,
        pricing_endpoint: &str,
        overrides: &[(&str, f64, f64)],
    ) -> std::sync::Arc<jobwatch::adapters::pricing::PriceListBook<DynamoJobStore>> {
        use jobwatch::adapters::pricing::{Override, PriceListBook, StaticPrices};
        let sdk = crate::sdk_config(pricing_endpoint)
            .into_builder()
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        let client = aws_sdk_pricing::Client::new(&sdk);
        let overrides = overrides
            .iter()
            .map(|(model, input, output)| {
                let price = Override {
                    input: *input,
                    output: *output,
                };
                (model.to_string(), price)
            })
            .collect();
        let book = PriceListBook::new(client, self.store(), StaticPrices::new(overrides));
        std::sync::Arc::new(book)
    }

    pub fn store(&self) -> DynamoJobStore {
        DynamoJobStore::new(self.dynamodb.clone(), &self.table)
    }

    pub fn notifier(&self) -> Sinks {
        Sinks::new(self.sns.clone(), &self.topic_arn)
    }

    /// Environment of the real binary (`Config::from_env`) pointed at these stand-ins.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.env_for(&self.table)
    }

    pub fn env_for(&self, table: &str) -> Vec<(&'static str, String)> {
        vec![
            ("JOBS_TABLE", table.to_owned()),
            ("NOTIFY_TOPIC_ARN", self.topic_arn.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_ENDPOINT_URL", self.moto.endpoint.clone()),
            ("AWS_ENDPOINT_URL_BEDROCK", self.emulator.endpoint()),
            ("AWS_ENDPOINT_URL_PRICING", self.emulator.endpoint()),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", self.emulator.endpoint()),
            ("AWS_ENDPOINT_URL_BEDROCK_AGENT", self.emulator.endpoint()),
            (
                "AWS_ENDPOINT_URL_BEDROCK_DATA_AUTOMATION_RUNTIME",
                self.emulator.endpoint(),
            ),
            // Flow executions; Data Automation libraries and their ingestion jobs.
            (
                "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME",
                self.emulator.endpoint(),
            ),
            (
                "AWS_ENDPOINT_URL_BEDROCK_DATA_AUTOMATION",
                self.emulator.endpoint(),
            ),
            (
                "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE",
                self.emulator.endpoint(),
            ),
        ]
    }

    /// A new topic on moto (e.g. the people topic).
    pub async fn create_topic(&self, name: &str) -> String {
        self.sns
            .create_topic()
            .name(unique(name))
            .send()
            .await
            .expect("create topic")
            .topic_arn
            .unwrap_or_default()
    }

    /// A new queue subscribed to `topic_arn`, with a filter policy on message attributes.
    pub async fn subscribe_queue(&self, topic_arn: &str, filter_policy: Option<Value>) -> String {
        let url = subscribed_queue(&self.sns, &self.sqs, topic_arn).await;
        if let Some(policy) = filter_policy {
            let subscriptions = self
                .sns
                .list_subscriptions_by_topic()
                .topic_arn(topic_arn)
                .send()
                .await
                .expect("list subscriptions");
            let queue_name = url.rsplit('/').next().unwrap_or_default();
            let subscription = subscriptions
                .subscriptions()
                .iter()
                .find(|s| s.endpoint().is_some_and(|e| e.ends_with(queue_name)))
                .and_then(|s| s.subscription_arn())
                .expect("the queue's subscription")
                .to_owned();
            self.sns
                .set_subscription_attributes()
                .subscription_arn(subscription)
                .attribute_name("FilterPolicy")
                .attribute_value(policy.to_string())
                .send()
                .await
                .expect("set filter policy");
        }
        url
    }

    /// Every SNS envelope delivered to a queue so far (drained until it stays empty).
    pub async fn envelopes(&self, queue_url: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut empty_polls = 0;
        while empty_polls < 2 {
            let received = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
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
                out.push(
                    serde_json::from_str(m.body.as_deref().unwrap_or("{}")).expect("SNS envelope"),
                );
                self.sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
        out
    }

    /// The machine documents a queue received, each validated against the schema.
    pub async fn notifications_in(&self, queue_url: &str) -> Vec<Notification> {
        self.envelopes(queue_url)
            .await
            .iter()
            .map(Notification::from_envelope)
            .collect()
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
            .expect("get item")
            .item?;
        Some(serde_dynamo::from_item(item).expect("a valid record"))
    }
}

/// A new queue subscribed to `topic_arn` (the SNS envelope, with message attributes).
async fn subscribed_queue(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic_arn: &str,
) -> String {
    let (queue_url, queue_arn) = new_queue(sqs, "inbox").await;
    sns.subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .expect("subscribe");
    queue_url
}

/// A new queue named after `prefix`: its URL and ARN.
pub(crate) async fn new_queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> (String, String) {
    let queue_url = sqs
        .create_queue()
        .queue_name(unique(prefix))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap_or_default();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    let queue_arn = attributes[&QueueAttributeName::QueueArn].clone();
    (queue_url, queue_arn)
}
