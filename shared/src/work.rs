//! Fan-out over SQS: the dispatcher queues one work item per member account each period
//! ([`crate::org::dispatch`]); a worker invocation takes a batch of them from the Lambda event
//! source mapping and polls every (region, family) scope of each account with one
//! `AssumeRole`, oldest-polled first, recording the account's clocks in one write. Items it
//! did not finish are returned in `batchItemFailures`, so that SQS redelivers only those.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Duration, Utc};
use futures::future::LocalBoxFuture;
use serde::Serialize;

use crate::domain::{Lease, RunId};
use crate::error::Error;
use crate::org::{Registry, RegistryStore, WorkItem, DISPATCH_SHARD};
use crate::poller::{record_clocks, Budget, FailingScope, Fleet, RunSummary, ScheduledRun};
use crate::ports::{BoxFuture, JobSource, JobStore, Notifier, ScheduleStore, Write};
use crate::schedule::{self, Clocks, Outcome};

/// One family's fleet over one account's regions, as the worker drives it (object-safe: each
/// family's fleet has its own source type). Its future is not `Send`: rustc cannot prove a
/// fleet's run `Send` for every lifetime, and the Lambda runtime drives one invocation on one
/// task anyway.
pub trait FamilyRun: Send + Sync {
    fn run_scheduled<'a>(
        &'a self,
        now: DateTime<Utc>,
        run_id: &'a RunId,
        budget: &'a Budget,
        clocks: &'a Clocks,
        period: Duration,
    ) -> LocalBoxFuture<'a, ScheduledRun>;

    fn failing(&self, clocks: &Clocks, alarm_after: u32) -> Vec<FailingScope>;

    /// Bedrock calls so far.
    fn bedrock_calls(&self) -> u64;
}

impl<S, T, N> FamilyRun for Fleet<S, T, N>
where
    S: JobSource + 'static,
    T: JobStore + 'static,
    N: Notifier + 'static,
{
    fn run_scheduled<'a>(
        &'a self,
        now: DateTime<Utc>,
        run_id: &'a RunId,
        budget: &'a Budget,
        clocks: &'a Clocks,
        period: Duration,
    ) -> LocalBoxFuture<'a, ScheduledRun> {
        Box::pin(Fleet::run_scheduled(
            self, now, run_id, budget, clocks, period,
        ))
    }

    fn failing(&self, clocks: &Clocks, alarm_after: u32) -> Vec<FailingScope> {
        Fleet::failing(self, clocks, alarm_after)
    }

    fn bedrock_calls(&self) -> u64 {
        self.scopes.iter().map(|s| s.poller.source.calls()).sum()
    }
}

/// Builds an account's fleets, one per family the deployment watches, sharing one assumed
/// role. `Err`: the role cannot be assumed (no role yet, its trust refuses, STS failed).
pub trait AccountFleets: Send + Sync {
    #[allow(clippy::type_complexity)]
    fn fleets<'a>(
        &'a self,
        item: &'a WorkItem,
    ) -> LocalBoxFuture<'a, Result<(Vec<Box<dyn FamilyRun>>, u64), Error>>;
}

/// The clock key of an account's access (its role): failing when the role cannot be assumed,
/// so that an account without the role is one failing scope, not one per region and family.
pub fn access_scope(account: &str) -> String {
    format!("access#{account}")
}

/// What the worker did with one item.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ItemReport {
    pub account: String,
    /// `done`, `unfinished` (returned for redelivery), `skipped` (already done, or worked by
    /// an overlapping invocation), `failed` (the role).
    pub result: &'static str,
    pub scopes_polled: usize,
    pub scopes_not_started: usize,
    pub bedrock_calls: u64,
    pub sts_calls: u64,
    pub notifications_sent: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing_scopes: Vec<FailingScope>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The runs that estimated a cost (per family; their owners with `COST_OWNER_TAG`): the
    /// worker writes them as the pollers do, so that an organisation's dashboard has them.
    #[serde(skip)]
    pub costs: Vec<RunSummary>,
}

/// The worker's ports and settings.
pub struct Worker<'a> {
    pub fleets: &'a dyn AccountFleets,
    pub schedule: &'a dyn ScheduleStore,
    /// `POLL_PERIOD_MINUTES`.
    pub period: Duration,
    /// `SCOPE_ALARM_AFTER`.
    pub alarm_after: u32,
}

