//! The people sink: a topic for email (and chat) subscribers, plain text, one message per job
//! or a digest per run. Told last, at the end of a run, by the poller (`poller::people`).

use aws_sdk_sns::Client;

use super::sdk::{sdk_retryable, sdk_source};
use super::sns_publish::{attribute, deduplication_id, is_fifo};
use crate::error::Error;
use crate::notices::PeopleMessage;

#[derive(Debug, Clone)]
pub struct PeopleTopic {
    client: Client,
    arn: String,
}

impl PeopleTopic {
    pub fn new(client: Client, arn: impl Into<String>) -> Self {
        Self {
            client,
            arn: arn.into(),
        }
    }

    /// Publishes `message`; returns the message id.
    pub async fn publish(&self, message: &PeopleMessage) -> Result<String, Error> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.arn)
            .subject(&message.subject)
            .message(&message.text);
        for (name, value) in &message.attributes {
            request = request.message_attributes(name, attribute(value)?);
        }
        if is_fifo(&self.arn) {
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
