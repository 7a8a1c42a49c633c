//! Whole polls on the in-memory adapters: no process, no network, well under a second. The
//! same behaviour is proven end to end against moto and the emulator in `tests/`.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobwatch::domain::{JobArn, JobKind};
use jobwatch::testing::{EndAfterPages, MemoryJobStore, RecordingNotifier, ScriptedSource};
use jobwatch::{PollSettings, Poller};

type TestPoller = Poller<Arc<ScriptedSource>, Arc<MemoryJobStore>, Arc<RecordingNotifier>>;
type Deadlined =
    Poller<EndAfterPages<Arc<ScriptedSource>>, Arc<MemoryJobStore>, Arc<RecordingNotifier>>;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn settings() -> PollSettings {
    jobwatch::testing::poll_settings()
}

/// Bedrock, the table and the topic, in memory; pollers share them like overlapping Lambdas.
struct World {
    bedrock: Arc<ScriptedSource>,
    table: Arc<MemoryJobStore>,
    topic: Arc<RecordingNotifier>,
}

impl World {
    fn new() -> Self {
        Self::with_pages(1000, 500)
    }

    fn with_pages(list_page: usize, index_page: usize) -> Self {
        Self {
            bedrock: Arc::new(ScriptedSource::with_page_size(
                JobKind::BatchInference,
                list_page,
            )),
            table: Arc::new(MemoryJobStore::with_page_size(index_page)),
            topic: Arc::new(RecordingNotifier::default()),
        }
    }

    fn poller(&self) -> TestPoller {
        Poller::new(
            self.bedrock.clone(),
            self.table.clone(),
            self.topic.clone(),
            settings(),
        )
    }

    /// A poller whose deadline comes after a number of List pages (`source.budget_for`).
    fn deadlined(&self) -> Deadlined {
        let source = EndAfterPages::new(self.bedrock.clone());
        Poller::new(source, self.table.clone(), self.topic.clone(), settings())
    }

    fn job(&self, id: &str, status: &str, submitted: DateTime<Utc>) -> JobArn {
        self.bedrock.job(id, status, submitted).arn
    }
}

#[tokio::test]
async fn a_first_run_records_history_silently_and_later_runs_notify_each_transition_once() {
    // given two finished and two open jobs before the first run
    let world = World::new();
    let old = t0() - Duration::hours(5);
    world.job("done1", "Completed", old);
    world.job("done2", "Failed", old);
    let a = world.job("open1", "InProgress", old);
    let b = world.job("open2", "Scheduled", old);

    // when the first run records them
    let first = world.poller().run(t0(), "run-1").await.unwrap();

    // then nothing is notified, the open ones are watched
    assert!(first.first_run);
    assert_eq!(
        (first.listed, first.transitions, first.notifications_sent),
        (4, 4, 0)
    );
    assert!(world.topic.sent().is_empty());

    // when one finishes, one moves on, and two more runs follow
    world
        .bedrock
        .set_status(&a, "Completed", t0() + Duration::minutes(3));
    world
        .bedrock
        .set_status(&b, "InProgress", t0() + Duration::minutes(3));
    let second = world
        .poller()
        .run(t0() + Duration::minutes(5), "run-2")
        .await
        .unwrap();
    let third = world
        .poller()
        .run(t0() + Duration::minutes(10), "run-3")
        .await
        .unwrap();

    // then one notice for the finished job, none for the move, none again
    assert_eq!((second.transitions, second.notifications_sent), (2, 1));
    assert_eq!((third.transitions, third.notifications_sent), (0, 0));
    assert_eq!(
        world.topic.sent(),
        vec![(a.to_string(), "Completed".to_owned())]
    );
    assert!(
        third.bedrock_calls >= 1 && third.store_calls >= 1,
        "{third:?}"
    );
}

