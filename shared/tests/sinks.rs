//! Per-sink delivery over whole polls on the in-memory adapters: each sink gets each notice at
//! least once and, barring a crash between a delivery and its record, exactly once; a sink that
//! is down (people included) delays only itself.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobwatch::domain::{JobArn, JobKind, Sink};
use jobwatch::ports::Batching;
use jobwatch::testing::{MemoryJobStore, RecordingNotifier, ScriptedSource};
use jobwatch::RunSummary;
use jobwatch::{PollSettings, Poller};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn settings() -> PollSettings {
    jobwatch::testing::poll_settings()
}

const ALL: [Sink; 3] = [Sink::Topic, Sink::Chat, Sink::Bus];

struct World {
    bedrock: Arc<ScriptedSource>,
    table: Arc<MemoryJobStore>,
    sinks: Arc<RecordingNotifier>,
    digest_threshold: Option<usize>,
}

impl World {
    fn new() -> Self {
        Self::over(RecordingNotifier::default(), None)
    }

    /// The three machine sinks and a people audience (digests above `digest_threshold`).
    fn with_people(digest_threshold: Option<usize>) -> Self {
        Self::over(RecordingNotifier::with_people(), digest_threshold)
    }

    fn over(notifier: RecordingNotifier, digest_threshold: Option<usize>) -> Self {
        let batching = Batching {
            size: 10,
            concurrency: 3,
        };
        Self {
            bedrock: Arc::new(ScriptedSource::new(JobKind::BatchInference)),
            table: Arc::new(MemoryJobStore::default()),
            sinks: Arc::new(notifier.with_sinks(&ALL).with_batching(batching)),
            digest_threshold,
        }
    }

    async fn run(&self, minutes: i64, id: &str) -> jobwatch::RunSummary {
        Poller::new(
            self.bedrock.clone(),
            self.table.clone(),
            self.sinks.clone(),
            PollSettings {
                digest_threshold: self.digest_threshold,
                ..settings()
            },
        )
        .run(t0() + Duration::minutes(minutes), id)
        .await
        .unwrap()
    }

    /// `n` open jobs, recorded by a first run, then completed.
    async fn finish(&self, n: usize) -> Vec<JobArn> {
        let arns: Vec<JobArn> = (0..n)
            .map(|i| {
                let id = format!("job{i:08}");
                self.bedrock
                    .job(&id, "InProgress", t0() - Duration::hours(1))
                    .arn
            })
            .collect();
        self.run(0, "baseline").await;
        for arn in &arns {
            self.bedrock
                .set_status(arn, "Completed", t0() + Duration::minutes(1));
        }
        arns
    }

    fn counts(&self) -> [usize; 3] {
        ALL.map(|sink| self.sinks.delivered_to(sink).len())
    }
}

#[tokio::test]
async fn a_bus_failing_for_two_runs_gets_each_event_once_after_and_no_topic_message_repeats() {
    // given three completions and a bus that refuses everything for two runs
    let world = World::new();
    let arns = world.finish(3).await;
    world.sinks.fail_sink_next(Sink::Bus, 6);

    // when three runs go by
    let first = world.run(5, "run-1").await;
    let second = world.run(10, "run-2").await;
    let third = world.run(15, "run-3").await;

    // then the topic and chat had each notice from the first run, never again
    assert_eq!(
        (first.notifications_pending, second.notifications_pending),
        (3, 3)
    );
    assert_eq!(world.counts(), [3, 3, 3], "topic, chat, bus: once each");
    // and the bus got each event on the third run, which sent what was left
    assert_eq!(third.notifications_sent, 3);
    let on_bus: Vec<String> = world
        .sinks
        .delivered_to(Sink::Bus)
        .iter()
        .map(|n| n.body["jobArn"].as_str().unwrap().to_owned())
        .collect();
    for arn in &arns {
        assert!(on_bus.contains(&arn.to_string()));
        // and nothing is left pending or half-recorded
        let record = world.table.record(arn.as_str()).unwrap();
        assert_eq!((record.pending_status, record.delivered), (None, None));
    }
    assert_eq!(world.run(20, "run-4").await.notifications_sent, 0);
}

#[tokio::test]
async fn a_chat_failure_for_one_notice_retries_only_that_notice_on_chat() {
    // given two completions and a chat topic that refuses the first message once
    let world = World::new();
    world.finish(2).await;
    world.sinks.fail_sink_next(Sink::Chat, 1);

    // when two runs go by
    let first = world.run(5, "run-1").await;
    let second = world.run(10, "run-2").await;

    // then one notice was sent at once, the other completed on chat by the next run
    assert_eq!(
        (first.notifications_sent, second.notifications_sent),
        (1, 1)
    );
    assert_eq!(world.counts(), [2, 2, 2]);
}

#[tokio::test]
async fn overlapping_runs_deliver_each_notice_once_per_sink() {
    // given five completions
    let world = World::new();
    world.finish(5).await;

    // when two runs poll at the same time
    let (a, b) = tokio::join!(world.run(5, "run-a"), world.run(5, "run-b"));

    // then every sink has each notice once: the claim in the write decides who delivers
    assert_eq!(a.notifications_sent + b.notifications_sent, 5);
    assert_eq!(world.counts(), [5, 5, 5]);
}

