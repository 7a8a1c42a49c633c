//! Typed configuration, read once from the environment at cold start.

use std::collections::HashMap;

use chrono::Duration;

use crate::domain::{AlertSettings, JobKind, NotifyOn, NotifyPolicy, Thresholds};

use crate::error::ConfigError;
use crate::notices::{tag_attribute, EmailDetail, Presentation};
use crate::poller::PollSettings;

/// Everything a poller needs besides the SDK's own settings (`AWS_REGION`, `AWS_ENDPOINT_URL_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `JOBS_TABLE`: DynamoDB table name.
    pub table: String,
    /// Where notices go, one field per sink.
    pub sinks: SinkSettings,
    /// `READ_OUTPUT_MANIFEST` (default false): batch jobs read `manifest.json.out` from their
    /// output location for counts and token totals (needs `s3:GetObject` there).
    pub read_output_manifest: bool,
    /// `METRICS_NAMESPACE` (default `BedrockJobwatch`): CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    /// `JOB_FAMILY`: the family this function polls, by its stable name (`batch-inference`,
    /// ...). The one deployed binary serves every family; the per-family binaries fix their own.
    pub family: Option<JobKind>,
    /// `DIGEST_THRESHOLD`, per family.
    pub digest: DigestThresholds,
    /// How the poller runs (each field names its variable).
    pub poll: PollSettings,
    /// `REGIONS`, `ACCOUNTS`, `ACCOUNT_EXTERNAL_ID`, `SCOPE_CONCURRENCY`: the scopes it polls.
    pub targets: crate::targets::TargetSettings,
    /// The organisation, the fan-out and the scopes' schedule (each field names its variable).
    pub fanout: FanOut,
    /// `WATCHED_FAMILIES` (default: every family): the families this stack watches, as names or
    /// template keys (the template joins its `WatchedFamilies` parameter). What a worker polls
    /// in each account and what the register consumer lets a workflow wait on.
    pub watched: Vec<JobKind>,
    /// `COST_ESTIMATES` and `PRICE_OVERRIDES`: estimated cost of finished jobs
    /// (docs/notifications/cost-and-progress.md).
    pub costs: CostSettings,
}

/// Estimated cost of finished jobs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CostSettings {
    /// `COST_ESTIMATES` (default on): `off` estimates nothing and calls no Price List.
    pub enabled: bool,
    /// `PRICE_OVERRIDES` (optional): a JSON object of model id to `{"input": USD, "output":
    /// USD}` per million batch tokens, used before any published price.
    pub overrides: std::collections::BTreeMap<String, crate::domain::cost::Override>,
}

/// Where notices go, one field per sink (`adapters::notifier::Sinks::from_settings`).
#[derive(Debug, Clone, PartialEq)]
pub struct SinkSettings {
    /// `NOTIFY_TOPIC_ARN`: SNS topic for notifications.
    pub topic_arn: String,
    /// `PEOPLE_TOPIC_ARN` (optional): the topic for people (email): one text message per job,
    /// or one digest per run above the digest threshold. Unset: people read the machine topic's
    /// email variant, one message per job.
    pub people_topic_arn: Option<String>,
    /// `CHAT_TOPIC_ARN` (optional): the topic Amazon Q Developer in chat applications watches;
    /// it gets a custom notification per notice.
    pub chat_topic_arn: Option<String>,
    /// `EVENT_BUS_NAME` (optional): `default`, a bus name or a bus ARN; it gets an event per
    /// notice (`PutEvents`).
    pub event_bus: Option<String>,
    /// `PUBLISH_CONCURRENCY` (default 4): publish and `PutEvents` calls in flight per sink.
    pub publish_concurrency: usize,
}

/// The organisation, the fan-out over workers, and the scopes' schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct FanOut {
    /// `MODE`: `poll` (default), `dispatch`, `work`, `org-refresh`, `workflow-register`.
    pub mode: crate::work::Mode,
    /// `ORG_UNITS`, `ORG_ACCOUNTS`, `ORG_EXCLUDE`, `READER_ROLE_NAME`: `None` without an
    /// organisation (`ACCOUNTS` as before).
    pub org: Option<crate::org::OrgSelection>,
    /// `ORG_ROLE_ARN`: a read-only role in the management account, when the central account is
    /// neither it nor a delegated administrator.
    pub org_role_arn: Option<String>,
    /// `WORK_QUEUE_URL`: where the dispatcher queues work items.
    pub queue_url: Option<String>,
    /// `POLL_PERIOD_MINUTES` (default 5): the schedule's period (backoff, once per period).
    pub period: Duration,
    /// `SCOPE_ALARM_AFTER` (default 3): periods in a row a scope fails before it is named.
    pub alarm_after: u32,
    /// `DISPATCH_CAPACITY` (default 100000): most work items queued per period.
    pub capacity: usize,
}

