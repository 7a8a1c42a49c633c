//! `JobSource` for knowledge-base ingestion jobs on the `bedrock-agent` API.
//!
//! Ingestion jobs live under a data source of a knowledge base, and their List has no time
//! filter. A listing therefore walks every knowledge base (`ListKnowledgeBases`) and data source
//! (`ListDataSources`), a per-run constant, then lists each data source's jobs newest first
//! (`sortBy STARTED_AT DESCENDING`) and stops paging at the first job started before the
//! watermark, so a steady run reads one page per data source whatever the history.
//!
//! Ingestion jobs have no ARN: a job is named by its knowledge base's ARN followed by
//! `/data-source/{id}/ingestion-job/{id}`, which also says where to Get it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_bedrockagent::error::ProvideErrorMetadata;
use aws_sdk_bedrockagent::operation::list_ingestion_jobs::ListIngestionJobsOutput;
use aws_sdk_bedrockagent::types::{
    IngestionJobFilter, IngestionJobFilterAttribute, IngestionJobFilterOperator,
    IngestionJobSortBy, IngestionJobSortByAttribute, IngestionJobStatistics, IngestionJobSummary,
    SortOrder,
};
use aws_sdk_bedrockagent::Client;
use futures::Stream;

use super::listing::{child_pages, under_parents};
use crate::adapters::sdk::{bedrock_error, from_smithy, Calls};
use crate::domain::stages::Documents;
use crate::domain::{JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Largest page every List operation of bedrock-agent allows.
const PAGE: i32 = 1000;

/// Knowledge-base ingestion jobs (`ListIngestionJobs`, `GetIngestionJob`).
#[derive(Debug, Clone)]
pub struct KbIngestionSource {
    client: Client,
    calls: Calls,
    /// Knowledge base id -> ARN (`GetKnowledgeBase` once per knowledge base and container: the
    /// List summaries carry no ARN).
    kb_arns: Arc<Mutex<HashMap<String, String>>>,
}

/// One data source to list.
#[derive(Debug, Clone)]
struct Target {
    kb_arn: String,
    kb_id: String,
    ds_id: String,
    /// `{knowledge base name} / {data source name}`: the job's name for people.
    label: String,
}

/// Where a job's identity says it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location<'a> {
    kb_arn: &'a str,
    kb_id: &'a str,
    ds_id: &'a str,
    job_id: &'a str,
}

/// Reads a job identity made by [`job_arn`].
fn locate(arn: &JobArn) -> Option<Location<'_>> {
    let s = arn.as_str();
    let at = s.find(":knowledge-base/")? + ":knowledge-base/".len();
    let (kb_part, rest) = s[at..].split_once('/')?;
    let mut parts = rest.split('/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("data-source"), Some(ds_id), Some("ingestion-job"), Some(job_id), None)
            if ![kb_part, ds_id, job_id].contains(&"") =>
        {
            Some(Location {
                kb_arn: &s[..at + kb_part.len()],
                kb_id: kb_part,
                ds_id,
                job_id,
            })
        }
        _ => None,
    }
}

fn job_arn(kb_arn: &str, ds_id: &str, job_id: &str) -> JobArn {
    JobArn::new(format!(
        "{kb_arn}/data-source/{ds_id}/ingestion-job/{job_id}"
    ))
}

/// The statistics of an ingestion job, as people read them.
pub fn statistics_text(s: &IngestionJobStatistics) -> String {
    let mut text = format!(
        "Documents: {} scanned, {} indexed ({} new, {} modified), {} deleted, {} failed, {} skipped",
        s.number_of_documents_scanned(),
        s.number_of_new_documents_indexed() + s.number_of_modified_documents_indexed(),
        s.number_of_new_documents_indexed(),
        s.number_of_modified_documents_indexed(),
        s.number_of_documents_deleted(),
        s.number_of_documents_failed(),
        s.number_of_documents_skipped(),
    );
    if s.number_of_metadata_documents_scanned() > 0 {
        text.push_str(&format!(
            "; metadata files: {} scanned, {} modified",
            s.number_of_metadata_documents_scanned(),
            s.number_of_metadata_documents_modified()
        ));
    }
    text
}

/// The statistics as the item keeps them (`details.statistics`: running jobs' progress).
fn documents(s: &IngestionJobStatistics) -> (String, String) {
    let d = Documents {
        scanned: s.number_of_documents_scanned(),
        indexed: s.number_of_new_documents_indexed() + s.number_of_modified_documents_indexed(),
        deleted: s.number_of_documents_deleted(),
        failed: s.number_of_documents_failed(),
        skipped: s.number_of_documents_skipped(),
    };
    ("statistics".to_owned(), d.encode())
}

