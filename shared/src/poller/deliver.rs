//! Delivering the notices a run holds to every sink (topic, chat topic, event bus, and people
//! at the run's end), each at least once and deduplicated on its own: a sink that already has a
//! notice (recorded on the item by an earlier, partly failed run) is skipped; a notice that some
//! sink refused goes back with the sinks that have it, and the next run delivers it only to the
//! rest. Each sink stands alone: one that is down delays only itself (people are told even when
//! the bus refused the notice). Each machine sink gets the whole batch in one call of the
//! notifier, which batches and publishes concurrently.

use std::collections::BTreeSet;

use futures::{future, stream, StreamExt};

use super::settle::Told;
use super::settle::{record_lag, Held, RunContext};
use super::summary::Settled;
use super::Poller;
use crate::domain::{Delivered, Due, Sink};
use crate::error::Error;
use crate::notices::Notice;
use crate::ports::{JobSource, JobStore, Notifier};

/// A held notice, rendered, and the sinks that have it so far.
struct Outgoing {
    held: Held,
    notice: Notice,
    delivered: BTreeSet<Sink>,
    failed: bool,
}

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Delivers every held notice to the sinks that do not have it yet, a group at a time (as
    /// many as the notifier batches into one call per sink, a few groups in flight), then marks
    /// each sent (or, with a people audience, leaves that to the end of the run). A crash
    /// between a group's delivery and its records re-sends at most the groups in flight. Past
    /// the deadline, a group not started gives its leases back so the next run delivers at once.
    pub(super) async fn deliver_all(
        &self,
        held: Vec<Held>,
        run: &RunContext<'_>,
        report: &mut Settled,
    ) {
        let batching = self.notifier.batching();
        let mut groups: Vec<Vec<Held>> = Vec::new();
        for one in held {
            match groups.last_mut() {
                Some(group) if group.len() < batching.size.max(1) => group.push(one),
                _ => groups.push(vec![one]),
            }
        }
        let reports: Vec<Settled> = stream::iter(groups)
            .map(|group| async move {
                let mut group_report = Settled::default();
                self.deliver_group(group, run, &mut group_report).await;
                group_report
            })
            .buffer_unordered(batching.concurrency.max(1))
            .collect()
            .await;
        for one in reports {
            *report += one;
        }
    }

    async fn deliver_group(&self, held: Vec<Held>, run: &RunContext<'_>, report: &mut Settled) {
        if run.budget.exhausted() {
            for one in held {
                report.deferred += 1;
                report.notifications_pending += 1;
                self.release(&one.record, run.run_id, &mut report.failures)
                    .await;
            }
            return;
        }
        let mut outgoing = self.render(held, run, report).await;
        let sinks = self.notifier.sinks();
        let deliveries = future::join_all(sinks.iter().map(|sink| {
            let (at, notices): (Vec<usize>, Vec<Notice>) = outgoing
                .iter()
                .enumerate()
                .filter(|(_, o)| !o.delivered.contains(sink))
                .map(|(i, o)| (i, o.notice.clone()))
                .unzip();
            async move {
                let delivery = match notices.is_empty() {
                    true => Default::default(),
                    false => self.notifier.deliver(*sink, &notices).await,
                };
                (*sink, at, delivery)
            }
        }))
        .await;
        for (sink, at, delivery) in deliveries {
            report.publish_calls += delivery.calls as u64;
            let mut results = delivery.results.into_iter();
            for i in at {
                let result = results.next().unwrap_or_else(|| Err(missing(sink)));
                record_delivery(&mut outgoing[i], sink, result, report);
            }
        }
        for one in outgoing {
            self.delivered(one, &sinks, run, report).await;
        }
    }

    /// Each notice with its kept tags (read concurrently).
    async fn render(
        &self,
        held: Vec<Held>,
        run: &RunContext<'_>,
        report: &mut Settled,
    ) -> Vec<Outgoing> {
        let rendered: Vec<(Outgoing, Settled)> = stream::iter(held)
            .map(|held| async move {
                let mut tag_report = Settled::default();
                let tags = self
                    .kept_tags(&held.record, held.tags.as_ref(), &mut tag_report)
                    .await;
                let notice = self.notice(&held.record, &held.due, &tags, run);
                let delivered = Delivered::of(held.record.delivered.as_ref(), &held.due);
                let one = Outgoing {
                    held,
                    notice,
                    delivered,
                    failed: false,
                };
                (one, tag_report)
            })
            .buffered(self.settings.get_concurrency.max(1))
            .collect()
            .await;
        rendered
            .into_iter()
            .map(|(one, tags)| {
                report.tag_reads_failed += tags.tag_reads_failed;
                one
            })
            .collect()
    }

    /// A notice people still have to be told of waits in the outbox for the run's end, whatever
    /// the machine sinks did; any other is concluded now.
    async fn delivered(
        &self,
        one: Outgoing,
        sinks: &[Sink],
        run: &RunContext<'_>,
        report: &mut Settled,
    ) {
        let Outgoing {
            held,
            notice,
            delivered,
            failed,
        } = one;
        let machines_done = !failed && sinks.iter().all(|s| delivered.contains(s));
        if self.notifier.has_people_audience() && !delivered.contains(&Sink::People) {
            run.outbox.push(Told {
                held,
                notice,
                delivered,
                machines_done,
            });
            return;
        }
        self.conclude(&held, &notice, delivered, machines_done, run, report)
            .await;
    }

    /// Marks a notice every sink has as sent, counting it once (in the run that completes it);
    /// gives any other back with the sinks that have it, pending for the next run.
    pub(super) async fn conclude(
        &self,
        held: &Held,
        notice: &Notice,
        delivered: BTreeSet<Sink>,
        complete: bool,
        run: &RunContext<'_>,
        report: &mut Settled,
    ) {
        if !complete {
            report.notifications_pending += 1;
            self.give_back(held, delivered, run, report).await;
            return;
        }
        match held.due {
            Due::Status(_) => {
                report.notifications_sent += 1;
                record_lag(&held.record, run.now, report);
            }
            Due::Alert(_) => report.alerts_sent += 1,
        }
        tracing::info!(job_arn = %held.record.pk, status = %held.record.status, dedup_key = notice.dedup_key, "notified");
        self.mark_sent(held, run, &mut report.failures).await;
    }

    /// Gives the lease back, recording the sinks that have the notice (when any do).
    pub(super) async fn give_back(
        &self,
        held: &Held,
        delivered: BTreeSet<Sink>,
        run: &RunContext<'_>,
        report: &mut Settled,
    ) {
        if delivered.is_empty() {
            self.release(&held.record, run.run_id, &mut report.failures)
                .await;
            return;
        }
        let delivered = Delivered::new(&held.due, delivered);
        let result = self
            .store
            .release_delivered(&held.record.pk, run.run_id, &delivered)
            .await;
        if let Err(e) = result {
            report.failures.record("release lease", &e);
        }
    }
}

fn record_delivery(
    one: &mut Outgoing,
    sink: Sink,
    result: Result<String, Error>,
    report: &mut Settled,
) {
    match result {
        Ok(message_id) => {
            tracing::info!(job_arn = %one.held.record.pk, %sink, message_id, dedup_key = one.notice.dedup_key, "delivered");
            one.delivered.insert(sink);
        }
        Err(e) => {
            tracing::warn!(job_arn = %one.held.record.pk, %sink, "delivery failed: retried next run");
            report.failures.record("publish", &e);
            one.failed = true;
        }
    }
}

fn missing(sink: Sink) -> Error {
    Error::Notify {
        retryable: true,
        source: format!("the {sink} sink returned no result for a notice").into(),
    }
}
