//! Reconciling open jobs the discovery listing did not return, a chunk of the watch index at a
//! time: answered by one wide List when the recent history is small, by sweeping the open
//! statuses when many remain, by Get for the rest.

use std::collections::HashMap;
use std::pin::pin;

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, BoxStream};
use futures::StreamExt;

use super::discover::{merge, Seen};
use super::settle::{RunContext, Sighting};
use super::summary::Reconciled;
use super::Poller;
use crate::domain::{JobArn, JobRecord, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, JobStore, ListFilter, Notifier, OpenJobs, Page};

/// From this many open jobs on, one wide List may answer them all for less than a Get each.
const WIDE_MIN_OPEN: u64 = 3;
/// The wide List stops after this many pages (its cost must stay below the Gets it saves).
const WIDE_MAX_PAGES: u64 = 5;
/// With this many still unanswered, one List per open status beats one Get each.
const SWEEP_MIN_OPEN: usize = 20;

/// Records per chunk when the fleet already read them (the size of a watch-index page).
const READ_CHUNK: usize = 500;

/// Where a run finds its scope's watched items: its own Query of the watch index, or what its
/// fleet read for every scope of the family at once (one Query instead of one per scope).
#[derive(Debug, Default)]
pub enum Watched {
    #[default]
    Query,
    Read(Vec<JobRecord>),
}

