//! The contract of a `JobStore`: what the poller relies on, as test cases any store can run.
//! `store_contract!` turns them into one `#[tokio::test]` each, given a setup expression that
//! yields `(store, guard)` (the guard keeps whatever the store needs alive, e.g. moto).

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::StreamExt;

use crate::domain::{
    plan, AlertKind, Change, Delivered, Due, DurationStats, JobArn, JobKind, JobRecord, JobStatus,
    Lease, NotifyPolicy, ObservedJob, PlanContext, RecordCounts, RunId, Scope, Sent, Sink,
};
use crate::ports::{
    Checkpoint, JobStore, LastRun, Listed, OpenJobs, Progress, ScheduleStore, Write,
};
use crate::schedule::{Clock, Clocks, Outcome};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn scope() -> Scope {
    Scope::new(JobKind::BatchInference, "us-east-1")
}

fn arn(id: usize) -> JobArn {
    JobArn::new(format!(
        "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/job{id:08}"
    ))
}

/// A change a run would write for job `id` arriving in `status` over `known`.
fn change(id: usize, status: &str, known: Option<&JobRecord>) -> Change {
    let job = ObservedJob {
        kind: JobKind::BatchInference,
        arn: arn(id),
        name: Some(format!("contract-{id}")),
        status: JobStatus::new(status),
        model_id: None,
        message: None,
        submit_time: t0() - Duration::hours(1),
        end_time: None,
        input_s3_uri: None,
        output_s3_uri: None,
        counts: RecordCounts::default(),
        deadline: None,
        details: Default::default(),
    };
    let policy = NotifyPolicy::default();
    let run = RunId::new("run-a");
    let ctx = PlanContext {
        now: t0(),
        history_before: None,
        policy: &policy,
        region: "us-east-1",
        retention: Duration::days(90),
        run_id: &run,
        lease: Duration::minutes(5),
    };
    plan(known, &job, &ctx).expect("a change")
}

async fn stored<S: JobStore>(store: &S, id: usize) -> Option<JobRecord> {
    store.get_many(&[arn(id)]).await.unwrap().pop()
}

async fn watched<S: JobStore>(store: &S) -> Vec<JobRecord> {
    let pages: Vec<_> = store.watched(&scope()).collect().await;
    pages.into_iter().flat_map(|p| p.unwrap()).collect()
}

pub async fn a_new_item_is_written_once<S: JobStore>(store: &S) {
    let first = change(1, "InProgress", None);
    assert_eq!(store.save(&first).await.unwrap(), Write::Written);
    assert_eq!(store.save(&first).await.unwrap(), Write::LostRace);
    assert_eq!(stored(store, 1).await.unwrap(), first.record);
}

pub async fn a_write_needs_the_version_it_replaces<S: JobStore>(store: &S) {
    let first = change(2, "InProgress", None);
    store.save(&first).await.unwrap();
    let next = change(2, "Completed", Some(&first.record));
    let mut stale = next.clone();
    stale.expected_version = Some(first.record.version + 5);
    assert_eq!(store.save(&stale).await.unwrap(), Write::LostRace);
    assert_eq!(store.save(&next).await.unwrap(), Write::Written);
    assert_eq!(store.save(&next).await.unwrap(), Write::LostRace);
    assert_eq!(stored(store, 2).await.unwrap().status, "Completed");
}

pub async fn a_live_lease_cannot_be_claimed_an_expired_one_can<S: JobStore>(store: &S) {
    let open = change(3, "InProgress", None);
    store.save(&open).await.unwrap();
    let done = change(3, "Failed", Some(&open.record));
    store.save(&done).await.unwrap();
    let lease = |owner: &str, until| Lease {
        owner: RunId::new(owner),
        until,
    };
    let live = lease("run-b", t0() + Duration::minutes(5));
    assert_eq!(
        store
            .claim(&arn(3), done.record.version, &live, t0())
            .await
            .unwrap(),
        Write::LostRace
    );
    let later = t0() + Duration::minutes(6);
    let taken = lease("run-b", later + Duration::minutes(5));
    assert_eq!(
        store
            .claim(&arn(3), done.record.version, &taken, later)
            .await
            .unwrap(),
        Write::Written
    );
    assert_eq!(stored(store, 3).await.unwrap().lease(), Some(taken));
}

