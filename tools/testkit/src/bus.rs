//! An EventBridge bus on moto whose rule sends bedrock-jobwatch's events to an SQS queue, so a
//! test can read back what the bus sink put (moto delivers matching `PutEvents` entries to an
//! SQS target).

use aws_sdk_eventbridge::types::Target;
use serde_json::{json, Value};

use crate::{unique, Stack};

/// A bus and the queue its rule feeds.
pub struct BusQueue {
    pub events: aws_sdk_eventbridge::Client,
    pub bus: String,
    pub queue_url: String,
}

impl Stack {
    /// An EventBridge client on this stack's moto.
    pub fn events(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&crate::sdk_config(&self.moto.endpoint))
    }

    /// A bus name no test has created yet (a bus moto refuses events for, until created).
    pub fn bus_name(&self) -> String {
        unique("jobs-bus")
    }

    /// Creates `bus` with a rule that sends every bedrock-jobwatch event to a new queue.
    pub async fn bus_to_queue(&self, bus: &str) -> BusQueue {
        let events = self.events();
        events
            .create_event_bus()
            .name(bus)
            .send()
            .await
            .expect("create event bus");
        let (queue_url, queue_arn) = crate::stack::new_queue(&self.sqs, "events").await;
        let rule = unique("jobwatch-events");
        events
            .put_rule()
            .name(&rule)
            .event_bus_name(bus)
            .event_pattern(json!({"source": ["bedrock-jobwatch"]}).to_string())
            .send()
            .await
            .expect("put rule");
        let target = Target::builder()
            .id("queue")
            .arn(queue_arn)
            .build()
            .expect("target");
        events
            .put_targets()
            .rule(&rule)
            .event_bus_name(bus)
            .targets(target)
            .send()
            .await
            .expect("put targets");
        BusQueue {
            events,
            bus: bus.to_owned(),
            queue_url,
        }
    }

    /// Every message body a queue received so far (drained until it stays empty), as JSON.
    pub async fn bodies(&self, queue_url: &str) -> Vec<Value> {
        self.envelopes(queue_url).await
    }
}
