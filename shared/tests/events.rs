//! The handler's view of incoming events: the files in `events/` and hostile input.

use jobwatch::handler::{classify, Trigger};
use proptest::prelude::*;
use serde_json::{json, Value};

fn event(file: &str) -> Value {
    serde_json::from_str(file).expect("valid JSON sample")
}

#[test]
fn the_scheduled_sample_event_triggers_a_poll() {
    assert_eq!(
        classify(&event(include_str!("../../events/scheduled.json"))).unwrap(),
        Trigger::Poll
    );
}

/// What the deployed schedules really send: EventBridge Scheduler (`ScheduleV2`, no `Input`)
/// names itself `aws.scheduler` and sends `detail` as the *string* `"{}"`, not an object.
#[test]
fn the_eventbridge_scheduler_payload_triggers_a_poll() {
    let payload = event(include_str!("../../events/scheduler.json"));
    assert_eq!(payload["source"], "aws.scheduler");
    assert_eq!(payload["detail"], json!("{}"));
    assert_eq!(classify(&payload).unwrap(), Trigger::Poll);
}

#[test]
fn both_schedule_shapes_poll_whatever_their_detail() {
    for (source, detail) in [
        ("aws.events", json!({})),
        ("aws.scheduler", json!("{}")),
        ("aws.scheduler", json!({})),
    ] {
        let e = json!({
            "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": source,
            "account": "123456789012", "time": "2026-11-23T12:00:00Z", "region": "us-east-1",
            "resources": [], "detail": detail
        });
        assert_eq!(classify(&e).unwrap(), Trigger::Poll, "{e}");
    }
}

#[test]
fn a_manual_empty_invocation_triggers_a_poll() {
    assert_eq!(classify(&json!({})).unwrap(), Trigger::Poll);
}

#[test]
fn other_detail_types_are_ignored_with_a_reason() {
    match classify(&event(include_str!("../../events/unrelated.json"))).unwrap() {
        Trigger::Ignore(reason) => {
            assert!(reason.contains("EC2 Instance State-change Notification"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_events_are_clear_errors() {
    for bad in [
        json!("text"),
        json!(null),
        json!([1, 2]),
        json!({"detail-type": 5}),
        json!({"foo": "bar"}),
    ] {
        let err = classify(&bad).unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("event"), "{err}");
    }
}

proptest! {
    #[test]
    fn classifying_arbitrary_json_never_panics(raw in "\\PC{0,400}") {
        if let Ok(value) = serde_json::from_str::<Value>(&raw) {
            let _ = classify(&value);
        }
    }

    #[test]
    fn arbitrary_detail_types_are_ignored_not_failed(detail_type in "\\PC{0,2000}", source in "\\PC{0,50}") {
        let e = json!({"detail-type": detail_type, "source": source, "detail": {}});
        let result = classify(&e).unwrap();
        prop_assert_eq!(result == Trigger::Poll, detail_type == "Scheduled Event");
    }
}

#[test]
fn bedrock_state_change_samples_name_their_job() {
    let batch = classify(&event(include_str!(
        "../../events/batch-job-state-change.json"
    )))
    .unwrap();
    match batch {
        Trigger::Job {
            kind,
            arn,
            reported_status,
        } => {
            assert_eq!(kind, jobwatch::domain::JobKind::BatchInference);
            assert_eq!(arn.id(), "abcdefghijkl");
            assert_eq!(reported_status.as_deref(), Some("Completed"));
        }
        other => panic!("{other:?}"),
    }
    let tuning = classify(&event(include_str!(
        "../../events/customization-job-state-change.json"
    )))
    .unwrap();
    assert!(
        matches!(
            tuning,
            Trigger::Job {
                kind: jobwatch::domain::JobKind::ModelCustomization,
                ..
            }
        ),
        "{tuning:?}"
    );
}

#[test]
fn bedrock_events_without_a_usable_arn_are_ignored_not_failed() {
    for detail in [
        json!({}),
        json!({"batchJobArn": 5}),
        json!({"batchJobArn": "not-an-arn"}),
    ] {
        let e = json!({"detail-type": "Batch Inference Job State Change", "source": "aws.bedrock", "detail": detail});
        assert!(matches!(classify(&e).unwrap(), Trigger::Ignore(_)), "{e}");
    }
}

#[test]
fn the_budget_keeps_a_margin_before_the_deadline_even_for_short_timeouts() {
    use jobwatch::handler::budget;
    use std::time::{Duration, Instant};
    let now = 1_700_000_000_000_i64;
    let left = |b: jobwatch::Budget| {
        b.stop_at
            .map(|t| t.saturating_duration_since(Instant::now()))
    };
    // 120 s left: stop 5 s early
    let long = left(budget((now + 120_000) as u64, now)).unwrap();
    assert!(
        long <= Duration::from_millis(115_000) && long > Duration::from_millis(114_000),
        "{long:?}"
    );
    // 3 s left (Lambda's default timeout): stop a quarter early, not at once
    let short = left(budget((now + 3_000) as u64, now)).unwrap();
    assert!(
        short <= Duration::from_millis(2_250) && short > Duration::from_millis(2_000),
        "{short:?}"
    );
    // just past the deadline: nothing; no deadline, or a value that is not an epoch time (local
    // runtimes send 0 or a relative timeout): no limit
    assert!(budget((now - 1) as u64, now).exhausted());
    assert!(budget(0, now).stop_at.is_none());
    assert!(budget(30_000, now).stop_at.is_none());
}

/// The documented Data Automation event names the invocation by `job_id` only, with no
/// `resources`: the ARN is built from the event's region and account.
#[test]
fn a_data_automation_event_names_its_invocation_by_the_arn_built_from_its_id() {
    let sample = event(include_str!(
        "../../events/data-automation-job-succeeded.json"
    ));
    assert_eq!(
        classify(&sample).unwrap(),
        Trigger::Job {
            kind: jobwatch::domain::JobKind::DataAutomation,
            arn: jobwatch::domain::JobArn::new(
                "arn:aws:bedrock:us-east-1:123456789012:data-automation-invocation/25010344-03f7-4167-803a-837afdc7ce98"
            ),
            reported_status: Some("SUCCESS".into()),
        }
    );
    for detail_type in [
        "Bedrock Data Automation Job Created",
        "Bedrock Data Automation Job Failed With Client Error",
        "Bedrock Data Automation Job Failed With Service Error",
    ] {
        let mut e = sample.clone();
        e["detail-type"] = json!(detail_type);
        assert!(
            matches!(classify(&e).unwrap(), Trigger::Job { .. }),
            "{detail_type}"
        );
    }
}

#[test]
fn a_data_automation_event_whose_id_or_envelope_cannot_make_an_arn_is_ignored() {
    let sample = event(include_str!(
        "../../events/data-automation-job-succeeded.json"
    ));
    for (path, value) in [
        ("job_id", json!("../model-invocation-job/x")),
        ("job_id", json!("")),
        ("job_id", json!(42)),
        ("account", json!("not-an-account")),
        ("region", json!("us east 1")),
    ] {
        let mut e = sample.clone();
        match path {
            "job_id" => e["detail"]["job_id"] = value,
            other => e[other] = value,
        }
        assert!(
            matches!(classify(&e).unwrap(), Trigger::Ignore(_)),
            "{path}: {e}"
        );
    }
}
