//! Reconciling open jobs the discovery listing did not return: by sweeping the open statuses
//! with List when there are many, by Get for the rest.

use std::collections::HashMap;

use chrono::Duration;
use futures::{stream, StreamExt};

use super::{Budget, Poller, RunSummary};
use crate::domain::{JobArn, JobRecord, JobStatus, ObservedJob};
use crate::ports::{JobSource, JobStore, ListFilter, Notifier};

/// Above this many open jobs, sweeping the open statuses with List beats one Get per job.
const SWEEP_MIN_OPEN: usize = 20;

/// Keeps the most advanced observation when a job is seen twice in one run.
pub(super) fn merge(into: &mut HashMap<JobArn, ObservedJob>, job: ObservedJob) {
    match into.get(&job.arn) {
        Some(existing) if existing.status.rank() >= job.status.rank() => {}
        _ => {
            into.insert(job.arn.clone(), job);
        }
    }
}

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// With many open jobs, lists each open status once; returns the jobs still to Get (those
    /// the sweep did not find: they changed to a status the sweep does not cover).
    pub(super) async fn sweep<'a>(
        &self,
        unlisted: &[&'a JobRecord],
        observed: &mut HashMap<JobArn, ObservedJob>,
        summary: &mut RunSummary,
    ) -> Vec<&'a JobRecord> {
        if unlisted.len() < SWEEP_MIN_OPEN {
            return unlisted.to_vec();
        }
        let since = unlisted
            .iter()
            .map(|r| r.submit_time)
            .min()
            .map(|t| t - Duration::seconds(1));
        let mut swept: HashMap<JobArn, ObservedJob> = HashMap::new();
        for status in self.source.open_statuses() {
            let filter = ListFilter {
                submitted_after: since,
                status: Some(status.clone()),
            };
            match self.source.list(&filter).await {
                Ok(listing) => {
                    summary.bedrock_calls += listing.calls;
                    summary.sweep_calls += listing.calls;
                    for job in listing.jobs {
                        merge(&mut swept, job);
                    }
                }
                Err(e) => {
                    summary.fail("sweep", &e);
                    return unlisted.to_vec();
                }
            }
        }
        let mut rest = Vec::new();
        for record in unlisted {
            // Unknown statuses cannot be swept: Get them.
            match swept.remove(&record.pk) {
                Some(job) if !matches!(record.status, JobStatus::Unknown(_)) => {
                    merge(observed, job)
                }
                _ => rest.push(*record),
            }
        }
        rest
    }

    /// Gets each job (bounded concurrency) until the deadline; returns the ones Bedrock no
    /// longer has.
    pub(super) async fn fetch<'a>(
        &self,
        records: Vec<&'a JobRecord>,
        observed: &mut HashMap<JobArn, ObservedJob>,
        summary: &mut RunSummary,
        budget: &Budget,
    ) -> Vec<&'a JobRecord> {
        let results: Vec<_> = stream::iter(records)
            .map(|record| async move {
                if budget.exhausted() {
                    return (record, None);
                }
                (record, Some(self.source.get(&record.pk).await))
            })
            .buffer_unordered(self.settings.get_concurrency.max(1))
            .collect()
            .await;
        let mut missing = Vec::new();
        for (record, result) in results {
            let Some(result) = result else {
                summary.deferred += 1;
                summary.deadline_reached = true;
                continue;
            };
            summary.bedrock_calls += 1;
            match result {
                Ok(Some(job)) => {
                    summary.fetched += 1;
                    merge(observed, job);
                }
                Ok(None) => {
                    summary.missing += 1;
                    tracing::warn!(job_arn = %record.pk, misses = record.missing_count + 1, "known open job no longer exists");
                    missing.push(record);
                }
                Err(e) => summary.fail("get", &e),
            }
        }
        missing
    }
}
