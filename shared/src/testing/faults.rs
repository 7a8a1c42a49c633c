//! Fault injection: an SDK interceptor that fails AWS calls at a seeded rate, and port
//! decorators that "crash" a run after a write or around a publish (the campaign's tools).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{DateTime, Utc};
use futures::Stream;

use crate::domain::{
    Change, Delivered, JobArn, JobKind, JobRecord, Lease, RunId, Scope, Sent, Sink,
};

use crate::error::Error;
use crate::notices::Notice;
use crate::ports::{Batching, Delivery, JobStore, Notifier, Page, Progress, ScopeState, Write};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;

/// Counts of what was injected, for the campaign's report and its bounds.
#[derive(Debug, Default)]
pub struct Injected {
    pub sdk_failures: AtomicU64,
    pub mark_sent_failures: AtomicU64,
    pub crash_after_write: AtomicU64,
    pub crash_before_publish: AtomicU64,
    pub crash_after_publish: AtomicU64,
    /// Notices the running run published (or has a publish call in flight for) and has not
    /// marked sent yet.
    pub published_unmarked: AtomicU64,
    /// Notices published by runs that crashed before marking them sent: each may go out again
    /// (with batches in flight, a crash can leave many).
    pub exposed: AtomicU64,
}

impl Injected {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// The run was dropped where it stood: what it published and did not mark may be re-sent.
    pub fn run_crashed(&self) {
        let unmarked = self.published_unmarked.swap(0, Ordering::Relaxed);
        self.exposed.fetch_add(unmarked, Ordering::Relaxed);
    }

    /// The run ended: the next one counts afresh (a mark that failed is a lost acknowledgement,
    /// counted apart).
    pub fn run_ended(&self) {
        self.published_unmarked.store(0, Ordering::Relaxed);
    }

    fn published(&self, notices: u64) {
        self.published_unmarked
            .fetch_add(notices, Ordering::Relaxed);
    }

    fn unpublished(&self, notices: u64) {
        let _ = self
            .published_unmarked
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(notices))
            });
    }

    fn marked(&self) {
        self.unpublished(1);
    }
}

/// Shared, seeded dice and switches.
#[derive(Debug, Clone)]
pub struct Dice {
    rng: Arc<Mutex<StdRng>>,
    pub enabled: Arc<std::sync::atomic::AtomicBool>,
    pub injected: Arc<Injected>,
}

impl Dice {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
            enabled: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            injected: Arc::new(Injected::default()),
        }
    }

    pub fn roll(&self, p: f64) -> bool {
        self.enabled.load(Ordering::Relaxed) && self.rng.lock().unwrap().random_bool(p)
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }
}

/// Fails a whole SDK call (every attempt) with probability `rate`: a 5xx storm or a timeout as
/// the poller sees it after the SDK's retries.
#[derive(Debug)]
pub struct FailCalls {
    pub dice: Dice,
    pub rate: f64,
}

impl Intercept for FailCalls {
    fn name(&self) -> &'static str {
        "FailCalls"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        if self.dice.roll(self.rate) {
            self.dice
                .injected
                .sdk_failures
                .fetch_add(1, Ordering::Relaxed);
            return Err(format!("injected failure of {operation}").into());
        }
        Ok(())
    }
}

/// Signals the campaign that the run "crashed" here, then never returns (the run is dropped).
async fn crash(tx: &mpsc::UnboundedSender<()>) -> ! {
    let _ = tx.send(());
    std::future::pending().await
}

/// A store that crashes right after a successful transition write, at a rate.
pub struct CrashingStore<T> {
    pub inner: T,
    pub dice: Dice,
    pub rate: f64,
    pub crash: mpsc::UnboundedSender<()>,
}

