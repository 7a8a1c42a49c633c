//! The three small traits the poller depends on. Adapters implement them on the AWS SDKs
//! (`adapters`), and in memory for tests (`testing`, behind the `testing` feature).

use std::future::Future;

use chrono::{DateTime, Utc};
use futures::Stream;

use crate::domain::{
    Change, Delivered, DurationStats, JobArn, JobKind, JobRecord, JobStatus, Lease, ObservedJob,
    RunId, Scope, Sent, Sink,
};

use crate::error::Error;
use crate::notices::{Notice, PeopleMessage, Tags};

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only jobs submitted after this instant.
    pub submitted_after: Option<DateTime<Utc>>,
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Oldest first (a listing that can be resumed from the last job it reached); else newest
    /// first, the API's default.
    pub oldest_first: bool,
}

/// One page of a listing or of the watch index: bounded by the API's page size.
pub type Page<T> = Result<Vec<T>, Error>;

/// A run's two listings answered by one List call ([`JobSource::listed_once`]).
#[derive(Debug, Default, PartialEq)]
pub struct ListedOnce {
    /// What discovery lists: submitted since the run's `since`, oldest first.
    pub discovered: Vec<ObservedJob>,
    /// What [`JobSource::reopened`] finds, less those in `discovered`.
    pub reopened: Vec<ObservedJob>,
    /// Resources billed while they exist, in service now (provisioned throughputs
    /// `InService`), whenever listed: what the idle check judges, at no extra call.
    pub in_service: Vec<ObservedJob>,
}

impl ListedOnce {
    /// Splits a whole listing: submitted since `since` is discovered, and of the others those
    /// `reopened` accepts.
    pub fn split(
        mut all: Vec<ObservedJob>,
        since: DateTime<Utc>,
        reopened: impl Fn(&ObservedJob) -> bool,
    ) -> Self {
        all.sort_by_key(|j| j.submit_time);
        let (discovered, older): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|j| j.submit_time >= since);
        Self {
            discovered,
            reopened: older.into_iter().filter(|j| reopened(j)).collect(),
            in_service: Vec::new(),
        }
    }
}

/// Reads one family of Bedrock jobs.
pub trait JobSource: Send + Sync {
    fn kind(&self) -> JobKind;

    /// The jobs matching `filter`, a page at a time (the caller stops reading when it wants).
    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_;

    /// Reads one job; `Ok(None)` when it does not exist (any more).
    fn get(&self, arn: &JobArn) -> impl Future<Output = Result<Option<ObservedJob>, Error>> + Send;

    /// Resources that may have left a settled state (`InService -> Updating`) since `since`,
    /// for a family whose lifecycle re-opens (`Family::reopen`): found with the List's status
    /// filter where the API has one, so that the cost does not grow with the settled ones.
    /// The default (jobs): none.
    fn reopened(&self, since: DateTime<Utc>) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let _ = since;
        futures::stream::empty()
    }

    /// For a family whose resources re-open: discovery's listing since `since` and the
    /// re-opened ones from ONE List call without filters, when the family's whole listing in
    /// the scope fits its one page (1 000 resources), so that a quiet scope costs one call, not
    /// two. `None` (the default, more than one page, or any error): the run lists as usual,
    /// discovery then [`JobSource::reopened`], and meets the error there.
    fn listed_once(&self, since: DateTime<Utc>) -> impl Future<Output = Option<ListedOnce>> + Send {
        let _ = since;
        std::future::ready(None)
    }

    /// Whether a List answers an open job as cheaply as it answers a settled one. Not so for
    /// custom model deployments: an update's status shows only in Get, so a List page costs a
    /// Get per `Active` deployment in it; the reconcile then Gets its open ones directly
    /// instead of listing. The default: yes.
    fn lists_cheaply(&self) -> bool {
        true
    }

    /// Adds details worth fetching only for a job about to be notified (e.g. the batch output
    /// manifest). Best effort: never fails. The default adds nothing.
    fn enrich(&self, job: &mut ObservedJob) -> impl Future<Output = ()> + Send {
        let _ = job;
        async {}
    }

    /// The job's resource tags (`ListTagsForResource`), read only for a job about to be
    /// notified. The default: the family has none.
    fn tags(&self, arn: &JobArn) -> impl Future<Output = Result<Tags, Error>> + Send {
        let _ = arn;
        async { Ok(Tags::new()) }
    }

    /// For a family whose List has no filter and no documented order (AgentCore batch
    /// evaluations), so that discovery cannot stop at the watermark: a steady run's listing at
    /// a cost bounded by the scope's `open` jobs (the last run's hint), never by history. The
    /// first pages (as many as may hold the open jobs, if the listing is newest first), plus
    /// one further page of a sweep through the whole listing that resumes at `cursor` (the
    /// scope's, from the last run; `None`: from the start), keeping only jobs submitted after
    /// `after`. The answer carries the cursor the next run resumes at. `None` (the default):
    /// discovery lists with [`JobSource::list`].
    fn sweep(
        &self,
        after: DateTime<Utc>,
        cursor: Option<&str>,
        open: OpenJobs,
    ) -> impl Future<Output = Option<Result<Swept, Error>>> + Send {
        let _ = (after, cursor, open);
        std::future::ready(None)
    }

    /// Bedrock API calls made through this source so far (List pages, Gets).
    fn calls(&self) -> u64;

    /// Where a family billed while it exists reads its resources' invocations (CloudWatch, with
    /// the scope's own credentials), for the idle check. The default: none (no idle check).
    fn invocations(&self) -> Option<&dyn InvocationMetrics> {
        None
    }
}

