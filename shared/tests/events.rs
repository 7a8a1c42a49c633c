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
