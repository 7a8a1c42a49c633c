//! Which (account, region) scopes a poller watches: `REGIONS`, `ACCOUNTS`,
//! `ACCOUNT_EXTERNAL_ID` and `SCOPE_CONCURRENCY`, read once with the rest of [`crate::Config`].

use std::fmt;

use crate::domain::regions::is_known_region;
use crate::domain::JobKind;
use crate::error::ConfigError;

/// The `REGIONS` value that means every region where the family's API exists.
pub const ALL_BEDROCK: &str = "all-bedrock";
/// The `ACCOUNTS` token for the function's own account (with its own credentials).
pub const OWN_ACCOUNT: &str = "self";
/// Scopes polled at once when `SCOPE_CONCURRENCY` is unset.
pub const DEFAULT_SCOPE_CONCURRENCY: usize = 4;

/// An IAM role to assume in a member account: `arn:{partition}:iam::{account}:role/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleArn {
    arn: String,
    account: String,
}

impl RoleArn {
    /// `None` unless `arn` is an IAM role ARN with a 12-digit account.
    pub fn parse(arn: &str) -> Option<Self> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, partition, "iam", "", account, resource] = parts[..] else {
            return None;
        };
        let name = resource.strip_prefix("role/")?;
        let valid = prefix == "arn"
            && matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty()
            && name.len() <= 512
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b));
        valid.then(|| Self {
            arn: arn.to_owned(),
            account: account.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The member account's 12-digit id.
    pub fn account(&self) -> &str {
        &self.account
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// An account a poller watches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// The function's own account, with its own credentials.
    Own,
    /// A member account, through a role assumed there.
    Member(RoleArn),
}

impl Account {
    /// The member account's id; `None` for the own account.
    pub fn id(&self) -> Option<&str> {
        match self {
            Account::Own => None,
            Account::Member(role) => Some(role.account()),
        }
    }
}

/// `REGIONS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// Empty or absent: the function's own region.
    Own,
    /// `all-bedrock`: every region of the family's list (`Family::regions`).
    AllBedrock,
    Listed(Vec<String>),
}

/// One (account, region) a poller watches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub account: Account,
    pub region: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.account {
            Account::Own => write!(f, "self/{}", self.region),
            Account::Member(role) => write!(f, "{}/{}", role.account(), self.region),
        }
    }
}

/// The scopes settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSettings {
    pub regions: Regions,
    /// Accounts in the order given; `[Own]` when `ACCOUNTS` is empty or absent.
    pub accounts: Vec<Account>,
    /// `ACCOUNT_EXTERNAL_ID`: passed to every AssumeRole when set.
    pub external_id: Option<String>,
    /// `SCOPE_CONCURRENCY` (default 4, 1 to 64).
    pub concurrency: usize,
}

impl Default for TargetSettings {
    fn default() -> Self {
        Self {
            regions: Regions::Own,
            accounts: vec![Account::Own],
            external_id: None,
            concurrency: DEFAULT_SCOPE_CONCURRENCY,
        }
    }
}

/// The raw values of the four variables (blank counts as unset); `crate::Config` reads them.
#[derive(Debug, Clone, Copy, Default)]
pub struct FleetVars<'a> {
    pub regions: Option<&'a str>,
    pub accounts: Option<&'a str>,
    pub external_id: Option<&'a str>,
    /// Already checked against its bounds.
    pub concurrency: Option<usize>,
}

impl TargetSettings {
    /// Reads the settings from the variables' values, with an error naming the variable.
    pub fn parse(vars: FleetVars<'_>) -> Result<Self, ConfigError> {
        let external_id = vars.external_id.map(str::to_owned);
        if let Some(id) = &external_id {
            // AssumeRole's ExternalId: 2 to 1224 of [\w+=,.@:/-]. Not echoed: it is a secret.
            let ok = (2..=1224).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b));
            if !ok {
                return Err(invalid(
                    "ACCOUNT_EXTERNAL_ID",
                    "(not shown)",
                    "expected 2 to 1224 of letters, digits and _+=,.@:/-",
                ));
            }
        }
        Ok(Self {
            regions: regions(vars.regions)?,
            accounts: accounts(vars.accounts)?,
            external_id,
            concurrency: vars.concurrency.unwrap_or(DEFAULT_SCOPE_CONCURRENCY),
        })
    }

    /// Every (account, region) of `kind`, accounts first; `own_region` is the function's.
    pub fn targets(&self, kind: JobKind, own_region: &str) -> Vec<Target> {
        let regions: Vec<String> = match &self.regions {
            Regions::Own => vec![own_region.to_owned()],
            Regions::AllBedrock => kind
                .family()
                .regions
                .iter()
                .map(|r| r.to_string())
                .collect(),
            Regions::Listed(list) => list.clone(),
        };
        self.accounts
            .iter()
            .flat_map(|account| {
                regions.iter().map(|region| Target {
                    account: account.clone(),
                    region: region.clone(),
                })
            })
            .collect()
    }
}

fn list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn regions(raw: Option<&str>) -> Result<Regions, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Regions::Own);
    };
    if raw.eq_ignore_ascii_case(ALL_BEDROCK) {
        return Ok(Regions::AllBedrock);
    }
    let mut names: Vec<String> = Vec::new();
    for name in list(raw) {
        if name == ALL_BEDROCK {
            return Err(invalid("REGIONS", raw, "all-bedrock stands alone"));
        }
        if !is_known_region(name) {
            return Err(invalid(
                "REGIONS",
                name,
                "not an AWS region name this version knows",
            ));
        }
        if names.iter().any(|n| n == name) {
            return Err(invalid("REGIONS", name, "listed twice"));
        }
        names.push(name.to_owned());
    }
    match names.is_empty() {
        true => Ok(Regions::Own),
        false => Ok(Regions::Listed(names)),
    }
}

