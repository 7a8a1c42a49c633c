//! Accounts from AWS Organizations: which member accounts to watch (the whole organisation, or
//! some OUs with their child OUs, plus listed accounts, less exclusions), as a pure selection
//! over the organisation's tree; and the work items that fan those accounts out over workers.
//! The walk of the tree is the [`Directory`] port (`adapters::organizations`); the selection is
//! kept in the table ([`RegistryStore`]) by a scheduled refresh, never in an environment
//! variable.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, Error};
use crate::ports::BoxFuture;
use crate::schedule::Clocks;

/// An account as Organizations reports it, with the parents above it (the root first, then
/// each OU down to its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    pub status: AccountStatus,
    pub path: Vec<String>,
}

/// `Account.Status` (and the newer `State`): only active accounts are watched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    Active,
    Suspended,
    PendingClosure,
    Closed,
    /// A status this version does not know (not watched, reported).
    #[serde(untagged)]
    Other(String),
}

impl AccountStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "ACTIVE" => Self::Active,
            "SUSPENDED" => Self::Suspended,
            "PENDING_CLOSURE" => Self::PendingClosure,
            "CLOSED" => Self::Closed,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Which accounts to watch: `ORG_UNITS` (`all`, or root / OU ids), `ORG_ACCOUNTS`,
/// `ORG_EXCLUDE` (account or OU ids), `READER_ROLE_NAME`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgSelection {
    /// The whole organisation.
    pub all: bool,
    /// Roots (`r-`) and OUs (`ou-`): their accounts and their child OUs' accounts.
    pub units: Vec<String>,
    pub accounts: Vec<String>,
    /// Accounts or OUs (with their child OUs) never watched.
    pub exclude: Vec<String>,
    /// The member role's name, as the StackSet deploys it (`ReaderRoleName`).
    pub role_name: String,
    /// The partition of the role ARNs (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
}

/// One account to watch, with the role to assume there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub role: String,
}

/// An account the selection names but that is not watched, and why (reported, never silently
/// skipped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unwatched {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `SUSPENDED`, `PENDING_CLOSURE`, ..., or `NOT_IN_ORGANIZATION` for a listed id.
    pub reason: String,
}

/// The selection at one refresh: what the dispatcher fans out, what operators are told.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    pub refreshed_at: Option<DateTime<Utc>>,
    pub watched: Vec<Member>,
    pub unwatched: Vec<Unwatched>,
}

impl Registry {
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.watched.iter().find(|m| m.id == id)
    }
}

/// The accounts `selection` names in `accounts`, the central account (`own`: polled with its
/// own credentials by the pollers) left out; sorted by id.
pub fn select(
    accounts: &[OrgAccount],
    selection: &OrgSelection,
    own: Option<&str>,
    now: DateTime<Utc>,
) -> Registry {
    let excluded = |a: &OrgAccount| {
        selection.exclude.contains(&a.id) || a.path.iter().any(|p| selection.exclude.contains(p))
    };
    let named = |a: &OrgAccount| {
        selection.all
            || selection.accounts.contains(&a.id)
            || a.path.iter().any(|p| selection.units.contains(p))
    };
    let mut registry = Registry {
        refreshed_at: Some(now),
        ..Default::default()
    };
    for account in accounts.iter().filter(|a| named(a) && !excluded(a)) {
        if Some(account.id.as_str()) == own {
            continue;
        }
        match &account.status {
            AccountStatus::Active => registry.watched.push(Member {
                id: account.id.clone(),
                name: account.name.clone(),
                role: format!(
                    "arn:{}:iam::{}:role/{}",
                    selection.partition, account.id, selection.role_name
                ),
            }),
            other => registry.unwatched.push(Unwatched {
                id: account.id.clone(),
                name: account.name.clone(),
                reason: status_name(other),
            }),
        }
    }
    let known: BTreeSet<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
    for id in selection
        .accounts
        .iter()
        .filter(|id| !known.contains(id.as_str()))
    {
        registry.unwatched.push(Unwatched {
            id: id.clone(),
            name: String::new(),
            reason: "NOT_IN_ORGANIZATION".into(),
        });
    }
    registry.watched.sort_by(|a, b| a.id.cmp(&b.id));
    registry.unwatched.sort_by(|a, b| a.id.cmp(&b.id));
    registry
}

