//! Tags, the people audience and digests, over whole polls on the in-memory adapters.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobwatch::domain::{AlertSettings, JobArn, JobKind};
use jobwatch::notices::{AttributeValue, Presentation};
use jobwatch::testing::{MemoryJobStore, RecordingNotifier, ScriptedSource};
use jobwatch::{PollSettings, Poller};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn settings(digest_threshold: Option<usize>) -> PollSettings {
    PollSettings {
        presentation: Presentation {
            account_name: Some("prod".into()),
            notify_tags: vec!["team".into()],
            ..Default::default()
        },
        digest_threshold,
        ..jobwatch::testing::poll_settings()
    }
}

/// Async invocations in memory, a table, and a notifier with a people audience.
struct World {
    bedrock: Arc<ScriptedSource>,
    table: Arc<MemoryJobStore>,
    topics: Arc<RecordingNotifier>,
    threshold: Option<usize>,
}

impl World {
    fn new(threshold: Option<usize>) -> Self {
        Self {
            bedrock: Arc::new(ScriptedSource::new(JobKind::AsyncInvoke)),
            table: Arc::new(MemoryJobStore::default()),
            topics: Arc::new(RecordingNotifier::with_people()),
            threshold,
        }
    }

    async fn run(&self, minutes: i64, id: &str) -> jobwatch::RunSummary {
        Poller::new(
            self.bedrock.clone(),
            self.table.clone(),
            self.topics.clone(),
            settings(self.threshold),
        )
        .run(t0() + Duration::minutes(minutes), id)
        .await
        .unwrap()
    }

    /// `n` open invocations, recorded by a first run, then finished (every third one failed).
    async fn finish(&self, n: usize) -> Vec<JobArn> {
        let arns: Vec<JobArn> = (0..n)
            .map(|i| {
                let submitted = t0() - Duration::hours(1);
                self.bedrock
                    .job(&format!("{i:012}"), "InProgress", submitted)
                    .arn
            })
            .collect();
        self.run(0, "baseline").await;
        for (i, arn) in arns.iter().enumerate() {
            let status = if i % 3 == 0 { "Failed" } else { "Completed" };
            self.bedrock
                .set_status(arn, status, t0() + Duration::minutes(2));
        }
        arns
    }
}

#[tokio::test]
async fn above_the_threshold_people_get_one_digest_and_machines_a_document_per_job() {
    // given 50 invocations that finish before one run, and a threshold of 10
    let world = World::new(Some(10));
    world.finish(50).await;

    // when
    let summary = world.run(5, "run-1").await;

    // then
    assert_eq!(summary.notifications_sent, 50);
    assert_eq!((summary.people_messages_sent, summary.digests_sent), (1, 1));
    assert_eq!(world.topics.published().len(), 50);
    let people = world.topics.people();
    assert_eq!(people.len(), 1);
    assert_eq!(people[0].jobs, 50);
    assert!(people[0]
        .subject
        .starts_with("[Bedrock] 17 Failed, 33 Completed: 50 async"));
    // and every notice is recorded as sent: the next run tells nobody again
    let again = world.run(10, "run-2").await;
    assert_eq!(
        (again.notifications_sent, again.people_messages_sent),
        (0, 0)
    );
}

#[tokio::test]
async fn at_or_below_the_threshold_people_get_one_email_per_job() {
    let world = World::new(Some(3));
    world.finish(3).await;

    let summary = world.run(5, "run-1").await;

    assert_eq!((summary.people_messages_sent, summary.digests_sent), (3, 0));
    assert!(world.topics.people().iter().all(|m| m.jobs == 1));
}

#[tokio::test]
async fn a_failed_digest_loses_no_job_and_no_job_is_in_two_digests() {
    // given a digest publish that fails once
    let world = World::new(Some(2));
    let arns = world.finish(5).await;
    world.topics.fail_people_next(1);

    // when the first run's digest fails and the next run retries
    let failed = world.run(5, "run-1").await;
    let retried = world.run(10, "run-2").await;
    let after = world.run(15, "run-3").await;

    // then the first run left every notice pending; the retry sent one digest of all five
    assert_eq!((failed.digests_sent, failed.notifications_pending), (0, 5));
    assert_eq!(
        (retried.digests_sent, retried.notifications_pending),
        (1, 0)
    );
    assert_eq!(after.people_messages_sent, 0);
    let people = world.topics.people();
    assert_eq!(people.len(), 1, "one digest went out");
    for arn in &arns {
        assert!(people[0].text.contains(arn.id()), "{arn} is in the digest");
    }
    // and machines got each document once: the item recorded that the topic had it
    assert_eq!(world.topics.published().len(), 5);
}

