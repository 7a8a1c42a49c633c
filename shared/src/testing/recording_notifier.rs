//! `Notifier` that records what it would publish, with scripted failures and "crashes".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::domain::Notice;
use crate::error::Error;
use crate::ports::Notifier;

/// Records every published notice. `fail_next(n)` makes the next `n` publishes fail (as SNS
/// throttling would); `hang_next(n)` makes them never return, like a run that crashes while
/// publishing (the test drops the run).
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    published: Mutex<Vec<Notice>>,
    fail: AtomicUsize,
    hang: AtomicUsize,
}

/// Takes one from a counter if it is above zero.
fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl RecordingNotifier {
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
}