fn accounts(raw: Option<&str>) -> Result<Vec<Account>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(vec![Account::Own]);
    };
    let mut accounts: Vec<Account> = Vec::new();
    for entry in list(raw) {
        let account = match entry {
            OWN_ACCOUNT => Account::Own,
            arn => Account::Member(RoleArn::parse(arn).ok_or_else(|| {
                invalid(
                    "ACCOUNTS",
                    arn,
                    "expected an IAM role ARN (arn:aws:iam::123456789012:role/name) or self",
                )
            })?),
        };
        let twice = accounts.iter().any(|a| match (a, &account) {
            (Account::Member(x), Account::Member(y)) => x.account() == y.account(),
            (a, b) => a == b,
        });
        if twice {
            return Err(invalid("ACCOUNTS", entry, "an account listed twice"));
        }
        accounts.push(account);
    }
    match accounts.is_empty() {
        true => Ok(vec![Account::Own]),
        false => Ok(accounts),
    }
}

fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Through `Config`, as the functions read them.
    fn read(pairs: &[(&str, &str)]) -> Result<TargetSettings, String> {
        let mut vars: std::collections::HashMap<String, String> = [
            ("JOBS_TABLE", "jobs"),
            ("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t"),
            ("AWS_REGION", "us-east-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        crate::Config::from_vars(&vars)
            .map(|c| c.targets)
            .map_err(|e| e.to_string())
    }

    const ROLE: &str = "arn:aws:iam::222222222222:role/bedrock-jobwatch-reader";

    #[test]
    fn nothing_set_is_the_own_account_in_the_own_region() {
        let settings = read(&[]).unwrap();
        assert_eq!(settings, TargetSettings::default());
        let targets = settings.targets(JobKind::BatchInference, "eu-west-1");
        assert_eq!(
            targets,
            vec![Target {
                account: Account::Own,
                region: "eu-west-1".into()
            }]
        );
    }

    #[test]
    fn accounts_times_regions_with_self_alongside_roles() {
        let settings = read(&[
            ("REGIONS", "us-east-1, eu-west-1 ,ap-northeast-1"),
            ("ACCOUNTS", &format!("self,{ROLE}")),
            ("SCOPE_CONCURRENCY", "6"),
        ])
        .unwrap();
        let targets = settings.targets(JobKind::ModelImport, "us-west-2");
        let shown: Vec<String> = targets.iter().map(Target::to_string).collect();
        assert_eq!(
            shown,
            [
                "self/us-east-1",
                "self/eu-west-1",
                "self/ap-northeast-1",
                "222222222222/us-east-1",
                "222222222222/eu-west-1",
                "222222222222/ap-northeast-1"
            ]
        );
        assert_eq!(settings.concurrency, 6);
    }

    #[test]
    fn roles_alone_leave_the_own_account_out() {
        let settings = read(&[("ACCOUNTS", ROLE)]).unwrap();
        let role = RoleArn::parse(ROLE).unwrap();
        assert_eq!(settings.accounts, vec![Account::Member(role)]);
    }

    #[test]
    fn all_bedrock_expands_per_family() {
        let settings = read(&[("REGIONS", "all-bedrock")]).unwrap();
        let batch = settings.targets(JobKind::BatchInference, "us-east-1");
        let import = settings.targets(JobKind::ModelImport, "us-east-1");
        assert_eq!(batch.len(), JobKind::BatchInference.family().regions.len());
        assert_eq!(import.len(), JobKind::ModelImport.family().regions.len());
        assert_ne!(batch.len(), import.len());
    }

    #[test]
    fn malformed_values_are_named() {
        let cases = [
            (
                ("ACCOUNTS", "arn:aws:iam::22222222222:role/x"),
                "IAM role ARN",
            ),
            (
                ("ACCOUNTS", "arn:aws:iam::222222222222:user/x"),
                "IAM role ARN",
            ),
            (("ACCOUNTS", "222222222222"), "IAM role ARN"),
            (
                ("ACCOUNTS", &format!("{ROLE},{ROLE}") as &str),
                "listed twice",
            ),
            (("ACCOUNTS", "self,self"), "listed twice"),
            (("REGIONS", "us-east-1,us-eats-1"), "not an AWS region"),
            (("REGIONS", "us-east-1,us-east-1"), "listed twice"),
            (("REGIONS", "us-east-1,all-bedrock"), "stands alone"),
            (("SCOPE_CONCURRENCY", "0"), "from 1 to 64"),
            (("SCOPE_CONCURRENCY", "65"), "from 1 to 64"),
            (("ACCOUNT_EXTERNAL_ID", "x"), "2 to 1224"),
        ];
        for ((name, value), reason) in cases {
            let err = read(&[(name, value)]).unwrap_err();
            assert!(
                err.contains(name) && err.contains(reason),
                "{name}={value}: {err}"
            );
        }
    }

    #[test]
    fn the_external_id_is_never_echoed() {
        let err = read(&[("ACCOUNT_EXTERNAL_ID", "secret value")]).unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn two_roles_in_one_account_are_one_account_twice() {
        let other = "arn:aws:iam::222222222222:role/another";
        let err = read(&[("ACCOUNTS", &format!("{ROLE},{other}"))]).unwrap_err();
        assert!(err.contains("listed twice"), "{err}");
    }
}