pub async fn a_claim_needs_the_version_the_run_read<S: JobStore>(store: &S) {
    let open = change(8, "InProgress", None);
    store.save(&open).await.unwrap();
    let done = change(8, "Completed", Some(&open.record));
    store.save(&done).await.unwrap();
    let read = stored(store, 8).await.unwrap();
    // an overlapping run writes the item after this run read it
    let newer = Change {
        record: JobRecord {
            version: read.version + 1,
            message: Some("written by another run".into()),
            ..read.clone()
        },
        expected_version: Some(read.version),
        notify: false,
        transition: false,
    };
    assert_eq!(store.save(&newer).await.unwrap(), Write::Written);
    // (after the lease the transition's run took has ended)
    let later = t0() + Duration::minutes(6);
    let lease = Lease {
        owner: RunId::new("run-late"),
        until: later + Duration::minutes(5),
    };
    assert_eq!(
        store
            .claim(&arn(8), read.version, &lease, later)
            .await
            .unwrap(),
        Write::LostRace,
        "the notice as read is no longer the item's"
    );
    assert_eq!(
        store
            .claim(&arn(8), newer.record.version, &lease, later)
            .await
            .unwrap(),
        Write::Written
    );
}

pub async fn only_the_owner_releases_a_lease<S: JobStore>(store: &S) {
    let open = change(4, "InProgress", None);
    store.save(&open).await.unwrap();
    store
        .save(&change(4, "Failed", Some(&open.record)))
        .await
        .unwrap();
    let other = RunId::new("run-b");
    assert_eq!(
        store.release(&arn(4), &other).await.unwrap(),
        Write::LostRace
    );
    assert!(stored(store, 4).await.unwrap().lease().is_some());
    let owner = RunId::new("run-a");
    assert_eq!(
        store.release(&arn(4), &owner).await.unwrap(),
        Write::Written
    );
    assert_eq!(stored(store, 4).await.unwrap().lease(), None);
}

pub async fn marking_sent_needs_the_pending_status_and_the_lease<S: JobStore>(store: &S) {
    let open = change(5, "InProgress", None);
    store.save(&open).await.unwrap();
    let done = change(5, "Completed", Some(&open.record));
    store.save(&done).await.unwrap();
    let status = JobStatus::new("Completed");
    let sent = done
        .record
        .sent(&Due::Status(status.clone()), t0(), Duration::days(90));
    let wrong = done.record.sent(
        &Due::Status(JobStatus::new("Failed")),
        t0(),
        Duration::days(90),
    );
    let owner = RunId::new("run-a");
    assert_eq!(
        store
            .mark_sent(&arn(5), &RunId::new("run-b"), &sent)
            .await
            .unwrap(),
        Write::LostRace
    );
    assert_eq!(
        store.mark_sent(&arn(5), &owner, &wrong).await.unwrap(),
        Write::LostRace
    );
    assert_eq!(
        store.mark_sent(&arn(5), &owner, &sent).await.unwrap(),
        Write::Written
    );
    let after = stored(store, 5).await.unwrap();
    assert_eq!(
        (after.pending_status.clone(), after.notified_status.clone()),
        (None, Some(status))
    );
    assert_eq!(
        (after.watch.clone(), after.lease()),
        (None, None),
        "a finished job leaves the index"
    );
    assert_eq!(
        after.expires_at.map(|t| t.timestamp()),
        Some((t0() + Duration::days(90)).timestamp())
    );
    assert_eq!(after.version, done.record.version + 1);
    assert_eq!(
        store.mark_sent(&arn(5), &owner, &sent).await.unwrap(),
        Write::LostRace
    );
}

