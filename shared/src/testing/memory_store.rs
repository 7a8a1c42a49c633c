//! `JobStore` in memory, with the DynamoDB adapter's conditional-write semantics.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use futures::Stream;

use crate::adapters::sdk::Calls;
use crate::domain::{
    Change, Delivered, Due, JobArn, JobKind, JobRecord, Lease, RunId, Scope, Sent,
};
use crate::error::Error;
use crate::ports::{
    BoxFuture, JobStore, Listed, Page, Progress, ScheduleStore, ScopeState, ShardState, Write,
};
use crate::schedule::Clocks;

/// The table as a map; `watched` pages are `page_size` items (default 500, as DynamoDB's).
#[derive(Debug)]
pub struct MemoryJobStore {
    items: Mutex<BTreeMap<JobArn, JobRecord>>,
    scopes: Mutex<HashMap<Scope, ScopeState>>,
    shards: Mutex<HashMap<String, ShardState>>,
    registry: Mutex<Option<crate::org::Registry>>,
    page_size: usize,
    calls: Calls,
    writes: Calls,
}

impl Default for MemoryJobStore {
    fn default() -> Self {
        Self::with_page_size(500)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryJobStore {
    pub fn with_page_size(page_size: usize) -> Self {
        Self {
            items: Mutex::default(),
            scopes: Mutex::default(),
            shards: Mutex::default(),
            registry: Mutex::default(),
            page_size: page_size.max(1),
            calls: Calls::default(),
            writes: Calls::default(),
        }
    }

    /// The stored item of a job (not counted as a call).
    pub fn record(&self, arn: &str) -> Option<JobRecord> {
        lock(&self.items).get(&JobArn::new(arn)).cloned()
    }

    /// What the table keeps for a scope (not counted as a call).
    pub fn state(&self, scope: &Scope) -> ScopeState {
        lock(&self.scopes).get(scope).cloned().unwrap_or_default()
    }

    /// Write requests (PutItem, UpdateItem) so far, a part of `calls` (a quiet scope makes none).
    pub fn writes(&self) -> u64 {
        self.writes.get()
    }

    /// A shard's schedule item (not counted as a call).
    pub fn shard_state(&self, shard: &str) -> ShardState {
        lock(&self.shards).get(shard).cloned().unwrap_or_default()
    }

    /// Every shard's schedule item, by shard (not counted).
    pub fn shard_states(&self) -> Vec<(String, ShardState)> {
        let mut all: Vec<_> = lock(&self.shards).clone().into_iter().collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Every stored item.
    pub fn records(&self) -> Vec<JobRecord> {
        lock(&self.items).values().cloned().collect()
    }

    /// The items `keep` selects, a page at a time, each page counted as a Query.
    fn watched_where(
        &self,
        keep: impl Fn(&JobRecord) -> bool,
    ) -> impl Stream<Item = Page<JobRecord>> + Send + '_ {
        let mut records: Vec<JobRecord> = lock(&self.items)
            .values()
            .filter(|r| keep(r))
            .cloned()
            .collect();
        // The index's order: by scope, then by key.
        records.sort_by(|a, b| (&a.watch, &a.pk).cmp(&(&b.watch, &b.pk)));
        let pages: Vec<Vec<JobRecord>> = records
            .chunks(self.page_size)
            .map(<[JobRecord]>::to_vec)
            .collect();
        let calls = self.calls.clone();
        futures::stream::iter(pages).map(move |page| {
            calls.add(1);
            Ok(page)
        })
    }

    /// Applies `f` to the item if `holds` says the condition holds.
    fn update(
        &self,
        arn: &JobArn,
        holds: impl FnOnce(&JobRecord) -> bool,
        f: impl FnOnce(&mut JobRecord),
    ) -> Write {
        self.calls.add(1);
        self.writes.add(1);
        match lock(&self.items).get_mut(arn) {
            Some(record) if holds(record) => {
                f(record);
                Write::Written
            }
            _ => Write::LostRace,
        }
    }
}

impl JobStore for MemoryJobStore {
    async fn scope_state(&self, scope: &Scope) -> Result<ScopeState, Error> {
        self.calls.add(1);
        Ok(lock(&self.scopes).get(scope).cloned().unwrap_or_default())
    }

    async fn save_progress(&self, scope: &Scope, progress: &Progress) -> Result<Write, Error> {
        self.calls.add(1);
        self.writes.add(1);
        let mut scopes = lock(&self.scopes);
        let state = scopes.entry(scope.clone()).or_default();
        match &progress.listed {
            Listed::Complete(to) if state.watermark.is_some_and(|w| w >= *to) => {
                return Ok(Write::LostRace)
            }
            Listed::Complete(to) => (state.watermark, state.checkpoint) = (Some(*to), None),
            Listed::Reached(cp) => match &state.checkpoint {
                Some(old) if old.reached >= cp.reached => return Ok(Write::LostRace),
                Some(old) => {
                    let started = old.started;
                    state.checkpoint = Some(crate::ports::Checkpoint {
                        started,
                        reached: cp.reached,
                    })
                }
                None => state.checkpoint = Some(cp.clone()),
            },
            Listed::Nothing => {}
        }
        state.open = progress.open;
        state.cursor = progress.cursor.clone();
        if let Some(durations) = &progress.durations {
            state.durations = durations.clone();
        }
        if let Some(run) = &progress.last_run {
            state.last_run = Some(run.clone());
        }
        Ok(Write::Written)
    }

    fn watched(&self, scope: &Scope) -> impl Stream<Item = Page<JobRecord>> + Send + '_ {
        self.watched_where(|r| r.watch.as_ref() == Some(scope))
    }

    fn watched_family(&self, kind: JobKind) -> impl Stream<Item = Page<JobRecord>> + Send + '_ {
        self.watched_where(move |r| r.kind == kind && r.watch.is_some())
    }

