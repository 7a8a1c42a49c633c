//! The kinds of early-warning alert: what an item's pending notice may be besides a status
//! (`Due::Alert`), so the stored record names them without depending on the alert rules.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kinds of alert, in the order they are considered (the most urgent first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    /// Unfinished and close to (or past) its `jobExpirationTime`.
    Expiring,
    /// In a waiting status (`Submitted`, `Scheduled`, `STARTING`, ...) for too long.
    Stuck,
    /// Running, but its processed-record count has not moved for too long (families without
    /// progress counters: running for too long).
    Stalled,
    /// Running far longer than jobs of the same family and model usually take.
    Overdue,
    /// A provisioned throughput in service with no invocations for too long
    /// ([`super::idle`]): judged from CloudWatch, not by the job rules, so not in [`Self::ALL`].
    Idle,
}

impl AlertKind {
    /// The kinds the job rules ([`super::due`]) consider, most urgent first.
    pub const ALL: [AlertKind; 4] = [Self::Expiring, Self::Stuck, Self::Stalled, Self::Overdue];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expiring => "expiring",
            Self::Stuck => "stuck",
            Self::Stalled => "stalled",
            Self::Overdue => "overdue",
            Self::Idle => "idle",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
