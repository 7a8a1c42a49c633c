//! Configuration is read once, typed, and fails clearly.

use std::collections::HashMap;

use chrono::Duration;
use jobwatch::config::Config;
use jobwatch::domain::{
    default_running_after, default_stuck_after, AlertSettings, JobKind, JobStatus, NotifyOn, Phase,
};
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
fn cost_alert_usd_is_an_optional_positive_amount() {
    let unset = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(unset.poll.cost_alert_usd, None);
    let set = Config::from_vars(&vars(&[("COST_ALERT_USD", "12.5")])).unwrap();
    assert_eq!(set.poll.cost_alert_usd, Some(12.5));
}

#[test]
fn cost_owner_tag_is_one_optional_tag_key() {
    let unset = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(unset.poll.cost_owners.tag(), None);
    let set = Config::from_vars(&vars(&[("COST_OWNER_TAG", " cost-center ")])).unwrap();
    assert_eq!(set.poll.cost_owners.tag(), Some("cost-center"));
}

#[test]
fn progress_metrics_are_off_unless_switched_on() {
    let unset = Config::from_vars(&vars(&[])).unwrap();
    assert!(!unset.poll.progress_metrics);
    let on = Config::from_vars(&vars(&[("PROGRESS_METRICS", "on")])).unwrap();
    assert!(on.poll.progress_metrics);
    let off = Config::from_vars(&vars(&[("PROGRESS_METRICS", "OFF")])).unwrap();
    assert!(!off.poll.progress_metrics);
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
        ("ALERTS", "sometimes"),
        ("ALERT_STALLED_AFTER", "2 hours"),
        ("ALERT_STALLED_AFTER", "0h"),
        ("ALERT_STUCK_AFTER", "batch=6h"),
        ("ALERT_RUNNING_AFTER", "model-import=soon"),
        ("ALERT_OVERDUE_FACTOR", "0.5"),
        ("ALERT_OVERDUE_MIN_HISTORY", "0"),
        ("ALERT_IDLE_AFTER", "0"),
        ("ALERT_IDLE_AFTER", "24h"),
        ("JOB_FAMILY", "batch"),
        ("ACCOUNT_NAME", "a-name-far-too-long-for-any-subject-line"),
        ("EMAIL_DETAIL", "some"),
        ("NOTIFY_TAGS", "team,owner,project,cost"),
        ("NOTIFY_TAGS", "cost center"),
        ("PEOPLE_TOPIC_ARN", "people"),
        ("DIGEST_THRESHOLD", "0"),
        ("DIGEST_THRESHOLD", "video=5"),
        ("COST_ALERT_USD", "0"),
        ("COST_ALERT_USD", "-5"),
        ("COST_ALERT_USD", "$50"),
        ("COST_ALERT_USD", "NaN"),
        ("COST_OWNER_TAG", "owner,team"),
        ("COST_OWNER_TAG", &"k".repeat(129)),
        ("COST_ESTIMATES", "maybe"),
        ("PROGRESS_METRICS", "yes please"),
    ] {
        let err = Config::from_vars(&vars(&[(name, value)])).unwrap_err();
        assert!(err.to_string().contains(name), "{name}={value}: {err}");
    }
}

#[test]
fn alerts_are_on_by_default_and_thresholds_are_read_per_family() {
    let defaults = Config::from_vars(&vars(&[])).unwrap().poll.alerts;
    assert_eq!(defaults, AlertSettings::default());
    assert!(defaults.enabled);

    let config = Config::from_vars(&vars(&[
        ("ALERT_STUCK_AFTER", "2h, batch-inference=12h"),
        ("ALERT_STALLED_AFTER", "90m"),
        ("ALERT_RUNNING_AFTER", "model-customization=3d"),
        ("ALERT_EXPIRY_WARNING", "1d"),
        ("ALERT_OVERDUE_FACTOR", "2.5"),
        ("ALERT_OVERDUE_MIN_HISTORY", "10"),
        ("ALERT_IDLE_AFTER", "48"),
    ]))
    .unwrap();
    let alerts = config.poll.alerts;
    let stuck = |kind| alerts.stuck_after.for_kind(kind, default_stuck_after);
    assert_eq!(stuck(JobKind::BatchInference), Duration::hours(12));
    assert_eq!(stuck(JobKind::ModelImport), Duration::hours(2));
    let running = |kind| alerts.running_after.for_kind(kind, default_running_after);
    assert_eq!(running(JobKind::ModelCustomization), Duration::days(3));
    assert_eq!(
        running(JobKind::AsyncInvoke),
        default_running_after(JobKind::AsyncInvoke)
    );
    assert_eq!(alerts.stalled_after, Duration::minutes(90));
    assert_eq!(alerts.expiry_warning, Duration::days(1));
    assert_eq!(
        (alerts.overdue_factor, alerts.overdue_min_history),
        (2.5, 10)
    );
    assert_eq!(
        (alerts.idle.after, alerts.idle.repeat),
        (Duration::hours(48), Duration::hours(24)),
        "ALERT_IDLE_AFTER is hours; the repeat stays a day"
    );

    let off = Config::from_vars(&vars(&[("ALERTS", "off")])).unwrap();
    assert!(!off.poll.alerts.enabled);
}

