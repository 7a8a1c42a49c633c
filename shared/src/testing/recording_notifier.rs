//! `Notifier` that records what it would publish, with scripted failures and "crashes".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::domain::{Notice, PeopleMessage};
use crate::error::Error;
use crate::ports::Notifier;

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
