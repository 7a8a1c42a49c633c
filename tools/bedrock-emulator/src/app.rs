//! Shared server state: one store per (account, region), fault rules, per-operation statistics,
//! the roles STS lets callers assume, and settings.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::error::{ApiError, ApiResult};
use crate::model::{Job, JobKind};
use crate::scope::Scope;
use crate::settings::Settings;
use crate::store::Store;

/// What the control API set up for roles, and the sessions `AssumeRole` handed out.
#[derive(Debug, Default)]
pub struct Roles {
    /// Roles whose trust policy does not let anyone in.
    pub refused: BTreeSet<String>,
    /// Roles whose trust policy requires `sts:ExternalId` to equal this value.
    pub external_ids: BTreeMap<String, String>,
    /// Access key id -> the assumed-role ARN it acts as (the caller of later requests).
    pub sessions: HashMap<String, String>,
}

/// One fault rule, as posted to `/_emulator/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Operation name (`GetModelInvocationJob`, `AssumeRole`) or `*` for every Bedrock operation.
    pub operation: String,
    /// Error code to answer with, e.g. `ThrottlingException` or `InternalServerException`.
    #[serde(default)]
    pub error: Option<String>,
    /// Probability in 0..=1 that a matching call fails (default 1).
    #[serde(default = "one")]
    pub rate: f64,
    /// How many failures to inject before the rule goes quiet (default: unlimited).
    #[serde(default)]
    pub count: Option<u64>,
    /// Latency added to every matching call, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Only calls to this region (a region failing while the others answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Only calls of this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl FaultRule {
    fn matches(&self, scope: &Scope, operation: &str, wildcard: bool) -> bool {
        (self.operation == operation || (wildcard && self.operation == "*"))
            && self.region.as_ref().is_none_or(|r| *r == scope.region)
            && self.account.as_ref().is_none_or(|a| *a == scope.account)
    }
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Requests per operation, faulted ones included.
    pub operations: BTreeMap<String, u64>,
    /// Faults injected per operation.
    pub faults: BTreeMap<String, u64>,
    /// Requests per scope (`account/region`).
    pub scopes: BTreeMap<String, u64>,
    pub total: u64,
}

/// The store of each (account, region) that has been addressed.
type Stores = BTreeMap<Scope, Arc<RwLock<Store>>>;

pub struct App {
    pub settings: Settings,
    stores: Mutex<Stores>,
    /// Roles that refuse `AssumeRole` or require an external id, and the sessions handed out.
    pub roles: Mutex<Roles>,
    faults: Mutex<Vec<FaultRule>>,
    stats: Mutex<Stats>,
    rng: Mutex<StdRng>,
}

impl App {
    pub fn new(settings: Settings) -> Self {
        let rng = StdRng::seed_from_u64(settings.seed);
        Self {
            settings,
            stores: Mutex::new(Stores::new()),
            roles: Mutex::new(Roles::default()),
            faults: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
            rng: Mutex::new(rng),
        }
    }

    /// The scope of requests that name no account or region.
    pub fn default_scope(&self) -> Scope {
        Scope::new(&self.settings.account, &self.settings.region)
    }

    /// The store of `scope`, created empty the first time the scope is addressed.
    pub fn store_of(&self, scope: &Scope) -> Arc<RwLock<Store>> {
        lock(&self.stores).entry(scope.clone()).or_default().clone()
    }

    /// Every scope's store (the ticker, the control API's views, the state file).
    pub fn all_stores(&self) -> Vec<(Scope, Arc<RwLock<Store>>)> {
        lock(&self.stores)
            .iter()
            .map(|(scope, store)| (scope.clone(), store.clone()))
            .collect()
    }

    /// Puts jobs in the stores their ARNs name (the default scope for ARNs naming none);
    /// `names_identify`: which families find jobs by name.
    pub async fn insert_jobs(&self, jobs: Vec<Job>, names_identify: fn(JobKind) -> bool) {
        let mut by_scope: BTreeMap<Scope, Vec<Job>> = BTreeMap::new();
        for job in jobs {
            let scope = Scope::of_arn(&job.arn).unwrap_or_else(|| self.default_scope());
            by_scope.entry(scope).or_default().push(job);
        }
        for (scope, jobs) in by_scope {
            self.store_of(&scope)
                .write()
                .await
                .insert_many(jobs, names_identify);
        }
    }

