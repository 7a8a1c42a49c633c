//! One notice to every sink the functions deliver to: the topic, and the chat topic and the
//! event bus when configured, then people when they have a topic of their own (a re-send or a
//! test reaches everyone a real notice reaches).

use std::collections::BTreeSet;

use jobwatch::domain::Sink;

use jobwatch::notices::{Notice, PeopleMessage};
use jobwatch::ports::Notifier;
use jobwatch::Error;

/// What one delivery came to, sink by sink.
#[derive(Debug, Default)]
pub struct Delivery {
    pub delivered: BTreeSet<Sink>,
    /// Each sink that took it, with its message or event id.
    pub ids: Vec<(Sink, String)>,
    pub failed: Vec<(Sink, Error)>,
}

impl Delivery {
    /// `topic (id), chat (id)` for the operator.
    pub fn describe(&self) -> String {
        let ids = self.ids.iter().map(|(sink, id)| format!("{sink} ({id})"));
        ids.collect::<Vec<_>>().join(", ")
    }
}

/// Delivers `notice` to every machine sink, then (all of them having it) to people.
pub async fn deliver(notifier: &impl Notifier, notice: &Notice) -> Delivery {
    let mut out = Delivery::default();
    for sink in notifier.sinks() {
        let delivery = notifier.deliver(sink, std::slice::from_ref(notice)).await;
        let result = delivery.results.into_iter().next().unwrap_or_else(|| {
            Err(Error::Notify {
                retryable: true,
                source: format!("the {sink} sink returned no result").into(),
            })
        });
        record(&mut out, sink, result);
    }
    if out.failed.is_empty() && notifier.has_people_audience() {
        let result = notifier
            .publish_people(&PeopleMessage::single(notice))
            .await;
        record(&mut out, Sink::People, result);
    }
    out
}

fn record(out: &mut Delivery, sink: Sink, result: Result<String, Error>) {
    match result {
        Ok(id) => {
            out.delivered.insert(sink);
            out.ids.push((sink, id));
        }
        Err(e) => out.failed.push((sink, e)),
    }
}
