//! Notices: stable keys, safe subjects, bounded bodies, filterable attributes.

use chrono::{TimeZone, Utc};
use jobwatch::domain::{
    plan, JobArn, JobKind, JobStatus, NotifyPolicy, ObservedJob, PlanContext, RecordCounts, RunId,
};
use jobwatch::notices::{tag_attribute, Notice, Presentation, Tags};

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
        deadline: None,
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
fn subjects_are_one_line_under_100_characters() {
    for name in [
        "ünïcødé-名前-🚀",
        "line\nbreak\r\ttab",
        &"x".repeat(1024),
        &"名".repeat(200),
        "",
    ] {
        let notice = Notice::new(&record(name, None), &JobStatus::new("Failed"));
        let s = &notice.subject;
        assert!(!s.is_empty() && s.len() < 100, "{s:?}");
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert!(s.starts_with("[Bedrock] Failed: batch inference"), "{s:?}");
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
fn a_200_character_name_keeps_the_status_and_the_account_name_in_the_subject() {
    // given
    let name = format!("{}-ñ", "nightly-summaries-".repeat(11));
    let presentation = Presentation {
        account_name: Some("prod-eu".into()),
        ..Default::default()
    };

    // when
    let notice = Notice::build(
        &record(&name, None),
        &JobStatus::new("PartiallyCompleted"),
        &presentation,
        &Tags::new(),
    );

    // then only the name was shortened, and says so
    let s = &notice.subject;
    assert!(s.len() < 100, "{s:?} is {} bytes", s.len());
    assert!(s.starts_with("[Bedrock] PartiallyCompleted: batch inference nightly-summaries-"));
    assert!(s.ends_with("… (prod-eu)"), "{s:?}");
    assert_eq!(notice.body["accountName"], "prod-eu");
    assert!(notice.email.contains("prod-eu (123456789012)"));
}

#[test]
fn kept_tags_go_in_the_body_and_as_tag_attributes() {
    let tags: Tags = [("team".to_owned(), "search".to_owned())].into();
    let notice = Notice::build(
        &record("tagged", None),
        &JobStatus::new("Failed"),
        &Presentation::default(),
        &tags,
    );
    assert_eq!(notice.body["tags"]["team"], "search");
    assert!(notice
        .attributes
        .contains(&("tag.team".to_owned(), "search".to_owned())));
}

#[test]
fn only_keys_that_make_attribute_names_become_attributes() {
    assert_eq!(tag_attribute("team").as_deref(), Some("tag.team"));
    assert_eq!(
        tag_attribute("cost-center_2").as_deref(),
        Some("tag.cost-center_2")
    );
    for bad in ["", "a b", "x.", "a..b", "k:v", "ü"] {
        assert_eq!(tag_attribute(bad), None, "{bad:?}");
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

#[test]
fn the_jobs_account_is_an_attribute_within_the_ten_attribute_budget() {
    // given a notice with no account name and no tags: its account is an attribute
    let plain = Notice::build(
        &record("plain", None),
        &JobStatus::new("Failed"),
        &Presentation::default(),
        &Tags::new(),
    );
    let attrs: std::collections::HashMap<_, _> = plain.attributes.iter().cloned().collect();
    assert_eq!(attrs["account"], "123456789012");
    assert_eq!(attrs["region"], "eu-west-1");
    // given an account name and three tags (the most NOTIFY_TAGS allows): still at most 10,
    // every tag and the account name kept
    let tags: Tags = [("a", "1"), ("b", "2"), ("c", "3")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    let full = Presentation {
        account_name: Some("prod".into()),
        ..Presentation::default()
    };
    let notice = Notice::build(
        &record("full", None),
        &JobStatus::new("Failed"),
        &full,
        &tags,
    );
    let names: Vec<&str> = notice.attributes.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.len() <= 10, "{names:?}");
    for kept in ["account_name", "tag.a", "tag.b", "tag.c"] {
        assert!(names.contains(&kept), "{names:?}");
    }
}
