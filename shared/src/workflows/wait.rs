//! A workflow's wait on one job: one item in the jobs table, keyed by the job and a hash of the
//! task token (so a redelivered register message writes the same item), in the
//! `family-watch-index` under a partition no family uses (`kind` = [`WAIT_KIND`], `watch` =
//! `{family}#{job ARN}`): a poller reads its family's waits with one Query, and the pollers'
//! own queries (`kind` = a family) never see them.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::request::WaitRequest;
use crate::domain::{JobArn, JobKind, Lease, Phase, RunId};

/// The index partition of wait items.
pub const WAIT_KIND: &str = "workflow-wait";

/// How long a wait is kept at most: a standard workflow runs for a year at most.
pub fn max_wait() -> Duration {
    Duration::days(366)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wait {
    /// `WAIT#{job ARN}#{sha256(token), hex}`.
    pub pk: String,
    /// [`WAIT_KIND`]: the index partition.
    pub kind: String,
    /// `{family}#{job ARN}`: the index sort key.
    pub watch: String,
    pub job_arn: JobArn,
    pub family: JobKind,
    pub task_token: String,
    pub succeed_on: BTreeSet<Phase>,
    pub registered_at: DateTime<Utc>,
    /// DynamoDB TTL (epoch seconds): a wait nobody resumed is gone after [`max_wait`].
    #[serde(with = "chrono::serde::ts_seconds")]
    pub expires_at: DateTime<Utc>,
    /// The run resuming it, until `lease_until` (then any run may).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<RunId>,
    #[serde(
        default,
        with = "chrono::serde::ts_seconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub lease_until: Option<DateTime<Utc>>,
}

impl Wait {
    pub fn new(request: &WaitRequest, now: DateTime<Utc>) -> Self {
        Self {
            pk: format!(
                "WAIT#{}#{}",
                request.job_arn,
                token_hash(&request.task_token)
            ),
            kind: WAIT_KIND.to_owned(),
            watch: watch_key(request.family, &request.job_arn),
            job_arn: request.job_arn.clone(),
            family: request.family,
            task_token: request.task_token.clone(),
            succeed_on: request.succeed_on.clone(),
            registered_at: now,
            expires_at: now + max_wait(),
            lease_owner: None,
            lease_until: None,
        }
    }

    /// Whether a run may take the wait at `now` (no live lease of another run).
    pub fn claimable(&self, now: DateTime<Utc>) -> bool {
        self.lease_until.is_none_or(|until| until <= now)
    }

    pub fn lease(&self) -> Option<Lease> {
        Some(Lease {
            owner: self.lease_owner.clone()?,
            until: self.lease_until?,
        })
    }
}

/// The index sort key of the waits on `arn`.
pub fn watch_key(family: JobKind, arn: &JobArn) -> String {
    format!("{family}#{arn}")
}

/// The index sort-key prefix of a family's waits.
pub fn family_prefix(family: JobKind) -> String {
    format!("{family}#")
}

/// Tokens are up to 2048 characters and secret-ish: the key holds a digest, never the token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_job_and_token_make_one_key_and_two_tokens_two() {
        let request = |token: &str| WaitRequest {
            job_arn: JobArn::new("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/a"),
            family: JobKind::BatchInference,
            task_token: token.into(),
            succeed_on: BTreeSet::from([Phase::Succeeded]),
        };
        let now = Utc::now();
        let (a, again, b) = (
            Wait::new(&request("a"), now),
            Wait::new(&request("a"), now + Duration::hours(1)),
            Wait::new(&request("b"), now),
        );
        assert_eq!(a.pk, again.pk);
        assert_ne!(a.pk, b.pk);
        assert_eq!(a.pk.rsplit('#').next().map(str::len), Some(64));
        assert_eq!(a.watch, b.watch);
        assert!(a.watch.starts_with(&family_prefix(JobKind::BatchInference)));
    }
}
