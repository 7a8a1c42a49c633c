//! What the emulator is started with: region, account, seed, and how jobs advance on their own.
//! Depends on nothing else in the crate (the server state and the lifecycle both read it).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::Rng;

use crate::model::{fit_outcome, Status};

/// Settings fixed at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: String,
    pub account: String,
    pub seed: u64,
    /// In `--auto-advance` mode every new job gets a random planned outcome.
    pub auto_advance: bool,
    /// Step duration and outcome mix for jobs that advance on their own.
    pub lifecycle: AutoAdvance,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            seed: 42,
            auto_advance: false,
            lifecycle: AutoAdvance::default(),
        }
    }
}

/// Lifecycle settings.
#[derive(Debug, Clone)]
pub struct AutoAdvance {
    /// Time a job spends in each intermediate state.
    pub step: Duration,
    /// Terminal statuses with weights, used for jobs created without an `emulator:outcome` tag.
    pub outcomes: Vec<(String, u32)>,
}

impl Default for AutoAdvance {
    fn default() -> Self {
        Self {
            step: Duration::from_secs(2),
            outcomes: vec![
                ("Completed".into(), 70),
                ("Failed".into(), 15),
                ("PartiallyCompleted".into(), 5),
                ("Expired".into(), 5),
                ("Stopped".into(), 5),
            ],
        }
    }
}

impl AutoAdvance {
    /// Parses `Completed=70,Failed=15,...`.
    pub fn parse_outcomes(spec: &str) -> Result<Vec<(String, u32)>, String> {
        spec.split(',')
            .map(|part| {
                let (status, weight) = part
                    .split_once('=')
                    .ok_or_else(|| format!("expected STATUS=WEIGHT, got '{part}'"))?;
                let weight = weight
                    .trim()
                    .parse()
                    .map_err(|_| format!("weight of '{status}' is not a whole number"))?;
                Ok((status.trim().to_owned(), weight))
            })
            .collect()
    }

    /// Draws a terminal status from the outcome mix, fitted to a family's `statuses`.
    pub fn pick_outcome(&self, statuses: &[Status], rng: &mut StdRng) -> Status {
        let total: u32 = self.outcomes.iter().map(|(_, w)| w).sum();
        let mut roll = rng.random_range(0..total.max(1));
        let picked = self
            .outcomes
            .iter()
            .find(|(_, w)| {
                if roll < *w {
                    true
                } else {
                    roll -= w;
                    false
                }
            })
            .map_or("Completed", |(s, _)| s.as_str());
        fit_outcome(statuses, &Status::parse(picked))
    }
}