/// Statistics, then the failure reasons: what the notification's message says.
fn message(stats: Option<&IngestionJobStatistics>, reasons: &[String]) -> Option<String> {
    let mut parts: Vec<String> = stats.map(statistics_text).into_iter().collect();
    if !reasons.is_empty() {
        parts.push(format!("Failure reasons: {}", reasons.join("; ")));
    }
    (!parts.is_empty()).then(|| parts.join(". "))
}

/// The members a summary and a full job share.
struct Seen<'a> {
    status: &'a str,
    started: &'a aws_smithy_types::DateTime,
    updated: &'a aws_smithy_types::DateTime,
    stats: Option<&'a IngestionJobStatistics>,
    reasons: &'a [String],
}

fn observe(arn: JobArn, kb_arn: &str, name: Option<String>, seen: Seen<'_>) -> ObservedJob {
    let status = JobStatus::new(seen.status);
    let terminal = JobKind::KbIngestion.family().is_terminal(&status);
    ObservedJob {
        name,
        message: message(seen.stats, seen.reasons),
        details: seen.stats.map(documents).into_iter().collect(),
        // No end time in the API: a finished job was last updated when it ended.
        end_time: terminal.then(|| from_smithy(seen.updated)),
        output_s3_uri: Some(kb_arn.to_owned()),
        ..ObservedJob::new(JobKind::KbIngestion, arn, status, from_smithy(seen.started))
    }
}

fn not_found<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ResourceNotFoundException")
}

/// Sorted by start time, newest first: the order that lets a listing stop at the watermark.
fn newest_first() -> Option<IngestionJobSortBy> {
    IngestionJobSortBy::builder()
        .attribute(IngestionJobSortByAttribute::StartedAt)
        .order(SortOrder::Descending)
        .build()
        .ok()
}

/// The filter's status as the API's filter (the only one it has).
fn status_filter(filter: &ListFilter) -> Option<IngestionJobFilter> {
    let status_filter = filter.status.as_ref().map(|s| {
        IngestionJobFilter::builder()
            .attribute(IngestionJobFilterAttribute::Status)
            .operator(IngestionJobFilterOperator::Eq)
            .values(s.as_str())
            .build()
    });
    status_filter.and_then(Result::ok)
}

/// A page's jobs, as listed.
fn page_jobs(summaries: &[IngestionJobSummary], target: &Target) -> Vec<ObservedJob> {
    let observe_one = |j: &IngestionJobSummary| {
        let seen = Seen {
            status: j.status().as_str(),
            started: j.started_at(),
            updated: j.updated_at(),
            stats: j.statistics(),
            reasons: &[],
        };
        let arn = job_arn(&target.kb_arn, &target.ds_id, j.ingestion_job_id());
        observe(arn, &target.kb_arn, Some(target.label.clone()), seen)
    };
    summaries.iter().map(observe_one).collect()
}

