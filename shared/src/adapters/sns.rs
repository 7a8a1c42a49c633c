//! `Notifier` on SNS topics (standard or FIFO): the machine topic gets one JSON document per
//! job; the optional people topic gets plain-text emails and digests.

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use super::sdk::{sdk_retryable, sdk_source};
use crate::domain::{AttributeValue, Notice, PeopleMessage};
use crate::error::Error;
use crate::ports::Notifier;

#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
    people_topic_arn: Option<String>,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
            people_topic_arn: None,
        }
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

impl Notifier for SnsNotifier {
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