pub async fn a_partial_delivery_is_recorded_by_the_owner_until_marked_sent<S: JobStore>(store: &S) {
    // Given a pending completion whose lease run-a holds (claimed in the transition's write)
    let open = change(6, "InProgress", None);
    store.save(&open).await.unwrap();
    let done = change(6, "Completed", Some(&open.record));
    store.save(&done).await.unwrap();
    let due = Due::Status(JobStatus::new("Completed"));
    // (people were told while the bus refused it: each sink stands alone)
    let delivered = Delivered::new(&due, [Sink::Topic, Sink::Chat, Sink::People].into());
    // Then only the owner records what was delivered
    let other = RunId::new("run-b");
    assert_eq!(
        store
            .release_delivered(&arn(6), &other, &delivered)
            .await
            .unwrap(),
        Write::LostRace
    );
    let owner = RunId::new("run-a");
    assert_eq!(
        store
            .release_delivered(&arn(6), &owner, &delivered)
            .await
            .unwrap(),
        Write::Written
    );
    // and the lease is free, the version moved (a stale full write loses), the notice pending
    let after = stored(store, 6).await.unwrap();
    assert_eq!(after.delivered.as_ref(), Some(&delivered));
    assert_eq!(after.lease(), None);
    assert_eq!(after.version, done.record.version + 1);
    assert_eq!(store.save(&done).await.unwrap(), Write::LostRace);
    assert_eq!(after.pending_status, Some(JobStatus::new("Completed")));
    // and once the next run claims and marks it sent, nothing partial is left
    let lease = Lease {
        owner: RunId::new("run-c"),
        until: t0() + Duration::minutes(5),
    };
    assert_eq!(
        store
            .claim(&arn(6), after.version, &lease, t0())
            .await
            .unwrap(),
        Write::Written
    );
    let sent = after.sent(&due, t0(), Duration::days(90));
    assert_eq!(
        store.mark_sent(&arn(6), &lease.owner, &sent).await.unwrap(),
        Write::Written
    );
    let sent = stored(store, 6).await.unwrap();
    assert_eq!((sent.delivered, sent.pending_status), (None, None));
}

pub async fn the_watch_index_holds_open_and_pending_items_in_pages<S: JobStore>(store: &S) {
    for id in 100..1_150 {
        store.save(&change(id, "InProgress", None)).await.unwrap();
    }
    let finished = change(99, "InProgress", None);
    store.save(&finished).await.unwrap();
    let mut done = change(99, "Completed", Some(&finished.record));
    done.record.pending_status = None;
    done.record.refresh_derived(t0(), Duration::days(90));
    store.save(&done).await.unwrap();
    let other = Change {
        record: JobRecord {
            watch: Some(Scope::new(JobKind::ModelImport, "us-east-1")),
            ..change(98, "InProgress", None).record
        },
        expected_version: None,
        notify: false,
        transition: true,
    };
    store.save(&other).await.unwrap();
    let pages: Vec<_> = store.watched(&scope()).collect().await;
    assert!(
        pages.len() >= 3,
        "1 050 items come in bounded pages, got {}",
        pages.len()
    );
    assert!(pages.iter().all(|p| p.as_ref().unwrap().len() <= 500));
    let mut ids: Vec<String> = watched(store)
        .await
        .iter()
        .map(|r| r.pk.id().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1_050, "every open item of the scope, once");
    assert!(!ids.contains(&arn(99).id().to_owned()) && !ids.contains(&arn(98).id().to_owned()));
}

/// Job `id` open in `scope` (its family is the scope's).
fn open_in(id: usize, kind: JobKind, scope: Scope) -> Change {
    let mut change = change(id, "InProgress", None);
    change.record.kind = kind;
    change.record.watch = Some(scope);
    change
}

async fn ids(pages: impl futures::Stream<Item = crate::ports::Page<JobRecord>>) -> Vec<String> {
    let pages: Vec<_> = pages.collect().await;
    let mut ids: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.unwrap())
        .map(|r| r.pk.id().to_owned())
        .collect();
    ids.sort();
    ids
}

