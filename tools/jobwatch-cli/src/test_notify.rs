//! `test-notify`: a clearly marked notification of a made-up finished batch job, through every
//! sink the functions publish to (today the SNS topic), so a new subscriber can check the whole
//! path, filter policy included (`--status Failed` gives outcome `failure`).

use chrono::Utc;
use jobwatch::domain::{test_job_arn, test_record, JobStatus, Notice};
use jobwatch::ports::Notifier;

use crate::error::CliError;
use crate::ops::Ops;

pub async fn run(ops: &Ops, status: &JobStatus) -> Result<(), CliError> {
    let account = ops
        .config
        .topic_arn
        .split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .unwrap_or("000000000000");
    let now = Utc::now();
    let record = test_record(test_job_arn(&ops.config.poll.region, account), status, now);
    let notice = Notice::new(&record, status).test();
    let sinks = [("sns", ops.config.topic_arn.as_str(), &ops.notifier)];
    for (kind, target, notifier) in sinks {
        let message_id = notifier.publish(&notice).await?;
        println!(
            "test notification ({status}) published to {kind} {target}: message id {message_id}"
        );
    }
    Ok(())
}