/// What the Lists of this run answered.
#[derive(Default)]
struct Answers {
    /// The wide listing: at most `WIDE_MAX_PAGES` pages, whatever the history.
    wide: HashMap<JobArn, ObservedJob>,
    /// The sweep, compact: each open job's status as its index in the family's vocabulary
    /// (a few bytes a job). `None` until a sweep was needed.
    swept: Option<HashMap<u64, u8>>,
    /// Jobs no List answered so far (they are read with Get).
    unanswered: usize,
}

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Streams the watch index in bounded chunks and settles each.
    pub(super) async fn reconcile(
        &self,
        hint: OpenJobs,
        watched: Watched,
        run: &RunContext<'_>,
        seen: &Seen,
        open: &mut OpenJobs,
    ) -> Result<Reconciled, Error> {
        let mut report = Reconciled::default();
        if run.budget.exhausted() {
            report.stopped_early = true;
            return Ok(report);
        }
        let mut answers = Answers::default();
        let lists = self.source.lists_cheaply();
        if let Some(oldest) = hint.oldest.filter(|_| lists && hint.count >= WIDE_MIN_OPEN) {
            answers.wide = self.wide_list(oldest, hint.count, &mut report).await;
        }
        let mut chunks = pin!(self.watched_chunks(watched));
        while let Some(chunk) = chunks.next().await {
            if run.budget.exhausted() {
                report.stopped_early = true;
                break;
            }
            let batch = self
                .resolve(chunk?, seen, &mut answers, run, &mut report, open)
                .await;
            report.settled += self.settle(batch, run).await;
        }
        Ok(report)
    }

    fn watched_chunks(&self, watched: Watched) -> BoxStream<'_, Page<JobRecord>> {
        match watched {
            Watched::Query => self.store.watched(&self.scope()).boxed(),
            Watched::Read(records) => {
                let mut records = records.into_iter().peekable();
                let chunks = std::iter::from_fn(move || {
                    records.peek()?;
                    Some(Ok(records.by_ref().take(READ_CHUNK).collect()))
                });
                stream::iter(chunks).boxed()
            }
        }
    }

    /// Turns a chunk of watched items into sightings: from the Lists where they answer, else
    /// by Get.
    async fn resolve(
        &self,
        chunk: Vec<JobRecord>,
        seen: &Seen,
        answers: &mut Answers,
        run: &RunContext<'_>,
        report: &mut Reconciled,
        open: &mut OpenJobs,
    ) -> Vec<Sighting> {
        let mut batch = Vec::new();
        let mut ask = Vec::new();
        for record in chunk.into_iter().filter(|r| !seen.contains(&r.pk)) {
            if !record.is_open() || record.retired {
                batch.push(Sighting::Unasked(record));
                continue;
            }
            report.watched += 1;
            match answers.wide.remove(&record.pk) {
                Some(job) => {
                    if !job.is_terminal() {
                        open.add(job.submit_time);
                    }
                    batch.push(Sighting::Seen(Some(record), Box::new(job)));
                }
                None => ask.push(record),
            }
        }
        let many = answers.unanswered + ask.len() >= SWEEP_MIN_OPEN && self.source.lists_cheaply();
        if answers.swept.is_none() && many && !run.budget.exhausted() {
            answers.swept = Some(self.sweep(report).await);
        }
        let mut to_get = Vec::new();
        for record in ask {
            open.add(record.submit_time);
            if self.unchanged_in_sweep(&record, answers) {
                batch.push(Sighting::Unasked(record));
            } else {
                to_get.push(record);
            }
        }
        answers.unanswered += to_get.len();
        to_get.sort_by(|a, b| a.pk.cmp(&b.pk));
        batch.extend(self.fetch(to_get, run, report).await);
        batch
    }

    /// The sweep saw the job in the status the table has: nothing to do for it.
    fn unchanged_in_sweep(&self, record: &JobRecord, answers: &Answers) -> bool {
        let vocabulary = self.source.kind().family().vocabulary;
        answers
            .swept
            .as_ref()
            .and_then(|swept| swept.get(&Seen::key(&record.pk)))
            .is_some_and(|i| vocabulary[usize::from(*i)].0 == record.status.as_str())
    }

    /// One listing since the oldest open job, capped: it pays off only while the account's
    /// recent history is small.
    async fn wide_list(
        &self,
        oldest: DateTime<Utc>,
        open: u64,
        report: &mut Reconciled,
    ) -> HashMap<JobArn, ObservedJob> {
        let filter = ListFilter {
            submitted_after: Some(oldest - Duration::seconds(1)),
            ..Default::default()
        };
        let max_pages = (open / 2).clamp(1, WIDE_MAX_PAGES) as usize;
        let before = self.source.calls();
        let mut found = HashMap::new();
        let mut pages = pin!(self.source.list(&filter).take(max_pages));
        while let Some(page) = pages.next().await {
            match page {
                Ok(jobs) => jobs.into_iter().for_each(|job| merge(&mut found, job)),
                Err(e) => {
                    report.settled.failures.record("wide list", &e);
                    break;
                }
            }
        }
        report.wide_list_calls = self.source.calls() - before;
        found
    }

    /// Lists each open status once, keeping only each job's status. A failed sweep answers
    /// nothing (the jobs are read with Get).
    async fn sweep(&self, report: &mut Reconciled) -> HashMap<u64, u8> {
        let family = self.source.kind().family();
        let before = self.source.calls();
        let mut swept = HashMap::new();
        for (index, (raw, phase)) in family.vocabulary.iter().enumerate() {
            if phase.is_terminal() {
                continue;
            }
            let filter = ListFilter {
                status: Some((*raw).into()),
                ..Default::default()
            };
            let mut pages = pin!(self.source.list(&filter));
            while let Some(page) = pages.next().await {
                match page {
                    Ok(jobs) => swept.extend(jobs.iter().map(|j| (Seen::key(&j.arn), index as u8))),
                    Err(e) => {
                        report.settled.failures.record("sweep", &e);
                        swept.clear();
                        report.sweep_calls = self.source.calls() - before;
                        return swept;
                    }
                }
            }
        }
        report.sweep_calls = self.source.calls() - before;
        swept
    }

    /// Gets each job (bounded concurrency) until the deadline.
    async fn fetch(
        &self,
        records: Vec<JobRecord>,
        run: &RunContext<'_>,
        report: &mut Reconciled,
    ) -> Vec<Sighting> {
        let results = self
            .within_budget(records, run.budget, |record| async move {
                let result = self.source.get(&record.pk).await;
                (record, result)
            })
            .await;
        let mut batch = Vec::new();
        for (record, result) in results {
            match result {
                None => report.settled.deferred += 1,
                Some(Ok(Some(job))) => {
                    report.fetched += 1;
                    batch.push(Sighting::Seen(Some(record), Box::new(job)));
                }
                Some(Ok(None)) => {
                    report.missing += 1;
                    tracing::warn!(job_arn = %record.pk, misses = record.missing_count + 1, "known open job no longer exists");
                    batch.push(Sighting::Missing(record));
                }
                Some(Err(e)) => report.settled.failures.record("get", &e),
            }
        }
        batch
    }
}