pub async fn a_familys_watched_items_span_its_scopes_and_no_other_family<S: JobStore>(store: &S) {
    let batch = JobKind::BatchInference;
    let member = Scope::member(batch, "222222222222", "eu-west-1");
    let import = Scope::new(JobKind::ModelImport, "us-east-1");
    store
        .save(&change(3_000, "InProgress", None))
        .await
        .unwrap();
    store
        .save(&open_in(3_001, batch, member.clone()))
        .await
        .unwrap();
    store
        .save(&open_in(3_002, JobKind::ModelImport, import))
        .await
        .unwrap();
    let mut finished = change(3_003, "Completed", None);
    (finished.record.watch, finished.record.pending_status) = (None, None);
    store.save(&finished).await.unwrap();
    let [own, in_member] = [3_000, 3_001].map(|id| arn(id).id().to_owned());
    assert_eq!(
        ids(store.watched_family(batch)).await,
        [own.clone(), in_member.clone()]
    );
    assert_eq!(ids(store.watched(&scope())).await, [own]);
    assert_eq!(ids(store.watched(&member)).await, [in_member]);
}

pub async fn many_items_are_read_back_at_once<S: JobStore>(store: &S) {
    for id in 2_000..2_250 {
        store.save(&change(id, "InProgress", None)).await.unwrap();
    }
    let mut arns: Vec<JobArn> = (2_000..2_260).map(arn).collect();
    arns.reverse();
    let mut got: Vec<JobArn> = store
        .get_many(&arns)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.pk)
        .collect();
    got.sort();
    assert_eq!(
        got,
        (2_000..2_250).map(arn).collect::<Vec<_>>(),
        "absent ones are simply missing"
    );
}

pub async fn the_last_run_is_recorded_with_the_progress<S: JobStore>(store: &S) {
    let ran = |hours: i64, ok: bool| LastRun {
        at: t0() + Duration::hours(hours),
        run_id: RunId::new(format!("run-{hours}")),
        ok,
    };
    let progress = |listed: Listed, last_run: Option<LastRun>| Progress {
        listed,
        open: hint(),
        durations: None,
        last_run,
        cursor: None,
    };
    let first = progress(Listed::Complete(t0()), Some(ran(1, true)));
    store.save_progress(&scope(), &first).await.unwrap();
    let failed = progress(Listed::Nothing, Some(ran(2, false)));
    store.save_progress(&scope(), &failed).await.unwrap();
    let state = store.scope_state(&scope()).await.unwrap();
    assert_eq!(
        state.last_run,
        Some(ran(2, false)),
        "the latest run, failed"
    );
    let silent = progress(Listed::Nothing, None);
    store.save_progress(&scope(), &silent).await.unwrap();
    let state = store.scope_state(&scope()).await.unwrap();
    assert_eq!(
        state.last_run,
        Some(ran(2, false)),
        "kept when none is given"
    );
}

pub async fn marking_sent_appends_to_the_notification_history<S: JobStore>(store: &S) {
    let owner = RunId::new("run-a");
    let open = change(7, "InProgress", None);
    store.save(&open).await.unwrap();
    let done = change(7, "Failed", Some(&open.record));
    store.save(&done).await.unwrap();
    let sent = done.record.sent(
        &Due::Status(JobStatus::new("Failed")),
        t0(),
        Duration::days(90),
    );
    store.mark_sent(&arn(7), &owner, &sent).await.unwrap();
    let after = stored(store, 7).await.unwrap();
    assert_eq!(after.notifications, vec![sent.entry()]);
    let mut again = after.clone();
    again.pending_status = Some(JobStatus::new("Failed"));
    again.set_lease(Some(Lease {
        owner: owner.clone(),
        until: t0() + Duration::minutes(5),
    }));
    again.version += 1;
    again.refresh_derived(t0(), Duration::days(90));
    let resend = Change {
        record: again,
        expected_version: Some(after.version),
        notify: true,
        transition: false,
    };
    assert_eq!(store.save(&resend).await.unwrap(), Write::Written);
    let later = Sent {
        resend: true,
        ..resend.record.sent(
            &Due::Status(JobStatus::new("Failed")),
            t0() + Duration::hours(1),
            Duration::days(90),
        )
    };
    store.mark_sent(&arn(7), &owner, &later).await.unwrap();
    let history = stored(store, 7).await.unwrap().notifications;
    assert_eq!(history, vec![sent.entry(), later.entry()], "oldest first");
}