#[test]
fn the_family_is_named_by_its_stable_name() {
    assert_eq!(Config::from_vars(&vars(&[])).unwrap().family, None);
    for kind in JobKind::ALL {
        let config = Config::from_vars(&vars(&[("JOB_FAMILY", kind.as_str())])).unwrap();
        assert_eq!(config.family, Some(kind));
    }
}

/// One variable says which families the stack watches, for the worker and the register
/// consumer alike: the template joins its `WatchedFamilies` parameter (the mapping's keys).
#[test]
fn the_watched_families_come_from_names_or_the_template_keys() {
    type Case<'a> = (Option<&'a str>, Result<Vec<JobKind>, &'a str>);
    let cases: [Case; 6] = [
        (None, Ok(JobKind::ALL.to_vec())),
        (Some(" "), Ok(JobKind::ALL.to_vec())),
        (
            Some("model-import, batch-inference"),
            Ok(vec![JobKind::ModelImport, JobKind::BatchInference]),
        ),
        (
            Some("BatchInference,Customization,model-customization"),
            Ok(vec![JobKind::BatchInference, JobKind::ModelCustomization]),
        ),
        (Some("batch-inference=true"), Err("not a known job family")),
        (Some("Batch"), Err("not a known job family")),
    ];
    for (value, expected) in cases {
        let env = vars(
            &value
                .map(|v| vec![("WATCHED_FAMILIES", v)])
                .unwrap_or_default(),
        );
        match (Config::from_vars(&env).map(|c| c.watched), expected) {
            (Ok(kinds), Ok(expected)) => assert_eq!(kinds, expected, "{value:?}"),
            (Err(e), Err(reason)) => {
                assert_eq!(e.variable(), "WATCHED_FAMILIES");
                assert!(e.to_string().contains(reason), "{e}");
            }
            (other, expected) => panic!("{value:?}: {other:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn notification_variables_are_parsed() {
    use jobwatch::domain::JobKind;
    use jobwatch::notices::EmailDetail;
    let config = Config::from_vars(&vars(&[
        ("ACCOUNT_NAME", "prod"),
        ("EMAIL_DETAIL", "Minimal"),
        ("NOTIFY_TAGS", "team, owner"),
        (
            "PEOPLE_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:people",
        ),
        ("DIGEST_THRESHOLD", "async-invoke=5, 20"),
    ]))
    .unwrap();
    let p = &config.poll.presentation;
    assert_eq!(p.account_name.as_deref(), Some("prod"));
    assert_eq!(p.email_detail, EmailDetail::Minimal);
    assert_eq!(p.notify_tags, ["team", "owner"]);
    assert!(config.sinks.people_topic_arn.is_some());
    assert_eq!(config.digest.for_kind(JobKind::AsyncInvoke), Some(5));
    assert_eq!(config.digest.for_kind(JobKind::BatchInference), Some(20));
    let none = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(none.digest.for_kind(JobKind::AsyncInvoke), None);
    assert!(!none.poll.presentation.reads_tags());
}

#[test]
fn the_chat_topic_and_the_event_bus_are_optional_sinks() {
    // Given nothing: no chat, no bus, four calls in flight per sink
    let none = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(
        (none.sinks.chat_topic_arn, none.sinks.event_bus),
        (None, None)
    );
    assert_eq!(none.sinks.publish_concurrency, 4);
    // Given both, and a bus by name or ARN
    let bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/jobs";
    for bus in ["default", "jobs-bus", bus_arn] {
        let config = Config::from_vars(&vars(&[
            ("CHAT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:chat"),
            ("EVENT_BUS_NAME", bus),
            ("PUBLISH_CONCURRENCY", "8"),
        ]))
        .unwrap();
        assert_eq!(config.sinks.event_bus.as_deref(), Some(bus));
        assert!(config.sinks.chat_topic_arn.is_some());
        assert_eq!(config.sinks.publish_concurrency, 8);
    }
    // Then anything else is refused, naming the variable
    for (name, value) in [
        ("CHAT_TOPIC_ARN", "chat"),
        ("EVENT_BUS_NAME", "my bus"),
        ("EVENT_BUS_NAME", "arn:aws:sns:us-east-1:123456789012:topic"),
        ("PUBLISH_CONCURRENCY", "0"),
        ("PUBLISH_CONCURRENCY", "100"),
    ] {
        match Config::from_vars(&vars(&[(name, value)])) {
            Err(ConfigError::Invalid { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
}
