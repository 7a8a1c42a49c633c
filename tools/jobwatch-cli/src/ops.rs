//! What every command works with: the functions' configuration, the table and the topic
//! through the library's adapters, built once from one SDK configuration.

use aws_config::SdkConfig;
use chrono::Utc;
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::domain::{JobArn, JobKind, JobRecord, RunId, Scope};
use jobwatch::ports::JobStore;
use jobwatch::Config;

use crate::error::CliError;

pub struct Ops {
    pub config: Config,
    pub sdk: SdkConfig,
    pub store: DynamoJobStore,
    pub notifier: Sinks,
}

impl Ops {
    /// Reads the configuration the functions read (same variables, same checks).
    pub async fn from_env() -> Result<Self, CliError> {
        let config = Config::from_env()?;
        let sdk = jobwatch::cold_start::sdk_config().await;
        Ok(Self {
            store: DynamoJobStore::new(aws_sdk_dynamodb::Client::new(&sdk), &config.table),
            notifier: jobwatch::cold_start::notifier(&sdk, &config),
            config,
            sdk,
        })
    }

    pub fn scope(&self, kind: JobKind) -> Scope {
        Scope::new(kind, &self.config.poll.region)
    }

    /// The identity a command's writes and leases carry, recognisable in the table.
    pub fn run_id(&self, command: &str) -> RunId {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        RunId::new(format!("cli-{command}-{nanos}"))
    }

    /// The job's item; an ARN the table does not hold is the operator's mistake (exit 2).
    pub async fn record(&self, arn: &JobArn) -> Result<JobRecord, CliError> {
        let found = self.store.get_many(std::slice::from_ref(arn)).await?;
        found.into_iter().next().ok_or_else(|| {
            CliError::BadInput(format!(
                "no job {arn} in table {} (another region's table? older than the look-back: `backfill --since`)",
                self.config.table
            ))
        })
    }
}
