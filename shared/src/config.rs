//! Typed configuration, read once from the environment at cold start.

use std::collections::HashMap;

use chrono::Duration;

use crate::domain::{JobStatus, NotifyPolicy};
use crate::error::ConfigError;

/// Everything a poller needs besides the SDK's own settings (`AWS_REGION`, `AWS_ENDPOINT_URL_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `JOBS_TABLE`: DynamoDB table name.
    pub table: String,
    /// `NOTIFY_TOPIC_ARN`: SNS topic for notifications.
    pub topic_arn: String,
    /// `NOTIFY_STATUSES` (comma-separated) and `NOTIFY_ON_FIRST_SIGHT`.
    pub policy: NotifyPolicy,
    /// `LOOKBACK_HOURS` (default 336 = 14 days): how far the first run looks back.
    pub lookback: Duration,
    /// `LIST_MARGIN_MINUTES` (default 15): overlap of each listing with the previous one.
    pub list_margin: Duration,
    /// `GET_CONCURRENCY` (default 8): parallel Get calls when reconciling open jobs.
    pub get_concurrency: usize,
    /// `RETENTION_DAYS` (default 90): TTL of items for finished jobs.
    pub retention: Duration,
    /// `PUBLISH_LEASE_SECONDS` (default 300): how long a run may hold a notice before another
    /// run may publish it (keep it above the function timeout).
    pub publish_lease: Duration,
    /// `READ_OUTPUT_MANIFEST` (default false): batch jobs read `manifest.json.out` from their
    /// output location for counts and token totals (needs `s3:GetObject` there).
    pub read_output_manifest: bool,
    /// `AWS_REGION`: the region polled and recorded.
    pub region: String,
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
        let statuses = match get("NOTIFY_STATUSES") {
            None => JobStatus::TERMINAL.to_vec(),
            Some(list) => {
                let parsed: Vec<JobStatus> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(JobStatus::parse)
                    .collect();
                if parsed.is_empty() {
                    return Err(invalid("NOTIFY_STATUSES", list, "no status given"));
                }
                parsed
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
        Ok(Self {
            table: required("JOBS_TABLE")?,
            topic_arn,
            policy: NotifyPolicy {
                statuses,
                on_first_sight,
            },
            lookback: Duration::hours(number("LOOKBACK_HOURS", 336, 1, 24 * 366)?),
            list_margin: Duration::minutes(number("LIST_MARGIN_MINUTES", 15, 0, 24 * 60)?),
            get_concurrency: number("GET_CONCURRENCY", 8, 1, 64)? as usize,
            retention: Duration::days(number("RETENTION_DAYS", 90, 1, 3650)?),
            publish_lease: Duration::seconds(number("PUBLISH_LEASE_SECONDS", 300, 1, 86_400)?),
            read_output_manifest: flag("READ_OUTPUT_MANIFEST")?,
            region: get("AWS_REGION")
                .or_else(|| get("AWS_DEFAULT_REGION"))
                .map(str::to_owned)
                .ok_or(ConfigError::Missing("AWS_REGION"))?,
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