impl<T: JobStore> JobStore for CrashingStore<T> {
    async fn scope_state(&self, scope: &Scope) -> Result<ScopeState, Error> {
        self.inner.scope_state(scope).await
    }
    async fn save_progress(&self, scope: &Scope, progress: &Progress) -> Result<Write, Error> {
        self.inner.save_progress(scope, progress).await
    }
    fn watched(&self, scope: &Scope) -> impl Stream<Item = Page<JobRecord>> + Send + '_ {
        self.inner.watched(scope)
    }
    fn watched_family(&self, kind: JobKind) -> impl Stream<Item = Page<JobRecord>> + Send + '_ {
        self.inner.watched_family(kind)
    }
    async fn get_many(&self, arns: &[JobArn]) -> Result<Vec<JobRecord>, Error> {
        self.inner.get_many(arns).await
    }
    async fn save(&self, change: &Change) -> Result<Write, Error> {
        let outcome = self.inner.save(change).await?;
        if outcome == Write::Written && change.notify && self.dice.roll(self.rate) {
            self.dice
                .injected
                .crash_after_write
                .fetch_add(1, Ordering::Relaxed);
            crash(&self.crash).await;
        }
        Ok(outcome)
    }
    async fn claim(
        &self,
        arn: &JobArn,
        version: u64,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Write, Error> {
        self.inner.claim(arn, version, lease, now).await
    }
    async fn release(&self, arn: &JobArn, owner: &RunId) -> Result<Write, Error> {
        self.inner.release(arn, owner).await
    }
    async fn release_delivered(
        &self,
        arn: &JobArn,
        owner: &RunId,
        delivered: &Delivered,
    ) -> Result<Write, Error> {
        self.inner.release_delivered(arn, owner, delivered).await
    }
    async fn mark_sent(&self, arn: &JobArn, owner: &RunId, sent: &Sent) -> Result<Write, Error> {
        let result = self.inner.mark_sent(arn, owner, sent).await;
        if let Ok(Write::Written) = result {
            self.dice.injected.marked();
        }
        if result.is_err() {
            // Published but not recorded: the next run after the lease publishes it again. It is
            // a lost acknowledgement, counted here and not again as exposed should this run
            // crash later (the campaign's bound adds the two).
            self.dice
                .injected
                .mark_sent_failures
                .fetch_add(1, Ordering::Relaxed);
            self.dice.injected.marked();
        }
        result
    }
    fn calls(&self) -> u64 {
        self.inner.calls()
    }
}

/// A notifier that crashes just before or just after publishing, at rates.
pub struct CrashingNotifier<N> {
    pub inner: N,
    pub dice: Dice,
    pub rate_before: f64,
    pub rate_after: f64,
    pub crash: mpsc::UnboundedSender<()>,
}

impl<N: Notifier> CrashingNotifier<N> {
    async fn maybe_crash(&self, rate: f64, counter: &AtomicU64) {
        if self.dice.roll(rate) {
            counter.fetch_add(1, Ordering::Relaxed);
            crash(&self.crash).await;
        }
    }
}

/// Crashes before or after each delivery call: one notice, or a whole batch (the inner
/// notifier's batching, so the production path is the one under test).
impl<N: Notifier> Notifier for CrashingNotifier<N> {
    fn batching(&self) -> Batching {
        self.inner.batching()
    }

    fn sinks(&self) -> Vec<Sink> {
        self.inner.sinks()
    }

    async fn deliver(&self, sink: Sink, notices: &[Notice]) -> Delivery {
        let injected = &self.dice.injected;
        self.maybe_crash(self.rate_before, &injected.crash_before_publish)
            .await;
        // Counted before the call: a run dropped while the call is in flight may or may not
        // have published these; the ones that failed are taken back after.
        injected.published(notices.len() as u64);
        let delivery = self.inner.deliver(sink, notices).await;
        let failed = delivery.results.iter().filter(|r| r.is_err()).count();
        injected.unpublished(failed as u64);
        if failed < notices.len() {
            self.maybe_crash(self.rate_after, &injected.crash_after_publish)
                .await;
        }
        delivery
    }

    async fn publish(&self, notice: &Notice) -> Result<String, Error> {
        let injected = &self.dice.injected;
        self.maybe_crash(self.rate_before, &injected.crash_before_publish)
            .await;
        injected.published(1);
        let id = self
            .inner
            .publish(notice)
            .await
            .inspect_err(|_| injected.unpublished(1))?;
        self.maybe_crash(self.rate_after, &injected.crash_after_publish)
            .await;
        Ok(id)
    }

    fn has_people_audience(&self) -> bool {
        self.inner.has_people_audience()
    }

    async fn publish_people(
        &self,
        message: &crate::notices::PeopleMessage,
    ) -> Result<String, Error> {
        self.inner.publish_people(message).await
    }
}