/// A steady run's bounded listing ([`JobSource::sweep`]).
#[derive(Debug, Default, PartialEq)]
pub struct Swept {
    pub jobs: Vec<ObservedJob>,
    /// Where the next run's sweep resumes (opaque; `None`: from the start).
    pub cursor: Option<String>,
}

/// What the table keeps per scope between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeState {
    /// Every job submitted before this instant (less the list margin) is recorded; `None` until
    /// the first listing completes.
    pub watermark: Option<DateTime<Utc>>,
    /// An unfinished listing: where it got to, so the next run resumes there.
    pub checkpoint: Option<Checkpoint>,
    /// Open jobs at the end of the last run: sizes the reconcile's Lists.
    pub open: OpenJobs,
    /// Recent durations of successful jobs per model (`overdue` alerts).
    pub durations: DurationStats,
    /// The last poll that recorded its progress (operators read it: `jobwatch-cli status`).
    pub last_run: Option<LastRun>,
    /// Where the source's sweep resumes ([`JobSource::sweep`]): opaque to the poller.
    pub cursor: Option<String>,
}

/// A poll of a scope as its item records it: when it ran, which run, whether its listing worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub at: DateTime<Utc>,
    pub run_id: RunId,
    /// The discovery listing did not fail.
    pub ok: bool,
}

/// Progress of a listing that a run could not finish (deadline, failed writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// When the first run of the backlog began: jobs submitted before it are history.
    pub started: DateTime<Utc>,
    /// Every listed job submitted up to this instant is recorded.
    pub reached: DateTime<Utc>,
}

/// How many jobs a scope has open and the oldest one's submit time (a hint, not a count to
/// trust: overlapping runs and events change it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenJobs {
    pub count: u64,
    pub oldest: Option<DateTime<Utc>>,
}

impl OpenJobs {
    pub fn add(&mut self, submit_time: DateTime<Utc>) {
        self.count += 1;
        self.oldest = Some(self.oldest.map_or(submit_time, |o| o.min(submit_time)));
    }

    /// The wider of two hints: for a run that did not see every open job.
    pub fn widest(self, other: OpenJobs) -> OpenJobs {
        let oldest = match (self.oldest, other.oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        OpenJobs {
            count: self.count.max(other.count),
            oldest,
        }
    }
}

/// How far a run's listing got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// The listing completed: the new watermark (the checkpoint is dropped).
    Complete(DateTime<Utc>),
    /// It stopped early; the next run resumes here.
    Reached(Checkpoint),
    /// It recorded nothing new (failed at once, or stopped before its first page was written).
    Nothing,
}

/// What a run records for its scope at its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub listed: Listed,
    pub open: OpenJobs,
    /// The scope's durations with this run's finished jobs added (`None`: none finished).
    /// Statistics only: an overlapping run may overwrite them with its own additions.
    pub durations: Option<DurationStats>,
    /// The run recording it (`None`: leave the last run as it is).
    pub last_run: Option<LastRun>,
    /// The sweep's cursor the scope keeps ([`ScopeState::cursor`]; `None`: none).
    pub cursor: Option<String>,
}

