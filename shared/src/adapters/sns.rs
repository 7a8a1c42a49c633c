//! `Notifier` on SNS topics (standard or FIFO) and an optional EventBridge bus: the machine
//! topic gets one JSON document per job; the optional chat topic an Amazon Q Developer custom
//! notification; the optional bus an event; the optional people topic plain-text emails and
//! digests. Topics are published to with `PublishBatch` and the bus with `PutEvents`, 10 at a
//! time, a few calls in flight.

use std::collections::HashMap;

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use super::eventbridge::EventBus;
use super::sdk::{sdk_retryable, sdk_source};
use super::sns_batch::{publish_all, Message, Publishing, MAX_BATCH_ENTRIES};
use crate::domain::{chat_message, AttributeValue, Notice, PeopleMessage, Sink};
use crate::error::Error;
use crate::ports::{Batching, Delivery, Notifier};

#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
    people_topic_arn: Option<String>,
    chat_topic_arn: Option<String>,
    bus: Option<EventBus>,
    publishing: Publishing,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
            people_topic_arn: None,
            chat_topic_arn: None,
            bus: None,
            publishing: Publishing::default(),
        }
    }

    /// Chat channels (Amazon Q Developer in chat applications) watch their own topic: one
    /// custom notification per notice, threaded by job.
    pub fn with_chat_topic(mut self, topic_arn: impl Into<String>) -> Self {
        self.chat_topic_arn = Some(topic_arn.into());
        self
    }

    /// Automation gets an event per notice on an EventBridge bus.
    pub fn with_event_bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Batched or one message at a time, and how many calls in flight (`PUBLISH_CONCURRENCY`).
    pub fn with_publishing(mut self, publishing: Publishing) -> Self {
        self.publishing = publishing;
        self
    }

    /// The machine topic's message: a variant per protocol (email gets text, the rest JSON).
    fn topic_message(&self, notice: &Notice) -> Result<Message, Error> {
        let mut attributes = HashMap::new();
        for (name, value) in &notice.attributes {
            attributes.insert(
                name.clone(),
                attribute(&AttributeValue::One(value.clone()))?,
            );
        }
        let body = serde_json::json!({ "default": notice.body.to_string(), "email": notice.email });
        Ok(Message {
            body: body.to_string(),
            subject: Some(notice.subject.clone()),
            structure: Some("json"),
            attributes,
            fifo: self.is_fifo().then(|| fifo_ids(notice)),
        })
    }

    /// The chat topic's message: the custom notification, with the notice's attributes (so
    /// a subscription filter can pick, say, failures only).
    fn chat_message(&self, topic: &str, notice: &Notice) -> Result<Message, Error> {
        let mut message = self.topic_message(notice)?;
        message.body = chat_message(notice).to_string();
        message.subject = None;
        message.structure = None;
        message.fifo = topic.ends_with(".fifo").then(|| fifo_ids(notice));
        Ok(message)
    }

    /// People (email readers) get their own topic: one text message per job, or a digest.
    pub fn with_people_topic(mut self, topic_arn: impl Into<String>) -> Self {
        self.people_topic_arn = Some(topic_arn.into());
        self
    }

    fn is_fifo(&self) -> bool {
        self.topic_arn.ends_with(".fifo")
    }
}

fn attribute(value: &AttributeValue) -> Result<MessageAttributeValue, Error> {
    let builder = match value {
        AttributeValue::One(v) => MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v),
        // String.Array: a JSON array of strings (a filter policy matches any element).
        AttributeValue::Many(vs) => MessageAttributeValue::builder()
            .data_type("String.Array")
            .string_value(serde_json::to_string(vs).unwrap_or_default()),
    };
    builder.build().map_err(|e| Error::Notify {
        retryable: false,
        source: Box::new(e),
    })
}

/// FIFO deduplication ids are at most 128 characters: long keys are hashed (FNV-1a, stable).
pub fn deduplication_id(key: &str) -> String {
    if key.len() <= 128 {
        return key.to_owned();
    }
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{hash:016x}", &key[..100])
}

