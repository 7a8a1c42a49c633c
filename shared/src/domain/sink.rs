//! Where notices go, and what an item remembers of a notice only partly delivered: each sink is
//! delivered at least once and deduplicated on its own, so a run that reached the topic but not
//! the bus retries only the bus.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{AlertKind, JobStatus};

/// One destination of a notice. `People` is told last, at the end of a run (maybe in a digest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sink {
    /// The notification topic: the v1 JSON document, with an email variant.
    Topic,
    /// The chat topic: an Amazon Q Developer in chat applications custom notification.
    Chat,
    /// The EventBridge bus: one `PutEvents` entry, the v1 document as its detail.
    Bus,
    /// The people topic: one text message per job, or a digest.
    People,
}

impl Sink {
    pub fn as_str(self) -> &'static str {
        match self {
            Sink::Topic => "topic",
            Sink::Chat => "chat",
            Sink::Bus => "bus",
            Sink::People => "people",
        }
    }
}

impl std::fmt::Display for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A notice an item holds until it is published: a status the job arrived in, or an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    Status(JobStatus),
    Alert(AlertKind),
}

/// The sinks that already have the pending notice `due` (a stored attribute). Only valid for
/// that notice: a newer one (a terminal status replacing an alert) starts from nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// [`due_key`] of the notice.
    pub due: String,
    pub sinks: BTreeSet<Sink>,
}

impl Delivered {
    /// The sinks that have `due` already (none when the record is about another notice).
    pub fn of(delivered: Option<&Delivered>, due: &Due) -> BTreeSet<Sink> {
        delivered
            .filter(|d| d.due == due_key(due))
            .map(|d| d.sinks.clone())
            .unwrap_or_default()
    }

    pub fn new(due: &Due, sinks: BTreeSet<Sink>) -> Self {
        Self {
            due: due_key(due),
            sinks,
        }
    }
}

/// `status:COMPLETED` or `alert:stuck`: names a pending notice.
pub fn due_key(due: &Due) -> String {
    match due {
        Due::Status(status) => format!("status:{status}"),
        Due::Alert(kind) => format!("alert:{kind}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertKind, JobStatus};

    #[test]
    fn delivered_sinks_count_only_for_the_same_notice() {
        // Given the topic and the bus have the `stuck` alert
        let stuck = Due::Alert(AlertKind::Stuck);
        let done = Due::Status(JobStatus::from("Completed"));
        let delivered = Delivered::new(&stuck, [Sink::Topic, Sink::Bus].into());
        // Then they have it, and not the job's completion that replaced it
        assert_eq!(
            Delivered::of(Some(&delivered), &stuck),
            [Sink::Topic, Sink::Bus].into()
        );
        assert!(Delivered::of(Some(&delivered), &done).is_empty());
        assert!(Delivered::of(None, &done).is_empty());
    }
}