/// Outcome of every conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Written,
    /// Its condition did not hold: another run changed the item first; nothing was written.
    LostRace,
}

/// The table of known jobs and per-scope watermarks.
pub trait JobStore: Send + Sync {
    /// What the table keeps for a scope (all empty before the first run).
    fn scope_state(&self, scope: &Scope) -> impl Future<Output = Result<ScopeState, Error>> + Send;

    /// Records what a run got to, in one write. A watermark or checkpoint never moves backwards
    /// (`LostRace`: an overlapping run is already further, and its hint stands).
    fn save_progress(
        &self,
        scope: &Scope,
        progress: &Progress,
    ) -> impl Future<Output = Result<Write, Error>> + Send;

    /// Items that are open or have a pending notice (a sparse index, never the whole history),
    /// a bounded page at a time.
    fn watched(&self, scope: &Scope) -> impl Stream<Item = Page<JobRecord>> + Send + '_;

    /// The watched items of every scope of a family (one read for a whole fleet).
    fn watched_family(&self, kind: JobKind) -> impl Stream<Item = Page<JobRecord>> + Send + '_;

    /// Items for these ARNs (missing ones are simply absent).
    fn get_many(
        &self,
        arns: &[JobArn],
    ) -> impl Future<Output = Result<Vec<JobRecord>, Error>> + Send;

    /// Writes `change.record` if the stored version is still `change.expected_version`.
    fn save(&self, change: &Change) -> impl Future<Output = Result<Write, Error>> + Send;

    /// Takes `lease` on a pending notice if no other run holds a live one at `now` and the item
    /// is still at `version` (the notice delivered is the one the run read, not one an
    /// overlapping run has since replaced).
    fn claim(
        &self,
        arn: &JobArn,
        version: u64,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Write, Error>> + Send;

    /// Gives `owner`'s lease back after a failed publish, so the next run retries at once.
    fn release(
        &self,
        arn: &JobArn,
        owner: &RunId,
    ) -> impl Future<Output = Result<Write, Error>> + Send;

    /// Gives `owner`'s lease back after a partial delivery, recording the sinks that already
    /// have the pending notice: the next run delivers it only to the others.
    fn release_delivered(
        &self,
        arn: &JobArn,
        owner: &RunId,
        delivered: &Delivered,
    ) -> impl Future<Output = Result<Write, Error>> + Send;

    /// Records that `owner` published the pending notice `sent.status`.
    fn mark_sent(
        &self,
        arn: &JobArn,
        owner: &RunId,
        sent: &Sent,
    ) -> impl Future<Output = Result<Write, Error>> + Send;

    /// Table requests made through this store so far.
    fn calls(&self) -> u64;
}

/// What delivering notices to one sink did: a result per notice, in order, and the API calls
/// it took.
#[derive(Debug, Default)]
pub struct Delivery {
    pub results: Vec<Result<String, Error>>,
    pub calls: usize,
}

/// How many notices one delivery call takes, and how many calls may be in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    pub size: usize,
    pub concurrency: usize,
}

impl Batching {
    /// One notice at a time, one call at a time.
    pub const ONE_BY_ONE: Batching = Batching {
        size: 1,
        concurrency: 1,
    };
}

/// One destination of notices (the machine topic, the chat topic, the bus, a webhook...): a
/// small adapter each, composed into a [`Notifier`] by `adapters::notifier::Sinks`. Object-safe
/// (a boxed future) so that the composite holds any number of them.
pub trait Channel: Send + Sync {
    /// Which sink this is: what the table records as delivered.
    fn sink(&self) -> Sink;

    /// Delivers `notices`, `batching.size` per call and `batching.concurrency` calls at a time
    /// where the API batches; a result per notice, in order.
    fn deliver<'a>(
        &'a self,
        notices: &'a [Notice],
        batching: Batching,
    ) -> futures::future::BoxFuture<'a, Delivery>;
}

/// Delivers notices to machines and people.
pub trait Notifier: Send + Sync {
    /// How the poller groups notices for `deliver` (the default: one at a time).
    fn batching(&self) -> Batching {
        Batching::ONE_BY_ONE
    }