    async fn get_many(&self, arns: &[JobArn]) -> Result<Vec<JobRecord>, Error> {
        self.calls.add(arns.len().div_ceil(100) as u64);
        let items = lock(&self.items);
        Ok(arns.iter().filter_map(|a| items.get(a).cloned()).collect())
    }

    async fn save(&self, change: &Change) -> Result<Write, Error> {
        self.calls.add(1);
        self.writes.add(1);
        let mut items = lock(&self.items);
        let stored = items.get(&change.record.pk).map(|r| r.version);
        if stored != change.expected_version {
            return Ok(Write::LostRace);
        }
        items.insert(change.record.pk.clone(), change.record.clone());
        Ok(Write::Written)
    }

    async fn claim(
        &self,
        arn: &JobArn,
        version: u64,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Write, Error> {
        Ok(self.update(
            arn,
            |r| r.claimable(now) && r.version == version,
            |r| r.set_lease(Some(lease.clone())),
        ))
    }

    async fn release(&self, arn: &JobArn, owner: &RunId) -> Result<Write, Error> {
        Ok(self.update(
            arn,
            |r| r.lease_owner.as_ref() == Some(owner),
            |r| r.set_lease(None),
        ))
    }

    async fn release_delivered(
        &self,
        arn: &JobArn,
        owner: &RunId,
        delivered: &Delivered,
    ) -> Result<Write, Error> {
        Ok(self.update(
            arn,
            |r| r.lease_owner.as_ref() == Some(owner),
            |r| {
                r.delivered = Some(delivered.clone());
                r.version += 1;
                r.set_lease(None);
            },
        ))
    }

    async fn mark_sent(&self, arn: &JobArn, owner: &RunId, sent: &Sent) -> Result<Write, Error> {
        Ok(self.update(
            arn,
            |r| held(r, &sent.due) && r.lease_owner.as_ref() == Some(owner),
            |r| {
                match &sent.due {
                    Due::Status(status) => {
                        r.notified_status = Some(status.clone());
                        r.notified_at = Some(sent.at);
                        r.pending_status = None;
                    }
                    Due::Alert(alert) => {
                        r.alerts_sent.insert(*alert);
                        r.alerted_at = Some(sent.at);
                        r.pending_alert = None;
                    }
                }
                r.notifications.push(sent.entry());
                r.delivered = None;
                r.version += 1;
                r.set_lease(None);
                r.watch = sent.watch.clone();
                r.expires_at = sent.expires_at;
            },
        ))
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

impl crate::org::RegistryStore for MemoryJobStore {
    fn registry(&self) -> BoxFuture<'_, Result<Option<crate::org::Registry>, Error>> {
        self.calls.add(1);
        let registry = lock(&self.registry).clone();
        Box::pin(async move { Ok(registry) })
    }

    fn save_registry<'a>(
        &'a self,
        registry: &'a crate::org::Registry,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.calls.add(1);
        self.writes.add(1);
        *lock(&self.registry) = Some(registry.clone());
        Box::pin(async { Ok(()) })
    }
}

/// The schedule items, with the DynamoDB adapter's conditions.
impl ScheduleStore for MemoryJobStore {
    fn shard<'a>(&'a self, shard: &'a str) -> BoxFuture<'a, Result<ShardState, Error>> {
        self.calls.add(1);
        let state = lock(&self.shards).get(shard).cloned().unwrap_or_default();
        Box::pin(async move { Ok(state) })
    }

    fn lease<'a>(
        &'a self,
        shard: &'a str,
        lease: &'a Lease,
        now: DateTime<Utc>,
        queued_at: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<Write, Error>> {
        self.calls.add(1);
        self.writes.add(1);
        let mut shards = lock(&self.shards);
        let state = shards.entry(shard.to_owned()).or_default();
        let held = state
            .lease
            .as_ref()
            .is_some_and(|l| l.is_live(now) && l.owner != lease.owner);
        let done = matches!((state.done_at, queued_at), (Some(d), Some(q)) if d >= q);
        let write = match held || done {
            true => Write::LostRace,
            false => {
                state.lease = Some(lease.clone());
                state.version += 1;
                Write::Written
            }
        };
        Box::pin(async move { Ok(write) })
    }

    fn save_shard<'a>(
        &'a self,
        shard: &'a str,
        owner: &'a RunId,
        version: u64,
        clocks: &'a Clocks,
        done_at: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<Write, Error>> {
        self.calls.add(1);
        self.writes.add(1);
        let mut shards = lock(&self.shards);
        let state = shards.entry(shard.to_owned()).or_default();
        let write = match state.version == version {
            false => Write::LostRace,
            true => {
                state.clocks = clocks.clone();
                state.done_at = done_at.or(state.done_at);
                state.version += 1;
                if state.lease.as_ref().is_some_and(|l| &l.owner == owner) {
                    state.lease = None;
                }
                Write::Written
            }
        };
        Box::pin(async move { Ok(write) })
    }
}

/// Whether the item still holds the notice `due` (the condition of marking it sent).
fn held(record: &JobRecord, due: &Due) -> bool {
    match due {
        Due::Status(status) => record.pending_status.as_ref() == Some(status),
        Due::Alert(alert) => record.pending_alert == Some(*alert),
    }
}

use futures::StreamExt as _;
