//! `JobSource` for Data Automation library ingestion jobs on the `bedrock-data-automation` API
//! (restJson1; its List and Get are `POST`s with a JSON body).
//!
//! Jobs live in a library, and their List (`ListDataAutomationLibraryIngestionJobs`) has no
//! sort, time or status filter. A listing therefore walks every library
//! (`ListDataAutomationLibraries`, a per-run constant), then pages each library's jobs and stops
//! after the page that reaches the watermark while the pages come newest first
//! ([`NewestFirst`]): a steady run reads one page per library whatever the history. Open jobs
//! are followed with Get ([`JobSource::lists_cheaply`] is `false`: without a status filter a
//! List answers an open job no more cheaply than the library's settled history).
//!
//! A job's ARN (`…:data-automation-library-ingestion-job/{id}`) does not name its library, and
//! Get needs both: a job is named by its library's ARN followed by
//! `/library-ingestion-job/{id}`, from which both ARNs are rebuilt.

use aws_sdk_bedrockdataautomation::error::ProvideErrorMetadata;
use aws_sdk_bedrockdataautomation::operation::list_data_automation_library_ingestion_jobs::ListDataAutomationLibraryIngestionJobsOutput;
use aws_sdk_bedrockdataautomation::types::{
    DataAutomationLibraryIngestionJob, DataAutomationLibraryIngestionJobSummary,
};
use aws_sdk_bedrockdataautomation::Client;
use futures::Stream;

use super::listing::{child_pages, under_parents};
use crate::adapters::sdk::{bedrock_error, from_smithy, Calls};
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Largest page both Lists allow.
const PAGE: i32 = 1000;

/// The job ARN's resource type, and the segment that names a job below its library.
const JOB_RESOURCE: &str = "data-automation-library-ingestion-job";
const NESTED: &str = "/library-ingestion-job/";

/// Data Automation library ingestion jobs (`ListDataAutomationLibraryIngestionJobs`,
/// `GetDataAutomationLibraryIngestionJob`).
#[derive(Debug, Clone)]
pub struct LibraryIngestionSource {
    client: Client,
    calls: Calls,
}

/// One library to list.
#[derive(Debug, Clone)]
struct Library {
    arn: String,
    /// `libraryName` (optional in the model): the job's name for people.
    name: Option<String>,
}

/// The library ARN and the job ARN a job identity made by [`identity`] stands for.
fn locate(arn: &JobArn) -> Option<(&str, String)> {
    let (library, id) = arn.as_str().split_once(NESTED)?;
    let (prefix, _) = library.split_once(":data-automation-library/")?;
    let valid = !id.is_empty() && !id.contains('/') && !library.ends_with('/');
    valid.then(|| (library, format!("{prefix}:{JOB_RESOURCE}/{id}")))
}

/// `{library ARN}/library-ingestion-job/{id}` for the job ARN `job_arn`.
fn identity(library: &str, job_arn: &str) -> JobArn {
    let id = job_arn.rsplit('/').next().unwrap_or(job_arn);
    JobArn::new(format!("{library}{NESTED}{id}"))
}

/// `{errorType}: {errorMessage}`, or whichever of the two the service sent.
fn failure(job: &DataAutomationLibraryIngestionJob) -> Option<String> {
    fn present(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    match (present(job.error_type()), present(job.error_message())) {
        (Some(t), Some(m)) => Some(format!("{t}: {m}")),
        (t, m) => t.or(m).map(str::to_owned),
    }
}

fn details(library: &str, operation: &str, entity: &str) -> Details {
    Details::from([
        ("libraryArn".to_owned(), library.to_owned()),
        ("operationType".to_owned(), operation.to_owned()),
        ("entityType".to_owned(), entity.to_owned()),
    ])
}

fn observe_summary(library: &Library, s: &DataAutomationLibraryIngestionJobSummary) -> ObservedJob {
    let name = library.name.clone().or_else(|| {
        let id = library.arn.rsplit('/').next();
        id.map(str::to_owned)
    });
    ObservedJob {
        name,
        end_time: s.completion_time().map(from_smithy),
        details: details(
            &library.arn,
            s.operation_type().as_str(),
            s.entity_type().as_str(),
        ),
        ..ObservedJob::new(
            JobKind::LibraryIngestion,
            identity(&library.arn, s.job_arn()),
            JobStatus::new(s.job_status().as_str()),
            from_smithy(s.creation_time()),
        )
    }
}

fn observe_job(
    arn: &JobArn,
    library: &str,
    job: &DataAutomationLibraryIngestionJob,
) -> ObservedJob {
    ObservedJob {
        message: failure(job),
        end_time: job.completion_time().map(from_smithy),
        output_s3_uri: job.output_configuration().map(|o| o.s3_uri().to_owned()),
        details: details(
            library,
            job.operation_type().as_str(),
            job.entity_type().as_str(),
        ),
        ..ObservedJob::new(
            JobKind::LibraryIngestion,
            arn.clone(),
            JobStatus::new(job.job_status().as_str()),
            from_smithy(job.creation_time()),
        )
    }
}

fn not_found<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ResourceNotFoundException")
}