    /// The sinks notices go to before people are told (the default: the topic only).
    fn sinks(&self) -> Vec<Sink> {
        vec![Sink::Topic]
    }

    /// Delivers `notices` to `sink`. The default publishes them to the topic one at a time;
    /// adapters batch and publish concurrently where the API allows.
    fn deliver(&self, sink: Sink, notices: &[Notice]) -> impl Future<Output = Delivery> + Send {
        async move {
            let mut delivery = Delivery::default();
            for notice in notices {
                delivery.calls += 1;
                let result = match sink {
                    Sink::Topic => self.publish(notice).await,
                    other => Err(Error::Notify {
                        retryable: false,
                        source: format!("this notifier has no {other} sink").into(),
                    }),
                };
                delivery.results.push(result);
            }
            delivery
        }
    }

    /// Publishes one notice (the machine document; with no people audience of its own, the
    /// email variant too); returns the message id.
    fn publish(&self, notice: &Notice) -> impl Future<Output = Result<String, Error>> + Send;

    /// Whether people have an audience of their own (a people topic), which gets one message
    /// per job or, above the digest threshold, one digest per run. The default: no.
    fn has_people_audience(&self) -> bool {
        false
    }

    /// Publishes a message to the people audience; returns the message id.
    fn publish_people(
        &self,
        message: &PeopleMessage,
    ) -> impl Future<Output = Result<String, Error>> + Send {
        let _ = message;
        async {
            Err(Error::Notify {
                retryable: false,
                source: "this notifier has no people audience".into(),
            })
        }
    }
}

/// Shared adapters (several pollers over one table, tests that look inside) are adapters too.
impl<T: JobSource> JobSource for std::sync::Arc<T> {
    fn kind(&self) -> JobKind {
        (**self).kind()
    }
    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        (**self).list(filter)
    }
    fn get(&self, arn: &JobArn) -> impl Future<Output = Result<Option<ObservedJob>, Error>> + Send {
        (**self).get(arn)
    }
    fn reopened(&self, since: DateTime<Utc>) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        (**self).reopened(since)
    }
    fn listed_once(&self, since: DateTime<Utc>) -> impl Future<Output = Option<ListedOnce>> + Send {
        (**self).listed_once(since)
    }
    fn lists_cheaply(&self) -> bool {
        (**self).lists_cheaply()
    }
    fn enrich(&self, job: &mut ObservedJob) -> impl Future<Output = ()> + Send {
        (**self).enrich(job)
    }
    fn tags(&self, arn: &JobArn) -> impl Future<Output = Result<Tags, Error>> + Send {
        (**self).tags(arn)
    }
    fn sweep(
        &self,
        after: DateTime<Utc>,
        cursor: Option<&str>,
        open: OpenJobs,
    ) -> impl Future<Output = Option<Result<Swept, Error>>> + Send {
        (**self).sweep(after, cursor, open)
    }
    fn calls(&self) -> u64 {
        (**self).calls()
    }
    fn invocations(&self) -> Option<&dyn InvocationMetrics> {
        (**self).invocations()
    }
}

impl<T: JobStore> JobStore for std::sync::Arc<T> {
    fn scope_state(&self, scope: &Scope) -> impl Future<Output = Result<ScopeState, Error>> + Send {
        (**self).scope_state(scope)
    }
    fn save_progress(
        &self,
        scope: &Scope,
        progress: &Progress,
    ) -> impl Future<Output = Result<Write, Error>> + Send {
        (**self).save_progress(scope, progress)
    }
    fn watched(&self, scope: &Scope) -> impl Stream<Item = Page<JobRecord>> + Send + '_ {
        (**self).watched(scope)
    }
    fn watched_family(&self, kind: JobKind) -> impl Stream<Item = Page<JobRecord>> + Send + '_ {
        (**self).watched_family(kind)
    }
    fn get_many(
        &self,
        arns: &[JobArn],
    ) -> impl Future<Output = Result<Vec<JobRecord>, Error>> + Send {
        (**self).get_many(arns)
    }
    fn save(&self, change: &Change) -> impl Future<Output = Result<Write, Error>> + Send {
        (**self).save(change)
    }
    fn claim(
        &self,
        arn: &JobArn,
        version: u64,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Write, Error>> + Send {
        (**self).claim(arn, version, lease, now)
    }
    fn release(
        &self,
        arn: &JobArn,
        owner: &RunId,
    ) -> impl Future<Output = Result<Write, Error>> + Send {
        (**self).release(arn, owner)
    }
    fn release_delivered(
        &self,
        arn: &JobArn,
        owner: &RunId,
        delivered: &Delivered,
    ) -> impl Future<Output = Result<Write, Error>> + Send {
        (**self).release_delivered(arn, owner, delivered)
    }
    fn mark_sent(
        &self,
        arn: &JobArn,
        owner: &RunId,
        sent: &Sent,
    ) -> impl Future<Output = Result<Write, Error>> + Send {
        (**self).mark_sent(arn, owner, sent)
    }
    fn calls(&self) -> u64 {
        (**self).calls()
    }
}

