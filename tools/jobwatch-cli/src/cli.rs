//! The command line, and the checks of its values (what clap cannot know).

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use jobwatch::domain::{JobArn, JobKind, JobStatus};

use crate::error::CliError;

#[derive(Debug, Parser)]
#[command(
    name = "jobwatch-cli",
    version,
    about = "Operate bedrock-jobwatch: status, show, renotify, backfill, test-notify"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// A command as typed.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open jobs per family with their age and phase, pending notices, each family's last run.
    Status {
        /// One JSON document instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// One job's item and the notifications published for it.
    Show {
        /// The job's ARN.
        arn: String,
        #[arg(long)]
        json: bool,
    },
    /// Re-sends the job's notification through the normal path, marked as a re-send.
    Renotify {
        /// The job's ARN.
        arn: String,
    },
    /// Records jobs submitted since a time older than the first run's look-back; open ones
    /// are watched from then on and notified once when they finish.
    Backfill {
        /// RFC 3339 (`2026-10-01T00:00:00Z`), a date (`2026-10-01`, midnight UTC), or an age
        /// (`30d`, `12h`).
        #[arg(long)]
        since: String,
        /// Only this family (default: every family).
        #[arg(long)]
        family: Option<String>,
    },
    /// Publishes a clearly marked test notification through every configured sink.
    TestNotify {
        /// The status the made-up batch job reports (to check filter policies):
        /// Completed, PartiallyCompleted, Failed, Stopped or Expired.
        #[arg(long, default_value = "Completed")]
        status: String,
    },
}

/// A command once its values are checked.
#[derive(Debug)]
pub enum Task {
    Status {
        json: bool,
    },
    Show {
        arn: JobArn,
        json: bool,
    },
    Renotify {
        arn: JobArn,
    },
    Backfill {
        since: DateTime<Utc>,
        kinds: Vec<JobKind>,
    },
    TestNotify {
        status: JobStatus,
    },
}

impl Command {
    /// Checks every value; a wrong one is a clear message and exit code 2.
    pub fn validated(self, now: DateTime<Utc>) -> Result<Task, CliError> {
        Ok(match self {
            Command::Status { json } => Task::Status { json },
            Command::Show { arn, json } => Task::Show {
                arn: job_arn(&arn)?,
                json,
            },
            Command::Renotify { arn } => Task::Renotify {
                arn: job_arn(&arn)?,
            },
            Command::Backfill { since, family } => Task::Backfill {
                since: parse_since(&since, now)?,
                kinds: match family {
                    Some(name) => vec![kind(&name)?],
                    None => JobKind::ALL.to_vec(),
                },
            },
            Command::TestNotify { status } => Task::TestNotify {
                status: test_status(&status)?,
            },
        })
    }
}

/// A finished batch inference status, for the made-up job of a test notification.
fn test_status(raw: &str) -> Result<JobStatus, CliError> {
    let family = JobKind::BatchInference.family();
    family
        .terminal_statuses()
        .find(|s| s.as_str() == raw)
        .ok_or_else(|| {
            let valid: Vec<String> = family.terminal_statuses().map(|s| s.to_string()).collect();
            CliError::BadInput(format!(
                "--status {raw:?} is not a finished batch inference status; one of: {}",
                valid.join(", ")
            ))
        })
}

/// A Bedrock job ARN (`arn:<partition>:bedrock:<region>:<account>:<resource>/<id>`).
pub fn job_arn(raw: &str) -> Result<JobArn, CliError> {
    let parts: Vec<&str> = raw.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "bedrock"
        && !parts[3].is_empty()
        && parts[5].contains('/');
    match valid {
        true => Ok(JobArn::new(raw)),
        false => Err(CliError::BadInput(format!(
            "{raw:?} is not a Bedrock job ARN (arn:aws:bedrock:<region>:<account>:<kind>/<id>)"
        ))),
    }
}

/// A family by its name (`batch-inference`, ...).
pub fn kind(name: &str) -> Result<JobKind, CliError> {
    JobKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
            CliError::BadInput(format!(
                "unknown family {name:?}; one of: {}",
                names.join(", ")
            ))
        })
}

/// `--since`: an instant in the past.
pub fn parse_since(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, CliError> {
    let raw = raw.trim();
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
        .or_else(|| age(raw).map(|a| now - a));
    match parsed {
        Some(t) if t < now => Ok(t),
        Some(t) => Err(CliError::BadInput(format!(
            "--since {t} is not in the past"
        ))),
        None => Err(CliError::BadInput(format!(
            "--since {raw:?} is not a time: use RFC 3339 (2026-10-01T00:00:00Z), a date (2026-10-01) or an age (30d, 12h)"
        ))),
    }
}

fn age(raw: &str) -> Option<chrono::Duration> {
    let (number, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: i64 = number.parse().ok().filter(|n| *n > 0 && *n <= 3650 * 24)?;
    match unit {
        "d" => Some(chrono::Duration::days(n)),
        "h" => Some(chrono::Duration::hours(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }

    #[test]
    fn since_takes_rfc3339_dates_and_ages_in_the_past_only() {
        let at = |s: &str| parse_since(s, now()).ok();
        assert_eq!(
            at("2026-10-01T06:00:00Z"),
            Some(Utc.with_ymd_and_hms(2026, 10, 1, 6, 0, 0).unwrap())
        );
        assert_eq!(
            at("2026-10-01"),
            Some(Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(at("30d"), Some(now() - chrono::Duration::days(30)));
        assert_eq!(at("12h"), Some(now() - chrono::Duration::hours(12)));
        for bad in ["yesterday", "2026-13-01", "30x", "-3d", "", "2027-01-01"] {
            assert!(at(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn only_bedrock_job_arns_are_accepted() {
        assert!(job_arn("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc").is_ok());
        for bad in [
            "abc",
            "arn:aws:s3:::bucket/key",
            "arn:aws:bedrock:us-east-1:123456789012:nothing",
        ] {
            assert!(job_arn(bad).is_err(), "{bad}");
        }
    }
}
