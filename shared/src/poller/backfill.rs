//! Backfill: an operator's listing from an instant older than the first run's look-back
//! (`jobwatch-cli backfill --since`), settled like any discovery page. Open jobs it records are
//! watched from then on and notified once when they finish; finished ones are history, recorded
//! silently. The watermark and checkpoint are left alone: scheduled polls go on as before.

use chrono::{DateTime, Utc};

use super::discover::Seen;
use super::settle::Outbox;
use super::settle::RunContext;
use super::{Budget, Poller, RunSummary};
use crate::domain::{DurationStats, RunId};
use crate::error::Error;
use crate::ports::{JobSource, JobStore, Notifier, OpenJobs};

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Lists jobs submitted after `since` and records the ones the table does not know.
    pub async fn backfill(
        &self,
        now: DateTime<Utc>,
        run_id: impl Into<RunId>,
        since: DateTime<Utc>,
    ) -> Result<RunSummary, Error> {
        let (started, run_id) = (std::time::Instant::now(), run_id.into());
        let calls_before = (self.source.calls(), self.store.calls());
        let (budget, outbox) = (Budget::default(), Outbox::default());
        let run = RunContext {
            now,
            run_id: &run_id,
            // Jobs found already finished are old news, whatever the table's state.
            history_before: Some(now),
            budget: &budget,
            durations: &DurationStats::default(),
            outbox: &outbox,
            activity: &Default::default(),
        };
        let mut open = OpenJobs::default();
        let discovered = self
            .discover(since, None, &run, &mut Seen::default(), &mut open)
            .await?;
        let mut summary = RunSummary {
            job_kind: self.source.kind().to_string(),
            region: self.settings.region.clone(),
            run_id: run_id.to_string(),
            open_jobs: Some(open.count),
            ..Default::default()
        };
        summary.add_discovered(discovered);
        // A notice an earlier run left pending for a job it listed goes to people too.
        summary.add_settled(self.tell_people(&outbox, &run).await);
        Ok(self.finish(summary, calls_before, started))
    }
}
