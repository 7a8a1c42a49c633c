//! In-memory `Workflows` and `WaitStore` (workflow waits), with the Step Functions rules that
//! matter here: a token is answered once (a second answer meets `InvalidToken`), an expired
//! token answers `TaskTimedOut`, a token never issued `InvalidToken`. Plus a crash switch on
//! the store's delete, for the resume path's crash tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures::Stream;

use crate::domain::{JobArn, JobKind, Lease, RunId};
use crate::error::Error;
use crate::ports::{Page, Write};
use crate::workflows::ports::{Answer, WaitStore, Workflows};
use crate::workflows::wait::{family_prefix, watch_key, Wait, WAIT_KIND};

/// What a task was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Told {
    Succeeded { output: String },
    Failed { error: String, cause: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Answered(Told),
    TimedOut,
    /// Every call fails (throttled), the token stays open.
    Unreachable,
}

/// Step Functions' task tokens in memory.
#[derive(Debug, Default)]
pub struct MemoryWorkflows {
    tokens: Mutex<HashMap<String, Token>>,
    heartbeats: Mutex<HashMap<String, u64>>,
    calls: AtomicU64,
    /// Answers refused because the token was closed (re-sends after a crash, races).
    pub refused: AtomicU64,
}

impl MemoryWorkflows {
    /// A task waiting with `token`.
    pub fn open(&self, token: &str) {
        self.tokens
            .lock()
            .unwrap()
            .insert(token.to_owned(), Token::Open);
    }

    /// The task's `HeartbeatSeconds` or `TimeoutSeconds` ran out.
    pub fn expire(&self, token: &str) {
        self.tokens
            .lock()
            .unwrap()
            .insert(token.to_owned(), Token::TimedOut);
    }

    /// What the task was told (`None`: nothing yet).
    pub fn told(&self, token: &str) -> Option<Told> {
        match self.tokens.lock().unwrap().get(token) {
            Some(Token::Answered(told)) => Some(told.clone()),
            _ => None,
        }
    }

    pub fn heartbeats(&self, token: &str) -> u64 {
        self.heartbeats
            .lock()
            .unwrap()
            .get(token)
            .copied()
            .unwrap_or(0)
    }

    /// A task waiting with `token` whose every callback fails (throttled): the wait stays.
    pub fn fail_token(&self, token: &str) {
        self.tokens
            .lock()
            .unwrap()
            .insert(token.to_owned(), Token::Unreachable);
    }

    fn answer(&self, token: &str, told: Told) -> Result<Answer, Error> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut tokens = self.tokens.lock().unwrap();
        match tokens.get(token) {
            Some(Token::Open) => {
                tokens.insert(token.to_owned(), Token::Answered(told));
                Ok(Answer::Accepted)
            }
            Some(Token::Unreachable) => Err(unreachable()),
            state => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Ok(closed(state))
            }
        }
    }
}

fn unreachable() -> Error {
    Error::Workflow {
        operation: "SendTask",
        retryable: true,
        source: Box::new(crate::error::ServiceFault::new(
            Some("ThrottlingException"),
            "injected",
        )),
    }
}

fn closed(state: Option<&Token>) -> Answer {
    match state {
        Some(Token::TimedOut) => Answer::Closed("TaskTimedOut".into()),
        _ => Answer::Closed("InvalidToken".into()),
    }
}

