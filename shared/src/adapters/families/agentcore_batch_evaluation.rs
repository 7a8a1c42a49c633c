//! `JobSource` for AgentCore batch evaluations on the `bedrock-agentcore` data plane (its own
//! IAM prefix and signing name).
//!
//! `ListBatchEvaluations` takes only `maxResults` (1..=100) and `nextToken`: no time or status
//! filter, no sort, and no documented order, so no listing can stop at the watermark. The
//! first run reads every page (`list`: the history it records must be all of it). A steady
//! run (`sweep`) reads the first page, where a service that answers newest first puts what is
//! new (and the next ones while they may hold the scope's open evaluations, at most one per
//! 100 open), plus ONE further page of a sweep through the whole listing whose `nextToken` the
//! scope's item keeps between runs; at the end it starts over. A run with few open thus costs
//! two Lists whatever the history, and whatever the order, every evaluation is listed within
//! as many runs as the listing has pages. A token the service refuses (`ValidationException`:
//! expired, or from another listing) starts the sweep over instead of failing the run. Open
//! evaluations no page showed are read with Get (`lists_cheaply` is false).
//!
//! `GetBatchEvaluation` takes the id (the ARN's last segment), not the ARN. Only the Get says
//! where the results went (`outputConfig.cloudWatchConfig`, a CloudWatch Logs log group: the
//! output location): `enrich` reads it for an evaluation about to be notified.

use aws_sdk_bedrockagentcore::error::SdkError;
use aws_sdk_bedrockagentcore::operation::list_batch_evaluations::ListBatchEvaluationsError;
use aws_sdk_bedrockagentcore::types::{
    BatchEvaluationSummary, EvaluationJobResults, Evaluator, OutputConfig,
};
use aws_sdk_bedrockagentcore::Client;
use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt, TryStreamExt};

use crate::adapters::sdk::{bedrock_error, found, from_smithy, pages, Calls};
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, OpenJobs, Page, Swept};

/// The largest page `ListBatchEvaluations` allows.
const PAGE: i32 = 100;

const KIND: JobKind = JobKind::AgentcoreBatchEvaluation;

/// AgentCore batch evaluations (`ListBatchEvaluations`, `GetBatchEvaluation`).
#[derive(Debug, Clone)]
pub struct AgentcoreBatchEvaluationSource {
    client: Client,
    calls: Calls,
}

impl AgentcoreBatchEvaluationSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, _config: &crate::config::Config) -> Self {
        Self::new(Client::new(sdk))
    }

    /// Every page of the listing, each filtered as `filter` asks (the API cannot).
    fn filtered_pages(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send {
        let request = self.client.list_batch_evaluations().max_results(PAGE);
        let filter = filter.clone();
        pages(
            request.into_paginator().send(),
            self.calls.clone(),
            move |page| {
                let page = page.map_err(bedrock_error("ListBatchEvaluations"))?;
                Ok(page
                    .batch_evaluations()
                    .iter()
                    .map(observe_summary)
                    .filter(|job| wanted(&filter, job))
                    .collect())
            },
        )
    }

    /// The whole filtered listing sorted oldest first, paged again. A failed List answers only
    /// the error, so that no checkpoint is taken past a page that was not read.
    fn oldest_first(&self, filter: &ListFilter) -> BoxStream<'_, Page<ObservedJob>> {
        let listing = self.filtered_pages(filter);
        stream::once(async move {
            let pages: Vec<Vec<ObservedJob>> = listing.try_collect().await?;
            let mut jobs: Vec<ObservedJob> = pages.into_iter().flatten().collect();
            jobs.sort_by(|a, b| (a.submit_time, &a.arn).cmp(&(b.submit_time, &b.arn)));
            Ok::<_, Error>(jobs)
        })
        .flat_map(|jobs| match jobs {
            Ok(jobs) => {
                let pages: Vec<Page<ObservedJob>> = jobs
                    .chunks(PAGE as usize)
                    .map(|chunk| Ok(chunk.to_vec()))
                    .collect();
                stream::iter(pages).boxed()
            }
            Err(e) => stream::iter(vec![Err(e)]).boxed(),
        })
        .boxed()
    }
}

/// One `ListBatchEvaluations` page at `token` (`None`: the first), its jobs and the next token.
type Listed = (Vec<ObservedJob>, Option<String>);

impl AgentcoreBatchEvaluationSource {
    async fn page(
        &self,
        token: Option<&str>,
    ) -> Result<Listed, SdkError<ListBatchEvaluationsError>> {
        self.calls.add(1);
        let out = self
            .client
            .list_batch_evaluations()
            .max_results(PAGE)
            .set_next_token(token.map(str::to_owned))
            .send()
            .await?;
        let jobs = out
            .batch_evaluations()
            .iter()
            .map(observe_summary)
            .collect();
        Ok((jobs, out.next_token().map(str::to_owned)))
    }

