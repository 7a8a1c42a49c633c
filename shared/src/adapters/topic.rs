//! The machine topic sink: one SNS message per notice, a variant per protocol (email
//! subscribers get the text, every other protocol the v1 JSON document), with the notice's
//! message attributes. Standard or FIFO.

use aws_sdk_sns::Client;
use futures::future::BoxFuture;
use futures::FutureExt;

use super::sns_publish::{
    fifo_ids, is_fifo, notice_attributes, publish_all, publish_one, Message, Publishing,
};
use crate::domain::Sink;
use crate::error::Error;
use crate::notices::Notice;
use crate::ports::{Batching, Channel, Delivery};

#[derive(Debug, Clone)]
pub struct Topic {
    client: Client,
    arn: String,
}

impl Topic {
    pub fn new(client: Client, arn: impl Into<String>) -> Self {
        Self {
            client,
            arn: arn.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The topic's message for `notice`.
    fn message(&self, notice: &Notice) -> Result<Message, Error> {
        let body = serde_json::json!({ "default": notice.body.to_string(), "email": notice.email });
        Ok(Message {
            body: body.to_string(),
            subject: Some(notice.subject.clone()),
            structure: Some("json"),
            attributes: notice_attributes(notice)?,
            fifo: is_fifo(&self.arn).then(|| fifo_ids(notice)),
        })
    }

    /// One `Publish` call (the poller's single-notice path, `jobwatch-cli renotify`).
    pub async fn publish(&self, notice: &Notice) -> Result<String, Error> {
        publish_one(&self.client, &self.arn, &self.message(notice)).await
    }
}

impl Channel for Topic {
    fn sink(&self) -> Sink {
        Sink::Topic
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