#[tokio::test]
async fn a_failed_publish_stays_pending_and_the_next_run_sends_it_once() {
    // given a recorded job that fails, and a topic that fails once
    let world = World::new();
    let arn = world.job("j", "InProgress", t0() - Duration::hours(1));
    world.poller().run(t0(), "run-1").await.unwrap();
    world
        .bedrock
        .set_status(&arn, "Failed", t0() + Duration::minutes(1));
    world.topic.fail_next(1);

    // when a run publishes and fails, then a healthy run follows
    let failed = world
        .poller()
        .run(t0() + Duration::minutes(5), "run-2")
        .await
        .unwrap();
    let pending = world.table.record(arn.as_str()).unwrap();
    let retry = world
        .poller()
        .run(t0() + Duration::minutes(6), "run-3")
        .await
        .unwrap();

    // then the notice stayed pending with its lease given back, and went out exactly once
    assert_eq!(
        (
            failed.transitions,
            failed.notifications_sent,
            failed.notifications_pending
        ),
        (1, 0, 1)
    );
    assert_eq!((failed.failures, pending.lease()), (1, None));
    assert_eq!((retry.transitions, retry.notifications_sent), (0, 1));
    assert_eq!(
        world.topic.sent(),
        vec![(arn.to_string(), "Failed".to_owned())]
    );
    let sent = world.table.record(arn.as_str()).unwrap();
    assert_eq!((sent.pending_status, sent.watch), (None, None));
    assert!(sent.expires_at.is_some());
}

#[tokio::test]
async fn a_crash_between_write_and_publish_is_published_after_the_lease_by_the_next_run() {
    // given a transition whose run "crashes" while publishing
    let world = World::new();
    let arn = world.job("j", "InProgress", t0() - Duration::hours(1));
    world.poller().run(t0(), "run-1").await.unwrap();
    world
        .bedrock
        .set_status(&arn, "Completed", t0() + Duration::minutes(1));
    world.topic.hang_next(1);
    let crashed = tokio::time::timeout(
        StdDuration::from_millis(200),
        world.poller().run(t0() + Duration::minutes(2), "crashed"),
    )
    .await;
    assert!(crashed.is_err(), "the run never returned");

    // when a run comes while the crashed run's lease is live, and one after it
    let early = world
        .poller()
        .run(t0() + Duration::minutes(3), "early")
        .await
        .unwrap();
    let later = world
        .poller()
        .run(t0() + Duration::minutes(8), "later")
        .await
        .unwrap();

    // then the early run leaves it (leased), the later one publishes it once
    assert_eq!(
        (early.notifications_sent, early.notifications_pending),
        (0, 1)
    );
    assert_eq!(later.notifications_sent, 1);
    assert_eq!(
        world.topic.sent(),
        vec![(arn.to_string(), "Completed".to_owned())]
    );
}

#[tokio::test]
async fn two_overlapping_runs_never_both_notify_a_transition() {
    // given twenty jobs that finish after a baseline run
    let world = World::new();
    let arns: Vec<JobArn> = (0..20)
        .map(|i| world.job(&format!("j{i:02}"), "InProgress", t0() - Duration::hours(1)))
        .collect();
    world.poller().run(t0(), "baseline").await.unwrap();
    for arn in &arns {
        world
            .bedrock
            .set_status(arn, "Completed", t0() + Duration::minutes(1));
    }

    // when two runs race over the same table
    let (one, two) = (world.poller(), world.poller());
    let later = t0() + Duration::minutes(5);
    let (a, b) = tokio::join!(one.run(later, "a"), two.run(later, "b"));
    let (a, b) = (a.unwrap(), b.unwrap());

    // then each transition was notified exactly once, whoever won it
    assert_eq!(a.notifications_sent + b.notifications_sent, 20);
    let mut sent: Vec<String> = world.topic.sent().into_iter().map(|(arn, _)| arn).collect();
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 20);
    assert_eq!(world.topic.sent().len(), 20);
}

#[tokio::test]
async fn a_deleted_job_is_counted_missing_then_retired() {
    // given a watched job that Bedrock no longer has
    let world = World::new();
    let arn = world.job("gone", "InProgress", t0() - Duration::days(3));
    world.poller().run(t0(), "run-1").await.unwrap();
    world.bedrock.remove(&arn);

    // when four runs follow
    let mut runs = Vec::new();
    for i in 1..=4 {
        let at = t0() + Duration::hours(i);
        runs.push(
            world
                .poller()
                .run(at, format!("run-{i}").as_str())
                .await
                .unwrap(),
        );
    }

    // then three misses retire it and the fourth run no longer watches it
    let misses: Vec<_> = runs.iter().map(|r| (r.missing, r.retired)).collect();
    assert_eq!(misses, vec![(1, 0), (1, 0), (1, 1), (0, 0)]);
    assert_eq!(runs[3].watched, 0);
    let record = world.table.record(arn.as_str()).unwrap();
    assert!(record.retired && record.watch.is_none(), "{record:?}");
}

