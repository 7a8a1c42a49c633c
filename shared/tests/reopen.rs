//! The re-opening lifecycle of resources, as pure rules: a settled throughput or deployment is
//! changed only by a later-dated observation, each settling is notified with its own dedup key,
//! a stale listing never re-opens it, jobs never re-open, and alerts on a re-opened resource
//! measure from the update, not from its creation.

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobwatch::domain::{
    due, plan, AlertInputs, AlertSettings, JobArn, JobKind, JobRecord, JobStatus, NotifyPolicy,
    ObservedJob, PlanContext, RunId, Skip,
};
use jobwatch::notices::Notice;

const PT: &str = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A throughput created 90 days ago, in `status`, last modified at `modified`.
fn throughput(status: &str, modified: DateTime<Utc>) -> ObservedJob {
    ObservedJob {
        kind: JobKind::ProvisionedThroughput,
        arn: JobArn::new(PT),
        name: Some("pt-support".into()),
        status: JobStatus::new(status),
        model_id: Some("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0".into()),
        message: None,
        submit_time: now() - Duration::days(90),
        end_time: None,
        input_s3_uri: None,
        output_s3_uri: None,
        counts: Default::default(),
        deadline: None,
        details: [
            ("modelUnits".to_owned(), "2".to_owned()),
            ("lastModifiedTime".to_owned(), stamp(modified)),
        ]
        .into(),
    }
}

fn run_id() -> &'static RunId {
    static ID: std::sync::OnceLock<RunId> = std::sync::OnceLock::new();
    ID.get_or_init(|| RunId::new("run-1"))
}

fn ctx(policy: &NotifyPolicy) -> PlanContext<'_> {
    PlanContext {
        now: now(),
        history_before: None,
        policy,
        region: "us-east-1",
        retention: Duration::days(90),
        run_id: run_id(),
        lease: Duration::minutes(5),
    }
}

/// The record after `steps` observations in order, each planned against the last.
fn after(steps: &[ObservedJob]) -> JobRecord {
    let policy = NotifyPolicy::default();
    let mut record: Option<JobRecord> = None;
    for step in steps {
        record = Some(plan(record.as_ref(), step, &ctx(&policy)).unwrap().record);
    }
    record.unwrap()
}

#[test]
fn a_settled_throughput_that_is_updated_is_watched_again_and_its_next_settling_notified() {
    // Given a throughput InService since t1
    let t1 = now() - Duration::hours(5);
    let settled = after(&[
        throughput("Creating", t1 - Duration::hours(1)),
        throughput("InService", t1),
    ]);
    assert!(!settled.is_open(), "InService is settled");
    let policy = NotifyPolicy::default();

    // When it is seen Updating (dated later), then InService again
    let t2 = now() - Duration::hours(1);
    let reopened = plan(Some(&settled), &throughput("Updating", t2), &ctx(&policy)).unwrap();
    assert!(!reopened.notify, "Updating is not news");
    assert!(reopened.record.is_open() && reopened.record.watch.is_some());
    let t3 = now() - Duration::minutes(10);
    let resettled = plan(
        Some(&reopened.record),
        &throughput("InService", t3),
        &ctx(&policy),
    )
    .unwrap();

    // Then the second settling is notified, with a key of its own
    assert!(resettled.notify);
    let status = JobStatus::new("InService");
    let first = Notice::new(&settled, &status);
    let second = Notice::new(&resettled.record, &status);
    assert_eq!(first.dedup_key, format!("{PT}#InService#{}", stamp(t1)));
    assert_eq!(second.dedup_key, format!("{PT}#InService#{}", stamp(t3)));
}

#[test]
fn a_stale_or_same_settled_observation_never_reopens_a_resource() {
    let t1 = now() - Duration::hours(5);
    let settled = after(&[
        throughput("Creating", t1 - Duration::hours(1)),
        throughput("InService", t1),
    ]);
    let policy = NotifyPolicy::default();
    // A stale listing from before the settling, showing it still Creating
    let stale = throughput("Creating", t1 - Duration::hours(1));
    assert_eq!(
        plan(Some(&settled), &stale, &ctx(&policy)),
        Err(Skip::AlreadyTerminal)
    );
    // The same status again, run after run (even with a newer date): nothing
    let again = throughput("InService", t1 + Duration::hours(1));
    assert_eq!(
        plan(Some(&settled), &again, &ctx(&policy)),
        Err(Skip::Unchanged)
    );
}

#[test]
fn a_finished_job_never_reopens_whatever_its_details_say() {
    let arn = "arn:aws:bedrock:us-east-1:123456789012:model-import-job/abcdefghijkl";
    let job = |status: &str, modified: DateTime<Utc>| ObservedJob {
        kind: JobKind::ModelImport,
        arn: JobArn::new(arn),
        ..throughput(status, modified)
    };
    let done = after(&[
        job("InProgress", now() - Duration::hours(2)),
        job("Completed", now() - Duration::hours(1)),
    ]);
    let policy = NotifyPolicy::default();
    let later = job("InProgress", now());
    assert_eq!(
        plan(Some(&done), &later, &ctx(&policy)),
        Err(Skip::AlreadyTerminal)
    );
    assert_eq!(
        Notice::new(&done, &done.status).dedup_key,
        format!("{arn}#Completed")
    );
}

#[test]
fn alerts_on_a_reopened_resource_measure_from_the_update_not_its_creation() {
    let t1 = now() - Duration::days(30);
    let settled = after(&[
        throughput("Creating", t1 - Duration::hours(1)),
        throughput("InService", t1),
    ]);
    let policy = NotifyPolicy::default();
    let update_began = now() - Duration::minutes(20);
    let reopened = plan(
        Some(&settled),
        &throughput("Updating", update_began),
        &ctx(&policy),
    )
    .unwrap()
    .record;
    assert_eq!(reopened.started_at(), update_began);
    let settings = AlertSettings::default();
    let inputs = AlertInputs {
        now: now(),
        settings: &settings,
        fresh_counts: None,
        median: None,
        activity: None,
    };
    assert_eq!(
        due(&reopened, &inputs),
        None,
        "20 minutes of updating is not stalled"
    );
}
