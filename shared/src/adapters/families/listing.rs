//! How a family's listing is read when the API does not help: the ones without sort or time
//! filter ([`NewestFirst`]), the nested ones whose jobs live under parents ([`under_parents`],
//! [`child_pages`]) and the resumable discovery that wants the oldest first ([`oldest_first`]).
//! One copy for every family that needs it, so that a fix to the paging reaches all of them.

use std::future::Future;

use aws_sdk_bedrock::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt, TryStreamExt};

use crate::adapters::sdk::{bedrock_error, Calls};
use crate::domain::ObservedJob;
use crate::error::Error;
use crate::ports::{ListFilter, Page};

/// Where a listing without sort or time filter (flow executions, library ingestion jobs: their
/// order is not documented) may stop: after the page that reaches a job created at or before
/// the watermark, but only while every job so far came newest first. A listing seen out of
/// that order is read to its end, so a service that orders otherwise costs pages, never jobs.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewestFirst {
    /// The oldest creation time seen so far (`None` before the first job).
    oldest: Option<DateTime<Utc>>,
    ordered: bool,
}

impl NewestFirst {
    pub fn new() -> Self {
        Self {
            oldest: None,
            ordered: true,
        }
    }

    /// Takes a page's creation times in listing order; says whether the pages after it may be
    /// skipped.
    pub fn page_ends_listing(
        &mut self,
        created: impl IntoIterator<Item = DateTime<Utc>>,
        after: Option<DateTime<Utc>>,
    ) -> bool {
        let mut reached = false;
        for t in created {
            self.ordered &= self.oldest.is_none_or(|o| t <= o);
            self.oldest = Some(t);
            reached |= after.is_some_and(|a| t <= a);
        }
        self.ordered && reached
    }
}

/// A listing's jobs sorted oldest first (what a resumable discovery asks), read in full first:
/// the new jobs are bounded by the watermark. A failed List answers only the error, so that no
/// checkpoint is taken past a parent that was not read.
pub(crate) fn oldest_first(
    pages: BoxStream<'_, Page<ObservedJob>>,
    page_size: usize,
) -> BoxStream<'_, Page<ObservedJob>> {
    stream::once(async move {
        let pages: Vec<Vec<ObservedJob>> = pages.try_collect().await?;
        let mut jobs: Vec<ObservedJob> = pages.into_iter().flatten().collect();
        jobs.sort_by(|a, b| (a.submit_time, &a.arn).cmp(&(b.submit_time, &b.arn)));
        let pages: Vec<Page<ObservedJob>> = jobs
            .chunks(page_size)
            .map(|chunk| Ok(chunk.to_vec()))
            .collect();
        Ok::<_, Error>(pages)
    })
    .flat_map(|pages| match pages {
        Ok(pages) => stream::iter(pages).boxed(),
        Err(e) => stream::iter(vec![Err(e)]).boxed(),
    })
    .boxed()
}

/// A nested family's listing: its parents first (their List pages: a per-run constant), then
/// each parent's own pages in turn, lazily (a caller that stops early stops the calls). A failed
/// parent listing answers only its error; a resumable discovery (`oldest_first`) gets every new
/// job, sorted.
pub(crate) fn under_parents<'a, P, S, F>(
    parents: impl Future<Output = Result<Vec<P>, Error>> + Send + 'a,
    filter: &ListFilter,
    page_size: usize,
    children: F,
) -> BoxStream<'a, Page<ObservedJob>>
where
    P: Send + 'a,
    S: Stream<Item = Page<ObservedJob>> + Send + 'a,
    F: Fn(P, &ListFilter) -> S + Clone + Send + Sync + 'a,
{
    let filter = filter.clone();
    stream::once(parents)
        .flat_map(move |parents| {
            let (children, filter) = (children.clone(), filter.clone());
            let sorted = filter.oldest_first;
            let walk = move |parents: Vec<P>| {
                stream::iter(parents)
                    .flat_map(move |p| children(p, &filter))
                    .boxed()
            };
            match parents {
                Err(e) => stream::iter(vec![Err(e)]).boxed(),
                Ok(parents) if sorted => oldest_first(walk(parents), page_size),
                Ok(parents) => walk(parents),
            }
        })
        .boxed()
}

/// One parent's children, a page at a time, filtered as `filter` asks; stops after the page
/// that reaches the watermark while the order holds ([`NewestFirst`]). A parent deleted
/// meanwhile (`ResourceNotFoundException`) has none. `observe` reads a page's jobs, each with
/// its creation time as `submit_time`.
pub(crate) fn child_pages<O, E, R>(
    pages: PaginationStream<Result<O, SdkError<E, R>>>,
    operation: &'static str,
    calls: Calls,
    filter: ListFilter,
    observe: impl Fn(&O) -> Vec<ObservedJob> + Send + Sync + 'static,
) -> impl Stream<Item = Page<ObservedJob>> + Send + 'static
where
    O: Send + 'static,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let observe = std::sync::Arc::new(observe);
    let state = Some((pages, NewestFirst::new()));
    stream::unfold(state, move |state| {
        let (calls, filter, observe) = (calls.clone(), filter.clone(), observe.clone());
        async move {
            let (mut pages, mut order) = state?;
            let page = pages.next().await?;
            calls.add(1);
            let page = match page {
                Err(e) if e.code() == Some("ResourceNotFoundException") => return None,
                Err(e) => return Some((Err(bedrock_error(operation)(e)), None)),
                Ok(page) => page,
            };
            let listed = observe(&page);
            let created = listed.iter().map(|j| j.submit_time);
            let ends = order.page_ends_listing(created, filter.submitted_after);
            let jobs = listed
                .into_iter()
                .filter(|j| filter.submitted_after.is_none_or(|a| j.submit_time > a))
                .filter(|j| filter.status.as_ref().is_none_or(|s| *s == j.status))
                .collect();
            Some((Ok(jobs), (!ends).then_some((pages, order))))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap()
    }

    #[test]
    fn a_newest_first_listing_ends_at_the_page_that_reaches_the_watermark() {
        let mut order = NewestFirst::new();
        let watermark = Some(at(10));
        assert!(!order.page_ends_listing([at(30), at(20)], watermark));
        assert!(order.page_ends_listing([at(15), at(10)], watermark));
        // without a watermark (a sweep, a first listing) every page is read
        assert!(!NewestFirst::new().page_ends_listing([at(3), at(1)], None));
    }

    #[test]
    fn a_listing_seen_out_of_newest_first_order_is_read_to_its_end() {
        let mut order = NewestFirst::new();
        let watermark = Some(at(10));
        assert!(!order.page_ends_listing([at(20), at(25)], watermark));
        assert!(
            !order.page_ends_listing([at(5)], watermark),
            "order broken before"
        );
    }

    #[test]
    fn pages_each_sorted_but_not_continuing_each_other_are_read_to_the_end() {
        let mut order = NewestFirst::new();
        let watermark = Some(at(5));
        assert!(!order.page_ends_listing([at(9), at(8)], watermark));
        assert!(!order.page_ends_listing([at(9), at(2)], watermark));
    }
}
