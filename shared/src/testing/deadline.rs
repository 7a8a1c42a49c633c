//! A deadline that comes after a given amount of listing, whatever the clock says: runs that
//! stop mid-listing, deterministically, over any `JobSource` (in memory or the real adapters).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};

use crate::domain::{JobArn, JobKind, ObservedJob};
use crate::error::Error;
use crate::poller::Budget;
use crate::ports::{InvocationMetrics, JobSource, ListFilter, ListedOnce, OpenJobs, Page, Swept};

/// Wraps a source; `budget_for(pages)` gives a `Budget` that ends once `pages` more List pages
/// have come through. Everything a run lists with is forwarded (the one listing and a sweep
/// count as a page each), and the idle check's metrics.
pub struct EndAfterPages<S> {
    pub inner: S,
    pages: AtomicU64,
    end: std::sync::Mutex<Option<(u64, Arc<AtomicBool>)>>,
}

impl<S> EndAfterPages<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            pages: AtomicU64::new(0),
            end: std::sync::Mutex::default(),
        }
    }

    /// A budget that ends as the page after `pages` more comes in: those pages are settled, that
    /// one is deferred, as when the deadline falls while it is being written.
    pub fn budget_for(&self, pages: u64) -> Budget {
        let ended = Arc::new(AtomicBool::new(false));
        let at = self.pages.load(Ordering::SeqCst) + pages;
        *self.end.lock().unwrap_or_else(|p| p.into_inner()) = Some((at, ended.clone()));
        Budget::until_signal(ended)
    }

    fn page_served(&self) {
        let served = self.pages.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((at, ended)) = self.end.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if served > *at {
                ended.store(true, Ordering::SeqCst);
            }
        }
    }
}

impl<S: JobSource> JobSource for EndAfterPages<S> {
    fn kind(&self) -> JobKind {
        self.inner.kind()
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        self.inner.list(filter).inspect(move |_| self.page_served())
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.inner.get(arn).await
    }

    async fn enrich(&self, job: &mut ObservedJob) {
        self.inner.enrich(job).await
    }

    async fn tags(&self, arn: &JobArn) -> Result<crate::notices::Tags, Error> {
        self.inner.tags(arn).await
    }

    fn lists_cheaply(&self) -> bool {
        self.inner.lists_cheaply()
    }

    /// The one listing counts as one page.
    async fn listed_once(&self, since: DateTime<Utc>) -> Option<ListedOnce> {
        let listed = self.inner.listed_once(since).await;
        if listed.is_some() {
            self.page_served();
        }
        listed
    }

    fn reopened(&self, since: DateTime<Utc>) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        self.inner
            .reopened(since)
            .inspect(move |_| self.page_served())
    }

    /// The sweep's answer counts as one page (it is one page of the service's listing, plus
    /// the first pages the open jobs may be on).
    async fn sweep(
        &self,
        after: DateTime<Utc>,
        cursor: Option<&str>,
        open: OpenJobs,
    ) -> Option<Result<Swept, Error>> {
        let swept = self.inner.sweep(after, cursor, open).await;
        if swept.is_some() {
            self.page_served();
        }
        swept
    }

    fn invocations(&self) -> Option<&dyn InvocationMetrics> {
        self.inner.invocations()
    }

    fn calls(&self) -> u64 {
        self.inner.calls()
    }
}
