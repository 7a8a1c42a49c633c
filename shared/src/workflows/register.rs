//! The register queue's consumer: one SQS message per waiting task, as Lambda's event source
//! mapping delivers them. A bad request fails its task at once (`JobWatch.InvalidRequest`) and
//! is reported processed; only transient failures go back to the queue
//! (`ReportBatchItemFailures`), so no message is redelivered forever.

use std::collections::HashMap;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ports::{Answer, WaitStore, Workflows};
use super::request::{parse_request, Invalid, WaitRequest};
use super::resume::{Resumed, Resumer};
use super::verdict::{cut, decide, Step, INVALID_REQUEST, MAX_CAUSE, MAX_ERROR, NOT_FOUND};
use super::wait::Wait;
use crate::domain::{plan, JobArn, JobKind, JobRecord, ObservedJob, PlanContext, RunId};
use crate::error::Error;
use crate::poller::{BoxFuture, PollSettings};
use crate::ports::{JobSource, JobStore};

/// Reads one job (object-safe, so one registrar holds a reader per family and region).
pub trait JobReader: Send + Sync {
    fn read<'a>(&'a self, arn: &'a JobArn) -> BoxFuture<'a, Result<Option<ObservedJob>, Error>>;
}

impl<S: JobSource> JobReader for S {
    fn read<'a>(&'a self, arn: &'a JobArn) -> BoxFuture<'a, Result<Option<ObservedJob>, Error>> {
        Box::pin(self.get(arn))
    }
}

/// What became of one register message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// The job is open: the wait is stored and the pollers will resume it.
    Waiting,
    /// The job had already ended: the task is answered.
    Answered,
    /// The token was closed already (the task timed out or was answered).
    Dropped,
    /// Not a request this deployment can serve; its task (if any) failed with the reason.
    Refused(String),
}

/// One batch's outcome (logged; the batch response goes to Lambda).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegisterSummary {
    pub received: usize,
    pub waiting: usize,
    pub answered: usize,
    pub refused: usize,
    pub dropped: usize,
    /// Messages given back to the queue (transient failures).
    pub retried: usize,
    pub errors: Vec<String>,
}

/// Registers waits: the resumer's ports, a reader per (family, region) this deployment
/// watches in its own account, and the poll settings new jobs are recorded with.
pub struct Registrar<W, T, F> {
    pub resumer: Resumer<W, T, F>,
    pub readers: HashMap<(JobKind, String), Box<dyn JobReader>>,
    pub settings: PollSettings,
}

