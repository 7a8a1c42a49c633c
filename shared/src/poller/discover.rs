//! Discovery: the listing since the watermark (or the checkpoint of an unfinished one), oldest
//! first, settled page by page so that a run holds one page at a time and can stop anywhere.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::pin::pin;

use futures::StreamExt;

use super::settle::{RunContext, Sighting};
use super::summary::Discovered;
use super::Poller;
use crate::domain::{JobArn, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, JobStore, ListFilter, Notifier, OpenJobs, Page};

/// Jobs this run already settled, as 64-bit hashes (a few bytes a job, whatever the history):
/// the reconcile phase skips them.
#[derive(Debug, Default)]
pub(super) struct Seen(HashSet<u64>);

impl Seen {
    pub fn key(arn: &JobArn) -> u64 {
        let mut h = DefaultHasher::new();
        arn.hash(&mut h);
        h.finish()
    }

    pub fn insert(&mut self, arn: &JobArn) {
        self.0.insert(Self::key(arn));
    }

    pub fn contains(&self, arn: &JobArn) -> bool {
        self.0.contains(&Self::key(arn))
    }
}

/// A listing already made, as the pages of a stream: one page (or its error), none when it is
/// empty.
pub(super) fn given(
    page: Page<ObservedJob>,
) -> futures::stream::Iter<std::option::IntoIter<Page<ObservedJob>>> {
    futures::stream::iter(match page {
        Ok(jobs) => (!jobs.is_empty()).then_some(Ok(jobs)),
        Err(e) => Some(Err(e)),
    })
}

/// The sweep's cursor the scope keeps: `next` once the run recorded all it listed, else the
/// one it had (a swept page not wholly recorded is read again next run).
pub(super) fn kept_cursor(
    start: &super::Start,
    next: Option<String>,
    discovered: &Discovered,
) -> Option<String> {
    match discovered.complete {
        true => next,
        false => start.state.cursor.clone(),
    }
}

/// Keeps the most advanced observation when a job is seen twice.
pub(super) fn merge(into: &mut HashMap<JobArn, ObservedJob>, job: ObservedJob) {
    match into.get(&job.arn) {
        Some(existing) if existing.rank() >= job.rank() => {}
        _ => {
            into.insert(job.arn.clone(), job);
        }
    }
}

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Lists and settles page by page. A page is listed even when the deadline has come (its
    /// writes are then deferred); no page is listed after that. Fails only when the stored
    /// state of a page cannot be read: without it a diff could re-notify old jobs.
    /// `listed`: the listing already made ([`Poller::listed_once`], [`Poller::swept`]), as
    /// one page.
    pub(super) async fn discover(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        listed: Option<Page<ObservedJob>>,
        run: &RunContext<'_>,
        seen: &mut Seen,
        open: &mut OpenJobs,
    ) -> Result<Discovered, Error> {
        let filter = ListFilter {
            submitted_after: Some(since),
            status: None,
            oldest_first: true,
        };
        let pages = match listed {
            Some(page) => given(page).left_stream(),
            None => self.source.list(&filter).right_stream(),
        };
        let mut pages = pin!(pages);
        let mut report = Discovered::default();
        let mut recorded = true;
        loop {
            let jobs = match pages.next().await {
                None => break,
                Some(Ok(jobs)) => jobs,
                // The family's API is not launched in this region: nothing to watch here, and
                // not a failure (a default family list must not keep alarms red).
                Some(Err(e)) if e.is_not_offered_here() && report.listed == 0 => {
                    report.not_offered = Some(e.chain());
                    break;
                }
                Some(Err(e)) => {
                    report.list_failed = true;
                    report.settled.failures.record("list", &e);
                    break;
                }
            };
            report.listed += jobs.len();
            let newest = jobs.iter().map(|j| j.submit_time).max();
            let (settled, known_open) = self.settle_page(jobs, run, seen, open).await?;
            report.known_open += known_open;
            recorded &= settled.all_recorded;
            if recorded {
                report.reached = newest.or(report.reached);
            }
            report.settled += settled;
            if run.budget.exhausted() {
                return Ok(report);
            }
        }
        report.complete = recorded && !report.list_failed;
        if report.complete {
            report.reached = None;
        }
        Ok(report)
    }

    /// A steady run of a family whose List has neither filter nor order ([`JobSource::sweep`]):
    /// its bounded listing, and the cursor for the next run (the one the scope had, when the
    /// sweep failed or did not run); else `listed` (what [`Poller::listed_once`] found). Jobs
    /// submitted before the look-back are left out, as the first run left them: history it
    /// never recorded must not read as new. A first run (or its unfinished backlog) lists in
    /// full instead, so that the history it records is all of it.
    pub(super) async fn swept(
        &self,
        start: &super::Start,
        now: chrono::DateTime<chrono::Utc>,
        listed: Option<Vec<ObservedJob>>,
    ) -> (Option<Page<ObservedJob>>, Option<String>) {
        let kept = start.state.cursor.clone();
        if start.history_before.is_some() {
            return (listed.map(Ok), kept);
        }
        let after = start.since.min(now - self.settings.lookback);
        let open = start.state.open;
        match self.source.sweep(after, kept.as_deref(), open).await {
            None => (listed.map(Ok), kept),
            Some(Ok(swept)) => (Some(Ok(swept.jobs)), swept.cursor),
            Some(Err(e)) => (Some(Err(e)), kept),
        }
    }

    /// One page: the stored state of its jobs in one batch read, then settled. Also says how
    /// many of them the table knew as open.
    pub(super) async fn settle_page(
        &self,
        jobs: Vec<ObservedJob>,
        run: &RunContext<'_>,
        seen: &mut Seen,
        open: &mut OpenJobs,
    ) -> Result<(super::summary::Settled, usize), Error> {
        let mut page: HashMap<JobArn, ObservedJob> = HashMap::new();
        jobs.into_iter().for_each(|job| merge(&mut page, job));
        let mut arns: Vec<JobArn> = page.keys().cloned().collect();
        arns.sort();
        let mut known: HashMap<JobArn, _> = self
            .store
            .get_many(&arns)
            .await?
            .into_iter()
            .map(|r| (r.pk.clone(), r))
            .collect();
        let batch = arns
            .iter()
            .filter_map(|arn| page.remove(arn))
            .map(|job| {
                seen.insert(&job.arn);
                if !job.is_terminal() {
                    open.add(job.submit_time);
                }
                Sighting::Seen(known.remove(&job.arn), Box::new(job))
            })
            .collect::<Vec<_>>();
        let known_open = batch
            .iter()
            .filter(|s| matches!(s, Sighting::Seen(Some(k), _) if k.is_open() && !k.retired))
            .count();
        Ok((self.settle(batch, run).await, known_open))
    }
}
