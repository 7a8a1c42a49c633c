//! Many accounts and regions on one emulator: scoped SDK configs and client handles, the trust
//! of member roles (STS `AssumeRole` on the emulator), and faults of one region.
//!
//! A test creates jobs in a scope with the usual helpers on a scoped handle:
//! `emulator.in_scope(MEMBER, "eu-west-1").create_batch("nightly")`.

use std::sync::Arc;

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use bedrock_emulator::Scope;
use serde_json::json;

use crate::Emulator;

/// The account the emulator gives requests signed with a key that names none (`testing`).
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// How a failing region answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionFault {
    /// `ThrottlingException` (429): the SDK retries it, then gives up.
    Throttling,
    /// `ServiceUnavailableException` (503).
    Unavailable,
    /// An opt-in region the account has not enabled: `UnrecognizedClientException` (403, "The
    /// security token included in the request is invalid."), as AWS answers there.
    NotEnabled,
}

impl RegionFault {
    fn code(self) -> &'static str {
        match self {
            RegionFault::Throttling => "ThrottlingException",
            RegionFault::Unavailable => "ServiceUnavailableException",
            RegionFault::NotEnabled => "UnrecognizedClientException",
        }
    }
}

/// An access key id the emulator maps to `account` (its last 12 characters are the account).
pub fn access_key_for(account: &str) -> String {
    format!("AKIA0000{account}")
}

impl Emulator {
    /// An SDK config that signs as `account` in `region` and reaches the emulator (retries and
    /// timeouts as this handle's base config).
    pub fn sdk_config_for(&self, account: &str, region: &str) -> SdkConfig {
        let credentials =
            Credentials::new(access_key_for(account), "emulator", None, None, "emulator");
        self.base
            .clone()
            .into_builder()
            .region(Region::new(region.to_owned()))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .endpoint_url(self.endpoint())
            .build()
    }

    /// A handle on the same emulator whose clients (and create helpers) address `account` in
    /// `region`.
    pub fn in_scope(&self, account: &str, region: &str) -> Emulator {
        let config = self.sdk_config_for(account, region);
        Emulator::clients(
            Arc::clone(&self.running),
            &config,
            Some(Scope::new(account, region)),
        )
    }

    /// `?account=..&region=..` for the control and raw calls of a scoped handle.
    pub(crate) fn scope_query(&self) -> String {
        self.scope
            .as_ref()
            .map(|s| format!("?account={}&region={}", s.account, s.region))
            .unwrap_or_default()
    }

    /// The role's trust policy lets nobody assume it: `AssumeRole` answers AccessDenied naming it.
    pub async fn refuse_assume_role(&self, role_arn: &str) {
        self.control("roles", json!({ "roleArn": role_arn, "refuse": true }))
            .await;
    }

    /// The role can only be assumed with this `sts:ExternalId`.
    pub async fn require_external_id(&self, role_arn: &str, external_id: &str) {
        self.control(
            "roles",
            json!({ "roleArn": role_arn, "externalId": external_id }),
        )
        .await;
    }

    /// `AssumeRole` calls the emulator answered (refused ones included) since start or reset.
    pub async fn assume_role_calls(&self) -> u64 {
        self.control_get("stats").await["requests"]["operations"]["AssumeRole"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Requests addressed to `account` in `region` (any operation) since start or reset.
    pub async fn requests_in(&self, account: &str, region: &str) -> u64 {
        self.control_get("stats").await["requests"]["scopes"][format!("{account}/{region}")]
            .as_u64()
            .unwrap_or(0)
    }

    /// Every Bedrock call to `region` (any account) fails with `fault` until [`Self::heal_region`].
    pub async fn fail_region(&self, region: &str, fault: RegionFault) {
        self.control(
            "faults",
            json!({ "operation": "*", "error": fault.code(), "region": region }),
        )
        .await;
    }

    /// Every Bedrock call of `account` in `region` fails with `fault` (one account's region).
    pub async fn fail_region_in(&self, account: &str, region: &str, fault: RegionFault) {
        self.control(
            "faults",
            json!({ "operation": "*", "error": fault.code(), "region": region, "account": account }),
        )
        .await;
    }

    /// Removes the faults of `region`; other rules stay.
    pub async fn heal_region(&self, region: &str) {
        let response = self
            .http
            .delete(format!(
                "{}/_emulator/faults?region={region}",
                self.endpoint()
            ))
            .send()
            .await
            .expect("control call");
        assert!(response.status().is_success());
    }
}
