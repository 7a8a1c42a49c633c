//! Small identities of the core: the scope a run watches, the run itself, and a notice lease.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::JobKind;

/// What one poller run covers: a family in an account and a region. It keys the watch index
/// and the watermark, so two scopes never see each other's jobs. The function's own account
/// keeps the key it always had, `{kind}#{region}` (so the items of a single-account deployment
/// stay what they are: no migration); a member account reached through a role gets its own,
/// `{kind}#{account}#{region}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scope(String);

impl Scope {
    /// The function's own account in `region`.
    pub fn new(kind: JobKind, region: &str) -> Self {
        Self(format!("{kind}#{region}"))
    }

    /// A member account (`account`: its 12-digit id) in `region`.
    pub fn member(kind: JobKind, account: &str, region: &str) -> Self {
        Self(format!("{kind}#{account}#{region}"))
    }

    /// `account: None` is the function's own account.
    pub fn of(kind: JobKind, account: Option<&str>, region: &str) -> Self {
        match account {
            Some(account) => Self::member(kind, account, region),
            None => Self::new(kind, region),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The family's name (`kind` in the table), the key's first part.
    pub fn kind(&self) -> &str {
        self.0.split('#').next().unwrap_or_default()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One invocation (the Lambda request id): the owner of the leases it takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for RunId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for RunId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&String> for RunId {
    fn from(id: &String) -> Self {
        Self::new(id.as_str())
    }
}

/// The right of one run to publish a pending notice, until a moment; after it any run may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: RunId,
    pub until: DateTime<Utc>,
}

impl Lease {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.until > now
    }
}
