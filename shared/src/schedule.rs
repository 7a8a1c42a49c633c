//! Which scopes to poll this period, and in which order: pure functions over each scope's
//! clock (when it was last polled, how many polls in a row failed). No I/O: the fleet reads
//! the clocks from its schedule item, asks [`order`] what to start, and records [`Clock::after`].
//!
//! Fairness: scopes are started oldest-polled first (never polled before everything), and a
//! scope the budget did not reach records nothing, so it stays at the front for the next
//! period. A failing scope is attempted less often ([`skip_periods`]), and an attempt counts as
//! a poll, so it never holds the others back.
//!
//! The bound ([`periods_bound`]): with `n` scopes and at least `c` scopes started per period,
//! a healthy scope is polled at least once every `ceil(n / c)` periods, a failing one at least
//! once every `ceil(n / c) + MAX_SKIP` periods. Why: a scope `s` polled at `t` has ahead of it
//! only scopes polled at or before `t` (at most `n - 1`); each period moves at least `c` of them
//! behind `s` (they are polled, at a time after `t`) and none joins them. Scopes in backoff are
//! not started, so they do not use the `c`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Most periods a failing scope waits between attempts (backoff doubles up to this).
pub const MAX_SKIP: u32 = 3;

/// Longest error kept per scope (the schedule item holds every scope of a shard).
pub const MAX_ERROR_CHARS: usize = 300;

/// One scope's clock, as the schedule item keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// The last period the scope was started in (success or failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polled_at: Option<DateTime<Utc>>,
    /// The last poll whose listing worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok_at: Option<DateTime<Utc>>,
    /// Polls in a row that failed (0: healthy).
    #[serde(default)]
    pub failures: u32,
    /// The last failure's message (kept while failing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a started scope came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed(String),
}

impl Clock {
    /// Whether the scope is failing for at least `k` periods in a row (the alarm's test).
    pub fn failing_for(&self, k: u32) -> bool {
        k > 0 && self.failures >= k
    }

    /// The clock after a poll started at `now` came to `outcome`.
    pub fn after(&self, now: DateTime<Utc>, outcome: &Outcome) -> Clock {
        match outcome {
            Outcome::Ok => Clock {
                polled_at: Some(now),
                ok_at: Some(now),
                failures: 0,
                error: None,
            },
            Outcome::Failed(error) => Clock {
                polled_at: Some(now),
                ok_at: self.ok_at,
                failures: self.failures.saturating_add(1),
                error: Some(error.chars().take(MAX_ERROR_CHARS).collect()),
            },
        }
    }

    /// Whether the scope may be started at `now`, given the period: once per period (an
    /// overlapping run does not poll it again), and a failing one once its backoff periods have
    /// passed. Half a period of slack absorbs jitter in the schedule.
    pub fn due(&self, now: DateTime<Utc>, period: Duration) -> bool {
        let Some(polled) = self.polled_at else {
            return true;
        };
        let wait = period * (skip_periods(self.failures) as i32 + 1);
        now >= polled + wait - period / 2
    }
}

/// Periods a scope skips after `failures` failed polls in a row: 0, 0, 1, 3, 3, ...
/// (doubling, capped at [`MAX_SKIP`]): a scope whose role is missing costs one AssumeRole
/// every four periods instead of every period, and is still tried often enough to notice the
/// fix within `MAX_SKIP + 1` periods.
pub fn skip_periods(failures: u32) -> u32 {
    match failures {
        0 | 1 => 0,
        f => (1u32 << (f - 1).min(8)).saturating_sub(1).min(MAX_SKIP),
    }
}

/// The scopes to start at `now`, in order: every due scope, never-polled first, then oldest
/// polled first; ties by name (stable from period to period). Scopes in backoff are left out.
pub fn order<'a>(
    clocks: impl IntoIterator<Item = (&'a str, &'a Clock)>,
    now: DateTime<Utc>,
    period: Duration,
) -> Vec<&'a str> {
    let mut due: Vec<(&str, Option<DateTime<Utc>>)> = clocks
        .into_iter()
        .filter(|(_, clock)| clock.due(now, period))
        .map(|(name, clock)| (name, clock.polled_at))
        .collect();
    // `None < Some(_)`: never polled sorts first.
    due.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
    due.into_iter().map(|(name, _)| name).collect()
}

/// The bound on periods between two polls of one scope, for `n` scopes of which at least
/// `per_period` are started each period (module docs); `None` when nothing is ever started.
pub fn periods_bound(n: usize, per_period: usize, failing: bool) -> Option<u32> {
    if per_period == 0 {
        return None;
    }
    let healthy = n.div_ceil(per_period).max(1) as u32;
    Some(healthy + if failing { MAX_SKIP } else { 0 })
}

/// Every scope's clock in a shard (a fleet of one family, or one account's work item), by
/// scope name.
pub type Clocks = BTreeMap<String, Clock>;

/// `clocks` with the outcomes of the scopes started at `now` applied; scopes not started keep
/// their clock (so they stay first for the next period).
pub fn advance(clocks: &Clocks, now: DateTime<Utc>, outcomes: &[(String, Outcome)]) -> Clocks {
    let mut next = clocks.clone();
    for (scope, outcome) in outcomes {
        let clock = next
            .get(scope)
            .cloned()
            .unwrap_or_default()
            .after(now, outcome);
        next.insert(scope.clone(), clock);
    }
    next
}

