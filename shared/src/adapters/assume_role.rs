//! A member account's credentials: STS `AssumeRole` into its reader role (aws-config's
//! `AssumeRoleProvider`, on the standard STS endpoint, `AWS_ENDPOINT_URL_STS` honoured), kept
//! until five minutes before they expire, across warm invocations. Every scope of the account
//! (one per region) shares one [`AssumedRole`], so a steady run costs no STS call at all.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::sdk::Calls;
use crate::error::Error;
use crate::poller::{Access, BoxFuture};
use crate::targets::RoleArn;

/// Credentials are fetched again this long before they expire (a run never starts with
/// credentials that could lapse in the middle of it).
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// The reader role of one member account.
pub struct AssumedRole {
    role: RoleArn,
    provider: AssumeRoleProvider,
    cached: tokio::sync::Mutex<Option<Credentials>>,
    calls: Calls,
}

impl AssumedRole {
    /// `base`: the function's own configuration (its credentials call STS); `session`: the
    /// role session name CloudTrail shows in the member account.
    pub async fn new(
        base: &SdkConfig,
        role: RoleArn,
        external_id: Option<&str>,
        session: &str,
    ) -> Arc<Self> {
        // The provider reads the clock from the config (`aws_config::load` sets one; a config
        // built by hand may not).
        let base = match base.time_source() {
            Some(_) => base.clone(),
            None => base
                .to_builder()
                .time_source(aws_smithy_async::time::SharedTimeSource::default())
                .build(),
        };
        let mut builder = AssumeRoleProvider::builder(role.as_str())
            .session_name(session)
            .configure(&base);
        if let Some(id) = external_id {
            builder = builder.external_id(id);
        }
        Arc::new(Self {
            role,
            provider: builder.build().await,
            cached: tokio::sync::Mutex::new(None),
            calls: Calls::default(),
        })
    }

    /// The cached credentials, or new ones from STS when they are missing or about to expire.
    pub async fn credentials(&self) -> Result<Credentials, Error> {
        let mut cached = self.cached.lock().await;
        if let Some(creds) = cached.as_ref().filter(|c| fresh(c, SystemTime::now())) {
            return Ok(creds.clone());
        }
        self.calls.add(1);
        let creds = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| refused(&self.role, &e))?;
        *cached = Some(creds.clone());
        Ok(creds)
    }

    /// The SDK configuration of this account in `region`: the function's own settings
    /// (retries, timeouts, endpoints) with the role's credentials.
    pub fn sdk_config(self: &Arc<Self>, base: &SdkConfig, region: &str) -> SdkConfig {
        base.to_builder()
            .region(aws_config::Region::new(region.to_owned()))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Provider(
                    self.clone(),
                )),
            )
            .build()
    }
}

fn fresh(creds: &Credentials, now: SystemTime) -> bool {
    creds
        .expiry()
        .is_none_or(|expiry| expiry > now + REFRESH_BEFORE)
}

/// The refusal as an error naming the role, with STS's own message (AccessDenied: "User: ... is
/// not authorized to perform: sts:AssumeRole on resource: ...").
fn refused(role: &RoleArn, e: &CredentialsError) -> Error {
    let detail = DisplayErrorContext(e).to_string();
    let denied = detail.contains("AccessDenied") || detail.contains("not authorized");
    Error::AssumeRole {
        role: role.to_string(),
        retryable: !denied && !matches!(e, CredentialsError::InvalidConfiguration(_)),
        source: detail.into(),
    }
}

impl Access for AssumedRole {
    fn ready(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move { self.credentials().await.map(|_| ()) })
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

/// The SDK's view of the role: its clients ask here (through their own identity cache).
#[derive(Clone)]
struct Provider(Arc<AssumedRole>);

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AssumedRole({})", self.0.role)
    }
}

impl ProvideCredentials for Provider {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.0
                .credentials()
                .await
                .map_err(|e| CredentialsError::provider_error(e.chain()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expiring_in(secs: u64, now: SystemTime) -> Credentials {
        Credentials::new(
            "AKIA",
            "secret",
            None,
            Some(now + Duration::from_secs(secs)),
            "t",
        )
    }

    #[test]
    fn credentials_are_kept_until_five_minutes_before_expiry() {
        let now = SystemTime::now();
        assert!(fresh(&expiring_in(3600, now), now));
        assert!(fresh(&expiring_in(301, now), now));
        assert!(!fresh(&expiring_in(299, now), now));
    }
}
