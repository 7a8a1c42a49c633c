//! Scheduled Lambda: notifies when Bedrock jobs of the family `JOB_FAMILY` names reach a
//! terminal state. The template deploys this one binary for every family, and, with `MODE`, as
//! the dispatcher, the worker, the organisation refresh and the workflow waits' register
//! consumer.

// The runtime loop's future nests the whole poller (and, in release builds, rustc computes the
// layout of every mode's future): the default limit of 128 is too low for it.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    jobwatch::startup::serve_configured_family().await
}
