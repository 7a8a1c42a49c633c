//! Claiming pending notices, publishing, and recording them as sent.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{Budget, Poller, RunSummary};
use crate::domain::{JobArn, JobRecord, JobStatus, Notice};
use crate::ports::{JobSource, JobStore, Notifier};

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Notices left pending by earlier runs (failed publish, crash): claims the ones whose lease
    /// is free and returns them for publishing.
    pub(super) async fn claim_pending(
        &self,
        watched: &HashMap<JobArn, JobRecord>,
        touched: &HashSet<JobArn>,
        now: DateTime<Utc>,
        run_id: &str,
        summary: &mut RunSummary,
    ) -> Vec<(JobRecord, JobStatus)> {
        let mut claimed = Vec::new();
        let mut candidates: Vec<&JobRecord> = watched
            .values()
            .filter(|r| !touched.contains(&r.pk))
            .collect();
        candidates.sort_by(|a, b| a.pk.cmp(&b.pk));
        for record in candidates {
            let Some(status) = record.pending_status.clone() else {
                continue;
            };
            if !record.claimable(now) {
                summary.notifications_pending += 1;
                continue;
            }
            let until = (now + self.settings.publish_lease).timestamp();
            summary.store_calls += 1;
            match self
                .store
                .claim(&record.pk, run_id, until, now.timestamp())
                .await
            {
                Ok(true) => claimed.push((record.clone(), status)),
                Ok(false) => summary.notifications_pending += 1,
                Err(e) => summary.fail("claim", &e),
            }
        }
        claimed
    }

    /// Publishes each notice, then marks it sent; past the deadline, gives the leases back so
    /// the next run publishes at once.
    pub(super) async fn publish_all(
        &self,
        notices: Vec<(JobRecord, JobStatus)>,
        run_id: &str,
        now: DateTime<Utc>,
        summary: &mut RunSummary,
        budget: &Budget,
    ) {
        for (record, status) in notices {
            if budget.exhausted() {
                summary.deadline_reached = true;
                summary.deferred += 1;
                summary.notifications_pending += 1;
                self.release(&record, run_id, summary).await;
                continue;
            }
            self.publish(&record, &status, run_id, now, summary).await;
        }
    }

    async fn release(&self, record: &JobRecord, run_id: &str, summary: &mut RunSummary) {
        summary.store_calls += 1;
        if let Err(e) = self.store.release(&record.pk, run_id).await {
            summary.fail("release lease", &e);
        }
    }

    async fn publish(
        &self,
        record: &JobRecord,
        status: &JobStatus,
        run_id: &str,
        now: DateTime<Utc>,
        summary: &mut RunSummary,
    ) {
        let notice = Notice::new(record, status);
        match self.notifier.publish(&notice).await {
            Ok(message_id) => {
                summary.notifications_sent += 1;
                tracing::info!(job_arn = %record.pk, status = %status, message_id, dedup_key = notice.dedup_key, "notified");
                let finished_ttl = (!record.is_open() || record.retired)
                    .then(|| (now + self.settings.retention).timestamp());
                summary.store_calls += 1;
                match self
                    .store
                    .mark_sent(&record.pk, status, run_id, now, finished_ttl)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job_arn = %record.pk, "notice was re-claimed before it was marked sent")
                    }
                    Err(e) => summary.fail("mark sent", &e),
                }
            }
            Err(e) => {
                summary.notifications_pending += 1;
                summary.fail("publish", &e);
                self.release(record, run_id, summary).await;
            }
        }
    }
}
