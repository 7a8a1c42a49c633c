//! The fast path: one job named by a Bedrock state-change event, confirmed with one Get and
//! settled like any page of a poll, so the two never notify a job twice.

use chrono::{DateTime, Utc};

use super::settle::{RunContext, Sighting};
use super::{Budget, Poller, RunSummary};
use crate::domain::{DurationStats, JobArn, RunId};
use crate::error::Error;
use crate::ports::{JobSource, JobStore, Notifier};

static NO_DURATIONS: DurationStats = DurationStats(std::collections::BTreeMap::new());

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Handles one job the event named. The event's own status is never trusted: it may be
    /// stale, late, duplicated or forged; the Get is the truth, and the planner never moves a job
    /// backwards. A notice an earlier run left pending for the job goes out too.
    #[tracing::instrument(skip_all, fields(kind = %self.source.kind(), job_arn = %arn))]
    pub async fn run_one(
        &self,
        now: DateTime<Utc>,
        run_id: impl Into<RunId>,
        arn: &JobArn,
        budget: Budget,
    ) -> Result<RunSummary, Error> {
        let (started, run_id) = (std::time::Instant::now(), run_id.into());
        let calls_before = (self.source.calls(), self.store.calls());
        let mut summary = RunSummary {
            job_kind: self.source.kind().to_string(),
            region: self.settings.region.clone(),
            run_id: run_id.to_string(),
            discovery_ok: true,
            ..Default::default()
        };
        let Some(job) = self.source.get(arn).await? else {
            summary.missing = 1;
            tracing::warn!("event names a job Bedrock does not have");
            return Ok(self.finish(summary, calls_before, started));
        };
        summary.fetched = 1;
        let known = self
            .store
            .get_many(std::slice::from_ref(arn))
            .await?
            .into_iter()
            .next();
        let outbox = super::settle::Outbox::default();
        let run = RunContext {
            now,
            run_id: &run_id,
            // An event is news of a change happening now, never old history.
            history_before: None,
            budget: &budget,
            // Medians are the scheduled runs' business: an event reads no scope state.
            durations: &NO_DURATIONS,
            outbox: &outbox,
            activity: &Default::default(),
        };
        summary.add_settled(
            self.settle(vec![Sighting::Seen(known, Box::new(job))], &run)
                .await,
        );
        summary.add_settled(self.tell_people(&outbox, &run).await);
        summary.deadline_reached = summary.deferred > 0;
        Ok(self.finish(summary, calls_before, started))
    }

    pub(super) fn finish(
        &self,
        mut summary: RunSummary,
        (source_calls, store_calls): (u64, u64),
        started: std::time::Instant,
    ) -> RunSummary {
        summary.bedrock_calls = self.source.calls() - source_calls;
        summary.store_calls = self.store.calls() - store_calls;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        summary
    }
}
