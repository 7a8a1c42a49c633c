//! Telling people: at the end of a run, the notices already published to machines go to the
//! people audience (a second topic), one email per job, or one digest when more jobs finished
//! in the run than the family's threshold. A notice is marked sent only after people got it, so
//! a failed people publish leaves it pending, with the sinks that already have it recorded: the
//! next run tells only people (machines get no duplicate), and no job is ever in two digests
//! that both went out.

use std::collections::BTreeSet;
use std::sync::Mutex;

use futures::{stream, StreamExt};

use super::settle::{Held, RunContext};
use super::summary::{Failures, Settled};
use super::Poller;
use crate::domain::{Digest, Due, EmailDetail, Notice, PeopleMessage, Sink};
use crate::error::Error;
use crate::ports::{JobSource, JobStore, Notifier};

/// A notice published to machines, that people still have to be told of.
pub(super) struct Told {
    pub held: Held,
    pub notice: Notice,
    /// The sinks that have it (all of the notifier's).
    pub delivered: BTreeSet<Sink>,
}

/// The run's notices for people, collected across pages and chunks.
#[derive(Default)]
pub(super) struct Outbox(Mutex<Vec<Told>>);

impl Outbox {
    pub fn push(&self, told: Told) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(told);
    }

    fn take(&self) -> Vec<Told> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Tells people of every notice in the outbox: a digest above the threshold, else one
    /// message each. Runs even past the deadline (the margin is kept for this): leaving
    /// published notices unmarked would only publish them again later.
    pub(super) async fn tell_people(&self, outbox: &Outbox, run: &RunContext<'_>) -> Settled {
        // Alerts are urgent and about unfinished jobs: each goes out on its own, never in a
        // digest, and does not count towards the digest threshold.
        let (alerts, told): (Vec<Told>, Vec<Told>) = outbox
            .take()
            .into_iter()
            .partition(|t| matches!(t.held.due, Due::Alert(_)));
        let mut report = Settled::default();
        let digest = self
            .settings
            .digest_threshold
            .is_some_and(|threshold| told.len() > threshold);
        let singles = match digest {
            true => {
                self.send_digest(told, run, &mut report).await;
                alerts
            }
            false => alerts.into_iter().chain(told).collect(),
        };
        // One message per job: a few in flight, as the notifier delivers machine documents.
        let singles: Vec<Settled> = stream::iter(singles)
            .map(|one| async move {
                let mut single = Settled::default();
                let message = PeopleMessage::single(&one.notice);
                self.send_people(vec![one], &message, run, &mut single)
                    .await;
                single
            })
            .buffer_unordered(self.notifier.batching().concurrency.max(1))
            .collect()
            .await;
        for single in singles {
            report += single;
        }
        report
    }

    async fn send_digest(&self, told: Vec<Told>, run: &RunContext<'_>, report: &mut Settled) {
        let notices: Vec<&Notice> = told.iter().map(|t| &t.notice).collect();
        let with_messages = self.settings.presentation.email_detail == EmailDetail::Full;
        let digest = Digest::build(self.source.kind(), &notices, with_messages);
        if self.send_people(told, &digest, run, report).await {
            report.digests_sent += 1;
        }
    }

    /// Publishes `message` for the jobs in `told`; marks them sent, or gives their leases back.
    async fn send_people(
        &self,
        told: Vec<Told>,
        message: &PeopleMessage,
        run: &RunContext<'_>,
        report: &mut Settled,
    ) -> bool {
        report.publish_calls += 1;
        match self.notifier.publish_people(message).await {
            Ok(message_id) => {
                report.people_messages_sent += 1;
                tracing::info!(
                    message_id,
                    jobs = told.len(),
                    dedup_key = message.dedup_key,
                    "told people"
                );
                report.failures += self.mark_all_sent(&told, run).await;
                true
            }
            Err(e) => {
                report.failures.record("publish to people", &e);
                report.notifications_pending += told.len();
                for one in told {
                    self.give_back(&one.held, one.delivered, run, report).await;
                }
                false
            }
        }
    }

    async fn mark_all_sent(&self, told: &[Told], run: &RunContext<'_>) -> Failures {
        stream::iter(told)
            .map(|one| async move {
                let mut failures = Failures::default();
                self.mark_sent(&one.held, run, &mut failures).await;
                failures
            })
            .buffer_unordered(self.settings.get_concurrency.max(1))
            .fold(Failures::default(), |mut all, f| async move {
                all += f;
                all
            })
            .await
    }

    /// A phase's result, after telling people of what is already published if it failed.
    pub(super) async fn or_tell_people<R>(
        &self,
        result: Result<R, Error>,
        outbox: &Outbox,
        run: &RunContext<'_>,
    ) -> Result<R, Error> {
        if result.is_err() {
            let _ = self.tell_people(outbox, run).await;
        }
        result
    }
}