impl Worker<'_> {
    /// Works one item: takes the account's lease (a duplicate, a redelivery of finished work or
    /// an overlapping invocation's item: skipped), polls every family's due scopes, records the
    /// clocks in one write and gives the lease back.
    pub async fn work(
        &self,
        item: &WorkItem,
        now: DateTime<Utc>,
        run_id: &RunId,
        budget: &Budget,
    ) -> Result<ItemReport, Error> {
        let shard = item.shard();
        let mut report = ItemReport {
            account: item.account.clone(),
            result: "skipped",
            ..Default::default()
        };
        if !self.take_lease(&shard, item, now, run_id).await? {
            return Ok(report);
        }
        let read = self.schedule.shard(&shard).await?;
        let (runs, outcomes) = self
            .poll_account(item, now, run_id, budget, &read.clocks, &mut report)
            .await;
        let clocks = schedule::advance(&read.clocks, now, &outcomes);
        report
            .failing_scopes
            .extend(self.failing_access(&clocks, &item.account));
        let complete = runs.iter().all(|r| r.complete);
        tally(&mut report, &runs, complete);
        // A role that failed counts as done: the next period's item tries again.
        let done = (complete || !report.errors.is_empty() && runs.is_empty()).then_some(now);
        record_clocks(self.schedule, &shard, run_id, read, clocks, done).await?;
        Ok(report)
    }

    /// Takes the account's lease for three periods; `false`: the item is a duplicate, a
    /// redelivery of finished work or an overlapping invocation's.
    async fn take_lease(
        &self,
        shard: &str,
        item: &WorkItem,
        now: DateTime<Utc>,
        run_id: &RunId,
    ) -> Result<bool, Error> {
        let lease = Lease {
            owner: run_id.clone(),
            until: now + self.period * 3,
        };
        let write = self
            .schedule
            .lease(shard, &lease, now, Some(item.queued_at))
            .await?;
        Ok(write != Write::LostRace)
    }

    /// Polls every family's due scopes through the account's role, and the outcome of each
    /// scope and of the access itself; a role that cannot be assumed is the access's failure.
    async fn poll_account(
        &self,
        item: &WorkItem,
        now: DateTime<Utc>,
        run_id: &RunId,
        budget: &Budget,
        clocks: &Clocks,
        report: &mut ItemReport,
    ) -> (Vec<ScheduledRun>, Vec<(String, Outcome)>) {
        match self.fleets.fleets(item).await {
            Ok((fleets, sts_calls)) => {
                report.sts_calls = sts_calls;
                let runs = self
                    .run_families(&fleets, now, run_id, budget, clocks)
                    .await;
                report.bedrock_calls = fleets.iter().map(|f| f.bedrock_calls()).sum();
                let mut outcomes: Vec<(String, Outcome)> =
                    runs.iter().flat_map(|r| r.outcomes.clone()).collect();
                outcomes.push((access_scope(&item.account), Outcome::Ok));
                let clocks = schedule::advance(clocks, now, &outcomes);
                report.failing_scopes = fleets
                    .iter()
                    .flat_map(|f| f.failing(&clocks, self.alarm_after))
                    .collect();
                (runs, outcomes)
            }
            Err(e) => {
                tracing::warn!(account = %item.account, error = %e.chain(), "the account's role cannot be assumed");
                report.errors.push(e.chain());
                (
                    Vec::new(),
                    vec![(access_scope(&item.account), Outcome::Failed(e.chain()))],
                )
            }
        }
    }

    /// The account's access scope, once it has failed long enough to alarm.
    fn failing_access(&self, clocks: &Clocks, account: &str) -> Option<FailingScope> {
        let access = &clocks[&access_scope(account)];
        access.failing_for(self.alarm_after).then(|| FailingScope {
            scope: access_scope(account),
            failures: access.failures,
            error: access.error.clone().unwrap_or_default(),
        })
    }

    /// Every family's fleet at once (each bounded by `SCOPE_CONCURRENCY`).
    async fn run_families(
        &self,
        fleets: &[Box<dyn FamilyRun>],
        now: DateTime<Utc>,
        run_id: &RunId,
        budget: &Budget,
        clocks: &Clocks,
    ) -> Vec<ScheduledRun> {
        let runs = fleets
            .iter()
            .map(|f| f.run_scheduled(now, run_id, budget, clocks, self.period));
        futures::future::join_all(runs).await
    }
}

/// The item's result, from the role's error alone (the runs' errors are their scopes' clocks'
/// business), then the runs' counts, with at most three errors from each run.
fn tally(report: &mut ItemReport, runs: &[ScheduledRun], complete: bool) {
    report.result = match (report.errors.is_empty(), complete) {
        (false, _) => "failed",
        (true, true) => "done",
        (true, false) => "unfinished",
    };
    for run in runs {
        report.scopes_polled += run.outcomes.len();
        report.scopes_not_started += run.summary.scopes_not_started;
        report.notifications_sent += run.summary.notifications_sent;
        if run.summary.estimated_cost_micro_usd > 0 {
            report.costs.push(run.summary.clone());
        }
        report
            .errors
            .extend(run.summary.errors.iter().take(3).cloned());
    }
}

/// What a worker invocation did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct BatchReport {
    pub items: Vec<ItemReport>,
    /// Message ids returned for redelivery.
    pub returned: Vec<String>,
}

