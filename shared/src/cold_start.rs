//! What every Lambda entry point builds at cold start, whatever it runs: the SDK config, the
//! notifier, and the answer to a configuration that cannot be read. Below `startup` (the poller),
//! `fanout` (dispatcher, worker, refresh) and `workflows::startup` (waits), which all use it.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};

use crate::adapters::notifier::Sinks;
use crate::config::Config;
use crate::error::ConfigError;

/// One `SdkConfig` for every client: standard environment (region, credentials,
/// `AWS_ENDPOINT_URL_*`), adaptive retries (client-side rate limiting under throttling) and
/// bounded timeouts so a hung call cannot eat the whole invocation, and [`http_client`].
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
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

/// The SDK's default HTTPS client (hyper 1.x, rustls on aws-lc, proxy from the environment),
/// built once and shared by every client made from the config. Without it, each SDK client
/// builds its own: its own connection pool and its own copy of the trusted roots, which made a
/// worker's 187 scopes of an account (a Bedrock client each, an S3 client for batch manifests)
/// cost about 16 MiB more than one shared stack (docs/deploying/organisation-fan-out.md, measured).
pub fn http_client() -> aws_sdk_bedrock::config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::{tls, Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The notifier the configuration describes: the topic, the people topic, the chat topic and
/// the event bus when set (the pollers' and `jobwatch-cli renotify`'s).
pub fn notifier(sdk: &SdkConfig, config: &Config) -> Sinks {
    Sinks::from_settings(sdk, &config.sinks)
}

/// A setting that cannot be read: one JSON log line naming the variable, then the runtime
/// starts anyway and answers every invocation with `NonRetryable.Config` (what the errors alarm
/// and the runbook name). Exiting before the runtime instead would show the invoker only an
/// init failure (`Runtime.ExitError`) and the reason in Rust's debug format, before logging.
pub async fn serve_misconfigured(error: ConfigError) -> Result<(), lambda_runtime::Error> {
    let diagnostic = misconfigured(error);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let diagnostic = diagnostic.clone();
        async move { Err::<(), Diagnostic>(diagnostic) }
    }))
    .await
}

/// Logs the bad setting once and returns what each invocation answers.
pub fn misconfigured(error: ConfigError) -> Diagnostic {
    tracing::error!(
        variable = error.variable(),
        error = %error,
        error_type = "NonRetryable.Config",
        "invalid configuration: every invocation fails until the function's environment is fixed"
    );
    Diagnostic::from(crate::Error::Config(error))
}