#[tokio::test]
async fn a_backlog_larger_than_one_invocation_finishes_in_several_each_resuming_where_the_last_stopped(
) {
    // given 2 500 jobs in the look-back (pages of 100), a quarter of them still open
    let world = World::with_pages(100, 50);
    let arns: Vec<JobArn> = (0..2_500)
        .map(|i| {
            let status = if i % 4 == 0 {
                "InProgress"
            } else {
                "Completed"
            };
            let submitted = t0() - Duration::hours(48) + Duration::seconds(i);
            world.job(&format!("b{i:05}"), status, submitted)
        })
        .collect();

    // when each invocation's deadline comes after five List pages, and one open job finishes
    // while the backlog is being worked through
    let mut summaries = Vec::new();
    for invocation in 1..=20 {
        let poller = world.deadlined();
        let budget = poller.source.budget_for(5);
        let now = t0() + Duration::minutes(invocation);
        let summary = poller
            .run_within(now, format!("inv-{invocation}").as_str(), budget)
            .await
            .unwrap();
        if invocation == 2 {
            world.bedrock.set_status(&arns[0], "Failed", now);
        }
        let done = summary.watermark.is_some();
        summaries.push(summary);
        if done {
            break;
        }
    }

    // then it took several invocations, each checkpoint further than the last, every job is
    // recorded once and history was silent
    let checkpoints: Vec<_> = summaries.iter().filter_map(|s| s.checkpoint).collect();
    assert!(
        summaries.len() >= 5 && summaries.len() < 20,
        "{} invocations",
        summaries.len()
    );
    assert_eq!(
        checkpoints.len(),
        summaries.len() - 1,
        "every unfinished invocation checkpoints"
    );
    assert!(
        checkpoints.windows(2).all(|w| w[0] < w[1]),
        "{checkpoints:?}"
    );
    assert!(summaries.iter().all(|s| s.first_run && s.transitions > 0));
    assert_eq!(world.table.records().len(), 2_500);
    // and once the backlog is done, the job that finished meanwhile is notified, once
    let steady = world
        .poller()
        .run(t0() + Duration::hours(1), "steady")
        .await
        .unwrap();
    let again = world
        .poller()
        .run(t0() + Duration::hours(2), "again")
        .await
        .unwrap();
    assert!(!steady.first_run);
    assert_eq!((steady.transitions, steady.notifications_sent), (1, 1));
    assert_eq!((again.transitions, again.notifications_sent), (0, 0));
    assert_eq!(
        world.topic.sent(),
        vec![(arns[0].to_string(), "Failed".to_owned())]
    );
}

#[tokio::test]
async fn a_first_run_that_records_nothing_keeps_when_the_backlog_began() {
    // given a first invocation whose deadline comes before it records its only page
    let world = World::new();
    world.job("old", "Completed", t0() - Duration::hours(5));
    let poller = world.deadlined();
    let budget = poller.source.budget_for(0);
    let cut = poller.run_within(t0(), "cut", budget).await.unwrap();
    assert_eq!((cut.transitions, cut.deferred), (0, 1));
    // when a job submitted after it began finishes before the next invocation
    let quick = world.job("quick", "InProgress", t0() + Duration::minutes(1));
    world
        .bedrock
        .set_status(&quick, "Completed", t0() + Duration::minutes(3));
    let next = world
        .poller()
        .run(t0() + Duration::minutes(5), "next")
        .await
        .unwrap();
    // then the old job is history, the quick one is news
    assert_eq!(next.transitions, 2);
    assert_eq!(
        world.topic.sent(),
        vec![(quick.to_string(), "Completed".to_owned())]
    );
}

