//! Cold-start wiring of a family's scopes: one poller per (account, region) of the target
//! settings, each with its own regional clients (a member account's through its assumed role),
//! all sharing the one table and the one notifier.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;

use crate::adapters::assume_role::AssumedRole;
use crate::adapters::families::AnySource;
use crate::domain::JobKind;
use crate::poller::{Access, Fleet, PollSettings, Poller, ScopePoller};
use crate::ports::{JobSource, JobStore, Notifier};
use crate::targets::{Account, RoleArn, TargetSettings};

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
    targets: &TargetSettings,
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
    for target in targets.targets(kind, &settings.region) {
        let scope_settings = PollSettings {
            region: target.region.clone(),
            ..settings.clone()
        };
        let (sdk, access, account) = scope_access(
            base,
            targets,
            &target.account,
            &target.region,
            &mut roles,
            &session,
        )
        .await;
        let mut poller = Poller::new(source(&sdk), store(), notifier.clone(), scope_settings);
        if let Some(metrics) = batch_metrics(kind, &sdk) {
            poller = poller.with_batch_metrics(metrics);
        }
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
        concurrency: targets.concurrency,
        read_together_max: crate::poller::READ_TOGETHER_MAX,
        schedule: None,
    }
}

/// The scope's `AWS/Bedrock/Batch` reader, for a family whose stalls are checked against it:
/// with the scope's own credentials (a member account's role), since the metrics live in the
/// jobs' account and region.
fn batch_metrics(kind: JobKind, sdk: &SdkConfig) -> Option<Arc<dyn crate::ports::BatchActivity>> {
    kind.family().alerts.stall_metrics.then(|| {
        Arc::new(crate::adapters::batch_metrics::CloudWatchBatchActivity::from_sdk(sdk))
            as Arc<dyn crate::ports::BatchActivity>
    })
}

/// A scope's SDK configuration and, in a member account, its access and the account's id. A
/// member's role is assumed once per cold start (`roles`), whatever its number of regions.
async fn scope_access(
    base: &SdkConfig,
    targets: &TargetSettings,
    account: &Account,
    region: &str,
    roles: &mut HashMap<RoleArn, Arc<AssumedRole>>,
    session: &str,
) -> (SdkConfig, Option<Arc<dyn Access>>, Option<String>) {
    match account {
        Account::Own => {
            let sdk = base
                .to_builder()
                .region(aws_config::Region::new(region.to_owned()))
                .build();
            (sdk, None, None)
        }
        Account::Member(role) => {
            let assumed = match roles.get(role) {
                Some(assumed) => assumed.clone(),
                None => {
                    let external_id = targets.external_id.as_deref();
                    let made = AssumedRole::new(base, role.clone(), external_id, session).await;
                    roles.insert(role.clone(), made.clone());
                    made
                }
            };
            let sdk = assumed.sdk_config(base, region);
            let access: Arc<dyn Access> = assumed;
            (sdk, Some(access), Some(role.account().to_owned()))
        }
    }
}

/// A worker's fleets for one account (`crate::work::AccountFleets`): every family it polls,
/// over the account's regions (`REGIONS`), all through one assumed role, so that a work item
/// costs one `AssumeRole` whatever its number of scopes.
/// Generic over the table and the notifier: the Lambda passes DynamoDB and SNS, the benchmark
/// an in-memory table where moto cannot keep up.
pub struct SdkAccountFleets<T, N> {
    pub base: SdkConfig,
    pub config: crate::Config,
    /// Cloned for each scope (each counts its own requests).
    pub store: T,
    pub notifier: N,
}

impl<T, N> crate::work::AccountFleets for SdkAccountFleets<T, N>
where
    T: JobStore + Clone + 'static,
    N: Notifier + Clone + 'static,
{
    fn fleets<'a>(
        &'a self,
        item: &'a crate::org::WorkItem,
    ) -> futures::future::LocalBoxFuture<
        'a,
        Result<(Vec<Box<dyn crate::work::FamilyRun>>, u64), crate::Error>,
    > {
        Box::pin(async move {
            let role = RoleArn::parse(&item.role)
                .filter(|r| r.account() == item.account)
                .ok_or_else(|| crate::Error::AssumeRole {
                    role: item.role.clone(),
                    retryable: false,
                    source: "the work item's role is not a role ARN of its account".into(),
                })?;
            let external_id = self.config.targets.external_id.as_deref();
            let session = format!("jobwatch-worker-{}", chrono::Utc::now().timestamp());
            let assumed = AssumedRole::new(&self.base, role.clone(), external_id, &session).await;
            // The account's one AssumeRole: refused, it is the account's failure, not 187
            // scopes' failures.
            assumed.ready().await?;
            let fleets = self
                .config
                .watched
                .iter()
                .map(|&kind| self.family(kind, &role, &assumed))
                .collect();
            Ok((fleets, assumed.calls()))
        })
    }
}

impl<T, N> SdkAccountFleets<T, N>
where
    T: JobStore + Clone + 'static,
    N: Notifier + Clone + 'static,
{
    /// The fleet of `kind` over the account's regions.
    fn family(
        &self,
        kind: JobKind,
        role: &RoleArn,
        assumed: &Arc<AssumedRole>,
    ) -> Box<dyn crate::work::FamilyRun> {
        let over = AccountFleet {
            owner: self,
            role,
            assumed,
        };
        over.fleet(kind)
    }
}

/// One account's fleets in the making.
struct AccountFleet<'a, T, N> {
    owner: &'a SdkAccountFleets<T, N>,
    role: &'a RoleArn,
    assumed: &'a Arc<AssumedRole>,
}

impl<T, N> AccountFleet<'_, T, N>
where
    T: JobStore + Clone + 'static,
    N: Notifier + Clone + 'static,
{
    fn fleet(&self, kind: JobKind) -> Box<dyn crate::work::FamilyRun> {
        let (config, base) = (&self.owner.config, &self.owner.base);
        let settings = PollSettings {
            digest_threshold: config.digest.for_kind(kind),
            ..config.poll.clone()
        };
        let account = TargetSettings {
            accounts: vec![Account::Member(self.role.clone())],
            ..config.targets.clone()
        };
        let scopes = account
            .targets(kind, &settings.region)
            .into_iter()
            .map(|target| {
                let sdk = self.assumed.sdk_config(base, &target.region);
                let store = self.owner.store.clone();
                let scope_settings = PollSettings {
                    region: target.region.clone(),
                    ..settings.clone()
                };
                let poller = Poller::new(
                    AnySource::new(kind, &sdk, config),
                    store,
                    self.owner.notifier.clone(),
                    scope_settings,
                )
                .in_account(self.role.account());
                let poller = match batch_metrics(kind, &sdk) {
                    Some(metrics) => poller.with_batch_metrics(metrics),
                    None => poller,
                };
                let access: Arc<dyn Access> = self.assumed.clone();
                ScopePoller {
                    target,
                    access: Some(access),
                    poller,
                }
            })
            .collect();
        Box::new(Fleet {
            scopes,
            concurrency: config.targets.concurrency,
            // Per scope: the family-wide read would read every account's items.
            read_together_max: 0,
            schedule: None,
        })
    }
}