/// Two copies of a shard's clocks merged (an overlapping run wrote first): per scope, the one
/// polled later wins.
pub fn merge(mut ours: Clocks, theirs: &Clocks) -> Clocks {
    for (scope, clock) in theirs {
        let newer = ours
            .get(scope)
            .is_none_or(|c| c.polled_at < clock.polled_at);
        if newer {
            ours.insert(scope.clone(), clock.clone());
        }
    }
    ours
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::minutes(minute)
    }

    const PERIOD: Duration = Duration::minutes(5);

    fn clock(polled: Option<i64>, failures: u32) -> Clock {
        Clock {
            polled_at: polled.map(at),
            failures,
            ..Default::default()
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let table = [(0, 0), (1, 0), (2, 1), (3, 3), (4, 3), (40, 3)];
        for (failures, skip) in table {
            assert_eq!(skip_periods(failures), skip, "{failures} failures");
        }
    }

    #[test]
    fn given_clocks_when_ordered_then_never_polled_then_oldest_first_and_backoff_left_out() {
        // (name, polled minute, failures) at minute 60, period 5.
        let table: &[(&str, Option<i64>, u32)] = &[
            ("b-recent", Some(55), 0),
            ("a-old", Some(10), 0),
            ("c-never", None, 0),
            ("d-failing-twice-just-now", Some(55), 2), // skips the period at 60: due at 65
            ("g-polled-this-period", Some(59), 0),
            ("e-failing-twice-long-ago", Some(50), 2),
            ("f-failing-once", Some(55), 1),
        ];
        let clocks: Clocks = table
            .iter()
            .map(|(n, p, f)| (n.to_string(), clock(*p, *f)))
            .collect();
        let order = order(clocks.iter().map(|(k, v)| (k.as_str(), v)), at(60), PERIOD);
        assert_eq!(
            order,
            [
                "c-never",
                "a-old",
                "e-failing-twice-long-ago",
                "b-recent",
                "f-failing-once"
            ]
        );
    }

    #[test]
    fn given_an_outcome_when_applied_then_failures_count_and_success_resets() {
        let start = clock(Some(0), 0);
        let failed = start.after(at(5), &Outcome::Failed("AccessDenied".into()));
        assert_eq!((failed.failures, failed.polled_at), (1, Some(at(5))));
        assert_eq!(failed.error.as_deref(), Some("AccessDenied"));
        let again = failed.after(at(10), &Outcome::Failed("x".repeat(1000)));
        assert_eq!(again.failures, 2);
        assert_eq!(again.error.unwrap().len(), MAX_ERROR_CHARS);
        let ok = failed.after(at(15), &Outcome::Ok);
        assert_eq!((ok.failures, &ok.error, ok.ok_at), (0, &None, Some(at(15))));
        assert!(!ok.failing_for(3));
        assert!(clock(Some(0), 3).failing_for(3));
        assert!(!clock(Some(0), 2).failing_for(3));
    }

    #[test]
    fn given_two_copies_when_merged_then_the_later_poll_of_each_scope_wins() {
        let ours: Clocks = [
            ("a".into(), clock(Some(10), 0)),
            ("b".into(), clock(Some(0), 1)),
        ]
        .into_iter()
        .collect();
        let theirs: Clocks = [
            ("a".into(), clock(Some(5), 0)),
            ("b".into(), clock(Some(20), 0)),
        ]
        .into_iter()
        .collect();
        let merged = merge(ours, &theirs);
        assert_eq!(merged["a"].polled_at, Some(at(10)));
        assert_eq!(merged["b"].polled_at, Some(at(20)));
    }

    /// Many scopes, a budget for a fraction of them per period, some failing: every scope is
    /// polled within the stated bound, whatever the starting order.
    #[test]
    fn given_a_budget_for_a_seventh_of_the_scopes_when_periods_pass_then_every_scope_is_polled_within_the_bound(
    ) {
        let (n, per_period) = (1_000, 143);
        let failing = |i: usize| i.is_multiple_of(37);
        let mut clocks: Clocks = (0..n)
            .map(|i| (format!("s{i:04}"), Clock::default()))
            .collect();
        let mut polls: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for period in 0..60u32 {
            let now = at(5 * period as i64);
            let started: Vec<String> =
                order(clocks.iter().map(|(k, v)| (k.as_str(), v)), now, PERIOD)
                    .into_iter()
                    .take(per_period)
                    .map(str::to_owned)
                    .collect();
            let outcomes: Vec<(String, Outcome)> = started
                .into_iter()
                .map(|s| {
                    let i: usize = s[1..].parse().unwrap();
                    let outcome = match failing(i) {
                        true => Outcome::Failed("AccessDenied".into()),
                        false => Outcome::Ok,
                    };
                    polls.entry(s.clone()).or_default().push(period);
                    (s, outcome)
                })
                .collect();
            clocks = advance(&clocks, now, &outcomes);
        }
        for i in 0..n {
            let name = format!("s{i:04}");
            let bound = periods_bound(n, per_period, failing(i)).unwrap();
            let seen = &polls[&name];
            let mut previous = None::<u32>;
            for &p in seen {
                let gap = previous.map_or(p + 1, |q| p - q);
                assert!(gap <= bound, "{name}: polled at {seen:?}, bound {bound}");
                previous = Some(p);
            }
            assert!(
                60 - previous.unwrap() <= bound,
                "{name}: last at {previous:?}"
            );
        }
        assert_eq!(periods_bound(n, per_period, false), Some(7));
    }
}
