//! `JobSource` over jobs a test sets, with the List semantics of the Bedrock APIs (time filter,
//! status filter, order, pages) and scripted failures.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use futures::Stream;

use crate::adapters::sdk::Calls;
use crate::domain::{JobArn, JobKind, JobStatus, ObservedJob, RecordCounts};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

#[derive(Debug)]
pub struct ScriptedSource {
    kind: JobKind,
    jobs: Mutex<BTreeMap<JobArn, ObservedJob>>,
    page_size: usize,
    fail_lists: AtomicUsize,
    fail_gets: AtomicUsize,
    fail_tags: AtomicUsize,
    tags: Mutex<BTreeMap<JobArn, crate::notices::Tags>>,
    calls: Calls,
    /// Account and region of the jobs' ARNs (one scope of a fleet).
    scope: (String, String),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn throttled(operation: &'static str) -> Error {
    Error::Bedrock {
        operation,
        retryable: true,
        source: Box::new(crate::error::ServiceFault::new(
            Some("ThrottlingException"),
            "injected",
        )),
    }
}

impl ScriptedSource {
    /// Pages of 1000 jobs, as the Bedrock APIs give at most.
    pub fn new(kind: JobKind) -> Self {
        Self::with_page_size(kind, 1000)
    }

    pub fn with_page_size(kind: JobKind, page_size: usize) -> Self {
        Self {
            kind,
            jobs: Mutex::default(),
            page_size: page_size.max(1),
            fail_lists: AtomicUsize::new(0),
            fail_gets: AtomicUsize::new(0),
            fail_tags: AtomicUsize::new(0),
            tags: Mutex::default(),
            calls: Calls::default(),
            scope: ("123456789012".into(), "us-east-1".into()),
        }
    }

    /// Jobs in `account` and `region` (their ARNs say so), as one scope of a fleet sees them.
    pub fn in_scope(kind: JobKind, account: &str, region: &str) -> Self {
        Self {
            scope: (account.to_owned(), region.to_owned()),
            ..Self::new(kind)
        }
    }

    /// A job of this family, submitted at `submitted`, in `status`.
    pub fn job(&self, id: &str, status: &str, submitted: DateTime<Utc>) -> ObservedJob {
        let kind = self.kind;
        let (account, region) = &self.scope;
        let arn = format!("arn:aws:bedrock:{region}:{account}:{kind}/{id}");
        let job = ObservedJob {
            kind,
            arn: JobArn::new(arn),
            name: Some(format!("job-{id}")),
            status: JobStatus::new(status),
            model_id: Some("anthropic.claude-3-haiku-20240307-v1:0".into()),
            message: None,
            submit_time: submitted,
            end_time: None,
            input_s3_uri: None,
            output_s3_uri: None,
            counts: RecordCounts::default(),
            deadline: None,
            details: Default::default(),
        };
        lock(&self.jobs).insert(job.arn.clone(), job.clone());
        job
    }

    /// Moves a job to `status` (ending it at `at` when the status is terminal).
    pub fn set_status(&self, arn: &JobArn, status: &str, at: DateTime<Utc>) {
        if let Some(job) = lock(&self.jobs).get_mut(arn) {
            job.status = JobStatus::new(status);
            job.end_time = job.is_terminal().then_some(at);
        }
    }

    /// Changes a job in place (its counts, its deadline, ...).
    pub fn update(&self, arn: &JobArn, change: impl FnOnce(&mut ObservedJob)) {
        if let Some(job) = lock(&self.jobs).get_mut(arn) {
            change(job);
        }
    }

    /// Deletes a job (Gets then find nothing).
    pub fn remove(&self, arn: &JobArn) {
        lock(&self.jobs).remove(arn);
    }

    pub fn fail_next_lists(&self, n: usize) {
        self.fail_lists.store(n, Ordering::SeqCst);
    }

    pub fn fail_next_gets(&self, n: usize) {
        self.fail_gets.store(n, Ordering::SeqCst);
    }

    /// Tags a job (what `ListTagsForResource` answers for it).
    pub fn tag(&self, arn: &JobArn, tags: &[(&str, &str)]) {
        let tags = tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        lock(&self.tags)
            .entry(arn.clone())
            .or_default()
            .extend(tags);
    }

    /// Makes the next `n` tag reads fail (throttled).
    pub fn fail_next_tag_reads(&self, n: usize) {
        self.fail_tags.store(n, Ordering::SeqCst);
    }

    fn matching(&self, filter: &ListFilter) -> Vec<ObservedJob> {
        let mut jobs: Vec<ObservedJob> = lock(&self.jobs)
            .values()
            .filter(|j| filter.submitted_after.is_none_or(|t| j.submit_time > t))
            .filter(|j| filter.status.as_ref().is_none_or(|s| *s == j.status))
            .cloned()
            .collect();
        jobs.sort_by(|a, b| (a.submit_time, &a.arn).cmp(&(b.submit_time, &b.arn)));
        if !filter.oldest_first {
            jobs.reverse();
        }
        jobs
    }
}

impl JobSource for ScriptedSource {
    fn kind(&self) -> JobKind {
        self.kind
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let pages: Vec<Page<ObservedJob>> = if take(&self.fail_lists) {
            vec![Err(throttled("List"))]
        } else {
            let jobs = self.matching(filter);
            let mut pages: Vec<_> = jobs
                .chunks(self.page_size)
                .map(|c| Ok(c.to_vec()))
                .collect();
            if pages.is_empty() {
                pages.push(Ok(Vec::new()));
            }
            pages
        };
        futures::StreamExt::map(futures::stream::iter(pages), move |page| {
            self.calls.add(1);
            page
        })
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        if take(&self.fail_gets) {
            return Err(throttled("Get"));
        }
        Ok(lock(&self.jobs).get(arn).cloned())
    }

    async fn tags(&self, arn: &JobArn) -> Result<crate::notices::Tags, Error> {
        self.calls.add(1);
        if take(&self.fail_tags) {
            return Err(throttled("ListTagsForResource"));
        }
        Ok(lock(&self.tags).get(arn).cloned().unwrap_or_default())
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}