/// One SQS batch, as the event source mapping delivers it: items worked one after the other
/// while the budget lasts; those not finished (not reached, unfinished, failed to parse or
/// errored) go back in `batchItemFailures`. Never fails as a whole, so that finished items are
/// deleted.
pub async fn handle_batch(
    worker: &Worker<'_>,
    event: SqsEvent,
    now: DateTime<Utc>,
    invocation: &str,
    budget: &Budget,
) -> (SqsBatchResponse, BatchReport) {
    let mut response = SqsBatchResponse::default();
    let mut report = BatchReport::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let result = match budget.exhausted() {
            true => Err("the invocation's budget ran out before this item".to_owned()),
            false => {
                work_record(worker, record.body.as_deref(), now, invocation, &id, budget).await
            }
        };
        match result {
            Ok(item) if item.result != "unfinished" => report.items.push(item),
            Ok(item) => {
                report.items.push(item);
                report.returned.push(id.clone());
            }
            Err(reason) => {
                tracing::warn!(message_id = %id, reason, "work item returned to the queue");
                report.returned.push(id.clone());
            }
        }
    }
    for id in &report.returned {
        response.batch_item_failures.push(BatchItemFailure {
            item_identifier: id.clone(),
        });
    }
    (response, report)
}

async fn work_record(
    worker: &Worker<'_>,
    body: Option<&str>,
    now: DateTime<Utc>,
    invocation: &str,
    message_id: &str,
    budget: &Budget,
) -> Result<ItemReport, String> {
    let item: WorkItem = serde_json::from_str(body.unwrap_or_default())
        .map_err(|e| format!("not a work item: {e}"))?;
    // The owner is the invocation and the message: two items of one account in one batch
    // never share a lease.
    let run_id = RunId::new(format!("{invocation}/{message_id}"));
    worker
        .work(&item, now, &run_id, budget)
        .await
        .map_err(|e| e.chain())
}

/// The queue work items go to.
pub trait WorkQueue: Send + Sync {
    /// Messages still queued or in flight (the dispatcher queues only what is missing).
    fn backlog(&self) -> BoxFuture<'_, Result<usize, Error>>;
    /// Queues the items (in batches of 10); returns how many were queued.
    fn send<'a>(&'a self, items: &'a [WorkItem]) -> BoxFuture<'a, Result<usize, Error>>;
}

/// What a dispatch did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DispatchReport {
    pub members: usize,
    pub backlog: usize,
    pub queued: usize,
}

/// One period's dispatch: the registry's members not queued within the last period,
/// oldest-queued first, up to `capacity` less the backlog; when each was queued is recorded
/// in the dispatcher's own shard (one write).
pub async fn dispatch_once(
    registry: &Registry,
    schedule: &dyn ScheduleStore,
    queue: &dyn WorkQueue,
    now: DateTime<Utc>,
    run_id: &RunId,
    period: Duration,
    capacity: usize,
) -> Result<DispatchReport, Error> {
    let read = schedule.shard(DISPATCH_SHARD).await?;
    let backlog = queue.backlog().await?;
    let items = crate::org::dispatch(registry, &read.clocks, now, period, capacity, backlog);
    let queued = queue.send(&items).await?;
    let outcomes: Vec<(String, Outcome)> = items
        .iter()
        .take(queued)
        .map(|i| (i.account.clone(), Outcome::Ok))
        .collect();
    let clocks = schedule::advance(&read.clocks, now, &outcomes);
    record_clocks(schedule, DISPATCH_SHARD, run_id, read, clocks, Some(now)).await?;
    Ok(DispatchReport {
        members: registry.watched.len(),
        backlog,
        queued,
    })
}

/// What a refresh of the organisation found.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RefreshReport {
    pub watched: usize,
    pub unwatched: Vec<crate::org::Unwatched>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// Reads the organisation, selects, and keeps the result in the table.
pub async fn refresh(
    directory: &dyn crate::org::Directory,
    store: &dyn RegistryStore,
    selection: &crate::org::OrgSelection,
    own: Option<&str>,
    now: DateTime<Utc>,
) -> Result<RefreshReport, Error> {
    let accounts = directory.accounts().await?;
    let registry = crate::org::select(&accounts, selection, own, now);
    let before = store.registry().await?.unwrap_or_default();
    let ids = |r: &Registry| -> std::collections::BTreeSet<String> {
        r.watched.iter().map(|m| m.id.clone()).collect()
    };
    let (old, new) = (ids(&before), ids(&registry));
    store.save_registry(&registry).await?;
    Ok(RefreshReport {
        watched: registry.watched.len(),
        unwatched: registry.unwatched.clone(),
        added: new.difference(&old).cloned().collect(),
        removed: old.difference(&new).cloned().collect(),
    })
}

/// Which of a deployment's functions this invocation is: `MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A family's scheduled poller (the default).
    #[default]
    Poll,
    /// Queues the period's work items.
    Dispatch,
    /// Works SQS batches of work items.
    Work,
    /// Refreshes the accounts from Organizations.
    OrgRefresh,
    /// Consumes the workflow waits' register queue.
    WorkflowRegister,
}

impl Mode {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "poll" => Some(Self::Poll),
            "dispatch" => Some(Self::Dispatch),
            "work" => Some(Self::Work),
            "org-refresh" => Some(Self::OrgRefresh),
            "workflow-register" => Some(Self::WorkflowRegister),
            _ => None,
        }
    }
}