/// `DIGEST_THRESHOLD`: `10` for every family, or per family, e.g. `async-invoke=5,default=20`.
/// A run that notifies more jobs of the family than this tells people in one digest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestThresholds {
    pub default: Option<usize>,
    pub per_family: Vec<(String, usize)>,
}

impl DigestThresholds {
    pub fn for_kind(&self, kind: JobKind) -> Option<usize> {
        self.per_family
            .iter()
            .find(|(name, _)| name == kind.as_str())
            .map(|(_, n)| *n)
            .or(self.default)
    }
}

/// Longest `ACCOUNT_NAME`: it goes in every subject, which SNS keeps under 100 characters.
const MAX_ACCOUNT_NAME: usize = 32;
/// Most `NOTIFY_TAGS` keys: with the seven fixed attributes, a message keeps to the 10 message
/// attributes SQS accepts (raw delivery).
const MAX_NOTIFY_TAGS: usize = 3;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads the configuration from a map (tests pass their own).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let vars = Vars(vars);
        let lease_seconds = vars.number("PUBLISH_LEASE_SECONDS", 300, 1, 86_400)?;
        let poll = PollSettings {
            region: vars
                .get("AWS_REGION")
                .or_else(|| vars.get("AWS_DEFAULT_REGION"))
                .map(str::to_owned)
                .ok_or(ConfigError::Missing("AWS_REGION"))?,
            policy: NotifyPolicy {
                on: vars.notify_on()?,
                on_first_sight: vars.flag("NOTIFY_ON_FIRST_SIGHT")?,
            },
            lookback: Duration::hours(vars.number("LOOKBACK_HOURS", 336, 1, 24 * 366)?),
            list_margin: Duration::minutes(vars.number("LIST_MARGIN_MINUTES", 15, 0, 24 * 60)?),
            get_concurrency: vars.number("GET_CONCURRENCY", 8, 1, 64)? as usize,
            retention: Duration::days(vars.number("RETENTION_DAYS", 90, 1, 3650)?),
            publish_lease: Duration::seconds(lease_seconds),
            alerts: vars.alerts()?,
            presentation: vars.presentation()?,
            // Per family: set by the function for its own family (`DigestThresholds::for_kind`).
            digest_threshold: None,
            quiet_refresh: match vars.number("QUIET_REFRESH_HOURS", 0, 0, 24 * 14)? {
                0 => None,
                hours => Some(Duration::hours(hours)),
            },
            prices: Default::default(),
            cost_alert_usd: vars.cost_alert()?,
            cost_owners: crate::poller::CostOwners::new(vars.cost_owner_tag()?),
            progress_metrics: vars.on_off("PROGRESS_METRICS", false)?,
        };
        Ok(Self {
            table: vars.required("JOBS_TABLE")?,
            sinks: vars.sinks()?,
            read_output_manifest: vars.flag("READ_OUTPUT_MANIFEST")?,
            metrics_namespace: vars
                .get("METRICS_NAMESPACE")
                .unwrap_or(crate::metrics::DEFAULT_NAMESPACE)
                .to_owned(),
            family: vars.family()?,
            digest: vars.digest()?,
            poll,
            targets: vars.targets()?,
            fanout: vars.fanout()?,
            watched: vars.watched()?,
            costs: vars.costs()?,
        })
    }
}

impl Vars<'_> {
    fn costs(&self) -> Result<CostSettings, ConfigError> {
        let enabled = self.on_off("COST_ESTIMATES", true)?;
        let overrides = match self.get("PRICE_OVERRIDES") {
            None => Default::default(),
            Some(raw) => serde_json::from_str(raw).map_err(|_| {
                invalid(
                    "PRICE_OVERRIDES",
                    raw,
                    r#"expected {"<model id>": {"input": <USD per 1M tokens>, "output": <USD per 1M tokens>}}"#,
                )
            })?,
        };
        Ok(CostSettings { enabled, overrides })
    }

    /// `COST_OWNER_TAG`: one tag key (AWS allows 1 to 128 characters), or unset.
    fn cost_owner_tag(&self) -> Result<Option<String>, ConfigError> {
        let Some(raw) = self.get("COST_OWNER_TAG") else {
            return Ok(None);
        };
        let key = raw.trim();
        if key.chars().count() > 128 || key.chars().any(char::is_control) || key.contains(',') {
            let reason = "expected one tag key of at most 128 characters";
            return Err(invalid("COST_OWNER_TAG", raw, reason));
        }
        Ok(Some(key.to_owned()))
    }

    /// `COST_ALERT_USD`: a positive amount of dollars, or unset.
    fn cost_alert(&self) -> Result<Option<f64>, ConfigError> {
        let Some(raw) = self.get("COST_ALERT_USD") else {
            return Ok(None);
        };
        match raw.parse::<f64>() {
            Ok(usd) if usd.is_finite() && usd > 0.0 => Ok(Some(usd)),
            _ => Err(invalid(
                "COST_ALERT_USD",
                raw,
                "expected a positive amount of US dollars, e.g. 250 or 12.5",
            )),
        }
    }
}