fn status_name(status: &AccountStatus) -> String {
    match status {
        AccountStatus::Active => "ACTIVE".into(),
        AccountStatus::Suspended => "SUSPENDED".into(),
        AccountStatus::PendingClosure => "PENDING_CLOSURE".into(),
        AccountStatus::Closed => "CLOSED".into(),
        AccountStatus::Other(raw) => raw.clone(),
    }
}

/// Reads the organisation's tree (Organizations, from the management account, a delegated
/// administrator, or through a read-only role in the management account).
pub trait Directory: Send + Sync {
    fn accounts(&self) -> BoxFuture<'_, Result<Vec<OrgAccount>, Error>>;
}

/// The registry in the table.
pub trait RegistryStore: Send + Sync {
    /// `None` before the first refresh.
    fn registry(&self) -> BoxFuture<'_, Result<Option<Registry>, Error>>;
    fn save_registry<'a>(&'a self, registry: &'a Registry) -> BoxFuture<'a, Result<(), Error>>;
}

/// One account's share of a period: every (region, family) scope of it, polled by one worker
/// invocation with one `AssumeRole`. The body of an SQS message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    pub account: String,
    /// The role to assume there.
    pub role: String,
    /// When the dispatcher queued it: a run of the account that started later has done it.
    pub queued_at: DateTime<Utc>,
}

impl WorkItem {
    /// The account's schedule shard (its clocks, its lease).
    pub fn shard(&self) -> String {
        account_shard(&self.account)
    }
}

/// The schedule shard of one account's work items.
pub fn account_shard(account: &str) -> String {
    format!("account#{account}")
}

/// The dispatcher's own shard: when each account was last queued.
pub const DISPATCH_SHARD: &str = "dispatch";

/// The work items to queue at `now`: the members not queued within the last period (one
/// still waiting or being worked is not queued again), oldest-queued first, at most
/// `capacity` less the `backlog` the queue still holds. With workers that drain what was
/// queued each period, every member is polled at least once every
/// `ceil(members / capacity)` periods (the argument of [`crate::schedule`]).
pub fn dispatch(
    registry: &Registry,
    queued: &Clocks,
    now: DateTime<Utc>,
    period: Duration,
    capacity: usize,
    backlog: usize,
) -> Vec<WorkItem> {
    let room = capacity.saturating_sub(backlog);
    let blank = crate::schedule::Clock::default();
    let clocks = registry
        .watched
        .iter()
        .map(|m| (m.id.as_str(), queued.get(&m.id).unwrap_or(&blank)));
    let due = crate::schedule::order(clocks, now, period)
        .into_iter()
        .filter(|id| {
            // Queued within the last period: still in the queue, or just done.
            queued
                .get(*id)
                .and_then(|c| c.polled_at)
                .is_none_or(|at| now - at >= period - period / 5)
        })
        .take(room);
    due.filter_map(|id| registry.member(id))
        .map(|m| WorkItem {
            account: m.id.clone(),
            role: m.role.clone(),
            queued_at: now,
        })
        .collect()
}