fn hint() -> OpenJobs {
    OpenJobs {
        count: 7,
        oldest: Some(t0() - Duration::hours(5)),
    }
}

fn reached(hours: i64) -> Checkpoint {
    Checkpoint {
        started: t0(),
        reached: t0() + Duration::hours(hours),
    }
}

async fn save<S: JobStore>(store: &S, listed: Listed) -> Write {
    let progress = Progress {
        listed,
        open: hint(),
        durations: None,
        last_run: None,
        cursor: None,
    };
    store.save_progress(&scope(), &progress).await.unwrap()
}

pub async fn a_checkpoint_only_moves_forward_and_keeps_its_start<S: JobStore>(store: &S) {
    let fresh = store.scope_state(&scope()).await.unwrap();
    assert_eq!(
        (fresh.watermark, fresh.checkpoint, fresh.open),
        (None, None, OpenJobs::default())
    );
    assert_eq!(
        save(store, Listed::Reached(reached(2))).await,
        Write::Written
    );
    assert_eq!(
        save(store, Listed::Reached(reached(1))).await,
        Write::LostRace
    );
    let later_start = Checkpoint {
        started: t0() + Duration::days(1),
        ..reached(3)
    };
    assert_eq!(
        save(store, Listed::Reached(later_start)).await,
        Write::Written
    );
    let state = store.scope_state(&scope()).await.unwrap();
    assert_eq!(
        state.checkpoint,
        Some(reached(3)),
        "the backlog keeps its first start"
    );
    assert_eq!((state.watermark, state.open), (None, hint()));
}

pub async fn the_watermark_only_moves_forward_and_ends_the_checkpoint<S: JobStore>(store: &S) {
    save(store, Listed::Reached(reached(2))).await;
    let done = t0() + Duration::hours(4);
    assert_eq!(save(store, Listed::Complete(done)).await, Write::Written);
    let old = t0() + Duration::hours(3);
    assert_eq!(save(store, Listed::Complete(old)).await, Write::LostRace);
    let empty = Progress {
        listed: Listed::Nothing,
        open: OpenJobs::default(),
        durations: None,
        last_run: None,
        cursor: None,
    };
    assert_eq!(
        store.save_progress(&scope(), &empty).await.unwrap(),
        Write::Written
    );
    let state = store.scope_state(&scope()).await.unwrap();
    assert_eq!(
        (state.watermark, state.checkpoint, state.open),
        (Some(done), None, OpenJobs::default())
    );
}

pub async fn an_alert_is_marked_sent_once_and_the_job_stays_watched<S: JobStore>(store: &S) {
    let open = change(7, "InProgress", None);
    store.save(&open).await.unwrap();
    let owner = RunId::new("run-a");
    let mut alerting = Change {
        record: open.record.clone(),
        expected_version: Some(open.record.version),
        notify: true,
        transition: false,
    };
    alerting.record.version += 1;
    alerting.record.pending_alert = Some(AlertKind::Stalled);
    alerting.record.set_lease(Some(Lease {
        owner: owner.clone(),
        until: t0() + Duration::minutes(5),
    }));
    assert_eq!(store.save(&alerting).await.unwrap(), Write::Written);
    let lease = Lease {
        owner: RunId::new("run-b"),
        until: t0() + Duration::minutes(10),
    };
    assert_eq!(
        store
            .claim(&arn(7), alerting.record.version, &lease, t0())
            .await
            .unwrap(),
        Write::LostRace,
        "the alert's lease is live"
    );
    let due = Due::Alert(AlertKind::Stalled);
    let sent = alerting.record.sent(&due, t0(), Duration::days(90));
    let wrong = alerting
        .record
        .sent(&Due::Alert(AlertKind::Stuck), t0(), Duration::days(90));
    assert_eq!(
        store.mark_sent(&arn(7), &owner, &wrong).await.unwrap(),
        Write::LostRace
    );
    assert_eq!(
        store.mark_sent(&arn(7), &owner, &sent).await.unwrap(),
        Write::Written
    );
    let after = stored(store, 7).await.unwrap();
    assert_eq!(after.pending_alert, None);
    assert!(after.alerts_sent.contains(&AlertKind::Stalled));
    assert_eq!(
        after.alerted_at.map(|t| t.timestamp()),
        Some(t0().timestamp())
    );
    assert_eq!(
        (after.watch.clone(), after.lease()),
        (Some(scope()), None),
        "still open"
    );
    assert_eq!(
        after.notified_status, None,
        "an alert is not a status notice"
    );
    assert_eq!(
        store.mark_sent(&arn(7), &owner, &sent).await.unwrap(),
        Write::LostRace
    );
}

