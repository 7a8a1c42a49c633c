//! The pure status diff, exhaustively: every status pair, regressions, unknown statuses, first
//! sight, duplicates, and properties over arbitrary inputs.

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobwatch::domain::{
    plan, Family, JobArn, JobKind, JobRecord, JobStatus, NotifyOn, NotifyPolicy, ObservedJob,
    Phase, PlanContext, RecordCounts, RunId, Skip,
};
use proptest::prelude::*;

const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghijkl";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn batch() -> &'static Family {
    JobKind::BatchInference.family()
}

fn observed(status: &str) -> ObservedJob {
    ObservedJob {
        kind: JobKind::BatchInference,
        arn: JobArn::new(ARN),
        name: Some("nightly".into()),
        status: JobStatus::new(status),
        model_id: Some("anthropic.claude-3-haiku-20240307-v1:0".into()),
        message: None,
        submit_time: now() - Duration::hours(3),
        end_time: batch().is_terminal(&JobStatus::new(status)).then(now),
        input_s3_uri: Some("s3://in/x.jsonl".into()),
        output_s3_uri: Some("s3://out/".into()),
        counts: RecordCounts::default(),
        details: Default::default(),
    }
}

fn run_id() -> &'static RunId {
    static ID: std::sync::OnceLock<RunId> = std::sync::OnceLock::new();
    ID.get_or_init(|| RunId::new("run-1"))
}

/// A run's context; on a first run, every job submitted before now is history.
fn ctx(policy: &NotifyPolicy, first_run: bool) -> PlanContext<'_> {
    PlanContext {
        now: now(),
        history_before: first_run.then(now),
        policy,
        region: "us-east-1",
        retention: Duration::days(90),
        run_id: run_id(),
        lease: Duration::minutes(5),
    }
}

/// A stored record in `status`, as a previous run would have written it.
fn known(status: &str) -> JobRecord {
    let policy = NotifyPolicy {
        on: Some(vec![]),
        on_first_sight: false,
    };
    let mut record = plan(None, &observed(status), &ctx(&policy, false))
        .unwrap()
        .record;
    record.version = 7;
    record
}

const ALL: [&str; 11] = [
    "Submitted",
    "Validating",
    "Scheduled",
    "InProgress",
    "Stopping",
    "Completed",
    "PartiallyCompleted",
    "Failed",
    "Stopped",
    "Expired",
    "Hibernating",
];

#[test]
fn every_status_pair_follows_the_rules() {
    let policy = NotifyPolicy::default();
    for from in ALL {
        for to in ALL {
            // given a stored job in `from`, when Bedrock shows `to`
            let result = plan(Some(&known(from)), &observed(to), &ctx(&policy, false));
            let (f, t) = (JobStatus::new(from), JobStatus::new(to));
            let b = batch();
            // then
            match result {
                Err(Skip::Unchanged) => assert_eq!(f, t),
                Err(Skip::AlreadyTerminal) => assert!(b.is_terminal(&f) && f != t, "{from}->{to}"),
                Err(Skip::Regression) => {
                    assert!(
                        b.rank(&t) < b.rank(&f) && !b.is_terminal(&f),
                        "{from}->{to}"
                    )
                }
                Ok(change) => {
                    assert!(!b.is_terminal(&f), "terminal {from} overwritten by {to}");
                    assert_ne!(f, t);
                    assert_eq!(change.expected_version, Some(7));
                    assert_eq!(change.record.version, 8);
                    assert_eq!(change.record.status, t);
                    assert_eq!(change.record.previous_status, Some(f));
                    assert_eq!(change.notify, b.is_terminal(&t), "{from}->{to}");
                    assert_eq!(change.record.pending_status.is_some(), b.is_terminal(&t));
                }
            }
        }
    }
}

#[test]
fn terminal_status_is_never_overwritten() {
    let policy = NotifyPolicy::default();
    for terminal in batch().terminal_statuses() {
        for other in ALL.iter().filter(|s| **s != terminal.as_str()) {
            let result = plan(
                Some(&known(terminal.as_str())),
                &observed(other),
                &ctx(&policy, false),
            );
            assert_eq!(result, Err(Skip::AlreadyTerminal), "{terminal} -> {other}");
        }
    }
}

