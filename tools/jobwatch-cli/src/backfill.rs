//! `backfill --since <time>`: each family's listing from `since`, settled by the library's own
//! poller (`Poller::backfill`): conditional writes, finished jobs recorded silently, open ones
//! watched and notified once when they finish.

use chrono::{DateTime, Utc};
use jobwatch::adapters::families::AnySource;
use jobwatch::domain::JobKind;
use jobwatch::ports::JobSource;
use jobwatch::{Poller, RunSummary};

use crate::error::CliError;
use crate::ops::Ops;
use crate::text::time;

pub async fn run(ops: &Ops, since: DateTime<Utc>, kinds: &[JobKind]) -> Result<(), CliError> {
    println!(
        "backfill since {} in {}",
        time(since),
        ops.config.poll.region
    );
    for &kind in kinds {
        let (sdk, config) = (&ops.sdk, &ops.config);
        // Each family's source, built as its Lambda builds it.
        let summary = backfill(ops, AnySource::new(kind, sdk, config), since).await?;
        println!(
            "  {kind}: listed {}, recorded {} (open now {}), failures {}",
            summary.listed,
            summary.transitions,
            summary.open_jobs.unwrap_or_default(),
            summary.failures
        );
        if !summary.discovery_ok || summary.failures > 0 {
            return Err(CliError::Refused(format!(
                "backfill of {kind} incomplete: {}; run it again (what is recorded stays)",
                summary.errors.first().cloned().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

async fn backfill<S: JobSource>(
    ops: &Ops,
    source: S,
    since: DateTime<Utc>,
) -> Result<RunSummary, CliError> {
    let poller = Poller::new(
        source,
        ops.store.clone(),
        ops.notifier.clone(),
        ops.config.poll.clone(),
    );
    Ok(poller
        .backfill(Utc::now(), ops.run_id("backfill"), since)
        .await?)
}