/// The environment, read with one rule per kind of value; blank counts as unset.
struct Vars<'a>(&'a HashMap<String, String>);

impl Vars<'_> {
    fn sinks(&self) -> Result<SinkSettings, ConfigError> {
        Ok(SinkSettings {
            topic_arn: self
                .topic("NOTIFY_TOPIC_ARN")?
                .ok_or(ConfigError::Missing("NOTIFY_TOPIC_ARN"))?,
            people_topic_arn: self.topic("PEOPLE_TOPIC_ARN")?,
            chat_topic_arn: self.topic("CHAT_TOPIC_ARN")?,
            event_bus: self.event_bus()?,
            publish_concurrency: self.number("PUBLISH_CONCURRENCY", 4, 1, 32)? as usize,
        })
    }
}

impl Vars<'_> {
    fn get(&self, name: &'static str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name)
            .map(str::to_owned)
            .ok_or(ConfigError::Missing(name))
    }

    /// A switch written `on` or `off` (`true`/`false`, `1`/`0` too), `default` when unset.
    fn on_off(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("on" | "true" | "1") => Ok(true),
            Some("off" | "false" | "0") => Ok(false),
            Some(_) => Err(invalid(
                name,
                self.get(name).unwrap_or_default(),
                "expected on or off",
            )),
        }
    }

    fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name) {
            None => Ok(false),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(invalid(name, v, "expected true or false")),
            },
        }
    }

    fn number(
        &self,
        name: &'static str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(invalid(
                    name,
                    raw,
                    &format!("expected a whole number from {min} to {max}"),
                )),
            },
        }
    }

    /// `WATCHED_FAMILIES`: family names or template keys (the `WatchedFamilies` parameter).
    fn watched(&self) -> Result<Vec<JobKind>, ConfigError> {
        let Some(list) = self.get("WATCHED_FAMILIES") else {
            return Ok(JobKind::ALL.to_vec());
        };
        let mut kinds = Vec::new();
        for word in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let kind = JobKind::from_name_or_key(word)
                .ok_or_else(|| invalid("WATCHED_FAMILIES", word, "not a known job family"))?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(kinds)
    }

    fn family(&self) -> Result<Option<JobKind>, ConfigError> {
        let Some(name) = self.get("JOB_FAMILY") else {
            return Ok(None);
        };
        match JobKind::from_name(name) {
            Some(kind) => Ok(Some(kind)),
            None => Err(invalid("JOB_FAMILY", name, "not a known job family")),
        }
    }

    /// `NOTIFY_STATUSES`: raw statuses as the API sends them, or phases by name (`failed`,
    /// `succeeded`, ...); unset means every terminal status of the family.
    fn notify_on(&self) -> Result<Option<Vec<NotifyOn>>, ConfigError> {
        let Some(list) = self.get("NOTIFY_STATUSES") else {
            return Ok(None);
        };
        let parsed: Vec<NotifyOn> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(NotifyOn::parse)
            .collect();
        match parsed.is_empty() {
            true => Err(invalid("NOTIFY_STATUSES", list, "no status given")),
            false => Ok(Some(parsed)),
        }
    }
}

use crate::domain::idle::IdleSettings;