impl<T: Notifier> Notifier for std::sync::Arc<T> {
    fn batching(&self) -> Batching {
        (**self).batching()
    }
    fn sinks(&self) -> Vec<Sink> {
        (**self).sinks()
    }
    fn deliver(&self, sink: Sink, notices: &[Notice]) -> impl Future<Output = Delivery> + Send {
        (**self).deliver(sink, notices)
    }
    fn publish(&self, notice: &Notice) -> impl Future<Output = Result<String, Error>> + Send {
        (**self).publish(notice)
    }
    fn has_people_audience(&self) -> bool {
        (**self).has_people_audience()
    }
    fn publish_people(
        &self,
        message: &PeopleMessage,
    ) -> impl Future<Output = Result<String, Error>> + Send {
        (**self).publish_people(message)
    }
}

/// What a shard's schedule item keeps (a shard: the scopes one run polls together, a family's
/// fleet or one account's work item): every scope's clock, when a run of the shard last
/// completed, and the version every write moves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardState {
    pub clocks: crate::schedule::Clocks,
    pub done_at: Option<DateTime<Utc>>,
    /// The run holding the shard's lease, if any (live or not).
    pub lease: Option<Lease>,
    /// 0 before the first write.
    pub version: u64,
}

/// A boxed future (object-safe ports).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The schedule items (module [`crate::schedule`]): one read and at most two writes per shard
/// and run, whatever the number of scopes in it. Object-safe: a fleet holds it beside its
/// generic store.
pub trait ScheduleStore: Send + Sync {
    /// The shard's item (all empty before its first run).
    fn shard<'a>(&'a self, shard: &'a str) -> BoxFuture<'a, Result<ShardState, Error>>;

    /// Takes the shard's lease, so that overlapping periods never poll its scopes twice at
    /// once: written only if no other run holds a live lease at `now` and no run of the shard
    /// completed at or after `queued_at` (a duplicate or redelivered work item then finds its
    /// work done: `LostRace`).
    fn lease<'a>(
        &'a self,
        shard: &'a str,
        lease: &'a Lease,
        now: DateTime<Utc>,
        queued_at: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<Write, Error>>;

    /// Writes the clocks if the item is still at `version` (`LostRace`: re-read, merge, write
    /// again: [`crate::schedule::merge`]) and gives `owner`'s lease back. `done_at`: the start of
    /// a run that polled every scope it was given (`None`: it stopped early, and its work item
    /// must not count as done).
    fn save_shard<'a>(
        &'a self,
        shard: &'a str,
        owner: &'a RunId,
        version: u64,
        clocks: &'a crate::schedule::Clocks,
        done_at: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<Write, Error>>;
}

/// Prices for cost estimates (`crate::adapters::pricing`): a model's batch token prices in a
/// region, from the first source that has them. Never fails: no price is `None`. Object-safe
/// (one instance per poller, shared by every scope).
pub trait PriceBook: Send + Sync {
    fn batch_price<'a>(
        &'a self,
        region: &'a str,
        model_id: &'a str,
    ) -> BoxFuture<'a, Option<crate::domain::TokenPrice>>;

    /// The price of one provisioned-throughput model unit per hour of `model_id` (the base
    /// foundation model) in `region` for `commitment` (`custom`: a custom model's throughput).
    /// The default: none (the notices then say nothing, or that the cost is unknown).
    fn hourly_price<'a>(
        &'a self,
        region: &'a str,
        model_id: &'a str,
        commitment: crate::domain::price_list::Commitment,
        custom: bool,
    ) -> BoxFuture<'a, Option<crate::domain::UnitHourPrice>> {
        let _ = (region, model_id, commitment, custom);
        Box::pin(async { None })
    }

    /// Price List calls made so far (the run summary reports them).
    fn calls(&self) -> u64 {
        0
    }
}