impl Workflows for MemoryWorkflows {
    async fn succeed(&self, token: &str, output: &str) -> Result<Answer, Error> {
        let output = output.to_owned();
        self.answer(token, Told::Succeeded { output })
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<Answer, Error> {
        let (error, cause) = (error.to_owned(), cause.to_owned());
        self.answer(token, Told::Failed { error, cause })
    }

    async fn heartbeat(&self, token: &str) -> Result<Answer, Error> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let tokens = self.tokens.lock().unwrap();
        match tokens.get(token) {
            Some(Token::Open) => {
                *self
                    .heartbeats
                    .lock()
                    .unwrap()
                    .entry(token.to_owned())
                    .or_default() += 1;
                Ok(Answer::Accepted)
            }
            Some(Token::Unreachable) => Err(unreachable()),
            state => Ok(closed(state)),
        }
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// Waits in memory, with the DynamoDB adapter's conditions.
#[derive(Debug, Default)]
pub struct MemoryWaits {
    waits: Mutex<BTreeMap<String, Wait>>,
    /// While set, every delete fails as a crash after the callback would: the run stops there.
    pub crash_on_remove: std::sync::atomic::AtomicBool,
    pub crashes: AtomicU64,
}

impl MemoryWaits {
    pub fn all(&self) -> Vec<Wait> {
        self.waits.lock().unwrap().values().cloned().collect()
    }
}

impl WaitStore for MemoryWaits {
    async fn add(&self, wait: &Wait) -> Result<Write, Error> {
        let mut waits = self.waits.lock().unwrap();
        if waits.contains_key(&wait.pk) {
            return Ok(Write::LostRace);
        }
        waits.insert(wait.pk.clone(), wait.clone());
        Ok(Write::Written)
    }

    fn waits_of(&self, family: JobKind) -> impl Stream<Item = Page<Wait>> + Send + '_ {
        let prefix = family_prefix(family);
        let page: Vec<Wait> = self
            .all()
            .into_iter()
            .filter(|w| w.kind == WAIT_KIND && w.watch.starts_with(&prefix))
            .collect();
        futures::stream::iter([Ok(page)])
    }

    async fn waits_on(&self, family: JobKind, arn: &JobArn) -> Result<Vec<Wait>, Error> {
        let key = watch_key(family, arn);
        Ok(self.all().into_iter().filter(|w| w.watch == key).collect())
    }

    async fn claim(&self, wait: &Wait, lease: &Lease, now: DateTime<Utc>) -> Result<Write, Error> {
        let mut waits = self.waits.lock().unwrap();
        match waits.get_mut(&wait.pk) {
            Some(stored) if stored.claimable(now) => {
                stored.lease_owner = Some(lease.owner.clone());
                stored.lease_until = Some(lease.until);
                Ok(Write::Written)
            }
            _ => Ok(Write::LostRace),
        }
    }

    async fn remove(&self, wait: &Wait, owner: Option<&RunId>) -> Result<Write, Error> {
        if self.crash_on_remove.load(Ordering::SeqCst) {
            self.crashes.fetch_add(1, Ordering::Relaxed);
            return Err(Error::Store {
                operation: "DeleteItem",
                retryable: true,
                source: "injected crash after the callback".into(),
            });
        }
        let mut waits = self.waits.lock().unwrap();
        let held = match (waits.get(&wait.pk), owner) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(stored), Some(owner)) => stored.lease_owner.as_ref() == Some(owner),
        };
        if !held {
            return Ok(Write::LostRace);
        }
        waits.remove(&wait.pk);
        Ok(Write::Written)
    }

    async fn release(&self, wait: &Wait, owner: &RunId) -> Result<Write, Error> {
        let mut waits = self.waits.lock().unwrap();
        match waits.get_mut(&wait.pk) {
            Some(stored) if stored.lease_owner.as_ref() == Some(owner) => {
                stored.lease_owner = None;
                stored.lease_until = None;
                Ok(Write::Written)
            }
            _ => Ok(Write::LostRace),
        }
    }
}

/// Any `WaitStore` whose next `n` deletes fail as if the run crashed right after its callback
/// (the wait stays, leased): the end-to-end crash test's tool.
#[derive(Debug)]
pub struct CrashAfterCallback<W> {
    pub inner: W,
    crashes_left: AtomicU64,
}

impl<W> CrashAfterCallback<W> {
    pub fn new(inner: W, crashes: u64) -> Self {
        Self {
            inner,
            crashes_left: AtomicU64::new(crashes),
        }
    }
}

impl<W: WaitStore> WaitStore for CrashAfterCallback<W> {
    fn add(&self, wait: &Wait) -> impl std::future::Future<Output = Result<Write, Error>> + Send {
        self.inner.add(wait)
    }

    fn waits_of(&self, family: JobKind) -> impl Stream<Item = Page<Wait>> + Send + '_ {
        self.inner.waits_of(family)
    }

    fn waits_on(
        &self,
        family: JobKind,
        arn: &JobArn,
    ) -> impl std::future::Future<Output = Result<Vec<Wait>, Error>> + Send {
        self.inner.waits_on(family, arn)
    }

    fn claim(
        &self,
        wait: &Wait,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> impl std::future::Future<Output = Result<Write, Error>> + Send {
        self.inner.claim(wait, lease, now)
    }

    async fn remove(&self, wait: &Wait, owner: Option<&RunId>) -> Result<Write, Error> {
        let crash = self
            .crashes_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if crash {
            return Err(Error::Store {
                operation: "DeleteItem",
                retryable: true,
                source: "injected crash after the callback".into(),
            });
        }
        self.inner.remove(wait, owner).await
    }

    fn release(
        &self,
        wait: &Wait,
        owner: &RunId,
    ) -> impl std::future::Future<Output = Result<Write, Error>> + Send {
        self.inner.release(wait, owner)
    }
}