pub async fn the_sweep_cursor_is_kept_per_scope_until_a_run_clears_it<S: JobStore>(store: &S) {
    let progress = |cursor: Option<&str>| Progress {
        listed: Listed::Nothing,
        open: hint(),
        durations: None,
        last_run: None,
        cursor: cursor.map(str::to_owned),
    };
    store
        .save_progress(&scope(), &progress(Some("opaque/token+1==")))
        .await
        .unwrap();
    let other = Scope::new(JobKind::ModelImport, "us-east-1");
    assert_eq!(
        store.scope_state(&scope()).await.unwrap().cursor.as_deref(),
        Some("opaque/token+1==")
    );
    assert_eq!(store.scope_state(&other).await.unwrap().cursor, None);
    store
        .save_progress(&scope(), &progress(None))
        .await
        .unwrap();
    assert_eq!(
        store.scope_state(&scope()).await.unwrap().cursor,
        None,
        "a sweep that ended starts over"
    );
}

pub async fn durations_are_kept_per_scope<S: JobStore>(store: &S) {
    let mut durations = DurationStats::default();
    durations.record("model-a", Duration::minutes(42));
    durations.record("model-a", Duration::minutes(40));
    let progress = Progress {
        listed: Listed::Nothing,
        open: hint(),
        durations: Some(durations.clone()),
        last_run: None,
        cursor: None,
    };
    store.save_progress(&scope(), &progress).await.unwrap();
    save(store, Listed::Nothing).await;
    let state = store.scope_state(&scope()).await.unwrap();
    assert_eq!(
        state.durations, durations,
        "a run without durations keeps them"
    );
    let other = Scope::new(JobKind::ModelImport, "us-east-1");
    let fresh = store.scope_state(&other).await.unwrap();
    assert_eq!(fresh.durations, DurationStats::default());
}

fn lease(owner: &str, minutes: i64) -> Lease {
    Lease {
        owner: RunId::new(owner),
        until: t0() + Duration::minutes(minutes),
    }
}

pub async fn a_shard_lease_keeps_an_overlapping_run_out_until_it_expires<
    S: JobStore + ScheduleStore,
>(
    store: &S,
) {
    let shard = "account#222222222222";
    assert_eq!(store.shard(shard).await.unwrap().version, 0);
    let a = lease("run-a", 5);
    let first = store.lease(shard, &a, t0(), None).await.unwrap();
    assert_eq!(first, Write::Written);
    let b = lease("run-b", 10);
    let overlapping = store.lease(shard, &b, t0() + Duration::minutes(1), None);
    assert_eq!(overlapping.await.unwrap(), Write::LostRace);
    let held = store.shard(shard).await.unwrap();
    assert_eq!(held.lease.as_ref().map(|l| l.owner.as_str()), Some("run-a"));
    let b = lease("run-b", 15);
    let after_expiry = store.lease(shard, &b, t0() + Duration::minutes(6), None);
    assert_eq!(after_expiry.await.unwrap(), Write::Written);
}

pub async fn clocks_are_saved_at_the_version_read_and_give_the_lease_back<
    S: JobStore + ScheduleStore,
