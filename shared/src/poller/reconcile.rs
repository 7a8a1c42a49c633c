//! Reconciling open jobs the discovery listing did not return: by sweeping the open statuses
//! with List when there are many, by Get for the rest.

use std::collections::HashMap;

use chrono::Duration;
use futures::{stream, StreamExt};

use super::{Budget, Poller, RunSummary};
use crate::domain::{JobArn, JobRecord, JobStatus, ObservedJob};
use crate::ports::{JobSource, JobStore, ListFilter, Notifier};

/// From this many unlisted open jobs on, one wide List may answer them all for less than a Get each.
const WIDE_MIN_OPEN: usize = 3;
/// The wide List stops after this many pages (its cost must stay below the Gets it saves).
const WIDE_MAX_PAGES: u64 = 5;
/// With this many still unanswered, one List per open status beats one Get each.
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
    /// Answers as many unlisted open jobs as it can with Lists, cheapest first: one wide listing
    /// since the oldest of them (capped: it pays off only while the account's recent history is
    /// small), then one listing per open status when many remain. Returns the jobs still to Get.
    pub(super) async fn reconcile_by_listing<'a>(
        &self,
        unlisted: &[&'a JobRecord],
        observed: &mut HashMap<JobArn, ObservedJob>,
        summary: &mut RunSummary,
    ) -> Vec<&'a JobRecord> {
        if unlisted.len() < WIDE_MIN_OPEN {
            return unlisted.to_vec();
        }
        let since = unlisted
            .iter()
            .map(|r| r.submit_time)
            .min()
            .map(|t| t - Duration::seconds(1));
        let max_pages = (unlisted.len() as u64 / 2).clamp(1, WIDE_MAX_PAGES);
        let wide = ListFilter {
            submitted_after: since,
            status: None,
            max_pages: Some(max_pages),
        };
        let mut rest = match self.source.list(&wide).await {
            Ok(listing) => {
                summary.bedrock_calls += listing.calls;
                summary.wide_list_calls += listing.calls;
                let mut found: HashMap<JobArn, ObservedJob> = HashMap::new();
                listing
                    .jobs
                    .into_iter()
                    .for_each(|job| merge(&mut found, job));
                let mut rest = Vec::new();
                for record in unlisted {
                    match found.remove(&record.pk) {
                        Some(job) => merge(observed, job),
                        None => rest.push(*record),
                    }
                }
                rest
            }
            Err(e) => {
                summary.fail("wide list", &e);
                unlisted.to_vec()
            }
        };
        if rest.len() >= SWEEP_MIN_OPEN {
            rest = self.sweep(&rest, observed, summary).await;
        }
        rest
    }

    /// Lists each open status once; returns the jobs the sweep did not find (they changed to a
    /// status the sweep does not cover, or their status is one it cannot filter on).
    async fn sweep<'a>(
        &self,
        unlisted: &[&'a JobRecord],
        observed: &mut HashMap<JobArn, ObservedJob>,
        summary: &mut RunSummary,
    ) -> Vec<&'a JobRecord> {
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
                max_pages: None,
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
