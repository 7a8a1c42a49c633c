//! Telling people: at the end of a run, the notices the run holds go to the people audience (a
//! second topic), one email per job, or one digest when more jobs finished in the run than the
//! family's threshold; alerts likewise, in a digest of their own. People are told whether or
//! not every machine sink took the notice (a sink that is down delays only itself). A notice is
//! marked sent only once every sink has it: a failed people publish leaves it pending with the
//! sinks that have it recorded, and so does a machine sink that refused it after people were
//! told (`People` recorded). The next run delivers only to the sinks missing, so no sink gets a
//! duplicate and no job is ever in two digests that both went out.

use futures::{stream, StreamExt};

use super::settle::{Outbox, RunContext, Told};
use super::summary::Settled;
use super::Poller;
use crate::domain::{Due, Sink};
use crate::error::Error;
use crate::notices::{AlertDigest, Digest, EmailDetail, Notice, PeopleMessage};
use crate::ports::{JobSource, JobStore, Notifier};

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Tells people of every notice in the outbox: alerts and finished jobs each as one digest
    /// above the threshold (two messages at most: alerts are urgent and never wait in the jobs'
    /// digest), else one message each. Runs even past the deadline (the margin is kept for
    /// this): leaving delivered notices unmarked would only deliver them again later.
    pub(super) async fn tell_people(&self, outbox: &Outbox, run: &RunContext<'_>) -> Settled {
        let (alerts, jobs): (Vec<Told>, Vec<Told>) = outbox
            .take()
            .into_iter()
            .partition(|t| matches!(t.held.due, Due::Alert(_)));
        let mut report = Settled::default();
        let kind = self.source.kind();
        let alerts = self
            .digest_above_threshold(alerts, run, &mut report, |notices| {
                AlertDigest::build(kind, notices)
            })
            .await;
        let with_messages = self.settings.presentation.email_detail == EmailDetail::Full;
        let jobs = self
            .digest_above_threshold(jobs, run, &mut report, |notices| {
                Digest::build(kind, notices, with_messages)
            })
            .await;
        report += self
            .send_singles(alerts.into_iter().chain(jobs).collect(), run)
            .await;
        report
    }

    /// Sends `told` as one digest (`build`) when there are more than the threshold and returns
    /// nothing left to send; else returns them all, to be sent singly.
    async fn digest_above_threshold(
        &self,
        told: Vec<Told>,
        run: &RunContext<'_>,
        report: &mut Settled,
        build: impl FnOnce(&[&Notice]) -> PeopleMessage,
    ) -> Vec<Told> {
        let above = self
            .settings
            .digest_threshold
            .is_some_and(|threshold| told.len() > threshold);
        if !above {
            return told;
        }
        let notices: Vec<&Notice> = told.iter().map(|t| &t.notice).collect();
        let digest = build(&notices);
        if self.send_people(told, &digest, run, report).await {
            report.digests_sent += 1;
        }
        Vec::new()
    }

    /// One message per job: a few in flight, as the notifier delivers machine documents.
    async fn send_singles(&self, singles: Vec<Told>, run: &RunContext<'_>) -> Settled {
        stream::iter(singles)
            .map(|one| async move {
                let mut single = Settled::default();
                let message = PeopleMessage::single(&one.notice);
                self.send_people(vec![one], &message, run, &mut single)
                    .await;
                single
            })
            .buffer_unordered(self.notifier.batching().concurrency.max(1))
            .fold(Settled::default(), |mut all, one| async move {
                all += one;
                all
            })
            .await
    }

    /// Publishes `message` for the jobs in `told`, then concludes each: sent if every machine
    /// sink has it too, else pending with the sinks that have it (people among them if told).
    async fn send_people(
        &self,
        told: Vec<Told>,
        message: &PeopleMessage,
        run: &RunContext<'_>,
        report: &mut Settled,
    ) -> bool {
        report.publish_calls += 1;
        let told_people = match self.notifier.publish_people(message).await {
            Ok(message_id) => {
                report.people_messages_sent += 1;
                tracing::info!(
                    message_id,
                    jobs = told.len(),
                    dedup_key = message.dedup_key,
                    "told people"
                );
                true
            }
            Err(e) => {
                report.failures.record("publish to people", &e);
                false
            }
        };
        *report += self.conclude_all(told, told_people, run).await;
        told_people
    }

    async fn conclude_all(
        &self,
        told: Vec<Told>,
        told_people: bool,
        run: &RunContext<'_>,
    ) -> Settled {
        stream::iter(told)
            .map(|one| async move {
                let mut report = Settled::default();
                let mut delivered = one.delivered;
                if told_people {
                    delivered.insert(Sink::People);
                }
                let complete = told_people && one.machines_done;
                self.conclude(
                    &one.held,
                    &one.notice,
                    delivered,
                    complete,
                    run,
                    &mut report,
                )
                .await;
                report
            })
            .buffer_unordered(self.settings.get_concurrency.max(1))
            .fold(Settled::default(), |mut all, one| async move {
                all += one;
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
