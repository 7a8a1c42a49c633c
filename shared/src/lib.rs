//! bedrock-jobwatch core: domain types, the pure status diff, ports, AWS adapters, and the
//! generic poller that the Lambda functions wrap.

pub mod adapters;
pub mod cold_start;
pub mod config;
pub mod domain;
pub mod error;
pub mod fanout;
pub mod handler;
pub mod metrics;
pub mod notices;
pub mod org;
pub mod poller;
pub mod ports;
pub mod schedule;
pub mod startup;
pub mod targets;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod wiring;
pub mod work;
pub mod workflows;

pub use config::Config;
pub use error::Error;
pub use poller::{Budget, PollSettings, Poller, RunSummary};
