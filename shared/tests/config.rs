//! Configuration is read once, typed, and fails clearly.

use std::collections::HashMap;

use jobwatch::config::Config;
use jobwatch::domain::{JobKind, JobStatus, NotifyOn, Phase};
use jobwatch::error::ConfigError;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let mut base: HashMap<String, String> = [
        ("JOBS_TABLE", "jobs"),
        (
            "NOTIFY_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:jobwatch",
        ),
        ("AWS_REGION", "us-east-1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        base.insert(k.to_string(), v.to_string());
    }
    base
}

#[test]
fn defaults_apply_when_only_the_required_variables_are_set() {
    let config = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(config.table, "jobs");
    assert_eq!(
        config.poll.policy.on, None,
        "every terminal status of the family"
    );
    assert!(!config.poll.policy.on_first_sight);
    assert_eq!(config.poll.lookback, chrono::Duration::hours(336));
    assert_eq!(config.poll.list_margin, chrono::Duration::minutes(15));
    assert_eq!(config.poll.get_concurrency, 8);
}

#[test]
fn optional_variables_are_parsed() {
    let config = Config::from_vars(&vars(&[
        ("NOTIFY_STATUSES", "Failed, PartiallyCompleted, succeeded"),
        ("NOTIFY_ON_FIRST_SIGHT", "TRUE"),
        ("LOOKBACK_HOURS", "48"),
    ]))
    .unwrap();
    assert_eq!(
        config.poll.policy.on,
        Some(vec![
            NotifyOn::Phase(Phase::Failed),
            NotifyOn::Status(JobStatus::new("PartiallyCompleted")),
            NotifyOn::Phase(Phase::Succeeded),
        ])
    );
    assert!(config.poll.policy.on_first_sight);
    assert_eq!(config.poll.lookback, chrono::Duration::hours(48));
}

#[test]
fn missing_and_invalid_values_name_the_variable() {
    let mut no_table = vars(&[]);
    no_table.remove("JOBS_TABLE");
    assert!(matches!(
        Config::from_vars(&no_table),
        Err(ConfigError::Missing("JOBS_TABLE"))
    ));
    for (name, value) in [
        ("NOTIFY_TOPIC_ARN", "my-topic"),
        ("LOOKBACK_HOURS", "-1"),
        ("LOOKBACK_HOURS", "soon"),
        ("NOTIFY_ON_FIRST_SIGHT", "maybe"),
        ("GET_CONCURRENCY", "0"),
        ("NOTIFY_STATUSES", " , "),
        ("JOB_FAMILY", "batch"),
    ] {
        let err = Config::from_vars(&vars(&[(name, value)])).unwrap_err();
        assert!(err.to_string().contains(name), "{name}={value}: {err}");
    }
}

#[test]
fn the_family_is_named_by_its_stable_name() {
    assert_eq!(Config::from_vars(&vars(&[])).unwrap().family, None);
    for kind in JobKind::ALL {
        let config = Config::from_vars(&vars(&[("JOB_FAMILY", kind.as_str())])).unwrap();
        assert_eq!(config.family, Some(kind));
    }
}