>(
    store: &S,
) {
    let shard = "fleet#batch-inference";
    let owner = RunId::new("run-a");
    let a = lease("run-a", 5);
    store.lease(shard, &a, t0(), None).await.unwrap();
    let read = store.shard(shard).await.unwrap();
    let mut clocks = Clocks::new();
    let failed = Clock::default().after(t0(), &Outcome::Failed("AccessDenied".into()));
    clocks.insert(
        "batch-inference#222222222222#us-east-1".into(),
        failed.clone(),
    );
    let stale = store.save_shard(shard, &owner, read.version + 1, &clocks, Some(t0()));
    assert_eq!(stale.await.unwrap(), Write::LostRace);
    let saved = store.save_shard(shard, &owner, read.version, &clocks, Some(t0()));
    assert_eq!(saved.await.unwrap(), Write::Written);
    let back = store.shard(shard).await.unwrap();
    assert_eq!(back.clocks, clocks);
    assert_eq!(back.done_at, Some(t0()));
    assert_eq!(back.lease, None, "the owner's lease is given back");
    assert!(back.version > read.version);
    // A run that stopped early keeps the last completed run's time.
    let partial = store.save_shard(shard, &owner, back.version, &clocks, None);
    assert_eq!(partial.await.unwrap(), Write::Written);
    assert_eq!(store.shard(shard).await.unwrap().done_at, Some(t0()));
}

pub async fn a_work_item_queued_before_the_shards_last_completed_run_finds_it_done<
    S: JobStore + ScheduleStore,
>(
    store: &S,
) {
    let shard = "account#333333333333";
    let owner = RunId::new("run-a");
    let a = lease("run-a", 5);
    store.lease(shard, &a, t0(), None).await.unwrap();
    let read = store.shard(shard).await.unwrap();
    store
        .save_shard(shard, &owner, read.version, &Clocks::new(), Some(t0()))
        .await
        .unwrap();
    let later = t0() + Duration::minutes(1);
    let b = lease("run-b", 6);
    let queued_before = store.lease(shard, &b, later, Some(t0() - Duration::seconds(1)));
    assert_eq!(queued_before.await.unwrap(), Write::LostRace);
    let c = lease("run-c", 6);
    let queued_after = store.lease(shard, &c, later, Some(t0() + Duration::seconds(1)));
    assert_eq!(queued_after.await.unwrap(), Write::Written);
}

/// One `#[tokio::test]` per contract case; `$setup` is an async expression yielding
/// `(store, guard)`.
#[macro_export]
macro_rules! store_contract {
    ($setup:expr) => {
        $crate::store_contract!(@cases $setup;
            a_new_item_is_written_once,
            a_write_needs_the_version_it_replaces,
            a_live_lease_cannot_be_claimed_an_expired_one_can,
            a_claim_needs_the_version_the_run_read,
            only_the_owner_releases_a_lease,
            marking_sent_needs_the_pending_status_and_the_lease,
            the_watch_index_holds_open_and_pending_items_in_pages,
            a_familys_watched_items_span_its_scopes_and_no_other_family,
            many_items_are_read_back_at_once,
            a_checkpoint_only_moves_forward_and_keeps_its_start,
            the_watermark_only_moves_forward_and_ends_the_checkpoint,
            an_alert_is_marked_sent_once_and_the_job_stays_watched,
            durations_are_kept_per_scope,
            the_sweep_cursor_is_kept_per_scope_until_a_run_clears_it,
            the_last_run_is_recorded_with_the_progress,
            marking_sent_appends_to_the_notification_history,
            a_partial_delivery_is_recorded_by_the_owner_until_marked_sent,
            a_shard_lease_keeps_an_overlapping_run_out_until_it_expires,
            clocks_are_saved_at_the_version_read_and_give_the_lease_back,
            a_work_item_queued_before_the_shards_last_completed_run_finds_it_done,
        );
    };
    (@cases $setup:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (store, _guard) = $setup.await;
                $crate::testing::contract::$case(&store).await;
            }
        )*
    };
}