/// The early-warning settings (docs/notifications/early-warnings.md): `ALERTS=off` turns them off.
impl Vars<'_> {
    fn alerts(&self) -> Result<AlertSettings, ConfigError> {
        let defaults = AlertSettings::default();
        let enabled = match self.get("ALERTS").map(str::to_ascii_lowercase).as_deref() {
            None | Some("on" | "true" | "1") => true,
            Some("off" | "false" | "0") => false,
            Some(other) => return Err(invalid("ALERTS", other, "expected on or off")),
        };
        let factor = match self.get("ALERT_OVERDUE_FACTOR") {
            None => defaults.overdue_factor,
            Some(raw) => match raw.parse::<f64>() {
                Ok(f) if (1.0..=100.0).contains(&f) => f,
                _ => {
                    return Err(invalid(
                        "ALERT_OVERDUE_FACTOR",
                        raw,
                        "expected a number from 1 to 100",
                    ))
                }
            },
        };
        Ok(AlertSettings {
            enabled,
            stuck_after: self.thresholds("ALERT_STUCK_AFTER")?,
            stalled_after: self.duration("ALERT_STALLED_AFTER", defaults.stalled_after)?,
            running_after: self.thresholds("ALERT_RUNNING_AFTER")?,
            expiry_warning: self.duration("ALERT_EXPIRY_WARNING", defaults.expiry_warning)?,
            overdue_factor: factor,
            overdue_min_history: self.number("ALERT_OVERDUE_MIN_HISTORY", 5, 1, 25)? as usize,
            idle: IdleSettings {
                // Hours, at least one (CloudWatch sums invocations by the hour), at most 90 days.
                after: Duration::hours(self.number("ALERT_IDLE_AFTER", 24, 1, 2160)?),
                ..defaults.idle
            },
        })
    }

    fn duration(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        self.get(name).map_or(Ok(default), |raw| {
            parse_duration(raw).ok_or_else(|| invalid(name, raw, DURATION_FORM))
        })
    }

    /// `6h` for every family, `batch-inference=12h` for one, or both: `2h,batch-inference=12h`.
    fn thresholds(&self, name: &'static str) -> Result<Thresholds, ConfigError> {
        let mut thresholds = Thresholds::default();
        let Some(list) = self.get(name) else {
            return Ok(thresholds);
        };
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || {
                invalid(
                    name,
                    entry,
                    "expected a duration, or family=duration (family as in jobKind)",
                )
            };
            match entry.split_once('=') {
                None => thresholds.all = Some(parse_duration(entry).ok_or_else(bad)?),
                Some((family, value)) => {
                    let kind = JobKind::ALL
                        .into_iter()
                        .find(|k| k.as_str() == family.trim())
                        .ok_or_else(bad)?;
                    let value = parse_duration(value.trim()).ok_or_else(bad)?;
                    thresholds.per_family.insert(kind, value);
                }
            }
        }
        Ok(thresholds)
    }
}

const DURATION_FORM: &str = "expected a duration such as 45m, 6h or 2d (units s, m, h, d)";

/// `90s`, `45m`, `6h`, `2d`: a whole number and a unit, more than zero.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let split = raw.len().checked_sub(1)?;
    let (number, unit) = raw.split_at(split);
    let n: i64 = number.parse().ok().filter(|n| *n > 0 && *n <= 10_000_000)?;
    match unit {
        "s" => Some(Duration::seconds(n)),
        "m" => Some(Duration::minutes(n)),
        "h" => Some(Duration::hours(n)),
        "d" => Some(Duration::days(n)),
        _ => None,
    }
}

/// The presentation and digest variables.
impl Vars<'_> {
    fn topic(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        match self.get(name) {
            Some(arn) if !arn.starts_with("arn:") || arn.split(':').count() < 6 => {
                Err(invalid(name, arn, "expected an SNS topic ARN"))
            }
            other => Ok(other.map(str::to_owned)),
        }
    }

    fn presentation(&self) -> Result<Presentation, ConfigError> {
        let account_name = self.get("ACCOUNT_NAME").map(str::to_owned);
        if let Some(name) = &account_name {
            if name.chars().count() > MAX_ACCOUNT_NAME || name.chars().any(char::is_control) {
                let reason = format!("expected one line of at most {MAX_ACCOUNT_NAME} characters");
                return Err(invalid("ACCOUNT_NAME", name, &reason));
            }
        }
        let email_detail = match self
            .get("EMAIL_DETAIL")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("full") => EmailDetail::Full,
            Some("minimal") => EmailDetail::Minimal,
            Some(other) => return Err(invalid("EMAIL_DETAIL", other, "expected full or minimal")),
        };
        Ok(Presentation {
            account_name,
            email_detail,
            notify_tags: self.notify_tags()?,
        })
    }

    /// `NOTIFY_TAGS`: tag keys, each usable as a message attribute name (`tag.{key}`).
    fn notify_tags(&self) -> Result<Vec<String>, ConfigError> {
        let Some(list) = self.get("NOTIFY_TAGS") else {
            return Ok(Vec::new());
        };
        let keys: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        if keys.len() > MAX_NOTIFY_TAGS {
            let reason = format!("at most {MAX_NOTIFY_TAGS} tag keys");
            return Err(invalid("NOTIFY_TAGS", list, &reason));
        }
        match keys.iter().find(|k| tag_attribute(k).is_none()) {
            Some(bad) => Err(invalid(
                "NOTIFY_TAGS",
                bad,
                "a tag key here may hold letters, digits, '_', '-' and single inner '.' only",
            )),
            None => Ok(keys),
        }
    }

    fn digest(&self) -> Result<DigestThresholds, ConfigError> {
        let mut digest = DigestThresholds::default();
        let Some(list) = self.get("DIGEST_THRESHOLD") else {
            return Ok(digest);
        };
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (family, number) = entry.split_once('=').unwrap_or(("default", entry));
            let (family, number) = (family.trim(), number.trim());
            let threshold = number
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n));
            let known = family == "default" || JobKind::ALL.iter().any(|k| k.as_str() == family);
            match (threshold, known) {
                (Some(n), true) if family == "default" => digest.default = Some(n),
                (Some(n), true) => digest.per_family.push((family.to_owned(), n)),
                (None, _) => {
                    return Err(invalid(
                        "DIGEST_THRESHOLD",
                        entry,
                        "expected a whole number from 1 to 10000",
                    ))
                }
                (_, false) => return Err(invalid("DIGEST_THRESHOLD", entry, "unknown job family")),
            }
        }
        Ok(digest)
    }
}

