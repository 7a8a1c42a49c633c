//! In-memory adapters of the ports, fault decorators, and the contract every `JobStore` must
//! meet (behind the `testing` feature). Unit tests of whole runs use these without any process;
//! the same contract runs against DynamoDB on moto in the end-to-end suite.

pub mod contract;
mod deadline;
pub mod faults;
mod memory_store;
mod recording_notifier;
mod scripted_source;

pub use deadline::EndAfterPages;
pub use memory_store::MemoryJobStore;
pub use recording_notifier::RecordingNotifier;
pub use scripted_source::ScriptedSource;
