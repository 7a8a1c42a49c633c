//! In-memory adapters of the ports, fault decorators, and the contract every `JobStore` must
//! meet (behind the `testing` feature). Unit tests of whole runs use these without any process;
//! the same contract runs against DynamoDB on moto in the end-to-end suite.

pub mod contract;
mod deadline;
pub mod faults;
mod memory_store;
mod recording_notifier;
mod scripted_source;
mod workflows;

use crate::domain::{AlertSettings, NotifyPolicy};
use crate::PollSettings;

pub use deadline::EndAfterPages;
pub use memory_store::MemoryJobStore;
pub use recording_notifier::RecordingNotifier;
pub use scripted_source::ScriptedSource;
pub use workflows::{CrashAfterCallback, MemoryWaits, MemoryWorkflows, Told};

/// The settings tests start from: us-east-1 and the configuration's defaults, alerts off (alert
/// tests turn them on with their own thresholds; the others run over jobs whose submit times
/// are hours old on purpose).
pub fn poll_settings() -> PollSettings {
    PollSettings {
        region: "us-east-1".into(),
        policy: NotifyPolicy::default(),
        lookback: chrono::Duration::hours(336),
        list_margin: chrono::Duration::minutes(15),
        get_concurrency: 8,
        retention: chrono::Duration::days(90),
        publish_lease: chrono::Duration::minutes(5),
        alerts: AlertSettings::off(),
        presentation: Default::default(),
        digest_threshold: None,
        quiet_refresh: None,
        prices: Default::default(),
        cost_alert_usd: None,
        cost_owners: Default::default(),
        progress_metrics: false,
    }
}