/// Reads the selection's variables (blank counts as unset); `None` when `ORG_UNITS` and
/// `ORG_ACCOUNTS` are both unset (no organisation: `ACCOUNTS` as before).
pub fn selection(
    units: Option<&str>,
    accounts: Option<&str>,
    exclude: Option<&str>,
    role_name: Option<&str>,
    partition: &str,
) -> Result<Option<OrgSelection>, ConfigError> {
    if units.is_none() && accounts.is_none() {
        return Ok(None);
    }
    let all = units.is_some_and(|u| u.trim().eq_ignore_ascii_case("all"));
    let units = if all { Vec::new() } else { id_list(units) };
    check_units(&units)?;
    let accounts = id_list(accounts);
    let exclude = id_list(exclude);
    check_accounts(&accounts, &exclude)?;
    let role_name = role_name.unwrap_or("bedrock-jobwatch-reader").to_owned();
    check_role_name(&role_name)?;
    Ok(Some(OrgSelection {
        all,
        units,
        accounts,
        exclude,
        role_name,
        partition: partition.to_owned(),
    }))
}

/// A comma-separated variable's entries, trimmed, blanks dropped.
fn id_list(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// `ORG_UNITS` names roots and OUs only (`all` is read before).
fn check_units(units: &[String]) -> Result<(), ConfigError> {
    for unit in units {
        if !(unit.starts_with("r-") || unit.starts_with("ou-")) {
            return Err(invalid(
                "ORG_UNITS",
                unit,
                "expected all, or root (r-) and OU (ou-) ids",
            ));
        }
    }
    Ok(())
}

/// `ORG_ACCOUNTS` names accounts; `ORG_EXCLUDE` accounts or OUs.
fn check_accounts(accounts: &[String], exclude: &[String]) -> Result<(), ConfigError> {
    for id in accounts
        .iter()
        .chain(exclude.iter().filter(|e| !e.starts_with("ou-")))
    {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "ORG_ACCOUNTS",
                id,
                "expected 12-digit account ids (ORG_EXCLUDE: or OU ids)",
            ));
        }
    }
    Ok(())
}