#[tokio::test]
async fn a_burst_is_delivered_in_groups_of_the_batch_size() {
    // given 45 completions and a notifier taking 10 per call (3 calls in flight)
    let world = World::new();
    world.finish(45).await;

    // when one run delivers them
    let summary = world.run(5, "run-1").await;

    // then each of chat and bus took 5 calls (10+10+10+10+5), the topic one per notice
    assert_eq!(summary.notifications_sent, 45);
    assert_eq!(summary.sns_calls, 45 + 5 + 5);
    assert_eq!(world.counts(), [45, 45, 45]);
}

/// `(sent, pending, people messages)` of a run.
fn told(summary: &RunSummary) -> (usize, usize, usize) {
    (
        summary.notifications_sent,
        summary.notifications_pending,
        summary.people_messages_sent,
    )
}

#[tokio::test]
async fn a_bus_that_is_down_delays_only_itself_people_are_told_in_the_same_run() {
    // given three completions, a people audience, and a bus that refuses the first run's events
    let world = World::with_people(None);
    let arns = world.finish(3).await;
    world.sinks.fail_sink_next(Sink::Bus, 3);

    // when the first run goes
    let first = world.run(5, "run-1").await;

    // then people got their emails in that run; the notices stay pending for the bus alone
    assert_eq!(told(&first), (0, 3, 3));
    assert_eq!(world.counts(), [3, 3, 0], "topic, chat, bus");
    for arn in &arns {
        let record = world.table.record(arn.as_str()).unwrap();
        let delivered = record.delivered.expect("the sinks that have it");
        assert_eq!(
            delivered.sinks,
            [Sink::Topic, Sink::Chat, Sink::People].into()
        );
    }

    // when the bus is back for the next runs
    let second = world.run(10, "run-2").await;
    let third = world.run(15, "run-3").await;

    // then the bus got each event once, nobody else got anything again, and each notice was
    // counted sent once, by the run that completed it
    assert_eq!(told(&second), (3, 0, 0));
    assert_eq!(
        second.sns_calls, 1,
        "one bus call, no topic, chat or people call"
    );
    assert_eq!(told(&third), (0, 0, 0));
    assert_eq!(world.counts(), [3, 3, 3]);
    assert_eq!(world.sinks.people().len(), 3);
    for arn in &arns {
        let record = world.table.record(arn.as_str()).unwrap();
        assert_eq!((record.pending_status, record.delivered), (None, None));
    }
}

#[tokio::test]
async fn a_people_failure_while_machines_succeeded_leaves_it_pending_with_the_machine_sinks_recorded(
) {
    // given a completion and a people topic that refuses the first message
    let world = World::with_people(None);
    let arns = world.finish(1).await;
    world.sinks.fail_people_next(1);

    // when the first run goes
    let first = world.run(5, "run-1").await;

    // then machines have it, people not, and the item says so
    assert_eq!(told(&first), (0, 1, 0));
    let record = world.table.record(arns[0].as_str()).unwrap();
    let delivered = record.delivered.expect("the sinks that have it");
    assert_eq!(delivered.sinks, ALL.into());

    // when the next run goes, then only people are told, and it is sent
    let second = world.run(10, "run-2").await;
    assert_eq!(told(&second), (1, 0, 1));
    assert_eq!(world.counts(), [1, 1, 1]);
    assert_eq!(world.sinks.people().len(), 1);
}

#[tokio::test]
async fn a_notice_people_already_have_is_never_in_a_digest_again() {
    // given five completions over the digest threshold, and a bus down for the first run
    let world = World::with_people(Some(2));
    world.finish(5).await;
    world.sinks.fail_sink_next(Sink::Bus, 5);

    // when the first run digests them for people and the next one completes the bus
    let first = world.run(5, "run-1").await;
    let second = world.run(10, "run-2").await;

    // then people had one digest of the five, in the first run, and no second one
    assert_eq!((first.digests_sent, first.notifications_pending), (1, 5));
    assert_eq!((second.digests_sent, second.people_messages_sent), (0, 0));
    assert_eq!(second.notifications_sent, 5);
    let people = world.sinks.people();
    assert_eq!(people.len(), 1);
    assert_eq!(people[0].jobs, 5);
    assert_eq!(world.counts(), [5, 5, 5]);
}

#[tokio::test]
async fn with_every_machine_sink_down_people_are_still_told_and_machines_catch_up_once() {
    // given two completions and a topic, chat and bus that all refuse the first run
    let world = World::with_people(None);
    world.finish(2).await;
    world.sinks.fail_next(2);
    world.sinks.fail_sink_next(Sink::Chat, 2);
    world.sinks.fail_sink_next(Sink::Bus, 2);

    // when two runs go
    let first = world.run(5, "run-1").await;
    let second = world.run(10, "run-2").await;

    // then people first, machines next, each once
    assert_eq!(told(&first), (0, 2, 2));
    assert_eq!(told(&second), (2, 0, 0));
    assert_eq!(world.counts(), [2, 2, 2]);
    assert_eq!(world.sinks.people().len(), 2);
}