#[test]
fn unknown_statuses_are_stored_verbatim_and_keep_the_job_watched() {
    // given a job we know as InProgress, when a newer API reports a status we do not know
    let change = plan(
        Some(&known("InProgress")),
        &observed("Hibernating"),
        &ctx(&NotifyPolicy::default(), false),
    )
    .unwrap();
    // then it is recorded as is, not notified, still open
    assert_eq!(change.record.status.as_str(), "Hibernating");
    assert!(!change.notify);
    assert_eq!(
        change.record.watch.as_ref().map(|w| w.as_str()),
        Some("batch-inference#us-east-1")
    );
    assert_eq!(change.record.expires_at, None);
    // and a later known status moves it on
    let later = plan(
        Some(&change.record),
        &observed("Completed"),
        &ctx(&NotifyPolicy::default(), false),
    )
    .unwrap();
    assert!(later.notify);
}

#[test]
fn first_sight_of_a_finished_job_on_the_first_run_is_silent_by_default() {
    let default = NotifyPolicy::default();
    let change = plan(None, &observed("Failed"), &ctx(&default, true)).unwrap();
    assert!(!change.notify);
    assert_eq!(change.record.pending_status, None);
    assert_eq!(
        change.record.watch, None,
        "finished and silent: out of the watch index"
    );
    assert!(change.record.expires_at.is_some());
    assert_eq!(change.expected_version, None);
}

#[test]
fn first_sight_notifies_when_configured_or_after_the_first_run() {
    let loud = NotifyPolicy {
        on_first_sight: true,
        ..NotifyPolicy::default()
    };
    assert!(
        plan(None, &observed("Completed"), &ctx(&loud, true))
            .unwrap()
            .notify
    );
    // A job that started and finished between two runs is a real transition.
    assert!(
        plan(
            None,
            &observed("Completed"),
            &ctx(&NotifyPolicy::default(), false)
        )
        .unwrap()
        .notify
    );
}

#[test]
fn a_notifying_write_claims_the_lease_for_this_run() {
    let change = plan(
        Some(&known("InProgress")),
        &observed("Expired"),
        &ctx(&NotifyPolicy::default(), false),
    )
    .unwrap();
    assert_eq!(
        change.record.pending_status,
        Some(JobStatus::new("Expired"))
    );
    let lease = change.record.lease().expect("a lease");
    assert_eq!(lease.owner.as_str(), "run-1");
    assert_eq!(lease.until, now() + Duration::minutes(5));
    assert_eq!(
        change.record.watch.as_ref().map(|w| w.as_str()),
        Some("batch-inference#us-east-1"),
        "pending keeps it watched"
    );
    assert_eq!(change.record.expires_at, None);
}

#[test]
fn notify_statuses_are_configurable() {
    let only_failures = NotifyPolicy {
        on: Some(vec![
            NotifyOn::Status(JobStatus::new("Failed")),
            NotifyOn::Status(JobStatus::new("Expired")),
        ]),
        on_first_sight: false,
    };
    assert!(
        !plan(
            Some(&known("InProgress")),
            &observed("Completed"),
            &ctx(&only_failures, false)
        )
        .unwrap()
        .notify
    );
    assert!(
        plan(
            Some(&known("InProgress")),
            &observed("Failed"),
            &ctx(&only_failures, false)
        )
        .unwrap()
        .notify
    );
}

#[test]
fn seeing_the_same_observation_twice_changes_nothing_the_second_time() {
    let policy = NotifyPolicy::default();
    let first = plan(
        Some(&known("InProgress")),
        &observed("Completed"),
        &ctx(&policy, false),
    )
    .unwrap();
    assert_eq!(
        plan(
            Some(&first.record),
            &observed("Completed"),
            &ctx(&policy, false)
        ),
        Err(Skip::Unchanged)
    );
}

