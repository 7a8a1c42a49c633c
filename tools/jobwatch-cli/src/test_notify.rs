//! `test-notify`: a clearly marked notification of a made-up finished batch job, through every
//! sink the functions deliver to (the topic, and the chat topic, the event bus and the people
//! topic when configured), so a new subscriber can check the whole path, filter policy
//! included (`--status Failed` gives outcome `failure`).

use crate::error::CliError;
use crate::ops::Ops;
use crate::sinks;
use chrono::Utc;
use jobwatch::domain::JobStatus;
use jobwatch::notices::{test_job_arn, test_record, Notice};

pub async fn run(ops: &Ops, status: &JobStatus) -> Result<(), CliError> {
    let account = ops
        .config
        .sinks
        .topic_arn
        .split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .unwrap_or("000000000000");
    let now = Utc::now();
    let record = test_record(test_job_arn(&ops.config.poll.region, account), status, now);
    let notice = Notice::new(&record, status).test();
    let delivery = sinks::deliver(&ops.notifier, &notice).await;
    if !delivery.ids.is_empty() {
        println!(
            "test notification ({status}) delivered to {}",
            delivery.describe()
        );
    }
    match delivery.failed.into_iter().next() {
        Some((sink, e)) => {
            eprintln!("error: the {sink} sink refused the test notification");
            Err(e.into())
        }
        None => Ok(()),
    }
}
