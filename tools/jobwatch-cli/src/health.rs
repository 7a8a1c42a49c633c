//! `status`'s health part: each account's and region's last poll, its failures in a row and
//! its last error, from the schedule items (one per watched account, one per family's fleet),
//! and the accounts selected but not watched (suspended, closing, not in the organisation).
//! A scope whose role is refused reads as failing here, whatever its last good run says.

use chrono::{DateTime, Utc};
use futures::{stream, StreamExt};
use jobwatch::domain::JobKind;
use jobwatch::org::{account_shard, Unwatched};
use jobwatch::ports::ScheduleStore;
use jobwatch::schedule::Clock;
use serde::Serialize;

use crate::error::CliError;
use crate::ops::Ops;
use crate::text::{age, or_dash, table, time};

/// Schedule items read at once.
const READS_IN_FLIGHT: usize = 16;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Every scope with a clock: the shard (`account#{id}` or `fleet#{family}`), the scope
    /// (`{family}#{account}#{region}`, or `access#{account}` for the account's role).
    pub scopes: Vec<ScopeHealth>,
    pub unwatched: Vec<Unwatched>,
    pub refreshed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeHealth {
    pub shard: String,
    pub scope: String,
    pub polled_at: Option<DateTime<Utc>>,
    pub ok_at: Option<DateTime<Utc>>,
    /// Polls in a row that failed (0: healthy).
    pub failures: u32,
    pub error: Option<String>,
}

pub async fn read(ops: &Ops) -> Result<Health, CliError> {
    let registry = jobwatch::fanout::members(&ops.config, &ops.store)
        .await
        .unwrap_or_default();
    let shards: Vec<String> = JobKind::ALL
        .iter()
        .map(|k| format!("fleet#{k}"))
        .chain(registry.watched.iter().map(|m| account_shard(&m.id)))
        .collect();
    let reads: Vec<_> = shards.iter().map(|s| ops.store.shard(s)).collect();
    let states = stream::iter(reads)
        .buffered(READS_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    let mut scopes = Vec::new();
    for (shard, state) in shards.iter().zip(states) {
        for (scope, clock) in state?.clocks {
            scopes.push(ScopeHealth::of(shard, scope, clock));
        }
    }
    // Failing first, the longest failing first.
    scopes.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.scope.cmp(&b.scope)));
    Ok(Health {
        scopes,
        unwatched: registry.unwatched,
        refreshed_at: registry.refreshed_at,
    })
}

impl ScopeHealth {
    fn of(shard: &str, scope: String, clock: Clock) -> Self {
        Self {
            shard: shard.to_owned(),
            scope,
            polled_at: clock.polled_at,
            ok_at: clock.ok_at,
            failures: clock.failures,
            error: clock.error,
        }
    }
}

/// The failing scopes (each with its last error), how many are healthy, and the accounts not
/// watched with why.
pub fn render(health: &Health, now: DateTime<Utc>) -> Option<String> {
    if health.scopes.is_empty() && health.unwatched.is_empty() {
        return None;
    }
    let failing: Vec<Vec<String>> = health
        .scopes
        .iter()
        .filter(|s| s.failures > 0)
        .map(|s| {
            let polled = s
                .polled_at
                .map(|t| format!("{} ({} ago)", time(t), age((now - t).num_seconds())));
            vec![
                s.scope.clone(),
                or_dash(polled),
                format!("FAILING x{}", s.failures),
                or_dash(s.error.clone()),
            ]
        })
        .collect();
    let healthy = health.scopes.len() - failing.len();
    let mut out = format!(
        "\n\nHealth: {healthy} scopes ok, {} failing\n",
        failing.len()
    );
    if !failing.is_empty() {
        out.push_str(&table(
            &["SCOPE", "LAST POLLED", "RESULT", "LAST ERROR"],
            &failing,
        ));
    }
    if !health.unwatched.is_empty() {
        let rows: Vec<Vec<String>> = health
            .unwatched
            .iter()
            .map(|u| {
                vec![
                    u.id.clone(),
                    or_dash(Some(u.name.clone()).filter(|n| !n.is_empty())),
                    u.reason.clone(),
                ]
            })
            .collect();
        out.push_str("\n\nSelected accounts not watched\n");
        out.push_str(&table(&["ACCOUNT", "NAME", "WHY"], &rows));
    }
    Some(out)
}
