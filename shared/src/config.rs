//! Typed configuration, read once from the environment at cold start.

use std::collections::HashMap;

use chrono::Duration;

use crate::domain::{JobKind, NotifyOn, NotifyPolicy};
use crate::error::ConfigError;
use crate::poller::PollSettings;

/// Everything a poller needs besides the SDK's own settings (`AWS_REGION`, `AWS_ENDPOINT_URL_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `JOBS_TABLE`: DynamoDB table name.
    pub table: String,
    /// `NOTIFY_TOPIC_ARN`: SNS topic for notifications.
    pub topic_arn: String,
    /// `READ_OUTPUT_MANIFEST` (default false): batch jobs read `manifest.json.out` from their
    /// output location for counts and token totals (needs `s3:GetObject` there).
    pub read_output_manifest: bool,
    /// `METRICS_NAMESPACE` (default `BedrockJobwatch`): CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    /// `JOB_FAMILY`: the family this function polls, by its stable name (`batch-inference`,
    /// ...). The one deployed binary serves every family; the per-family binaries fix their own.
    pub family: Option<JobKind>,
    /// How the poller runs (each field names its variable).
    pub poll: PollSettings,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads the configuration from a map (tests pass their own).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let vars = Vars(vars);
        let topic_arn = vars.required("NOTIFY_TOPIC_ARN")?;
        if !topic_arn.starts_with("arn:") || topic_arn.split(':').count() < 6 {
            return Err(invalid(
                "NOTIFY_TOPIC_ARN",
                &topic_arn,
                "expected an SNS topic ARN",
            ));
        }
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
        };
        Ok(Self {
            table: vars.required("JOBS_TABLE")?,
            topic_arn,
            read_output_manifest: vars.flag("READ_OUTPUT_MANIFEST")?,
            metrics_namespace: vars
                .get("METRICS_NAMESPACE")
                .unwrap_or(crate::metrics::DEFAULT_NAMESPACE)
                .to_owned(),
            family: vars.family()?,
            poll,
        })
    }
}

/// The environment, read with one rule per kind of value; blank counts as unset.
struct Vars<'a>(&'a HashMap<String, String>);

impl Vars<'_> {
    fn get(&self, name: &'static str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name)
            .map(str::to_owned)
            .ok_or(ConfigError::Missing(name))
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

fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}
