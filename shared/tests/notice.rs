//! Notices: stable keys, safe subjects, bounded bodies, filterable attributes.

use chrono::{TimeZone, Utc};
use jobwatch::domain::{
    plan, JobArn, JobKind, JobStatus, Notice, NotifyPolicy, ObservedJob, PlanContext, RecordCounts,
    RunId,
};

fn record(name: &str, message: Option<String>) -> jobwatch::domain::JobRecord {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    let job = ObservedJob {
        kind: JobKind::BatchInference,
        arn: JobArn::new(
            "arn:aws:bedrock:eu-west-1:123456789012:model-invocation-job/abcdefghijkl",
        ),
        name: Some(name.to_owned()),
        status: JobStatus::new("Failed"),
        model_id: Some("amazon.nova-lite-v1:0".into()),
        message,
        submit_time: now - chrono::Duration::minutes(90),
        end_time: Some(now),
        input_s3_uri: None,
        output_s3_uri: Some("s3://out/".into()),
        counts: RecordCounts {
            total: Some(4),
            processed: Some(4),
            success: Some(3),
            error: Some(1),
            ..Default::default()
        },
        details: Default::default(),
    };
    let policy = NotifyPolicy::default();
    let ctx = PlanContext {
        now,
        history_before: None,
        policy: &policy,
        region: "eu-west-1",
        retention: chrono::Duration::days(1),
        run_id: &RunId::new("r"),
        lease: chrono::Duration::minutes(1),
    };
    plan(None, &job, &ctx).unwrap().record
}

#[test]
fn the_body_carries_the_job_and_a_stable_dedup_key() {
    let notice = Notice::new(&record("nightly", None), &JobStatus::new("Failed"));
    let again = Notice::new(&record("nightly", None), &JobStatus::new("Failed"));
    assert_eq!(notice, again, "retries publish the same message");
    assert_eq!(
        notice.dedup_key,
        "arn:aws:bedrock:eu-west-1:123456789012:model-invocation-job/abcdefghijkl#Failed"
    );
    assert_eq!(notice.body["durationSeconds"], 5400);
    assert_eq!(notice.body["region"], "eu-west-1");
    assert_eq!(notice.body["account"], "123456789012");
    assert_eq!(notice.body["outcome"], "failure");
    assert_eq!(notice.body["recordCounts"]["success"], 3);
    let attrs: std::collections::HashMap<_, _> = notice.attributes.iter().cloned().collect();
    assert_eq!(attrs["job_kind"], "batch-inference");
    assert_eq!(attrs["outcome"], "failure");
    assert_eq!(attrs["model_id"], "amazon.nova-lite-v1:0");
}

#[test]
fn subjects_are_one_line_of_ascii_within_100_characters() {
    for name in [
        "ünïcødé-名前-🚀",
        "line\nbreak\r\ttab",
        &"x".repeat(1024),
        "",
    ] {
        let notice = Notice::new(&record(name, None), &JobStatus::new("Failed"));
        let s = &notice.subject;
        assert!(!s.is_empty() && s.len() <= 100, "{s:?}");
        assert!(s.chars().all(|c| (' '..='~').contains(&c)), "{s:?}");
        // the body keeps the real name (JSON escapes it), cut and marked beyond 256 characters
        let body_name = notice.body["jobName"].as_str().unwrap();
        if name.chars().count() <= 256 {
            assert_eq!(body_name, name);
        } else {
            assert!(body_name.starts_with(&name[..256]) && body_name.ends_with("[truncated]"));
        }
    }
}

#[test]
fn long_failure_messages_are_truncated_and_say_so() {
    let notice = Notice::new(
        &record("big", Some("e".repeat(300_000))),
        &JobStatus::new("Failed"),
    );
    assert_eq!(notice.body["messageTruncated"], true);
    assert!(notice.body.to_string().len() < 16 * 1024);
}

#[test]
fn manifest_locations_follow_the_documented_layout() {
    use jobwatch::adapters::manifest::manifest_location;
    let loc = |uri| manifest_location(uri, "abcdefghijkl");
    assert_eq!(
        loc("s3://bucket/out/"),
        Some(("bucket".into(), "out/abcdefghijkl/manifest.json.out".into()))
    );
    assert_eq!(
        loc("s3://bucket/out"),
        Some(("bucket".into(), "out/abcdefghijkl/manifest.json.out".into()))
    );
    assert_eq!(
        loc("s3://bucket"),
        Some(("bucket".into(), "abcdefghijkl/manifest.json.out".into()))
    );
    assert_eq!(loc("https://bucket/out"), None);
    assert_eq!(loc("s3:///out"), None);
}