    /// The first page, then more while a newest-first listing may still hold the scope's
    /// `open` evaluations: until a page reaches one created before the oldest of them, at most
    /// one page per 100 open (bounded by open jobs; in another order the rest are read with
    /// Get by the reconcile).
    async fn head(&self, open: OpenJobs) -> Result<Listed, SdkError<ListBatchEvaluationsError>> {
        let (mut jobs, mut next) = self.page(None).await?;
        let mut more = open.count.div_ceil(PAGE as u64);
        while let (Some(token), Some(oldest)) = (next.as_deref(), open.oldest) {
            let passed = jobs.last().is_some_and(|j| j.submit_time < oldest);
            if more == 0 || passed {
                break;
            }
            let (page, after) = self.page(Some(token)).await?;
            jobs.extend(page);
            (next, more) = (after, more - 1);
        }
        Ok((jobs, next))
    }

    /// The head, then the sweep's page at `cursor` (`None`: the page after the head). A
    /// refused token starts the sweep over.
    async fn head_and_swept(&self, cursor: Option<&str>, open: OpenJobs) -> Result<Swept, Error> {
        let list_error = bedrock_error("ListBatchEvaluations");
        let (mut jobs, after_head) = self.head(open).await.map_err(list_error)?;
        let Some(token) = cursor.map(str::to_owned).or(after_head) else {
            // The head read the whole listing: nothing to sweep.
            return Ok(Swept { jobs, cursor: None });
        };
        let cursor = match self.page(Some(&token)).await {
            Ok((deeper, next)) => {
                jobs.extend(deeper);
                next
            }
            Err(e) if is_refused_token(&e) => {
                tracing::warn!(
                    kind = %KIND,
                    "ListBatchEvaluations refused the sweep's token: the sweep starts over"
                );
                None
            }
            Err(e) => return Err(bedrock_error("ListBatchEvaluations")(e)),
        };
        Ok(Swept { jobs, cursor })
    }
}

/// `ValidationException` for a List whose only other member is a valid `maxResults`: the token
/// is what the service refused (expired, or from another listing).
fn is_refused_token(e: &SdkError<ListBatchEvaluationsError>) -> bool {
    e.as_service_error()
        .is_some_and(ListBatchEvaluationsError::is_validation_exception)
}

/// What the filter asks for: created after its instant, in its status.
fn wanted(filter: &ListFilter, job: &ObservedJob) -> bool {
    let after = filter.submitted_after.is_none_or(|t| job.submit_time > t);
    let status = filter.status.as_ref().is_none_or(|s| *s == job.status);
    after && status
}

/// The members a summary and a Get share.
struct Seen<'a> {
    arn: &'a str,
    name: &'a str,
    status: &'a str,
    created: &'a aws_smithy_types::DateTime,
    updated: Option<&'a aws_smithy_types::DateTime>,
    evaluators: &'a [Evaluator],
    results: Option<&'a EvaluationJobResults>,
    errors: &'a [String],
    output: Option<&'a OutputConfig>,
}

fn observe_summary(s: &BatchEvaluationSummary) -> ObservedJob {
    observe(Seen {
        arn: s.batch_evaluation_arn(),
        name: s.batch_evaluation_name(),
        status: s.status().as_str(),
        created: s.created_at(),
        updated: s.updated_at(),
        evaluators: s.evaluators(),
        results: s.evaluation_results(),
        errors: s.error_details(),
        output: None,
    })
}

fn observe(seen: Seen<'_>) -> ObservedJob {
    let status = JobStatus::new(seen.status);
    let terminal = KIND.family().is_terminal(&status);
    ObservedJob {
        name: Some(seen.name.to_owned()),
        message: (!seen.errors.is_empty()).then(|| seen.errors.join("; ")),
        // No end time in the API: a finished evaluation was last updated when it ended.
        end_time: seen.updated.filter(|_| terminal).map(from_smithy),
        output_s3_uri: log_group(seen.output),
        details: details(&seen),
        ..ObservedJob::new(
            KIND,
            JobArn::new(seen.arn),
            status,
            from_smithy(seen.created),
        )
    }
}

/// The log group the results are written to (Get only): the evaluation's output location.
fn log_group(output: Option<&OutputConfig>) -> Option<String> {
    let cw = output?.as_cloud_watch_config().ok()?;
    Some(cw.log_group_name().to_owned()).filter(|g| !g.is_empty())
}

/// Where in the log group the results are, the sessions evaluated and the scores: what the
/// email shows.
fn details(seen: &Seen<'_>) -> Details {
    let mut details = Details::new();
    if let Some(Ok(cw)) = seen.output.map(OutputConfig::as_cloud_watch_config) {
        details.insert("logStreamName".into(), cw.log_stream_name().to_owned());
        details.insert(
            "resultDestination".into(),
            cw.result_destination().as_str().to_owned(),
        );
        if let Some(namespace) = cw.metrics_namespace() {
            details.insert("metricsNamespace".into(), namespace.to_owned());
        }
    }
    let evaluators: Vec<&str> = seen.evaluators.iter().map(|e| e.evaluator_id()).collect();
    if !evaluators.is_empty() {
        details.insert("evaluators".into(), evaluators.join(", "));
    }
    // An evaluation that found no session (or has not counted them yet) has no figures to show.
    let counted = seen
        .results
        .filter(|r| r.total_number_of_sessions().unwrap_or(0) > 0);
    if let Some(results) = counted {
        details.insert("sessions".into(), sessions_text(results));
        let scores = scores_text(results);
        if !scores.is_empty() {
            details.insert("scores".into(), scores);
        }
    }
    details
}

