//! The [`Notifier`] of the Lambda functions: a fan-out over small sink adapters, each its own
//! [`Channel`] (the machine [`Topic`], the [`ChatTopic`], the [`EventBus`], any other), plus the
//! optional [`PeopleTopic`]. The poller delivers to each sink on its own and records each, so a
//! sink that is down delays only itself. Adding a sink: its adapter file implementing
//! `Channel`, a `Sink` variant, a settings field in `config::SinkSettings`, one line in
//! [`Sinks::from_settings`], the template and its tests.

use std::sync::Arc;

use aws_config::SdkConfig;

use super::chat_topic::ChatTopic;
use super::eventbridge::EventBus;
use super::people_topic::PeopleTopic;
use super::sns_publish::{Publishing, MAX_BATCH_ENTRIES};
use super::topic::Topic;
use crate::config::SinkSettings;
use crate::domain::Sink;
use crate::error::Error;
use crate::notices::{Notice, PeopleMessage};
use crate::ports::{Batching, Channel, Delivery, Notifier};

#[derive(Clone)]
pub struct Sinks {
    topic: Topic,
    /// Every sink besides the topic, in the order they are delivered to.
    others: Vec<Arc<dyn Channel>>,
    people: Option<PeopleTopic>,
    publishing: Publishing,
}

impl Sinks {
    /// The machine topic only (add the others with the `with_*` methods).
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            topic: Topic::new(client, topic_arn),
            others: Vec::new(),
            people: None,
            publishing: Publishing::default(),
        }
    }

    /// Every sink `settings` names, on `sdk`'s clients (the pollers', `jobwatch-cli renotify`).
    pub fn from_settings(sdk: &SdkConfig, settings: &SinkSettings) -> Self {
        let sns = aws_sdk_sns::Client::new(sdk);
        let mut sinks = Self::new(sns.clone(), &settings.topic_arn).with_publishing(Publishing {
            batched: true,
            concurrency: settings.publish_concurrency,
        });
        if let Some(people) = &settings.people_topic_arn {
            sinks = sinks.with_people_topic(people);
        }
        if let Some(chat) = &settings.chat_topic_arn {
            sinks = sinks.with(ChatTopic::new(sns.clone(), chat));
        }
        if let Some(bus) = &settings.event_bus {
            let client = aws_sdk_eventbridge::Client::new(sdk);
            sinks = sinks.with(EventBus::new(client, bus));
        }
        sinks
    }

    /// Adds a sink, delivered to after the ones already added.
    pub fn with(mut self, channel: impl Channel + 'static) -> Self {
        self.others.push(Arc::new(channel));
        self
    }

    /// Chat channels (Amazon Q Developer in chat applications) watch their own topic.
    pub fn with_chat_topic(self, topic_arn: impl Into<String>) -> Self {
        let client = self.topic_client();
        self.with(ChatTopic::new(client, topic_arn))
    }

    /// Automation gets an event per notice on an EventBridge bus.
    pub fn with_event_bus(self, bus: EventBus) -> Self {
        self.with(bus)
    }

    /// People (email readers) get their own topic: one text message per job, or a digest.
    pub fn with_people_topic(mut self, topic_arn: impl Into<String>) -> Self {
        self.people = Some(PeopleTopic::new(self.topic_client(), topic_arn));
        self
    }

    /// Batched or one message at a time, and how many calls in flight (`PUBLISH_CONCURRENCY`).
    pub fn with_publishing(mut self, publishing: Publishing) -> Self {
        self.publishing = publishing;
        self
    }

    fn topic_client(&self) -> aws_sdk_sns::Client {
        self.topic.client().clone()
    }

    fn channel(&self, sink: Sink) -> Option<&dyn Channel> {
        match sink {
            Sink::Topic => Some(&self.topic),
            other => self
                .others
                .iter()
                .find(|c| c.sink() == other)
                .map(|c| c.as_ref()),
        }
    }
}

impl Notifier for Sinks {
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
        let others = self.others.iter().map(|c| c.sink());
        std::iter::once(Sink::Topic).chain(others).collect()
    }

    async fn deliver(&self, sink: Sink, notices: &[Notice]) -> Delivery {
        match self.channel(sink) {
            Some(channel) => channel.deliver(notices, self.batching()).await,
            None => Delivery {
                results: notices
                    .iter()
                    .map(|_| {
                        Err(Error::Notify {
                            retryable: false,
                            source: format!("no {sink} sink configured").into(),
                        })
                    })
                    .collect(),
                calls: 0,
            },
        }
    }

    async fn publish(&self, notice: &Notice) -> Result<String, Error> {
        self.topic.publish(notice).await
    }

    fn has_people_audience(&self) -> bool {
        self.people.is_some()
    }

    async fn publish_people(&self, message: &PeopleMessage) -> Result<String, Error> {
        match &self.people {
            Some(people) => people.publish(message).await,
            None => Err(Error::Notify {
                retryable: false,
                source: "no people topic configured".into(),
            }),
        }
    }
}
