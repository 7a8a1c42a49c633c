//! The chat sink: a topic that Amazon Q Developer in chat applications watches, one custom
//! notification per notice (threaded by job), with the notice's message attributes so that a
//! subscription filter can pick, say, failures only.

use aws_sdk_sns::Client;
use futures::future::BoxFuture;
use futures::FutureExt;

use super::sns_publish::{fifo_ids, is_fifo, notice_attributes, publish_all, Message, Publishing};
use crate::domain::Sink;
use crate::error::Error;
use crate::notices::{chat_message, Notice};
use crate::ports::{Batching, Channel, Delivery};

#[derive(Debug, Clone)]
pub struct ChatTopic {
    client: Client,
    arn: String,
}

impl ChatTopic {
    pub fn new(client: Client, arn: impl Into<String>) -> Self {
        Self {
            client,
            arn: arn.into(),
        }
    }

    fn message(&self, notice: &Notice) -> Result<Message, Error> {
        Ok(Message {
            body: chat_message(notice).to_string(),
            subject: None,
            structure: None,
            attributes: notice_attributes(notice)?,
            fifo: is_fifo(&self.arn).then(|| fifo_ids(notice)),
        })
    }
}

impl Channel for ChatTopic {
    fn sink(&self) -> Sink {
        Sink::Chat
    }

    fn deliver<'a>(&'a self, notices: &'a [Notice], batching: Batching) -> BoxFuture<'a, Delivery> {
        let messages = notices.iter().map(|n| self.message(n)).collect();
        publish_all(
            &self.client,
            &self.arn,
            messages,
            Publishing::from(batching),
        )
        .boxed()
    }
}
