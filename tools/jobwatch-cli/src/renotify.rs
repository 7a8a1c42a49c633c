//! `renotify <arn>`: re-sends a job's notification through the pollers' own path. The item gets
//! a pending notice leased to this command in one conditional write (the version it read), the
//! notice goes to every sink the pollers deliver to (topic, chat topic, bus, people) marked as
//! a re-send, and marking it sent appends it to the history. A sink that fails gives the lease
//! back with what was delivered recorded: the next poll delivers to the others only.

use chrono::Utc;
use jobwatch::domain::{Change, Delivered, Due, JobArn, JobRecord, JobStatus, Lease, RunId, Sent};
use jobwatch::notices::Notice;
use jobwatch::ports::{JobStore, Write};

use crate::error::CliError;
use crate::ops::Ops;
use crate::sinks;

pub async fn run(ops: &Ops, arn: &JobArn) -> Result<(), CliError> {
    let record = ops.record(arn).await?;
    let status = resendable(&record)?;
    let run_id = ops.run_id("renotify");
    let now = Utc::now();
    let claimed = claim(ops, &record, &status, &run_id, now).await?;
    let notice = Notice::new(&claimed, &status).resent(now);
    let due = Due::Status(status.clone());
    let mut delivery = sinks::deliver(&ops.notifier, &notice).await;
    if let Some((sink, e)) = delivery.failed.pop() {
        // The notice stays pending, unleased, with the sinks that have it: the next poll
        // delivers to the others.
        let _ = match delivery.delivered.is_empty() {
            true => ops.store.release(arn, &run_id).await,
            false => {
                let delivered = Delivered::new(&due, delivery.delivered);
                ops.store.release_delivered(arn, &run_id, &delivered).await
            }
        };
        eprintln!("error: the {sink} sink refused the re-send; the next poll delivers it");
        return Err(e.into());
    }
    let retention = ops.config.poll.retention;
    let sent = Sent {
        resend: true,
        ..claimed.sent(&due, now, retention)
    };
    if ops.store.mark_sent(arn, &run_id, &sent).await? == Write::LostRace {
        eprintln!("warning: the re-send was published but another run took the notice over first");
    }
    println!(
        "re-sent {status} for {arn} to {} (dedup key {})",
        delivery.describe(),
        notice.dedup_key
    );
    Ok(())
}

/// The status to re-send: the last one notified, else a finished job's status.
fn resendable(record: &JobRecord) -> Result<JobStatus, CliError> {
    if let Some(pending) = &record.pending_status {
        return Err(CliError::Refused(format!(
            "a notice for {pending} is already pending for {}; the next poll publishes it (`show` for its lease)",
            record.pk
        )));
    }
    match &record.notified_status {
        Some(status) => Ok(status.clone()),
        None if !record.is_open() => Ok(record.status.clone()),
        None => Err(CliError::Refused(format!(
            "{} is {} ({}) and was never notified: nothing to re-send yet",
            record.pk,
            record.status,
            record.phase()
        ))),
    }
}

/// The conditional write that makes the re-send a pending notice held by this command.
async fn claim(
    ops: &Ops,
    record: &JobRecord,
    status: &JobStatus,
    run_id: &RunId,
    now: chrono::DateTime<Utc>,
) -> Result<JobRecord, CliError> {
    let mut next = record.clone();
    next.version += 1;
    next.updated_at = now;
    next.pending_status = Some(status.clone());
    next.set_lease(Some(Lease {
        owner: run_id.clone(),
        until: now + ops.config.poll.publish_lease,
    }));
    next.refresh_derived(now, ops.config.poll.retention);
    let change = Change {
        record: next,
        expected_version: Some(record.version),
        notify: true,
        transition: false,
    };
    match ops.store.save(&change).await? {
        Write::Written => Ok(change.record),
        Write::LostRace => Err(CliError::Refused(format!(
            "{} changed while re-sending (a poll is running?); try again",
            record.pk
        ))),
    }
}
