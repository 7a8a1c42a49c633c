//! `JobSource` for advanced prompt optimization jobs on the `bedrock` control-plane API.
//!
//! `ListAdvancedPromptOptimizationJobs` has no time or status filter, only a sort. A listing
//! therefore asks for newest first (`sortBy=CreationTime`, `sortOrder=Descending`: the default
//! order is not documented, so both are always sent) and stops paging at the first job created
//! at or before the watermark, so a steady run reads one page whatever the history. A status
//! filter is applied to what was read; the reconcile follows open jobs with Get
//! (`lists_cheaply` is false: a List by status would read the whole history).

use aws_sdk_bedrock::operation::get_advanced_prompt_optimization_job::GetAdvancedPromptOptimizationJobOutput as Full;
use aws_sdk_bedrock::types::{
    AdvancedPromptOptimizationJobSummary as Summary, SortJobsBy, SortOrder,
};
use aws_sdk_bedrock::Client;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt};

use crate::adapters::sdk::{bedrock_error, found, from_smithy, Calls};
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Largest page the List allows.
const PAGE: i32 = 1000;

const KIND: JobKind = JobKind::AdvancedPromptOptimization;

/// Advanced prompt optimization jobs (`ListAdvancedPromptOptimizationJobs`,
/// `GetAdvancedPromptOptimizationJob`).
#[derive(Debug, Clone)]
pub struct AdvancedPromptOptimizationSource {
    client: Client,
    calls: Calls,
}

/// A summary as a job: no model, locations or failure message (only Get has them).
fn observe_summary(j: &Summary) -> ObservedJob {
    let status = JobStatus::new(j.job_status().as_str());
    // No end time in the API: a finished job was last modified when it finished.
    let end_time = KIND
        .family()
        .is_terminal(&status)
        .then(|| j.last_modified_time().map(from_smithy))
        .flatten();
    ObservedJob {
        name: Some(j.job_name().to_owned()),
        end_time,
        ..ObservedJob::new(
            KIND,
            JobArn::new(j.job_arn()),
            status,
            from_smithy(j.creation_time()),
        )
    }
}

/// The Get output as a job: the optimized prompts' location, the input, the target models.
fn observe_full(j: &Full) -> ObservedJob {
    let models: Vec<&str> = j
        .model_configurations()
        .iter()
        .map(|m| m.model_id())
        .collect();
    let mut details = Details::new();
    if !models.is_empty() {
        details.insert("modelIds".into(), models.join(", "));
    }
    let status = JobStatus::new(j.job_status().as_str());
    let end_time = KIND
        .family()
        .is_terminal(&status)
        .then(|| j.last_modified_time().map(from_smithy))
        .flatten();
    ObservedJob {
        name: Some(j.job_name().to_owned()),
        model_id: models.first().map(|m| (*m).to_owned()),
        message: j.failure_message().map(str::to_owned),
        end_time,
        input_s3_uri: j.input_config().map(|c| c.s3_uri().to_owned()),
        output_s3_uri: j.output_config().map(|c| c.s3_uri().to_owned()),
        details,
        ..ObservedJob::new(
            KIND,
            JobArn::new(j.job_arn()),
            status,
            from_smithy(j.creation_time()),
        )
    }
}

/// A page's jobs created after `after` (and in the filter's status), and whether the page
/// reached one that was not created after it (the pages after it are older still).
fn page_jobs(summaries: &[Summary], filter: &ListFilter) -> (Vec<ObservedJob>, bool) {
    let after = |j: &Summary| {
        filter
            .submitted_after
            .is_none_or(|a: DateTime<Utc>| from_smithy(j.creation_time()) > a)
    };
    let reached = summaries.iter().any(|j| !after(j));
    let jobs = summaries
        .iter()
        .filter(|j| after(j))
        .filter(|j| {
            filter
                .status
                .as_ref()
                .is_none_or(|s| s.as_str() == j.job_status().as_str())
        })
        .map(observe_summary)
        .collect();
    (jobs, reached)
}

impl AdvancedPromptOptimizationSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, _config: &crate::config::Config) -> Self {
        Self::new(Client::new(sdk))
    }

    /// Newest first, a page at a time, down to the first page that reaches the watermark.
    fn newest_first(&self, filter: ListFilter) -> BoxStream<'static, Page<ObservedJob>> {
        let pages = self
            .client
            .list_advanced_prompt_optimization_jobs()
            .max_results(PAGE)
            .sort_by(SortJobsBy::CreationTime)
            .sort_order(SortOrder::Descending)
            .into_paginator()
            .send();
        let calls = self.calls.clone();
        stream::unfold(Some(pages), move |state| {
            let (calls, filter) = (calls.clone(), filter.clone());
            async move {
                let mut pages = state?;
                let page = pages.next().await?;
                calls.add(1);
                match page {
                    Err(e) => Some((
                        Err(bedrock_error("ListAdvancedPromptOptimizationJobs")(e)),
                        None,
                    )),
                    Ok(page) => {
                        let (jobs, reached) = page_jobs(page.job_summaries(), &filter);
                        Some((Ok(jobs), (!reached).then_some(pages)))
                    }
                }
            }
        })
        .boxed()
    }
}

impl JobSource for AdvancedPromptOptimizationSource {
    fn kind(&self) -> JobKind {
        KIND
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        match filter.oldest_first {
            true => super::listing::oldest_first(self.newest_first(filter.clone()), PAGE as usize),
            false => self.newest_first(filter.clone()),
        }
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_advanced_prompt_optimization_job()
            .job_identifier(arn.as_str())
            .send()
            .await;
        found("GetAdvancedPromptOptimizationJob", result, |j| {
            observe_full(&j)
        })
    }

    /// No status filter: a sweep by status would read the whole history each time.
    fn lists_cheaply(&self) -> bool {
        false
    }

    /// A job first seen in a listing lacks what only Get reports (the optimized prompts'
    /// location, the input, the target models, the failure message): one Get for a job about
    /// to be notified. Best effort.
    async fn enrich(&self, job: &mut ObservedJob) {
        if job.output_s3_uri.is_some() {
            return; // already read with a Get
        }
        let Ok(Some(full)) = self.get(&job.arn).await else {
            return;
        };
        job.message = job.message.take().or(full.message);
        job.input_s3_uri = full.input_s3_uri;
        job.output_s3_uri = full.output_s3_uri;
        job.model_id = job.model_id.take().or(full.model_id);
        job.end_time = job.end_time.or(full.end_time);
        for (key, value) in full.details {
            job.details.entry(key).or_insert(value);
        }
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}
