//! Resuming the workflows that wait on a family's jobs, at the end of every poller invocation
//! (scheduled poll or event fast path, whichever settles the job first): a settled job's waits
//! are answered (claim a lease, `SendTask*`, delete the wait while holding the lease), an open
//! job's get a heartbeat (scheduled runs only). A closed token ends its wait with a log line.
//!
//! Crash windows: between the job's terminal write and the resume, the wait stays in the index
//! and the next invocation answers it; between the callback and the delete, the wait's lease
//! runs out and the next run's callback meets a closed token (`InvalidToken`): counted as done,
//! the workflow is not resumed twice (Step Functions closes a token once).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde::Serialize;

use super::places::JobScopes;
use super::ports::{Answer, WaitStore, Workflows};
use super::verdict::{cut, decide, Step, Verdict, MAX_CAUSE};
use super::wait::Wait;
use crate::domain::{JobArn, JobKind, JobRecord, Lease, Phase, RunId};
use crate::error::Error;
use crate::notices::{Presentation, Tags};
use crate::ports::{JobStore, Write};

/// The error a workflow gets when Step Functions refused the job's document as output.
pub const OUTPUT_REJECTED: &str = "JobWatch.OutputRejected";

/// Resumes waiting workflows from the table's view of their jobs.
pub struct Resumer<W, T, F> {
    pub waits: W,
    pub store: T,
    pub workflows: F,
    /// How the success document reads (the pollers' `ACCOUNT_NAME`, `NOTIFY_TAGS`, ...).
    pub presentation: Presentation,
    /// The scopes that poll the jobs (a poller's fleet): a success document reads as its
    /// scope's notice (a member account's shows its id) with the job's `NOTIFY_TAGS` tags read
    /// there. `None`: the resumer's presentation, no tags.
    pub scopes: Option<Arc<dyn JobScopes>>,
    /// How long a run may hold a wait before another may answer it (keep it above the
    /// function timeout, like `PUBLISH_LEASE_SECONDS`).
    pub lease: Duration,
}

/// What resuming did (logged, and in tests).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resumed {
    pub succeeded: usize,
    pub failed: usize,
    pub heartbeats: usize,
    /// Waits whose token Step Functions no longer accepts (answered before, timed out, stopped).
    pub dropped: usize,
    /// Left for a later run: leased by another run, or the callback failed.
    pub pending: usize,
    /// Success documents sent without their tags (the tags could not be read).
    pub tag_reads_failed: usize,
    pub errors: Vec<String>,
}

/// One pass over some waits: when, by which run, with heartbeats for open jobs or not, and the
/// scope their jobs are in (`None`: the resumer's scopes).
#[derive(Clone, Copy)]
pub struct Pass<'a> {
    pub now: DateTime<Utc>,
    pub run_id: &'a RunId,
    pub heartbeat: bool,
    pub scope: Option<&'a dyn JobScopes>,
    /// The function's account (`None`: local runs, any account not a member's is the own one).
    pub own_account: Option<&'a str>,
}

impl Resumed {
    pub fn is_empty(&self) -> bool {
        *self == Resumed::default()
    }

    /// Its metrics (`crate::metrics`, `JobKind` workflows). `WorkflowResumeErrors`: callbacks
    /// and reads that failed, their waits kept for the next run (the workflow-resume alarm).
    pub fn metrics(&self) -> Vec<(&'static str, u64)> {
        let count = |n: usize| n as u64;
        vec![
            ("WorkflowsSucceeded", count(self.succeeded)),
            ("WorkflowsFailed", count(self.failed)),
            ("WorkflowHeartbeats", count(self.heartbeats)),
            ("WorkflowWaitsDropped", count(self.dropped)),
            ("WorkflowResumeErrors", count(self.errors.len())),
        ]
    }
}

impl<W: WaitStore, T: JobStore, F: Workflows> Resumer<W, T, F> {
    /// Every wait on jobs of `family`; `heartbeat`: also tell open jobs' workflows the watcher
    /// is alive (scheduled runs; an event run only answers).
    pub async fn resume_family(
        &self,
        family: JobKind,
        now: DateTime<Utc>,
        run_id: &RunId,
        heartbeat: bool,
    ) -> Resumed {
        let pass = Pass {
            now,
            run_id,
            heartbeat,
            scope: None,
            own_account: None,
        };
        self.resume_family_in(family, pass).await
    }

    /// [`Resumer::resume_family`] in one pass (`pass.own_account`: the function's, from its ARN).
    pub async fn resume_family_in(&self, family: JobKind, pass: Pass<'_>) -> Resumed {
        let mut report = Resumed::default();
        let mut pages = std::pin::pin!(self.waits.waits_of(family));
        while let Some(page) = pages.next().await {
            match page {
                Ok(waits) => self.resume_waits(waits, pass, &mut report).await,
                Err(e) => {
                    report.errors.push(e.chain());
                    break;
                }
            }
        }
        report
    }