impl KbIngestionSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
            kb_arns: Arc::default(),
        }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, _config: &crate::config::Config) -> Self {
        Self::new(Client::new(sdk))
    }

    /// Every knowledge base (id, name): `ListKnowledgeBases`, a page per 1000.
    async fn knowledge_bases(&self) -> Result<Vec<(String, String)>, Error> {
        let mut pages = self
            .client
            .list_knowledge_bases()
            .max_results(PAGE)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.add(1);
            let page = page.map_err(bedrock_error("ListKnowledgeBases"))?;
            found.extend(
                page.knowledge_base_summaries()
                    .iter()
                    .map(|kb| (kb.knowledge_base_id().to_owned(), kb.name().to_owned())),
            );
        }
        Ok(found)
    }

    /// The knowledge base's ARN, from the cache or `GetKnowledgeBase`; `None` once deleted.
    async fn kb_arn(&self, kb_id: &str) -> Result<Option<String>, Error> {
        let cached = self.kb_arns.lock().ok().and_then(|m| m.get(kb_id).cloned());
        if cached.is_some() {
            return Ok(cached);
        }
        self.calls.add(1);
        let arn = match self
            .client
            .get_knowledge_base()
            .knowledge_base_id(kb_id)
            .send()
            .await
        {
            Ok(out) => out
                .knowledge_base()
                .map(|kb| kb.knowledge_base_arn().to_owned()),
            Err(e) if not_found(&e) => None,
            Err(e) => return Err(bedrock_error("GetKnowledgeBase")(e)),
        };
        if let (Some(arn), Ok(mut cache)) = (&arn, self.kb_arns.lock()) {
            cache.insert(kb_id.to_owned(), arn.clone());
        }
        Ok(arn)
    }

    /// Every data source of every knowledge base (a knowledge base deleted meanwhile is skipped).
    async fn targets(&self) -> Result<Vec<Target>, Error> {
        let mut targets = Vec::new();
        for (kb_id, kb_name) in self.knowledge_bases().await? {
            let Some(kb_arn) = self.kb_arn(&kb_id).await? else {
                continue;
            };
            let mut pages = self
                .client
                .list_data_sources()
                .knowledge_base_id(&kb_id)
                .max_results(PAGE)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                self.calls.add(1);
                let page = match page {
                    Err(e) if not_found(&e) => break,
                    page => page.map_err(bedrock_error("ListDataSources"))?,
                };
                targets.extend(page.data_source_summaries().iter().map(|ds| Target {
                    kb_arn: kb_arn.clone(),
                    kb_id: kb_id.clone(),
                    ds_id: ds.data_source_id().to_owned(),
                    label: format!("{kb_name} / {}", ds.name()),
                }));
            }
        }
        Ok(targets)
    }

    /// One data source's jobs, newest first (the API sorts them), a page at a time; stops
    /// after the page that reaches a job started at or before the watermark.
    fn data_source_jobs(
        &self,
        target: Target,
        filter: &ListFilter,
    ) -> impl Stream<Item = Page<ObservedJob>> + Send + 'static {
        let pages = self
            .client
            .list_ingestion_jobs()
            .knowledge_base_id(&target.kb_id)
            .data_source_id(&target.ds_id)
            .max_results(PAGE)
            .set_sort_by(newest_first())
            .set_filters(status_filter(filter).map(|f| vec![f]))
            .into_paginator()
            .send();
        let observe = move |page: &ListIngestionJobsOutput| {
            page_jobs(page.ingestion_job_summaries(), &target)
        };
        child_pages(
            pages,
            "ListIngestionJobs",
            self.calls.clone(),
            filter.clone(),
            observe,
        )
    }
}

impl JobSource for KbIngestionSource {
    fn kind(&self) -> JobKind {
        JobKind::KbIngestion
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let children = move |target, filter: &ListFilter| self.data_source_jobs(target, filter);
        under_parents(self.targets(), filter, PAGE as usize, children)
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        let Some(at) = locate(arn) else {
            tracing::warn!(job_arn = %arn, "not a knowledge-base ingestion job identity");
            return Ok(None);
        };
        self.calls.add(1);
        let result = self
            .client
            .get_ingestion_job()
            .knowledge_base_id(at.kb_id)
            .data_source_id(at.ds_id)
            .ingestion_job_id(at.job_id)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.ingestion_job().map(|job| {
                let seen = Seen {
                    status: job.status().as_str(),
                    started: job.started_at(),
                    updated: job.updated_at(),
                    stats: job.statistics(),
                    reasons: job.failure_reasons(),
                };
                observe(arn.clone(), at.kb_arn, None, seen)
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(bedrock_error("GetIngestionJob")(e)),
        }
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_identity_says_where_to_get_the_job() {
        let arn = job_arn(
            "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678",
            "DS12345678",
            "JOB1234567",
        );
        assert_eq!(
            locate(&arn),
            Some(Location {
                kb_arn: "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678",
                kb_id: "KB12345678",
                ds_id: "DS12345678",
                job_id: "JOB1234567",
            })
        );
        assert_eq!(arn.id(), "JOB1234567");
        assert_eq!(arn.account(), Some("123456789012"));
    }

    #[test]
    fn identities_of_other_shapes_are_refused() {
        for bad in [
            "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678",
            "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB/data-source/DS",
            "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB/data-source//ingestion-job/J",
            "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB/data-source/DS/ingestion-job/J/x",
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc",
        ] {
            assert_eq!(locate(&JobArn::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn statistics_and_failure_reasons_make_the_message() {
        let stats = IngestionJobStatistics::builder()
            .number_of_documents_scanned(1204)
            .number_of_new_documents_indexed(1000)
            .number_of_modified_documents_indexed(150)
            .number_of_documents_deleted(4)
            .number_of_documents_failed(12)
            .number_of_documents_skipped(38)
            .build();
        assert_eq!(
            message(Some(&stats), &["3 files exceed 50 MB".to_owned()]).as_deref(),
            Some("Documents: 1204 scanned, 1150 indexed (1000 new, 150 modified), 4 deleted, 12 failed, 38 skipped. Failure reasons: 3 files exceed 50 MB")
        );
        assert_eq!(message(None, &[]), None);
    }
}
