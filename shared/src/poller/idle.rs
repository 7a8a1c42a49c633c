//! The idle check (issue 34): each run of a family billed while it exists (provisioned
//! throughput) judges its resources in service, as the run's one unfiltered listing showed
//! them (no Bedrock call of its own), against their `Invocations` in CloudWatch: one
//! `GetMetricData` call per 500 of those in service for at least `ALERT_IDLE_AFTER`, none when
//! there are none (a new or recently updated one cannot be idle yet). Only the few judged idle
//! are read from the table; the alert is held on the item under the run's lease (a
//! conditional write, so of two overlapping runs one holds it) and delivered like any other
//! notice (a failed send stays pending and watched; the next run sends it, same dedup key).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::settle::RunContext;
use super::summary::Settled;
use super::Poller;
use crate::domain::idle::{in_service_since, judge, plan_idle, IdleRun, IdleSettings};
use crate::domain::{Change, JobArn, Lease, ObservedJob};
use crate::ports::{JobSource, JobStore, LastInvocations, Notifier};

/// A resource the metrics say is idle, and its last invocation in the window.
type Candidate = (ObservedJob, Option<DateTime<Utc>>);

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Judges `in_service` and delivers the `idle` alerts due. A first run (recording the
    /// table's history) sends no alert, idle ones included; so does a run with alerts off.
    pub(super) async fn watch_idle(
        &self,
        in_service: Vec<ObservedJob>,
        run: &RunContext<'_>,
    ) -> Settled {
        let mut report = Settled::default();
        let settings = &self.settings.alerts;
        let quiet = run.history_before.is_some() || !settings.enabled || run.budget.exhausted();
        // In service for less than the threshold: not idle whatever the metrics say.
        let in_service: Vec<ObservedJob> = in_service
            .into_iter()
            .filter(|j| run.now - in_service_since(j) >= settings.idle.after)
            .collect();
        let metrics = self.source.invocations();
        let Some(metrics) = metrics.filter(|_| !quiet && !in_service.is_empty()) else {
            return report;
        };
        let arns: Vec<String> = in_service.iter().map(|j| j.arn.to_string()).collect();
        let before = metrics.calls();
        let read = metrics
            .last_invocations(&arns, run.now, settings.idle.window())
            .await;
        report.metric_calls += metrics.calls() - before;
        let last = match read {
            Ok(last) => last,
            Err(e) => {
                report.failures.record("read invocations", &e);
                return report;
            }
        };
        let candidates = candidates(in_service, &last, run.now, &settings.idle);
        if candidates.is_empty() {
            return report;
        }
        let changes = self.idle_changes(candidates, run, &mut report).await;
        let held = self.write(changes, run, &mut report).await;
        self.deliver_all(held, run, &mut report).await;
        report
    }

    /// The writes that hold the alerts due, each priced with its hourly cost when it has none
    /// yet. An item the table no longer has (its TTL passed while it stayed in service) is
    /// skipped: the next settling of the resource writes it again.
    async fn idle_changes(
        &self,
        candidates: Vec<Candidate>,
        run: &RunContext<'_>,
        report: &mut Settled,
    ) -> Vec<Change> {
        let arns: Vec<JobArn> = candidates.iter().map(|(j, _)| j.arn.clone()).collect();
        let known: HashMap<JobArn, _> = match self.store.get_many(&arns).await {
            Ok(records) => records.into_iter().map(|r| (r.pk.clone(), r)).collect(),
            Err(e) => {
                report.failures.record("read idle", &e);
                return Vec::new();
            }
        };
        let idle_run = IdleRun {
            now: run.now,
            settings: &self.settings.alerts.idle,
            lease: Lease {
                owner: run.run_id.clone(),
                until: run.now + self.settings.publish_lease,
            },
            retention: self.settings.retention,
        };
        let mut changes = Vec::new();
        for (job, last) in candidates {
            let Some(record) = known.get(&job.arn) else {
                tracing::warn!(job_arn = %job.arn, "idle resource has no item: not alerted");
                continue;
            };
            if let Some(mut change) = plan_idle(record, &job, last, &idle_run) {
                if change.record.hourly_cost.is_none() {
                    change.record.hourly_cost = self.hourly(&change.record, report).await;
                }
                changes.push(change);
            }
        }
        changes.sort_by(|a, b| a.record.pk.cmp(&b.record.pk));
        changes
    }
}

/// The resources idle by the metrics alone (as if never alerted): only these are read from
/// the table, where an earlier alert may still silence them.
fn candidates(
    in_service: Vec<ObservedJob>,
    last: &LastInvocations,
    now: DateTime<Utc>,
    settings: &IdleSettings,
) -> Vec<Candidate> {
    in_service
        .into_iter()
        .filter_map(|job| {
            let used = last.get(job.arn.as_str()).copied().flatten();
            judge(in_service_since(&job), used, None, now, settings).map(|_| (job, used))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{JobKind, JobStatus};
    use chrono::Duration;

    fn job(id: &str, since: DateTime<Utc>) -> ObservedJob {
        let arn = format!("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/{id}");
        let mut job = ObservedJob::new(
            JobKind::ProvisionedThroughput,
            JobArn::new(arn),
            JobStatus::new("InService"),
            since,
        );
        job.details
            .insert("lastModifiedTime".into(), since.to_rfc3339());
        job
    }

    #[test]
    fn only_resources_without_a_recent_invocation_are_read_from_the_table() {
        let now = Utc::now();
        let settings = IdleSettings::default();
        let (unused, used, young) = (
            job("unused", now - Duration::hours(30)),
            job("used", now - Duration::hours(30)),
            job("young", now - Duration::hours(2)),
        );
        let last = LastInvocations::from([
            (unused.arn.to_string(), None),
            (used.arn.to_string(), Some(now - Duration::hours(3))),
            (young.arn.to_string(), None),
        ]);
        let picked = candidates(vec![unused.clone(), used, young], &last, now, &settings);
        assert_eq!(picked.len(), 1);
        assert_eq!((picked[0].0.arn.clone(), picked[0].1), (unused.arn, None));
    }
}