/// Each provisioned model's last invocation in the window (`None`: none).
pub type LastInvocations =
    std::collections::BTreeMap<String, Option<chrono::DateTime<chrono::Utc>>>;

/// When each provisioned model was last invoked, from CloudWatch (`AWS/Bedrock` `Invocations`,
/// dimension `ModelId` = the provisioned model's ARN): `crate::adapters::cloudwatch`. One call
/// per scope and run answers for up to 500 throughputs (GetMetricData's query limit).
pub trait InvocationMetrics: Send + Sync {
    /// For each of `model_arns`, the start of the last period in `[now - window, now]` with at
    /// least one invocation (`None`: none in the window).
    fn last_invocations<'a>(
        &'a self,
        model_arns: &'a [String],
        now: chrono::DateTime<chrono::Utc>,
        window: chrono::Duration,
    ) -> BoxFuture<'a, Result<LastInvocations, crate::Error>>;

    /// CloudWatch calls made so far (the run summary reports them).
    fn calls(&self) -> u64 {
        0
    }
}

/// What `AWS/Bedrock/Batch` says about models' batch work (records pending, tokens processed
/// per minute; dimension `ModelId`), read for the batch jobs whose count did not move:
/// `crate::adapters::batch_metrics`. One call answers for up to 100 models.
pub trait BatchActivity: Send + Sync {
    /// The metrics of each of `model_ids` over `[now - window_minutes, now]` (a model without
    /// any datapoint is absent from the answer).
    fn activity<'a>(
        &'a self,
        model_ids: &'a [String],
        now: chrono::DateTime<chrono::Utc>,
        window_minutes: u32,
    ) -> BoxFuture<'a, Result<crate::domain::batch_activity::Activities, crate::Error>>;

    /// CloudWatch calls made so far (the run summary reports them).
    fn calls(&self) -> u64 {
        0
    }
}

/// Where the Price List rows of a region are cached between runs (the jobs table).
pub trait PriceCache: Send + Sync {
    fn read_prices<'a>(
        &'a self,
        region: &'a str,
    ) -> BoxFuture<'a, Result<Option<crate::domain::price_list::CachedPrices>, Error>>;

    fn write_prices<'a>(
        &'a self,
        region: &'a str,
        prices: &'a crate::domain::price_list::CachedPrices,
    ) -> BoxFuture<'a, Result<(), Error>>;
}
#[cfg(test)]
mod tests {
    use super::*;

    fn throughput(name: &str, status: &str, minute: i64) -> ObservedJob {
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap();
        ObservedJob::new(
            JobKind::ProvisionedThroughput,
            JobArn::new(format!(
                "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/{name}"
            )),
            JobStatus::new(status),
            at,
        )
    }

    #[test]
    fn given_a_whole_listing_when_split_then_new_ones_are_discovered_oldest_first_and_old_ones_reopened_only_if_accepted(
    ) {
        // given a listing of two new and three older resources, one of them Updating
        let all = vec![
            throughput("new-b", "Creating", 12),
            throughput("old-settled", "InService", 1),
            throughput("old-updating", "Updating", 2),
            throughput("new-a", "Updating", 11),
            throughput("old-failed", "Failed", 3),
        ];
        let since = DateTime::<Utc>::from_timestamp(1_700_000_000 + 10 * 60, 0).unwrap();

        // when it is split at `since`, accepting Updating as re-opened
        let once = ListedOnce::split(all, since, |j| j.status.as_str() == "Updating");

        // then the new ones are discovery's, oldest first, and only the older Updating one is
        // re-opened (a new Updating one is discovery's, never both)
        let names = |jobs: &[ObservedJob]| {
            jobs.iter()
                .map(|j| j.arn.as_str().rsplit('/').next().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&once.discovered), ["new-a", "new-b"]);
        assert_eq!(names(&once.reopened), ["old-updating"]);
    }
}
