//! The fast path: one job named by a Bedrock state-change event, confirmed with one Get and run
//! through the same plan/write/notify path as the poll, so the two never notify a job twice.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{Budget, Poller, RunSummary};
use crate::domain::{plan, JobArn, PlanContext, Skip};
use crate::error::Error;
use crate::ports::{JobSource, JobStore, Notifier};

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Handles one job the event named. The event's own status is never trusted: it may be
    /// stale, late, duplicated or forged; the Get is the truth, and the planner never moves a job
    /// backwards.
    #[tracing::instrument(skip(self, budget), fields(kind = %self.source.kind()))]
    pub async fn run_one(
        &self,
        now: DateTime<Utc>,
        run_id: &str,
        arn: &JobArn,
        budget: Budget,
    ) -> Result<RunSummary, Error> {
        let started = std::time::Instant::now();
        let mut summary = RunSummary {
            job_kind: self.source.kind().to_string(),
            region: self.settings.region.clone(),
            run_id: run_id.to_owned(),
            discovery_ok: true,
            ..Default::default()
        };
        summary.bedrock_calls += 1;
        let Some(mut observed) = self.source.get(arn).await? else {
            summary.missing += 1;
            tracing::warn!(job_arn = %arn, "event names a job Bedrock does not have");
            return Ok(summary);
        };
        summary.fetched = 1;
        summary.store_calls += 1;
        let known = self
            .store
            .get_many(std::slice::from_ref(arn))
            .await?
            .into_iter()
            .next();
        if observed.status.is_terminal() && known.as_ref().is_none_or(|k| !k.status.is_terminal()) {
            self.source.enrich(&mut observed).await;
        }
        let ctx = PlanContext {
            now,
            // An event is news of a change happening now, never old history.
            first_run: false,
            policy: &self.settings.policy,
            region: &self.settings.region,
            retention: self.settings.retention,
            run_id,
            lease: self.settings.publish_lease,
        };
        let mut notices = Vec::new();
        match plan(known.as_ref(), &observed, &ctx) {
            Ok(change) => {
                let (saved, _, _) = self.save_all(vec![change], &mut summary, &budget).await;
                notices = saved;
            }
            Err(Skip::Regression) => summary.regressions_ignored += 1,
            Err(_) => {}
        }
        // A notice an earlier run left pending for this job goes out now too.
        if let (true, Some(record)) = (
            notices.is_empty(),
            known.filter(|k| k.pending_status.is_some()),
        ) {
            let watched = std::iter::once((record.pk.clone(), record)).collect();
            notices = self
                .claim_pending(&watched, &HashSet::new(), now, run_id, &mut summary)
                .await;
        }
        self.publish_all(notices, run_id, now, &mut summary, &budget)
            .await;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }
}