impl<W: WaitStore, T: JobStore, F: Workflows> Registrar<W, T, F> {
    /// The families a message may name.
    pub fn watched(&self) -> Vec<JobKind> {
        let mut kinds: Vec<JobKind> = self.readers.keys().map(|(k, _)| *k).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// Handles a batch; messages that failed transiently are listed for redelivery.
    /// `own_account`: the function's account (from its ARN; `None` in local runs: any).
    pub async fn handle(
        &self,
        event: SqsEvent,
        now: DateTime<Utc>,
        run_id: &RunId,
        own_account: Option<&str>,
    ) -> (SqsBatchResponse, RegisterSummary) {
        let mut summary = RegisterSummary::default();
        let mut response = SqsBatchResponse::default();
        for message in event.records {
            summary.received += 1;
            let body = message.body.as_deref().unwrap_or_default();
            match self.register(body, now, run_id, own_account).await {
                Ok(Registered::Waiting) => summary.waiting += 1,
                Ok(Registered::Answered) => summary.answered += 1,
                Ok(Registered::Dropped) => summary.dropped += 1,
                Ok(Registered::Refused(reason)) => {
                    tracing::warn!(
                        message_id = message.message_id.as_deref(),
                        reason,
                        "register message refused"
                    );
                    summary.refused += 1;
                }
                Err(e) if e.is_retryable() => {
                    summary.retried += 1;
                    summary.errors.push(e.chain());
                    response.batch_item_failures.push(BatchItemFailure {
                        item_identifier: message.message_id.clone().unwrap_or_default(),
                    });
                }
                Err(e) => {
                    // Not retryable and no task to tell (the failure call itself was refused):
                    // logged and processed, never redelivered forever.
                    tracing::error!(message_id = message.message_id.as_deref(), error = %e.chain(), "register message dropped");
                    summary.refused += 1;
                    summary.errors.push(e.chain());
                }
            }
        }
        (response, summary)
    }

    /// One register message.
    pub async fn register(
        &self,
        body: &str,
        now: DateTime<Utc>,
        run_id: &RunId,
        own_account: Option<&str>,
    ) -> Result<Registered, Error> {
        let request = match parse_request(body, &self.watched()) {
            Ok(request) => request,
            Err(invalid) => return self.refuse(invalid, INVALID_REQUEST).await,
        };
        let record = match self.known(&request, own_account).await? {
            Ok(record) => record,
            Err((reason, error)) => {
                let invalid = Invalid {
                    token: Some(request.task_token.clone()),
                    reason,
                };
                return self.refuse(invalid, error).await;
            }
        };
        if !record.is_open() || record.retired {
            return self.answer_now(&request, &record).await;
        }
        let wait = Wait::new(&request, now);
        self.resumer.waits.add(&wait).await?;
        // The job may have settled (and its waits been resumed) between the read and the add:
        // read it again, and resume this wait now if so.
        let mut report = Resumed::default();
        self.resumer
            .resume_waits(vec![wait], now, run_id, false, &mut report)
            .await;
        if let Some(first) = report.errors.first() {
            tracing::warn!(
                error = first,
                "registered, not yet resumed: the pollers will"
            );
        }
        Ok(match report.succeeded + report.failed + report.dropped {
            0 => Registered::Waiting,
            _ => Registered::Answered,
        })
    }

    /// The job's item; a job the table does not know is read once through its family's adapter
    /// and, when open, recorded (watched from then on). `Ok(Err)`: why not (reason, error name).
    async fn known(
        &self,
        request: &WaitRequest,
        own_account: Option<&str>,
    ) -> Result<Result<JobRecord, (String, &'static str)>, Error> {
        let arn = &request.job_arn;
        let account = arn.account().unwrap_or_default();
        if own_account.is_some_and(|own| own != account) {
            let reason = format!(
                "waits are served for jobs of this deployment's own account, not {account} ({arn})"
            );
            return Ok(Err((reason, INVALID_REQUEST)));
        }
        if let Some(record) = self
            .resumer
            .store
            .get_many(std::slice::from_ref(arn))
            .await?
            .pop()
        {
            return Ok(Ok(record));
        }
        let region = arn.region().unwrap_or_default().to_owned();
        let Some(reader) = self.readers.get(&(request.family, region.clone())) else {
            let reason = format!(
                "this deployment does not watch {} jobs in {region} ({arn})",
                request.family
            );
            return Ok(Err((reason, INVALID_REQUEST)));
        };
        let Some(job) = reader.read(arn).await? else {
            return Ok(Err((format!("Bedrock has no job {arn}"), NOT_FOUND)));
        };
        self.record(job, &region).await.map(Ok)
    }

    /// Records a job first seen here as the planner would on an event, so the pollers
    /// reconcile it; a job that already ended is not written (it is answered at once).
    async fn record(&self, job: ObservedJob, region: &str) -> Result<JobRecord, Error> {
        let run_id = RunId::new("workflow-register");
        let ctx = PlanContext {
            now: Utc::now(),
            history_before: None,
            policy: &self.settings.policy,
            region,
            retention: self.settings.retention,
            run_id: &run_id,
            lease: self.settings.publish_lease,
        };
        let mut change = plan(None, &job, &ctx)
            .map_err(|skip| Error::Event(format!("cannot record {}: {skip:?}", job.arn)))?;
        if job.is_terminal() {
            return Ok(change.record);
        }
        // Any poller may publish a notice the plan made; this function publishes none.
        change.record.set_lease(None);
        self.resumer.store.save(&change).await?;
        Ok(change.record)
    }

    async fn answer_now(
        &self,
        request: &WaitRequest,
        record: &JobRecord,
    ) -> Result<Registered, Error> {
        let resumer = &self.resumer;
        let Step::Answer(verdict) =
            decide(Some(record), &request.succeed_on, &resumer.presentation)
        else {
            return Ok(Registered::Waiting);
        };
        match resumer.send(&request.task_token, &verdict).await? {
            Answer::Accepted => {
                tracing::info!(job_arn = %request.job_arn, "job already settled: workflow resumed at once");
                Ok(Registered::Answered)
            }
            Answer::Closed(code) => {
                tracing::warn!(job_arn = %request.job_arn, code, "the workflow no longer waits (task closed)");
                Ok(Registered::Dropped)
            }
        }
    }

    /// Fails the task of a request this deployment cannot serve, when there is a task.
    async fn refuse(&self, invalid: Invalid, error: &str) -> Result<Registered, Error> {
        let Some(token) = invalid.token.as_deref() else {
            return Ok(Registered::Refused(invalid.reason));
        };
        // Within the API's limits (the reason quotes the message's own values).
        let (error, cause) = (cut(error, MAX_ERROR), cut(&invalid.reason, MAX_CAUSE));
        self.resumer.workflows.fail(token, &error, &cause).await?;
        Ok(Registered::Refused(invalid.reason))
    }
}