    /// Every job of every scope.
    pub async fn all_jobs(&self) -> Vec<Job> {
        let mut jobs = Vec::new();
        for (_, store) in self.all_stores() {
            jobs.extend(store.read().await.all().cloned());
        }
        jobs
    }

    /// Forgets every scope's jobs and knowledge bases.
    pub fn clear_stores(&self) {
        lock(&self.stores).clear();
    }

    /// Counts the call and applies the fault rules for `operation` in `scope`; an `Err` is the
    /// injected fault.
    pub async fn enter_in(&self, scope: &Scope, operation: &str) -> ApiResult<()> {
        self.enter_matching(scope, operation, true).await
    }

    /// As [`App::enter_in`] for an STS action: only rules naming the action apply, so a region
    /// failing its Bedrock calls (`"*"`) still hands out credentials.
    pub async fn enter_sts(&self, scope: &Scope, action: &str) -> ApiResult<()> {
        self.enter_matching(scope, action, false).await
    }

    async fn enter_matching(
        &self,
        scope: &Scope,
        operation: &str,
        wildcard: bool,
    ) -> ApiResult<()> {
        let (latency, fault) = {
            let mut stats = lock(&self.stats);
            *stats.operations.entry(operation.to_owned()).or_default() += 1;
            *stats.scopes.entry(scope.label()).or_default() += 1;
            stats.total += 1;
            let mut rules = lock(&self.faults);
            let mut rng = lock(&self.rng);
            let mut latency = 0;
            let mut fault = None;
            for rule in rules
                .iter_mut()
                .filter(|r| r.matches(scope, operation, wildcard))
            {
                latency += rule.latency_ms;
                let Some(code) = &rule.error else { continue };
                if fault.is_some()
                    || rule.count == Some(0)
                    || !rng.random_bool(rule.rate.clamp(0.0, 1.0))
                {
                    continue;
                }
                if let Some(n) = rule.count.as_mut() {
                    *n -= 1;
                }
                fault = Some(ApiError::injected(code));
            }
            if fault.is_some() {
                *stats.faults.entry(operation.to_owned()).or_default() += 1;
            }
            (latency, fault)
        };
        // Bedrock operations only (STS is everywhere): a region without the API answers as AWS
        // does, counted as a call.
        if wildcard {
            crate::offered::check(operation, &scope.region)?;
        }
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        fault.map_or(Ok(()), Err)
    }

    pub fn add_faults(&self, rules: Vec<FaultRule>) {
        lock(&self.faults).extend(rules);
    }

    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// Removes the rules of one region (and/or account): the region heals, the rest stay.
    pub fn clear_faults_of(&self, region: Option<&str>, account: Option<&str>) {
        lock(&self.faults).retain(|r| {
            let same_region = region.is_none_or(|x| r.region.as_deref() == Some(x));
            let same_account = account.is_none_or(|x| r.account.as_deref() == Some(x));
            !(same_region && same_account)
        });
    }

    pub fn faults(&self) -> Vec<FaultRule> {
        lock(&self.faults).clone()
    }

    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    pub fn reset_stats(&self) {
        *lock(&self.stats) = Stats::default();
    }

    /// A new 12-character job id (`[a-z0-9]{12}`, as in real ARNs).
    pub fn new_id(&self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = lock(&self.rng);
        (0..12)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    }

    /// A new bedrock-agent id (`[0-9A-Z]{10}`: knowledge bases, data sources, ingestion jobs).
    pub fn new_agent_id(&self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut rng = lock(&self.rng);
        (0..10)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    }

    /// A new UUID-shaped id (Data Automation invocations).
    pub fn new_uuid(&self) -> String {
        let mut rng = lock(&self.rng);
        let hex: String = (0..32)
            .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
            .collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }

    /// Runs `f` with the emulator's seeded random generator.
    pub fn with_rng<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        f(&mut lock(&self.rng))
    }
}

/// A poisoned lock only means another request panicked; the data is still usable.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
