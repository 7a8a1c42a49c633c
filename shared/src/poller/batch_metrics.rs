//! The phase before planning a batch of sightings, for a family with `stall_metrics`: the jobs
//! the count rule would call `stalled` have their model's `AWS/Bedrock/Batch` metrics read,
//! once per model and run (none read: no call), so that the rule can tell a job whose model is
//! still processing tokens from one with records pending and nothing processed. A failed read
//! is counted and logged; the rule then decides on the count alone, as without metrics.

use std::collections::BTreeSet;

use super::settle::{RunContext, Sighting};
use super::summary::Settled;
use super::Poller;
use crate::domain::batch_activity::{window_minutes, Activities, Verdict};
use crate::domain::{stall_candidate, WatchContext};
use crate::ports::{JobSource, JobStore, Notifier};

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// The batch metrics of the models of this batch's stall candidates (`None`: no reader,
    /// no candidate, or the read failed).
    pub(super) async fn batch_activity(
        &self,
        batch: &[Sighting],
        watch: &WatchContext<'_>,
        run: &RunContext<'_>,
        report: &mut Settled,
    ) -> Option<Activities> {
        let metrics = self.batch_metrics.as_ref()?;
        let models: BTreeSet<String> = batch
            .iter()
            .filter_map(|s| match s {
                // Same status only: a job that just changed status is planned as a transition.
                Sighting::Seen(Some(known), job)
                    if job.status == known.status
                        && stall_candidate(known, Some(&job.counts), watch) =>
                {
                    known.model_id.clone()
                }
                _ => None,
            })
            .collect();
        if models.is_empty() {
            return None;
        }
        let unread = run.activity.unread(models.clone());
        if !unread.is_empty() {
            let before = metrics.calls();
            let window = window_minutes(watch.settings.stalled_after);
            let read = metrics.activity(&unread, watch.now, window).await;
            report.batch_metrics_calls += metrics.calls() - before;
            match read {
                Ok(found) => run.activity.remember(&unread, &found),
                Err(e) => {
                    report.batch_metrics_failed += 1;
                    tracing::warn!(models = unread.len(), error = %e.chain(), "batch metrics unreadable: stalls judged on the count alone");
                    return None;
                }
            }
        }
        let found = run.activity.of(&models);
        report.stalls_cleared += batch.iter().filter(|s| cleared(s, &found, watch)).count();
        Some(found)
    }
}

/// A candidate whose model is still processing tokens: not alerted this run.
fn cleared(sighting: &Sighting, found: &Activities, watch: &WatchContext) -> bool {
    match sighting {
        Sighting::Seen(Some(known), job) => {
            stall_candidate(known, Some(&job.counts), watch)
                && known
                    .model_id
                    .as_deref()
                    .and_then(|m| found.get(m))
                    .is_some_and(|a| a.verdict() == Verdict::Processing)
        }
        _ => false,
    }
}
