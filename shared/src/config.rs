//! Typed configuration, read once from the environment at cold start.

use std::collections::HashMap;

use chrono::Duration;

use crate::domain::{NotifyOn, NotifyPolicy};
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
    /// How the poller runs (each field names its variable).
    pub poll: PollSettings,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads the configuration from a map (tests pass their own).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let required = |name: &'static str| {
            get(name)
                .map(str::to_owned)
                .ok_or(ConfigError::Missing(name))
        };
        let topic_arn = required("NOTIFY_TOPIC_ARN")?;
        if !topic_arn.starts_with("arn:") || topic_arn.split(':').count() < 6 {
            return Err(invalid(
                "NOTIFY_TOPIC_ARN",
                &topic_arn,
                "expected an SNS topic ARN",
            ));
        }
        // Raw statuses as the API sends them, or phases by name (`failed`, `succeeded`, ...).
        let on = match get("NOTIFY_STATUSES") {
            None => None,
            Some(list) => {
                let parsed: Vec<NotifyOn> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(NotifyOn::parse)
                    .collect();
                if parsed.is_empty() {
                    return Err(invalid("NOTIFY_STATUSES", list, "no status given"));
                }
                Some(parsed)
            }
        };
        let flag = |name: &'static str| -> Result<bool, ConfigError> {
            match get(name) {
                None => Ok(false),
                Some(v) => match v.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => Ok(true),
                    "false" | "0" | "no" => Ok(false),
                    _ => Err(invalid(name, v, "expected true or false")),
                },
            }
        };
        let on_first_sight = flag("NOTIFY_ON_FIRST_SIGHT")?;
        let number =
            |name: &'static str, default: i64, min: i64, max: i64| -> Result<i64, ConfigError> {
                match get(name) {
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
            };
        let poll = PollSettings {
            region: get("AWS_REGION")
                .or_else(|| get("AWS_DEFAULT_REGION"))
                .map(str::to_owned)
                .ok_or(ConfigError::Missing("AWS_REGION"))?,
            policy: NotifyPolicy { on, on_first_sight },
            lookback: Duration::hours(number("LOOKBACK_HOURS", 336, 1, 24 * 366)?),
            list_margin: Duration::minutes(number("LIST_MARGIN_MINUTES", 15, 0, 24 * 60)?),
            get_concurrency: number("GET_CONCURRENCY", 8, 1, 64)? as usize,
            retention: Duration::days(number("RETENTION_DAYS", 90, 1, 3650)?),
            publish_lease: Duration::seconds(number("PUBLISH_LEASE_SECONDS", 300, 1, 86_400)?),
        };
        Ok(Self {
            table: required("JOBS_TABLE")?,
            topic_arn,
            read_output_manifest: flag("READ_OUTPUT_MANIFEST")?,
            poll,
        })
    }
}

fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}