    /// Resumes `waits` from one read of their jobs' items.
    pub async fn resume_waits(&self, waits: Vec<Wait>, pass: Pass<'_>, report: &mut Resumed) {
        let arns: Vec<JobArn> = waits
            .iter()
            .map(|w| w.job_arn.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let records = match self.store.get_many(&arns).await {
            Ok(records) => records,
            Err(e) => return report.errors.push(e.chain()),
        };
        let by_arn: HashMap<&JobArn, &JobRecord> = records.iter().map(|r| (&r.pk, r)).collect();
        for wait in &waits {
            let record = by_arn.get(&wait.job_arn).copied();
            match self.step(record, &wait.succeed_on, pass, report).await {
                Step::Heartbeat if pass.heartbeat => self.heartbeat(wait, report).await,
                Step::Heartbeat => {}
                Step::Answer(verdict) => {
                    self.answer(wait, &verdict, pass.now, pass.run_id, report)
                        .await
                }
            }
        }
    }

    /// The step for a wait on `record`. A success document is the one the JSON sink publishes:
    /// the presentation of the job's scope (`scope`, else the resumer's scopes), with the
    /// job's `NOTIFY_TAGS` tags read there (unreadable: sent without them, counted).
    pub async fn step(
        &self,
        record: Option<&JobRecord>,
        succeed_on: &BTreeSet<Phase>,
        pass: Pass<'_>,
        report: &mut Resumed,
    ) -> Step {
        let documented =
            record.filter(|r| !r.retired && !r.is_open() && succeed_on.contains(&r.phase()));
        let Some(record) = documented else {
            return decide(record, succeed_on, &self.presentation, &Tags::new());
        };
        let (scope, own) = (pass.scope.or(self.scopes.as_deref()), pass.own_account);
        let presentation = scope
            .and_then(|s| s.presentation(&record.pk, own))
            .unwrap_or_else(|| self.fallback(record, own));
        let tags = match scope.filter(|_| presentation.reads_tags()) {
            None => Tags::new(),
            Some(scope) => match scope.tags(&record.pk, own).await {
                Ok(tags) => presentation.keep(&tags),
                Err(e) => {
                    report.tag_reads_failed += 1;
                    tracing::warn!(job_arn = %record.pk, error = %e.chain(), "tags unreadable: workflow resumed without them");
                    Tags::new()
                }
            },
        };
        decide(Some(record), succeed_on, &presentation, &tags)
    }

    /// The presentation of a job no scope here polls: another account's (an organisation
    /// member's, polled by the workers) shows its id, not `ACCOUNT_NAME`, as its notices do.
    fn fallback(&self, record: &JobRecord, own_account: Option<&str>) -> Presentation {
        let other = own_account.is_some_and(|own| record.pk.account() != Some(own));
        match other {
            true => Presentation {
                account_name: None,
                ..self.presentation.clone()
            },
            false => self.presentation.clone(),
        }
    }

    async fn heartbeat(&self, wait: &Wait, report: &mut Resumed) {
        match self.workflows.heartbeat(&wait.task_token).await {
            Ok(Answer::Accepted) => report.heartbeats += 1,
            Ok(Answer::Closed(code)) => self.drop_closed(wait, &code, None, report).await,
            Err(e) => report.errors.push(e.chain()),
        }
    }

    /// Claims the wait, sends the verdict, deletes the wait while holding its lease.
    async fn answer(
        &self,
        wait: &Wait,
        verdict: &Verdict,
        now: DateTime<Utc>,
        run_id: &RunId,
        report: &mut Resumed,
    ) {
        if !wait.claimable(now) {
            report.pending += 1;
            return;
        }
        let lease = Lease {
            owner: run_id.clone(),
            until: now + self.lease,
        };
        match self.waits.claim(wait, &lease, now).await {
            Ok(Write::Written) => {}
            Ok(Write::LostRace) => return report.pending += 1,
            Err(e) => return report.errors.push(e.chain()),
        }
        match self.send(&wait.task_token, verdict).await {
            Ok(Answer::Accepted) => {
                let (outcome, error) = match verdict {
                    Verdict::Succeed { .. } => (&mut report.succeeded, ""),
                    Verdict::Fail { error, .. } => (&mut report.failed, error.as_str()),
                };
                *outcome += 1;
                tracing::info!(job_arn = %wait.job_arn, wait = %wait.pk, error, "workflow resumed");
                self.remove(wait, Some(run_id), report).await;
            }
            Ok(Answer::Closed(code)) => self.drop_closed(wait, &code, Some(run_id), report).await,
            Err(e) => {
                report.pending += 1;
                report.errors.push(e.chain());
                if let Err(e) = self.waits.release(wait, run_id).await {
                    report.errors.push(e.chain());
                }
            }
        }
    }

    /// Sends a verdict. A document Step Functions refuses for good (`InvalidOutput`) fails the
    /// task instead, so the workflow is not left waiting.
    pub async fn send(&self, token: &str, verdict: &Verdict) -> Result<Answer, Error> {
        match verdict {
            Verdict::Succeed { output } => match self.workflows.succeed(token, output).await {
                Err(e) if !e.is_retryable() => {
                    let cause = cut(&e.chain(), MAX_CAUSE);
                    self.workflows.fail(token, OUTPUT_REJECTED, &cause).await
                }
                other => other,
            },
            Verdict::Fail { error, cause } => self.workflows.fail(token, error, cause).await,
        }
    }

    /// A token Step Functions will not take again: the wait ends here, never retried.
    async fn drop_closed(
        &self,
        wait: &Wait,
        code: &str,
        owner: Option<&RunId>,
        report: &mut Resumed,
    ) {
        tracing::warn!(job_arn = %wait.job_arn, wait = %wait.pk, code, "the workflow no longer waits (task closed): wait dropped");
        report.dropped += 1;
        self.remove(wait, owner, report).await;
    }

    async fn remove(&self, wait: &Wait, owner: Option<&RunId>, report: &mut Resumed) {
        if let Err(e) = self.waits.remove(wait, owner).await {
            report.errors.push(e.chain());
        }
    }
}