#[test]
fn details_from_the_api_are_kept_and_counts_updated() {
    let mut done = observed("PartiallyCompleted");
    done.counts = RecordCounts {
        total: Some(10),
        processed: Some(10),
        success: Some(8),
        error: Some(2),
        ..Default::default()
    };
    done.message = Some("2 records failed".into());
    let change = plan(
        Some(&known("InProgress")),
        &done,
        &ctx(&NotifyPolicy::default(), false),
    )
    .unwrap();
    assert_eq!(change.record.counts.error, Some(2));
    assert_eq!(change.record.message.as_deref(), Some("2 records failed"));
    assert_eq!(change.record.output_s3_uri.as_deref(), Some("s3://out/"));
    assert_eq!(change.record.end_time, Some(now()));
}

fn any_status() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(ALL.to_vec()).prop_map(str::to_owned),
        "\\PC{0,40}",
    ]
}

proptest! {
    #[test]
    fn planning_never_panics_and_never_leaves_terminal(from in any_status(), to in any_status(), name in "\\PC{0,300}", first_run: bool, loud: bool) {
        let policy = NotifyPolicy { on_first_sight: loud, ..NotifyPolicy::default() };
        let mut job = observed(&to);
        job.name = Some(name);
        let stored = known(&from);
        if let Ok(change) = plan(Some(&stored), &job, &ctx(&policy, first_run)) {
            prop_assert!(stored.is_open());
            prop_assert_eq!(change.record.version, stored.version + 1);
            prop_assert_eq!(change.notify, job.is_terminal());
        }
        let fresh = plan(None, &job, &ctx(&policy, first_run));
        prop_assert!(fresh.is_ok());
        let fresh = fresh.unwrap();
        prop_assert_eq!(fresh.notify, job.is_terminal() && (!first_run || loud));
        prop_assert_eq!(fresh.record.watch.is_some(), !job.is_terminal() || fresh.notify);
    }
}

#[test]
fn phases_in_notify_statuses_match_every_family_word_for_them() {
    // given a policy naming the phase "failed" and one raw word
    let policy = NotifyPolicy {
        on: Some(vec![NotifyOn::parse("failed"), NotifyOn::parse("Stopped")]),
        on_first_sight: false,
    };
    // then the phase matches each family's failure word, the raw word only itself
    for kind in JobKind::ALL {
        let family = kind.family();
        for (raw, phase) in family.vocabulary {
            let expected = *phase == Phase::Failed || *raw == "Stopped";
            assert_eq!(
                policy.notifies(&JobStatus::new(*raw), *phase),
                expected,
                "{kind} {raw}"
            );
        }
    }
}

#[test]
fn every_family_vocabulary_is_ordered_and_ends_in_terminal_statuses() {
    for kind in JobKind::ALL {
        let family = kind.family();
        assert_eq!(family.kind, kind);
        let phases: Vec<Phase> = family.vocabulary.iter().map(|(_, p)| *p).collect();
        let first_terminal = phases
            .iter()
            .position(|p| p.is_terminal())
            .expect("a terminal status");
        assert!(
            phases[first_terminal..].iter().all(|p| p.is_terminal()),
            "{kind}: open statuses come first"
        );
        assert!(family.terminal_statuses().count() >= 2, "{kind}");
        assert_eq!(family.phase(&JobStatus::new("Hibernating")), Phase::Unknown);
        assert_eq!(family.rank(&JobStatus::new("Hibernating")), None);
    }
}

#[test]
fn a_job_submitted_after_the_first_run_began_is_not_history() {
    // given the first run's backlog, begun an hour ago, when a job submitted since then is first
    // seen already finished
    let policy = NotifyPolicy::default();
    let mut ctx = ctx(&policy, true);
    ctx.history_before = Some(now() - Duration::hours(1));
    let mut quick = observed("Completed");
    quick.submit_time = now() - Duration::minutes(30);
    // then it is notified; one submitted before the backlog began is not
    assert!(plan(None, &quick, &ctx).unwrap().notify);
    assert!(!plan(None, &observed("Completed"), &ctx).unwrap().notify);
}
