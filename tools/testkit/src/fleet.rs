//! Fleets of scopes against the stand-ins: a family's pollers for every (account, region) of
//! some fleet settings, wired as the Lambda wires them (`jobwatch::wiring::build_fleet`), with
//! Bedrock and STS on the emulator and the table and topic on moto.

use std::sync::Arc;

use aws_config::SdkConfig;
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::domain::JobKind;
use jobwatch::poller::Fleet;
use jobwatch::ports::JobSource;
use jobwatch::targets::TargetSettings;

use crate::{Stack, DEFAULT_ACCOUNT};

/// A fleet on the stack's table and topic.
pub type StackFleet<S> = Fleet<S, DynamoJobStore, Arc<Sinks>>;

impl Stack {
    /// What a deployed poller loads: its own account (the emulator's default) in us-east-1,
    /// Bedrock and STS (`AWS_ENDPOINT_URL_STS`) on the emulator, a clock for credentials.
    pub fn poller_sdk(&self) -> SdkConfig {
        self.emulator
            .sdk_config_for(DEFAULT_ACCOUNT, "us-east-1")
            .into_builder()
            .time_source(aws_smithy_async::time::SharedTimeSource::default())
            .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().expect("tokio sleep"))
            .build()
    }

    /// The fleet of `kind` for `fleet`: `source` makes a scope's source from its SDK config.
    pub async fn fleet_of<S: JobSource>(
        &self,
        kind: JobKind,
        fleet: &TargetSettings,
        source: impl Fn(&SdkConfig) -> S,
    ) -> StackFleet<S> {
        jobwatch::wiring::build_fleet(
            &self.poller_sdk(),
            fleet,
            kind,
            &self.settings(),
            source,
            || self.store(),
            Arc::new(self.notifier()),
        )
        .await
    }

    /// The batch-inference fleet for `fleet`.
    pub async fn batch_fleet(&self, fleet: &TargetSettings) -> StackFleet<BatchInferenceSource> {
        self.fleet_of(JobKind::BatchInference, fleet, |sdk| {
            BatchInferenceSource::new(aws_sdk_bedrock::Client::new(sdk))
        })
        .await
    }
}