/// FIFO: the job is the group (its messages stay in order), the dedup key the deduplication id.
fn fifo_ids(notice: &Notice) -> (String, String) {
    let group = notice.body["jobArn"].as_str().unwrap_or("bedrock-jobwatch");
    (group.to_owned(), deduplication_id(&notice.dedup_key))
}

impl Notifier for SnsNotifier {
    /// `PublishBatch` and `PutEvents` both take 10 entries.
    fn batching(&self) -> Batching {
        match self.publishing.batched {
            true => Batching {
                size: MAX_BATCH_ENTRIES,
                concurrency: self.publishing.concurrency,
            },
            false => Batching::ONE_BY_ONE,
        }
    }

    fn sinks(&self) -> Vec<Sink> {
        let mut sinks = vec![Sink::Topic];
        sinks.extend(self.chat_topic_arn.as_ref().map(|_| Sink::Chat));
        sinks.extend(self.bus.as_ref().map(|_| Sink::Bus));
        sinks
    }

    async fn deliver(&self, sink: Sink, notices: &[Notice]) -> Delivery {
        let how = self.publishing;
        match (sink, &self.chat_topic_arn, &self.bus) {
            (Sink::Topic, _, _) => {
                let messages = notices.iter().map(|n| self.topic_message(n)).collect();
                publish_all(&self.client, &self.topic_arn, messages, how).await
            }
            (Sink::Chat, Some(chat), _) => {
                let messages = notices.iter().map(|n| self.chat_message(chat, n)).collect();
                publish_all(&self.client, chat, messages, how).await
            }
            (Sink::Bus, _, Some(bus)) => {
                let concurrency = if how.batched { how.concurrency } else { 1 };
                bus.put(notices, concurrency).await
            }
            (other, _, _) => Delivery {
                results: notices
                    .iter()
                    .map(|_| {
                        Err(Error::Notify {
                            retryable: false,
                            source: format!("no {other} sink configured").into(),
                        })
                    })
                    .collect(),
                calls: 0,
            },
        }
    }

    async fn publish(&self, notice: &Notice) -> Result<String, Error> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&notice.subject)
            // One message, a variant per protocol: email gets text, everything else the JSON.
            .message_structure("json")
            .message(
                serde_json::json!({ "default": notice.body.to_string(), "email": notice.email })
                    .to_string(),
            );
        for (name, value) in &notice.attributes {
            request =
                request.message_attributes(name, attribute(&AttributeValue::One(value.clone()))?);
        }
        if self.is_fifo() {
            let group = notice.body["jobArn"].as_str().unwrap_or("bedrock-jobwatch");
            request = request
                .message_group_id(group)
                .message_deduplication_id(deduplication_id(&notice.dedup_key));
        }
        let out = request.send().await.map_err(|e| Error::Notify {
            retryable: sdk_retryable(&e),
            source: sdk_source(e),
        })?;
        Ok(out.message_id.unwrap_or_default())
    }

    fn has_people_audience(&self) -> bool {
        self.people_topic_arn.is_some()
    }

    async fn publish_people(&self, message: &PeopleMessage) -> Result<String, Error> {
        let Some(topic) = &self.people_topic_arn else {
            return Err(Error::Notify {
                retryable: false,
                source: "no people topic configured".into(),
            });
        };
        // Plain text: the people topic is for email (and chat) subscribers only.
        let mut request = self
            .client
            .publish()
            .topic_arn(topic)
            .subject(&message.subject)
            .message(&message.text);
        for (name, value) in &message.attributes {
            request = request.message_attributes(name, attribute(value)?);
        }
        if topic.ends_with(".fifo") {
            request = request
                .message_group_id("bedrock-jobwatch")
                .message_deduplication_id(deduplication_id(&message.dedup_key));
        }
        let out = request.send().await.map_err(|e| Error::Notify {
            retryable: sdk_retryable(&e),
            source: sdk_source(e),
        })?;
        Ok(out.message_id.unwrap_or_default())
    }
}