impl LibraryIngestionSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, _config: &crate::config::Config) -> Self {
        Self::new(Client::new(sdk))
    }

    /// Every library: `ListDataAutomationLibraries`, a page per 1000 (`libraries` may be
    /// absent: none).
    async fn libraries(&self) -> Result<Vec<Library>, Error> {
        let mut pages = self
            .client
            .list_data_automation_libraries()
            .max_results(PAGE)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.add(1);
            let page = page.map_err(bedrock_error("ListDataAutomationLibraries"))?;
            found.extend(page.libraries().iter().map(|l| Library {
                arn: l.library_arn().to_owned(),
                name: l.library_name().map(str::to_owned),
            }));
        }
        Ok(found)
    }

    /// One library's jobs, newest first as far as the order allows.
    fn library_jobs(
        &self,
        library: Library,
        filter: &ListFilter,
    ) -> impl Stream<Item = Page<ObservedJob>> + Send + 'static {
        let pages = self
            .client
            .list_data_automation_library_ingestion_jobs()
            .library_arn(&library.arn)
            .max_results(PAGE)
            .into_paginator()
            .send();
        let observe = move |page: &ListDataAutomationLibraryIngestionJobsOutput| {
            let jobs = page.jobs().iter();
            jobs.map(|j| observe_summary(&library, j)).collect()
        };
        let operation = "ListDataAutomationLibraryIngestionJobs";
        child_pages(
            pages,
            operation,
            self.calls.clone(),
            filter.clone(),
            observe,
        )
    }
}

impl JobSource for LibraryIngestionSource {
    fn kind(&self) -> JobKind {
        JobKind::LibraryIngestion
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let children = move |library, filter: &ListFilter| self.library_jobs(library, filter);
        under_parents(self.libraries(), filter, PAGE as usize, children)
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        let Some((library, job_arn)) = locate(arn) else {
            tracing::warn!(job_arn = %arn, "not a library ingestion job identity");
            return Ok(None);
        };
        self.calls.add(1);
        let result = self
            .client
            .get_data_automation_library_ingestion_job()
            .library_arn(library)
            .job_arn(job_arn)
            .send()
            .await;
        // `job` is optional in the model: an answer without it is no job.
        match result {
            Ok(out) => Ok(out.job().map(|j| observe_job(arn, library, j))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(bedrock_error("GetDataAutomationLibraryIngestionJob")(e)),
        }
    }

    /// The output location and the error, which only Get reports: read for a job the listing
    /// found finished, about to be notified.
    async fn enrich(&self, job: &mut ObservedJob) {
        if job.output_s3_uri.is_some() || !job.is_terminal() {
            return;
        }
        if let Ok(Some(full)) = self.get(&job.arn).await {
            job.output_s3_uri = full.output_s3_uri;
            job.message = full.message.or(job.message.take());
        }
    }

    /// No status filter on the List: open jobs are read with Get.
    fn lists_cheaply(&self) -> bool {
        false
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBRARY: &str =
        "arn:aws:bedrock:us-east-1:123456789012:data-automation-library/medical-terms-0001";

    #[test]
    fn a_job_identity_gives_back_both_arns() {
        let job = "arn:aws:bedrock:us-east-1:123456789012:data-automation-library-ingestion-job/8f14e45f-ceea-467f-a9b2-c1d2e3f4a5b6";
        let arn = identity(LIBRARY, job);
        assert_eq!(
            arn.as_str(),
            format!("{LIBRARY}/library-ingestion-job/8f14e45f-ceea-467f-a9b2-c1d2e3f4a5b6")
        );
        assert_eq!(locate(&arn), Some((LIBRARY, job.to_owned())));
        assert_eq!(arn.id(), "8f14e45f-ceea-467f-a9b2-c1d2e3f4a5b6");
        assert_eq!(arn.account(), Some("123456789012"));
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in [
            LIBRARY,
            "arn:aws:bedrock:us-east-1:123456789012:data-automation-library-ingestion-job/x",
            "arn:aws:bedrock:us-east-1:123456789012:data-automation-library/l/library-ingestion-job/",
            "arn:aws:bedrock:us-east-1:123456789012:data-automation-library/l/library-ingestion-job/a/b",
        ] {
            assert_eq!(locate(&JobArn::new(bad)), None, "{bad}");
        }
    }
}
