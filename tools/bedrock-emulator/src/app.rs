//! Shared server state: the store, fault rules, per-operation statistics and settings.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::error::{ApiError, ApiResult};
use crate::settings::Settings;
use crate::store::Store;

/// One fault rule, as posted to `/_emulator/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Operation name (`GetModelInvocationJob`) or `*` for every operation.
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
    pub total: u64,
}

pub struct App {
    pub settings: Settings,
    pub store: RwLock<Store>,
    faults: Mutex<Vec<FaultRule>>,
    stats: Mutex<Stats>,
    rng: Mutex<StdRng>,
}

impl App {
    pub fn new(settings: Settings) -> Self {
        let rng = StdRng::seed_from_u64(settings.seed);
        Self {
            settings,
            store: RwLock::new(Store::default()),
            faults: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
            rng: Mutex::new(rng),
        }
    }

    /// Counts the call and applies the fault rules for `operation`; an `Err` is the injected fault.
    pub async fn enter(&self, operation: &str) -> ApiResult<()> {
        let (latency, fault) = {
            let mut stats = lock(&self.stats);
            *stats.operations.entry(operation.to_owned()).or_default() += 1;
            stats.total += 1;
            let mut rules = lock(&self.faults);
            let mut rng = lock(&self.rng);
            let mut latency = 0;
            let mut fault = None;
            for rule in rules
                .iter_mut()
                .filter(|r| r.operation == operation || r.operation == "*")
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
                fault = Some(ApiError::from_code(code, format!("Injected fault: {code}")));
            }
            if fault.is_some() {
                *stats.faults.entry(operation.to_owned()).or_default() += 1;
            }
            (latency, fault)
        };
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

    pub fn arn(&self, resource: &str, id: &str) -> String {
        format!(
            "arn:aws:bedrock:{}:{}:{resource}/{id}",
            self.settings.region, self.settings.account
        )
    }
}

/// A poisoned lock only means another request panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
