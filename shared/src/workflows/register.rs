//! The register queue's consumer: one SQS message per waiting task, as Lambda's event source
//! mapping delivers them. A bad request fails its task at once (`JobWatch.InvalidRequest`) and
//! is reported processed; only transient failures go back to the queue
//! (`ReportBatchItemFailures`), so no message is redelivered forever.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use super::places::JobReader;
use super::places::{Place, PlaceScope, Places};
use super::ports::{Answer, WaitStore, Workflows};
use super::request::{parse_request, Invalid, WaitRequest};
use super::resume::{Pass, Resumed, Resumer};
use super::verdict::{cut, Step, Verdict, INVALID_REQUEST, MAX_CAUSE, MAX_ERROR, NOT_FOUND};
use super::wait::Wait;
use crate::domain::{plan, JobKind, JobRecord, ObservedJob, PlanContext, RunId, Scope};
use crate::error::Error;
use crate::poller::PollSettings;
use crate::ports::JobStore;

/// What became of one register message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// The job is open: the wait is stored and the pollers will resume it.
    Waiting,
    /// The job had already ended: the task is answered (`failed`: with `SendTaskFailure`).
    Answered { failed: bool },
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
    /// Of `answered`, those failed (the job ended outside `succeedOn`).
    pub answered_failed: usize,
    pub refused: usize,
    pub dropped: usize,
    /// Messages given back to the queue (transient failures).
    pub retried: usize,
    pub errors: Vec<String>,
}

/// Registers waits: the resumer's ports, where each job this deployment watches is read
/// (its scope: own or member account, region), and the poll settings new jobs are recorded with.
pub struct Registrar<W, T, F> {
    pub resumer: Resumer<W, T, F>,
    pub places: Box<dyn Places>,
    pub settings: PollSettings,
}

impl RegisterSummary {
    /// Its metrics (`crate::metrics`, `JobKind` workflows): a refused request counts as a
    /// failed task, a message given back to the queue as an error.
    pub fn metrics(&self) -> Vec<(&'static str, u64)> {
        let count = |n: usize| n as u64;
        vec![
            ("WorkflowWaitsRegistered", count(self.waiting)),
            (
                "WorkflowsSucceeded",
                count(self.answered - self.answered_failed),
            ),
            (
                "WorkflowsFailed",
                count(self.answered_failed + self.refused),
            ),
            ("WorkflowWaitsDropped", count(self.dropped)),
            ("WorkflowResumeErrors", count(self.retried)),
        ]
    }
}

impl<W: WaitStore, T: JobStore, F: Workflows> Registrar<W, T, F> {
    /// The families a message may name.
    pub fn watched(&self) -> Vec<JobKind> {
        self.places.families()
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
                Ok(Registered::Answered { failed }) => {
                    summary.answered += 1;
                    summary.answered_failed += usize::from(failed);
                }
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
        let place = match self
            .places
            .place(request.family, &request.job_arn, own_account)
            .await?
        {
            Ok(place) => place,
            Err(reason) => return self.refuse(request.invalid(reason), INVALID_REQUEST).await,
        };
        let scope = PlaceScope {
            place: &place,
            presentation: self.resumer.presentation.clone(),
        };
        let record = match self.known(&request, &place).await? {
            Some(record) => record,
            None => {
                let reason = format!("Bedrock has no job {}", request.job_arn);
                return self.refuse(request.invalid(reason), NOT_FOUND).await;
            }
        };
        let pass = Pass {
            now,
            run_id,
            heartbeat: false,
            scope: Some(&scope),
            own_account,
        };
        if !record.is_open() || record.retired {
            return self.answer_now(&request, &record, pass).await;
        }
        self.wait(&request, pass).await
    }

    /// Stores the wait on an open job; the job may have settled (and its waits been resumed)
    /// between the read and the add: it is read again, and the wait resumed now if so.
    async fn wait(&self, request: &WaitRequest, pass: Pass<'_>) -> Result<Registered, Error> {
        let wait = Wait::new(request, pass.now);
        self.resumer.waits.add(&wait).await?;
        let mut report = Resumed::default();
        self.resumer
            .resume_waits(vec![wait], pass, &mut report)
            .await;
        if let Some(first) = report.errors.first() {
            tracing::warn!(
                error = first,
                "registered, not yet resumed: the pollers will"
            );
        }
        Ok(match (report.succeeded, report.failed, report.dropped) {
            (0, 0, 0) => Registered::Waiting,
            (_, failed, _) => Registered::Answered { failed: failed > 0 },
        })
    }

    /// The job's item; a job the table does not know is read once in its scope (`place`) and,
    /// when open, recorded there (watched from then on by that scope's poll). `None`: Bedrock
    /// does not have it.
    async fn known(
        &self,
        request: &WaitRequest,
        place: &Place,
    ) -> Result<Option<JobRecord>, Error> {
        let arn = &request.job_arn;
        if let Some(record) = self
            .resumer
            .store
            .get_many(std::slice::from_ref(arn))
            .await?
            .pop()
        {
            return Ok(Some(record));
        }
        let Some(job) = place.reader.read(arn).await? else {
            return Ok(None);
        };
        let region = arn.region().unwrap_or_default();
        self.record(job, &place.scope(request.family, region), region)
            .await
            .map(Some)
    }

    /// Records a job first seen here as the planner would on an event, watched in `scope` (a
    /// member account's jobs in its own), so the pollers reconcile it; a job that already ended
    /// is not written (it is answered at once).
    async fn record(
        &self,
        job: ObservedJob,
        scope: &Scope,
        region: &str,
    ) -> Result<JobRecord, Error> {
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
        if change.record.watch.is_some() {
            change.record.watch = Some(scope.clone());
        }
        self.resumer.store.save(&change).await?;
        Ok(change.record)
    }

    async fn answer_now(
        &self,
        request: &WaitRequest,
        record: &JobRecord,
        pass: Pass<'_>,
    ) -> Result<Registered, Error> {
        let resumer = &self.resumer;
        let mut report = Resumed::default();
        let step = resumer
            .step(Some(record), &request.succeed_on, pass, &mut report)
            .await;
        let Step::Answer(verdict) = step else {
            return Ok(Registered::Waiting);
        };
        match resumer.send(&request.task_token, &verdict).await? {
            Answer::Accepted => {
                tracing::info!(job_arn = %request.job_arn, "job already settled: workflow resumed at once");
                let failed = matches!(verdict, Verdict::Fail { .. });
                Ok(Registered::Answered { failed })
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