#[tokio::test]
async fn tags_named_in_notify_tags_travel_with_the_notice_and_unreadable_tags_never_block_it() {
    // given two tagged jobs, one whose tag read is throttled
    let world = World::new(None);
    let arns = world.finish(2).await;
    world
        .bedrock
        .tag(&arns[0], &[("team", "search"), ("secret", "x")]);
    world.bedrock.tag(&arns[1], &[("team", "ads")]);
    world.bedrock.fail_next_tag_reads(1);

    // when
    let summary = world.run(5, "run-1").await;

    // then both are notified; one with its kept tag only, one without tags (counted)
    assert_eq!(
        (summary.notifications_sent, summary.tag_reads_failed),
        (2, 1)
    );
    let published = world.topics.published();
    let tagged: Vec<_> = published
        .iter()
        .filter(|n| !n.body["tags"].as_object().unwrap().is_empty())
        .collect();
    assert_eq!(tagged.len(), 1);
    assert!(tagged[0].body["tags"].get("secret").is_none());
    assert!(tagged[0]
        .attributes
        .iter()
        .any(|(k, v)| k == "tag.team" && (v == "search" || v == "ads")));
}

impl World {
    /// `n` invocations running since an hour before `t0`, recorded by a first run (which never
    /// alerts); a run two hours later finds them all `stalled` (running past 2 hours).
    async fn running(&self, n: usize, prefix: &str) -> Vec<JobArn> {
        (0..n)
            .map(|i| {
                let submitted = t0() - Duration::hours(1);
                let id = format!("{prefix}{i:08}");
                self.bedrock.job(&id, "InProgress", submitted).arn
            })
            .collect()
    }

    async fn run_alerting(&self, minutes: i64, id: &str) -> jobwatch::RunSummary {
        Poller::new(
            self.bedrock.clone(),
            self.table.clone(),
            self.topics.clone(),
            PollSettings {
                // No `overdue`: the finished jobs would teach it a median the running ones pass.
                alerts: AlertSettings {
                    overdue_min_history: usize::MAX,
                    ..AlertSettings::default()
                },
                ..settings(self.threshold)
            },
        )
        .run(t0() + Duration::minutes(minutes), id)
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn above_the_threshold_alerts_and_finished_jobs_reach_people_as_two_digests() {
    // given 300 invocations that will run too long and 50 that finish, a threshold of 10
    let world = World::new(Some(10));
    world.running(300, "run").await;
    world.finish(50).await;

    // when a run finds the 300 stalled and the 50 finished
    let summary = world.run_alerting(3 * 60, "run-1").await;

    // then machines get a document each, people two messages: the alerts' digest first
    assert_eq!((summary.alerts_sent, summary.notifications_sent), (300, 50));
    assert_eq!((summary.people_messages_sent, summary.digests_sent), (2, 2));
    assert_eq!(world.topics.published().len(), 350);
    let people = world.topics.people();
    assert_eq!(people.iter().map(|m| m.jobs).collect::<Vec<_>>(), [300, 50]);
    assert_eq!(
        people[0].subject,
        "[Bedrock] 300 stalled: 300 async invocations need attention (prod)"
    );
    let kind = |m: &jobwatch::notices::PeopleMessage| {
        m.attributes
            .iter()
            .find(|(k, _)| k == "type")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(kind(&people[0]), Some(AttributeValue::One("alert".into())));
    assert_eq!(kind(&people[1]), None, "the jobs' digest is no alert");
    // and nobody is told again
    let again = world.run_alerting(3 * 60 + 5, "run-2").await;
    assert_eq!((again.alerts_sent, again.people_messages_sent), (0, 0));
}

#[tokio::test]
async fn at_or_below_the_threshold_each_alert_is_its_own_email() {
    // given three invocations that will run too long, a threshold of 3
    let world = World::new(Some(3));
    world.running(3, "run").await;
    world.run(0, "baseline").await;

    // when a run finds them stalled
    let summary = world.run_alerting(3 * 60, "run-1").await;

    // then three emails, no digest
    assert_eq!((summary.people_messages_sent, summary.digests_sent), (3, 0));
    assert!(world.topics.people().iter().all(|m| m.jobs == 1));
}