/// `12 of 12 completed, 0 failed, 0 ignored`.
fn sessions_text(r: &EvaluationJobResults) -> String {
    let n = |v: Option<i32>| v.unwrap_or(0);
    format!(
        "{} of {} completed, {} failed, {} ignored",
        n(r.number_of_sessions_completed()),
        n(r.total_number_of_sessions()),
        n(r.number_of_sessions_failed()),
        n(r.number_of_sessions_ignored()),
    )
}

/// `Builtin.Helpfulness 0.82, Builtin.GoalSuccessRate 0.67`: each evaluator's average.
fn scores_text(r: &EvaluationJobResults) -> String {
    r.evaluator_summaries()
        .iter()
        .filter_map(|s| {
            let score = s.statistics()?.average_score()?;
            Some(format!("{} {score:.2}", s.evaluator_id()?))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl JobSource for AgentcoreBatchEvaluationSource {
    fn kind(&self) -> JobKind {
        KIND
    }

    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        match filter.oldest_first {
            true => self.oldest_first(filter),
            false => self.filtered_pages(filter).boxed(),
        }
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_batch_evaluation()
            .batch_evaluation_id(arn.id())
            .send()
            .await;
        found("GetBatchEvaluation", result, |o| {
            observe(Seen {
                arn: o.batch_evaluation_arn(),
                name: o.batch_evaluation_name(),
                status: o.status().as_str(),
                created: o.created_at(),
                updated: o.updated_at(),
                evaluators: o.evaluators(),
                results: o.evaluation_results(),
                errors: o.error_details(),
                output: o.output_config(),
            })
        })
    }

    /// Listing a status would read the whole history: open evaluations are read with Get.
    fn lists_cheaply(&self) -> bool {
        false
    }

    /// An evaluation first seen in a listing lacks where its results went (Get only). Best
    /// effort: one Get for an evaluation about to be notified.
    async fn enrich(&self, job: &mut ObservedJob) {
        if job.output_s3_uri.is_some() {
            return; // already read with a Get
        }
        let Ok(Some(full)) = self.get(&job.arn).await else {
            return;
        };
        job.message = job.message.take().or(full.message);
        job.end_time = job.end_time.or(full.end_time);
        job.output_s3_uri = full.output_s3_uri;
        for (key, value) in full.details {
            job.details.insert(key, value);
        }
    }

    async fn sweep(
        &self,
        after: chrono::DateTime<chrono::Utc>,
        cursor: Option<&str>,
        open: OpenJobs,
    ) -> Option<Result<Swept, Error>> {
        let swept = self.head_and_swept(cursor, open).await.map(|mut swept| {
            swept.jobs.retain(|job| job.submit_time > after);
            swept
        });
        Some(swept)
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_bedrockagentcore::types::{EvaluatorStatistics, EvaluatorSummary};

    #[test]
    fn the_sessions_and_each_evaluators_average_make_the_summary() {
        let results = EvaluationJobResults::builder()
            .number_of_sessions_completed(10)
            .total_number_of_sessions(12)
            .number_of_sessions_failed(2)
            .number_of_sessions_ignored(0)
            .evaluator_summaries(
                EvaluatorSummary::builder()
                    .evaluator_id("Builtin.Helpfulness")
                    .statistics(EvaluatorStatistics::builder().average_score(0.8234).build())
                    .build(),
            )
            .evaluator_summaries(EvaluatorSummary::builder().evaluator_id("x").build())
            .build();
        assert_eq!(
            sessions_text(&results),
            "10 of 12 completed, 2 failed, 0 ignored"
        );
        assert_eq!(scores_text(&results), "Builtin.Helpfulness 0.82");
    }

    #[test]
    fn the_filter_the_api_lacks_is_applied_here() {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let job = ObservedJob::new(
            KIND,
            JobArn::new(
                "arn:aws:bedrock-agentcore:us-east-1:123456789012:batch-evaluate/e-abcdefghij",
            ),
            JobStatus::new("IN_PROGRESS"),
            t,
        );
        let after = |s: i64| ListFilter {
            submitted_after: chrono::DateTime::from_timestamp(s, 0),
            ..Default::default()
        };
        assert!(wanted(&after(1_699_999_999), &job));
        assert!(!wanted(&after(1_700_000_000), &job));
        let status = |s: &str| ListFilter {
            status: Some(JobStatus::new(s)),
            ..Default::default()
        };
        assert!(wanted(&status("IN_PROGRESS"), &job));
        assert!(!wanted(&status("PENDING"), &job));
    }
}