/// The scopes a poller watches (docs/deploying/organisation.md).
impl Vars<'_> {
    fn targets(&self) -> Result<crate::targets::TargetSettings, ConfigError> {
        crate::targets::TargetSettings::parse(crate::targets::FleetVars {
            regions: self.get("REGIONS"),
            accounts: self.get("ACCOUNTS"),
            external_id: self.get("ACCOUNT_EXTERNAL_ID"),
            concurrency: Some(self.number("SCOPE_CONCURRENCY", 4, 1, 64)? as usize),
        })
    }

    fn fanout(&self) -> Result<FanOut, ConfigError> {
        let mode = match self.get("MODE") {
            None => crate::work::Mode::Poll,
            Some(raw) => crate::work::Mode::parse(raw).ok_or_else(|| {
                invalid(
                    "MODE",
                    raw,
                    "expected poll, dispatch, work, org-refresh or workflow-register",
                )
            })?,
        };
        let region = self.get("AWS_REGION").unwrap_or_default();
        let partition = match region {
            r if r.starts_with("cn-") => "aws-cn",
            r if r.starts_with("us-gov-") => "aws-us-gov",
            _ => "aws",
        };
        let org = crate::org::selection(
            self.get("ORG_UNITS"),
            self.get("ORG_ACCOUNTS"),
            self.get("ORG_EXCLUDE"),
            self.get("READER_ROLE_NAME"),
            partition,
        )?;
        let org_role_arn = self.get("ORG_ROLE_ARN").map(str::to_owned);
        if let Some(arn) = &org_role_arn {
            if crate::targets::RoleArn::parse(arn).is_none() {
                return Err(invalid("ORG_ROLE_ARN", arn, "expected an IAM role ARN"));
            }
        }
        Ok(FanOut {
            mode,
            org,
            org_role_arn,
            queue_url: self.get("WORK_QUEUE_URL").map(str::to_owned),
            period: Duration::minutes(self.number("POLL_PERIOD_MINUTES", 5, 1, 1440)?),
            alarm_after: self.number("SCOPE_ALARM_AFTER", 3, 1, 1000)? as u32,
            capacity: self.number("DISPATCH_CAPACITY", 100_000, 1, 10_000_000)? as usize,
        })
    }

    /// `EVENT_BUS_NAME`: a bus name (`[A-Za-z0-9._/-]`, at most 256) or an `arn:` of one.
    fn event_bus(&self) -> Result<Option<String>, ConfigError> {
        let Some(bus) = self.get("EVENT_BUS_NAME") else {
            return Ok(None);
        };
        let name_ok = |n: &str| {
            !n.is_empty()
                && n.len() <= 256
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
        };
        let ok = match bus.strip_prefix("arn:") {
            Some(rest) => rest.contains(":events:") && rest.contains(":event-bus/"),
            None => name_ok(bus),
        };
        match ok {
            true => Ok(Some(bus.to_owned())),
            false => Err(invalid(
                "EVENT_BUS_NAME",
                bus,
                "expected default, an event bus name or an event bus ARN",
            )),
        }
    }
}

fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}