#[tokio::test]
async fn owners_past_the_days_bound_count_under_other_and_no_cost_is_dropped() {
    // given COST_OWNER_TAG=owner, $1 per million input tokens, and 23 open batch jobs: 22
    // tagged with 22 distinct owners (2 more than the day's bound of 20), one untagged
    let world = World::new();
    let prices = jobwatch::adapters::pricing::StaticPrices::new(
        [(
            "anthropic.claude-3-haiku-20240307-v1:0".to_owned(),
            jobwatch::adapters::pricing::Override {
                input: 1.0,
                output: 1.0,
            },
        )]
        .into(),
    );
    let settings = PollSettings {
        cost_owners: jobwatch::poller::CostOwners::new(Some("owner".into())),
        ..settings()
    };
    let poller = Poller::new(
        world.bedrock.clone(),
        world.table.clone(),
        world.topic.clone(),
        settings,
    )
    .with_prices(Arc::new(prices));
    let arns: Vec<JobArn> = (0..23)
        .map(|n| {
            let arn = world
                .bedrock
                .job(
                    &format!("job-{n:02}"),
                    "InProgress",
                    t0() - Duration::hours(1),
                )
                .arn;
            if n < 22 {
                world
                    .bedrock
                    .tag(&arn, &[("owner", &format!("team-{n:02}"))]);
            }
            arn
        })
        .collect();
    poller.run(t0(), "baseline").await.unwrap();
    for arn in &arns {
        world.bedrock.update(arn, |job| {
            job.counts.input_tokens = Some(1_000_000);
            job.counts.output_tokens = Some(0);
        });
        world
            .bedrock
            .set_status(arn, "Completed", t0() + Duration::minutes(1));
    }

    // when they all finish in one run
    let summary = poller
        .run(t0() + Duration::minutes(5), "finish")
        .await
        .unwrap();

    // then the first 20 owners (in ARN order) have $1 each, the last two are under other,
    // the untagged job under untagged, and the owners sum to the family's total
    let owners = &summary.cost_by_owner;
    assert_eq!(owners.len(), 22, "{owners:?}");
    assert_eq!(owners["team-00"], 1_000_000);
    assert_eq!(owners["team-19"], 1_000_000);
    assert!(!owners.contains_key("team-20"));
    assert_eq!(owners["other"], 2_000_000);
    assert_eq!(owners["untagged"], 1_000_000);
    assert_eq!(summary.owners_past_bound, 2);
    assert_eq!(summary.estimated_cost_micro_usd, 23_000_000);
    assert_eq!(
        owners.values().sum::<u64>(),
        summary.estimated_cost_micro_usd
    );
    assert_eq!(world.topic.published().len(), 23);
}

#[tokio::test]
async fn a_priced_job_whose_write_is_deferred_is_counted_once_by_the_run_that_records_it() {
    // given a watched scope, and a $1 batch job of owner ana submitted and finished since
    // (1M input tokens at $1 per million)
    let world = World::new();
    let price = jobwatch::adapters::pricing::Override {
        input: 1.0,
        output: 1.0,
    };
    let prices = jobwatch::adapters::pricing::StaticPrices::new(
        [("anthropic.claude-3-haiku-20240307-v1:0".to_owned(), price)].into(),
    );
    let settings = PollSettings {
        cost_owners: jobwatch::poller::CostOwners::new(Some("owner".into())),
        ..settings()
    };
    let source = EndAfterPages::new(world.bedrock.clone());
    let poller = Poller::new(source, world.table.clone(), world.topic.clone(), settings)
        .with_prices(Arc::new(prices));
    poller.run(t0(), "baseline").await.unwrap();
    let arn = world.job("nightly", "InProgress", t0() + Duration::minutes(1));
    world.bedrock.tag(&arn, &[("owner", "ana")]);
    world.bedrock.update(&arn, |job| {
        job.counts.input_tokens = Some(1_000_000);
        job.counts.output_tokens = Some(0);
    });
    world
        .bedrock
        .set_status(&arn, "Completed", t0() + Duration::minutes(3));

    // when a run whose deadline falls as it lists the job prices it but defers its write, and
    // the next run records it
    let spent = poller.source.budget_for(0);
    let deferred = poller
        .run_within(t0() + Duration::minutes(5), "out-of-time", spent)
        .await
        .unwrap();
    let recorded = poller
        .run(t0() + Duration::minutes(10), "recorded")
        .await
        .unwrap();

    // then only the run that recorded it counts its cost, for the family and for ana
    assert_eq!(deferred.deferred, 1, "{deferred:?}");
    assert_eq!(deferred.estimated_cost_micro_usd, 0);
    assert!(deferred.cost_by_owner.is_empty());
    assert_eq!(recorded.estimated_cost_micro_usd, 1_000_000);
    assert_eq!(recorded.cost_by_owner["ana"], 1_000_000);
    assert_eq!(world.topic.published().len(), 1);
}
