//! Cold-start wiring of a family's scopes: one poller per (account, region) of the fleet
//! settings, each with its own regional clients (a member account's through its assumed role),
//! all sharing the one table and the one notifier.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;

use crate::adapters::assume_role::AssumedRole;
use crate::domain::JobKind;
use crate::fleet::{Account, FleetSettings, RoleArn};
use crate::poller::{Access, Fleet, PollSettings, Poller, ScopePoller};
use crate::ports::{JobSource, JobStore, Notifier};

/// The role session name: the family and the cold start, so CloudTrail in a member account
/// tells which poller (and which instance of it) read there. At most 64 characters.
pub fn session_name(kind: JobKind) -> String {
    let started = chrono::Utc::now().timestamp();
    let mut name = format!("jobwatch-{kind}-{started}");
    name.truncate(64);
    name
}

/// Builds the fleet of `kind`: `source` makes a scope's job source from that scope's SDK
/// configuration, `store` the table adapter (one per scope, so each counts its own requests).
pub async fn build_fleet<S, T, N>(
    base: &SdkConfig,
    fleet: &FleetSettings,
    kind: JobKind,
    settings: &PollSettings,
    source: impl Fn(&SdkConfig) -> S,
    store: impl Fn() -> T,
    notifier: N,
) -> Fleet<S, T, N>
where
    S: JobSource,
    T: JobStore,
    N: Notifier + Clone,
{
    let session = session_name(kind);
    let mut roles: HashMap<RoleArn, Arc<AssumedRole>> = HashMap::new();
    let mut scopes = Vec::new();
    for target in fleet.targets(kind, &settings.region) {
        let scope_settings = PollSettings {
            region: target.region.clone(),
            ..settings.clone()
        };
        let (sdk, access, account) = match &target.account {
            Account::Own => {
                let sdk = base
                    .to_builder()
                    .region(aws_config::Region::new(target.region.clone()))
                    .build();
                (sdk, None, None)
            }
            Account::Member(role) => {
                let assumed = match roles.get(role) {
                    Some(assumed) => assumed.clone(),
                    None => {
                        let external_id = fleet.external_id.as_deref();
                        let made =
                            AssumedRole::new(base, role.clone(), external_id, &session).await;
                        roles.insert(role.clone(), made.clone());
                        made
                    }
                };
                let sdk = assumed.sdk_config(base, &target.region);
                let access: Arc<dyn Access> = assumed;
                (sdk, Some(access), Some(role.account().to_owned()))
            }
        };
        let mut poller = Poller::new(source(&sdk), store(), notifier.clone(), scope_settings);
        if let Some(account) = account {
            poller = poller.in_account(account);
        }
        scopes.push(ScopePoller {
            target,
            access,
            poller,
        });
    }
    Fleet {
        scopes,
        concurrency: fleet.concurrency,
        read_together_max: crate::poller::READ_TOGETHER_MAX,
        schedule: None,
    }
}
