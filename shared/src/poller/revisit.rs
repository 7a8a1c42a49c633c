//! Revisiting settled resources that moved again (a family whose lifecycle re-opens): the
//! source names the ones that left a settled state (`Updating`), found with the List's status
//! filter, and each is settled like a discovered page. Settled resources that stay settled
//! cost nothing: they are never read.

use std::pin::pin;

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::discover::Seen;
use super::settle::RunContext;
use super::summary::Settled;
use super::Poller;
use crate::domain::ObservedJob;
use crate::ports::{JobSource, JobStore, Notifier, OpenJobs};

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// A family whose resources re-open lists twice a run (discovery, then the re-opened
    /// ones): one call answers both when its whole listing fits a page
    /// ([`JobSource::listed_once`]). `(None, None)`: list as usual.
    pub(super) async fn listed_once(
        &self,
        since: DateTime<Utc>,
    ) -> (Option<Vec<ObservedJob>>, Option<Vec<ObservedJob>>) {
        if self.source.kind().family().reopen.is_none() {
            return (None, None);
        }
        match self.source.listed_once(since).await {
            Some(once) => (Some(once.discovered), Some(once.reopened)),
            None => (None, None),
        }
    }

    /// Settles what `JobSource::reopened` returns, or `listed` when one call already listed
    /// them ([`Poller::listed_once`]); jobs discovery already settled are skipped. A failure is
    /// counted and ends the phase: the next run lists them again.
    pub(super) async fn revisit(
        &self,
        since: DateTime<Utc>,
        listed: Option<Vec<ObservedJob>>,
        run: &RunContext<'_>,
        seen: &mut Seen,
        open: &mut OpenJobs,
    ) -> Settled {
        let mut report = Settled::default();
        if self.source.kind().family().reopen.is_none() {
            return report;
        }
        let pages = match listed {
            Some(jobs) => super::discover::given(Ok(jobs)).left_stream(),
            None => self.source.reopened(since).right_stream(),
        };
        let mut pages = pin!(pages);
        while let Some(page) = pages.next().await {
            if run.budget.exhausted() {
                break;
            }
            let jobs = match page {
                Ok(jobs) => jobs,
                Err(e) => {
                    report.failures.record("list reopened", &e);
                    break;
                }
            };
            let fresh: Vec<_> = jobs
                .into_iter()
                .filter(|j| !seen.contains(&j.arn))
                .collect();
            match self.settle_page(fresh, run, seen, open).await {
                Ok((settled, _)) => report += settled,
                Err(e) => {
                    report.failures.record("read reopened", &e);
                    break;
                }
            }
        }
        report
    }
}