/// IAM's own rule for a role name, so a typo fails at cold start rather than at every
/// `AssumeRole`.
fn check_role_name(role_name: &str) -> Result<(), ConfigError> {
    let role_ok = (1..=64).contains(&role_name.len())
        && role_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if !role_ok {
        return Err(invalid(
            "READER_ROLE_NAME",
            role_name,
            "expected an IAM role name",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::minutes(minute)
    }

    fn account(id: &str, status: &str, path: &[&str]) -> OrgAccount {
        OrgAccount {
            id: id.into(),
            name: format!("n{id}"),
            status: AccountStatus::parse(status),
            path: path.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn org() -> Vec<OrgAccount> {
        vec![
            account("111111111111", "ACTIVE", &["r-1"]), // the central account
            account("222222222222", "ACTIVE", &["r-1", "ou-a"]),
            account("333333333333", "ACTIVE", &["r-1", "ou-a", "ou-a-child"]),
            account("444444444444", "SUSPENDED", &["r-1", "ou-a"]),
            account("555555555555", "ACTIVE", &["r-1", "ou-b"]),
            account("666666666666", "ACTIVE", &["r-1", "ou-c"]),
            account("777777777777", "PENDING_CLOSURE", &["r-1", "ou-c"]),
        ]
    }

    fn selection(all: bool, units: &[&str], accounts: &[&str], exclude: &[&str]) -> OrgSelection {
        let strings = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        OrgSelection {
            all,
            units: strings(units),
            accounts: strings(accounts),
            exclude: strings(exclude),
            role_name: "reader".into(),
            partition: "aws".into(),
        }
    }

    #[test]
    fn given_selections_when_applied_then_watched_and_reported_accounts_are_as_listed() {
        // (selection, watched ids' first digits, unwatched ids' first digits with reason)
        // (selection, the watched ids' first digits, the unwatched ones' with the reason)
        type Case = (
            OrgSelection,
            &'static str,
            Vec<(&'static str, &'static str)>,
        );
        let table: Vec<Case> = vec![
            (
                selection(true, &[], &[], &[]),
                "2356",
                vec![("4", "SUSPENDED"), ("7", "PENDING_CLOSURE")],
            ),
            (
                selection(false, &["ou-a"], &[], &[]),
                "23",
                vec![("4", "SUSPENDED")],
            ),
            (
                selection(false, &["ou-a"], &["666666666666"], &["ou-a-child"]),
                "26",
                vec![("4", "SUSPENDED")],
            ),
            (
                selection(true, &[], &[], &["ou-c", "555555555555"]),
                "23",
                vec![("4", "SUSPENDED")],
            ),
            (
                selection(false, &[], &["999999999999", "555555555555"], &[]),
                "5",
                vec![("9", "NOT_IN_ORGANIZATION")],
            ),
        ];
        for (i, (sel, watched, unwatched)) in table.into_iter().enumerate() {
            let registry = select(&org(), &sel, Some("111111111111"), at(0));
            let firsts: String = registry.watched.iter().map(|m| &m.id[..1]).collect();
            assert_eq!(firsts, watched, "case {i}");
            let reported: Vec<(&str, &str)> = registry
                .unwatched
                .iter()
                .map(|u| (&u.id[..1], u.reason.as_str()))
                .collect();
            assert_eq!(reported, unwatched, "case {i}");
        }
    }

    #[test]
    fn the_member_role_is_found_by_the_stacksets_name() {
        let registry = select(&org(), &selection(false, &["ou-b"], &[], &[]), None, at(0));
        assert_eq!(
            registry.watched[0].role,
            "arn:aws:iam::555555555555:role/reader"
        );
    }

    fn registry(n: usize) -> Registry {
        Registry {
            refreshed_at: Some(at(0)),
            watched: (0..n)
                .map(|i| Member {
                    id: format!("{:012}", 200_000_000_000u64 + i as u64),
                    name: String::new(),
                    role: format!("arn:aws:iam::{:012}:role/r", 200_000_000_000u64 + i as u64),
                })
                .collect(),
            unwatched: Vec::new(),
        }
    }

    #[test]
    fn given_queued_times_when_dispatching_then_oldest_first_within_capacity_and_never_twice_a_period(
    ) {
        let period = Duration::minutes(5);
        let reg = registry(4);
        let ids: Vec<&str> = reg.watched.iter().map(|m| m.id.as_str()).collect();
        let mut queued = Clocks::new();
        let ok = crate::schedule::Outcome::Ok;
        queued.insert(
            ids[0].into(),
            crate::schedule::Clock::default().after(at(50), &ok),
        );
        queued.insert(
            ids[1].into(),
            crate::schedule::Clock::default().after(at(58), &ok),
        );
        queued.insert(
            ids[2].into(),
            crate::schedule::Clock::default().after(at(40), &ok),
        );
        // ids[3] never queued; ids[1] queued 2 minutes ago: not again.
        let items = dispatch(&reg, &queued, at(60), period, 10, 0);
        let got: Vec<&str> = items.iter().map(|w| w.account.as_str()).collect();
        assert_eq!(got, [ids[3], ids[2], ids[0]]);
        let items = dispatch(&reg, &queued, at(60), period, 3, 1);
        let got: Vec<&str> = items.iter().map(|w| w.account.as_str()).collect();
        assert_eq!(got, [ids[3], ids[2]], "capacity less the backlog");
        assert!(items.iter().all(|w| w.queued_at == at(60)));
    }

    #[test]
    fn malformed_selections_are_named() {
        let cases = [
            (Some("ou-a,foo"), None, None, "ORG_UNITS"),
            (None, Some("12345"), None, "ORG_ACCOUNTS"),
            (Some("all"), None, Some("abc"), "ORG_ACCOUNTS"),
        ];
        for (units, accounts, exclude, name) in cases {
            let err = super::selection(units, accounts, exclude, None, "aws").unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        assert_eq!(
            super::selection(None, None, None, None, "aws").unwrap(),
            None
        );
        let all = super::selection(Some("all"), None, Some("ou-x"), Some("r"), "aws").unwrap();
        assert!(all.is_some_and(|s| s.all && s.exclude == ["ou-x"]));
    }
}
