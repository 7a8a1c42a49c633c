//! `Notifier` that records what it would publish, with scripted failures and "crashes".

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::domain::Sink;

use crate::error::Error;
use crate::notices::{Notice, PeopleMessage};
use crate::ports::{Batching, Delivery, Notifier};

/// Records every published notice. `fail_next(n)` makes the next `n` publishes fail (as SNS
/// throttling would); `hang_next(n)` makes them never return, like a run that crashes while
/// publishing (the test drops the run). [`RecordingNotifier::with_people`] adds a people
/// audience (a second topic) whose messages are recorded apart, with its own failures.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    published: Mutex<Vec<Notice>>,
    people: Option<Mutex<Vec<PeopleMessage>>>,
    fail: AtomicUsize,
    fail_people: AtomicUsize,
    hang: AtomicUsize,
    /// Sinks besides the topic ([`RecordingNotifier::with_sinks`]): what each received, and
    /// how many of its next notices fail.
    others: BTreeMap<Sink, (Mutex<Vec<Notice>>, AtomicUsize)>,
    /// How the poller groups notices for it (default: one at a time).
    batching: Option<Batching>,
}

/// Takes one from a counter if it is above zero.
fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl RecordingNotifier {
    /// A notifier with a people audience.
    pub fn with_people() -> Self {
        Self {
            people: Some(Mutex::default()),
            ..Self::default()
        }
    }

    /// A notifier that also delivers to `sinks` (chat topic, bus), recorded apart.
    pub fn with_sinks(mut self, sinks: &[Sink]) -> Self {
        for sink in sinks.iter().filter(|s| **s != Sink::Topic) {
            self.others.insert(*sink, Default::default());
        }
        self
    }

    /// Notices come in groups of `batching.size`, `batching.concurrency` groups at a time.
    pub fn with_batching(mut self, batching: Batching) -> Self {
        self.batching = Some(batching);
        self
    }

    /// Makes the next `n` notices delivered to `sink` fail (the topic: `fail_next`).
    pub fn fail_sink_next(&self, sink: Sink, n: usize) {
        if let Some((_, fail)) = self.others.get(&sink) {
            fail.store(n, Ordering::SeqCst);
        }
    }

    /// Every notice `sink` received, in order (the topic: `published`).
    pub fn delivered_to(&self, sink: Sink) -> Vec<Notice> {
        match (sink, self.others.get(&sink)) {
            (Sink::Topic, _) => self.published(),
            (_, Some((got, _))) => got.lock().map(|g| g.clone()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Makes the next `n` people messages fail.
    pub fn fail_people_next(&self, n: usize) {
        self.fail_people.store(n, Ordering::SeqCst);
    }

    /// Every message the people audience received, in order.
    pub fn people(&self) -> Vec<PeopleMessage> {
        self.people
            .as_ref()
            .and_then(|p| p.lock().ok().map(|p| p.clone()))
            .unwrap_or_default()
    }

    pub fn fail_next(&self, n: usize) {
        self.fail.store(n, Ordering::SeqCst);
    }

    pub fn hang_next(&self, n: usize) {
        self.hang.store(n, Ordering::SeqCst);
    }

    pub fn published(&self) -> Vec<Notice> {
        self.published.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// `(job ARN, status)` of every published notice, in order; an alert shows as
    /// `alert:{kind}` in place of the status.
    pub fn sent(&self) -> Vec<(String, String)> {
        self.published()
            .iter()
            .map(|n| {
                let field = |k: &str| n.body[k].as_str().unwrap_or_default().to_owned();
                match n.body["type"].as_str() {
                    Some("alert") => (field("jobArn"), format!("alert:{}", field("alert"))),
                    _ => (field("jobArn"), field("status")),
                }
            })
            .collect()
    }
}

impl Notifier for RecordingNotifier {
    fn batching(&self) -> Batching {
        self.batching.unwrap_or(Batching::ONE_BY_ONE)
    }

    fn sinks(&self) -> Vec<Sink> {
        std::iter::once(Sink::Topic)
            .chain(self.others.keys().copied())
            .collect()
    }

    /// The topic goes through `publish` (one call each, with its scripted failures); other
    /// sinks take the whole batch in one call.
    async fn deliver(&self, sink: Sink, notices: &[Notice]) -> Delivery {
        let Some((got, fail)) = self.others.get(&sink) else {
            let mut delivery = Delivery::default();
            for notice in notices {
                delivery.calls += 1;
                delivery.results.push(self.publish(notice).await);
            }
            return delivery;
        };
        let results = notices
            .iter()
            .map(|notice| {
                if take(fail) {
                    return Err(Error::Notify {
                        retryable: true,
                        source: format!("injected {sink} failure").into(),
                    });
                }
                let mut got = got.lock().unwrap_or_else(|p| p.into_inner());
                got.push(notice.clone());
                Ok(format!("{sink}-{}", got.len()))
            })
            .collect();
        Delivery { results, calls: 1 }
    }

    async fn publish(&self, notice: &Notice) -> Result<String, Error> {
        if take(&self.hang) {
            std::future::pending::<()>().await;
        }
        if take(&self.fail) {
            return Err(Error::Notify {
                retryable: true,
                source: "injected publish failure".into(),
            });
        }
        let mut published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        published.push(notice.clone());
        Ok(format!("message-{}", published.len()))
    }

    fn has_people_audience(&self) -> bool {
        self.people.is_some()
    }

    async fn publish_people(&self, message: &PeopleMessage) -> Result<String, Error> {
        let Some(people) = &self.people else {
            return Err(Error::Notify {
                retryable: false,
                source: "no people audience".into(),
            });
        };
        if take(&self.fail_people) {
            return Err(Error::Notify {
                retryable: true,
                source: "injected people publish failure".into(),
            });
        }
        let mut people = people.lock().unwrap_or_else(|p| p.into_inner());
        people.push(message.clone());
        Ok(format!("people-{}", people.len()))
    }
}
