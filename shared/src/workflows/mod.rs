//! Job-completion workflows (issue 31): a Step Functions task waits for any job this deployment
//! watches (`sqs:sendMessage.waitForTaskToken` to the register queue) and is resumed with
//! `SendTaskSuccess` (the job's v1 notification document) or `SendTaskFailure` (an error a
//! `Catch` matches) when the job settles.
//!
//! Phases: the register consumer ([`register`]) validates the message, reads the job (the table,
//! else one Get through the family's adapter), answers at once a job that already ended, and
//! otherwise stores a wait item (keyed by job and token hash) and records the job open so that
//! the pollers reconcile it. Every poller invocation then resumes its family's waits
//! ([`resume`]): claim a lease on the wait, `SendTask*`, delete the wait conditionally. A re-send
//! after a crash meets a closed token (`InvalidToken`, `TaskTimedOut`, `TaskDoesNotExist`), which
//! counts as done: Step Functions closes a token once, so a workflow is never resumed twice.
//! The decisions (which outcome succeeds, error names, truncation) are pure ([`verdict`],
//! [`request`]).

pub mod places;
pub mod ports;
pub mod register;
pub mod request;
pub mod resume;
pub mod startup;
pub mod verdict;
pub mod wait;

pub use places::{FixedPlaces, JobScopes, LivePlaces, Place, Places};
pub use ports::{Answer, WaitStore, Workflows};
pub use register::{Registered, Registrar};
pub use request::{family_of, parse_request, Invalid, WaitRequest};
pub use resume::{Pass, Resumed, Resumer};
pub use verdict::{decide, Step, Verdict};
pub use wait::{Wait, WAIT_KIND};
