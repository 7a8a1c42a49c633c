//! `Notifier` on an SNS topic (standard or FIFO).

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use super::sdk::{sdk_retryable, sdk_source};
use crate::domain::Notice;
use crate::error::Error;
use crate::ports::Notifier;

#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    fn is_fifo(&self) -> bool {
        self.topic_arn.ends_with(".fifo")
    }
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
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| Error::Notify {
                    retryable: false,
                    source: Box::new(e),
                })?;
            request = request.message_attributes(*name, attribute);
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
}
