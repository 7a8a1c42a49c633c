//! Cold-start wiring shared by every poller binary: tracing, config, SDK clients, the runtime loop.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use lambda_runtime::service_fn;

use crate::adapters::dynamodb::DynamoJobStore;
use crate::adapters::sns::SnsNotifier;
use crate::config::Config;
use crate::handler;
use crate::metrics::MetricsSink;
use crate::poller::Poller;
use crate::ports::JobSource;
use crate::telemetry;

/// One `SdkConfig` for every client: standard environment (region, credentials,
/// `AWS_ENDPOINT_URL_*`), adaptive retries (client-side rate limiting under throttling) and
/// bounded timeouts so a hung call cannot eat the whole invocation.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(4))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await
}

/// Runs a poller Lambda whose job source `make_source` builds from the shared SDK config.
pub async fn serve<S, F>(make_source: F) -> Result<(), lambda_runtime::Error>
where
    S: JobSource + 'static,
    F: FnOnce(&SdkConfig, &Config) -> S,
{
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = sdk_config().await;
    let poller = Poller::new(
        make_source(&sdk, &config),
        DynamoJobStore::new(aws_sdk_dynamodb::Client::new(&sdk), &config.table),
        SnsNotifier::new(aws_sdk_sns::Client::new(&sdk), &config.topic_arn),
        config.poll.clone(),
    );
    let metrics = MetricsSink::stdout(&config.metrics_namespace);
    let (poller, metrics) = (&poller, &metrics);
    lambda_runtime::run(service_fn(move |event| {
        handler::handle(poller, metrics, event)
    }))
    .await
}
