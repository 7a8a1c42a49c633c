//! `bench burst`: many jobs finishing at once, delivered to moto's SNS (and EventBridge), one
//! notice at a time (how the pollers published before batching) or batched and concurrent
//! (`PublishBatch` / `PutEvents` with 10 entries, 4 calls in flight). The jobs and the table are
//! in memory, so the figures are those of the notification path: notifications per second
//! and calls per notification.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use jobwatch::adapters::eventbridge::EventBus;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::adapters::sns_publish::Publishing;
use jobwatch::domain::{JobArn, JobKind};
use jobwatch::testing::{MemoryJobStore, ScriptedSource};
use jobwatch::Poller;
use testkit::Stack;

/// One way of delivering.
struct Case {
    label: &'static str,
    /// The chat topic and the bus as well as the topic.
    all_sinks: bool,
    publishing: Publishing,
}

const ONE_BY_ONE: Publishing = Publishing {
    batched: false,
    concurrency: 1,
};
const BATCHED: Publishing = Publishing {
    batched: true,
    concurrency: 4,
};

const CASES: [Case; 4] = [
    Case {
        label: "topic, one at a time (before)",
        all_sinks: false,
        publishing: ONE_BY_ONE,
    },
    Case {
        label: "topic, batched x4",
        all_sinks: false,
        publishing: BATCHED,
    },
    Case {
        label: "topic+chat+bus, one at a time",
        all_sinks: true,
        publishing: ONE_BY_ONE,
    },
    Case {
        label: "topic+chat+bus, batched x4",
        all_sinks: true,
        publishing: BATCHED,
    },
];

pub async fn run(sizes: &[usize]) -> Result<(), Box<dyn std::error::Error>> {
    let stack = Stack::start().await;
    println!("burst: jobs finishing at once, notified in one run (moto SNS/EventBridge without subscribers, in-memory table and Bedrock)");
    println!(
        "  {:>6}  {:<32} {:>10} {:>14} {:>10} {:>16}",
        "jobs", "delivery", "run", "notices/s", "calls", "calls/notice"
    );
    for &jobs in sizes {
        for case in &CASES {
            let (took, calls, sent) = burst(&stack, jobs, case).await?;
            let per_second = sent as f64 / took.as_secs_f64();
            println!(
                "  {jobs:>6}  {:<32} {:>9.2}s {:>14.0} {:>10} {:>16.2}",
                case.label,
                took.as_secs_f64(),
                per_second,
                calls,
                calls as f64 / sent.max(1) as f64
            );
        }
    }
    Ok(())
}

/// `jobs` open jobs recorded by a first run, all completed, then the measured run.
async fn burst(
    stack: &Stack,
    jobs: usize,
    case: &Case,
) -> Result<(std::time::Duration, u64, usize), Box<dyn std::error::Error>> {
    let source = Arc::new(ScriptedSource::new(JobKind::BatchInference));
    let now = Utc::now();
    let arns: Vec<JobArn> = (0..jobs)
        .map(|i| {
            source
                .job(
                    &format!("burst{i:08}"),
                    "InProgress",
                    now - Duration::hours(1),
                )
                .arn
        })
        .collect();
    // Fresh topics without subscribers and the default bus without rules: the figures are the
    // calls', not moto's fan-out to queues (which slows down as they fill).
    let topic = stack.create_topic("burst").await;
    let mut notifier = Sinks::new(stack.sns.clone(), topic).with_publishing(case.publishing);
    if case.all_sinks {
        notifier = notifier
            .with_chat_topic(stack.create_topic("chat").await)
            .with_event_bus(EventBus::new(stack.events(), "default"));
    }
    let poller = poller(source.clone(), notifier, stack);
    poller.run(now, "baseline").await?;
    for arn in &arns {
        source.set_status(arn, "Completed", now + Duration::minutes(1));
    }
    let started = Instant::now();
    let summary = poller.run(now + Duration::minutes(2), "burst").await?;
    let took = started.elapsed();
    assert_eq!(
        summary.notifications_sent, jobs,
        "every job notified: {:?}",
        summary.errors
    );
    Ok((took, summary.sns_calls, summary.notifications_sent))
}

fn poller(
    source: Arc<ScriptedSource>,
    notifier: Sinks,
    stack: &Stack,
) -> Poller<Arc<ScriptedSource>, MemoryJobStore, Sinks> {
    Poller::new(
        source,
        MemoryJobStore::default(),
        notifier,
        stack.settings(),
    )
}
