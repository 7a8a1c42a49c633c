//! Where a waited-on job lives for this deployment: the scope (family, account, region) whose
//! poll settles it, and a reader there. The own account is read with the function's
//! credentials; a member account (`ACCOUNTS`, or the organisation's registry when the stack
//! fans out over an organisation) through the reader role the pollers and workers assume. A
//! job in an account or region this deployment does not watch has no place: its wait is
//! refused with a reason naming the account.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;

use crate::adapters::assume_role::AssumedRole;
use crate::adapters::families::AnySource;
use crate::config::Config;
use crate::domain::{JobArn, JobKind, ObservedJob, Scope};
use crate::error::Error;
use crate::notices::{Presentation, Tags};
use crate::org::RegistryStore;
use crate::poller::{Access, BoxFuture};
use crate::ports::JobSource;
use crate::targets::{Account, RoleArn, TargetSettings};

/// Reads one job and its tags (object-safe: one registrar holds a reader per scope).
pub trait JobReader: Send + Sync {
    fn read<'a>(&'a self, arn: &'a JobArn) -> BoxFuture<'a, Result<Option<ObservedJob>, Error>>;
    fn tags<'a>(&'a self, arn: &'a JobArn) -> BoxFuture<'a, Result<Tags, Error>>;
}

impl<S: JobSource> JobReader for S {
    fn read<'a>(&'a self, arn: &'a JobArn) -> BoxFuture<'a, Result<Option<ObservedJob>, Error>> {
        Box::pin(self.get(arn))
    }
    fn tags<'a>(&'a self, arn: &'a JobArn) -> BoxFuture<'a, Result<Tags, Error>> {
        Box::pin(JobSource::tags(self, arn))
    }
}

/// A reader behind a member account's role: the role is assumed first, so that a refusal
/// names the role (as a poller's scope does) instead of surfacing as a Bedrock error.
struct Behind<R> {
    access: Arc<dyn Access>,
    reader: R,
}

impl<R: JobReader> JobReader for Behind<R> {
    fn read<'a>(&'a self, arn: &'a JobArn) -> BoxFuture<'a, Result<Option<ObservedJob>, Error>> {
        Box::pin(async move {
            self.access.ready().await?;
            self.reader.read(arn).await
        })
    }
    fn tags<'a>(&'a self, arn: &'a JobArn) -> BoxFuture<'a, Result<Tags, Error>> {
        Box::pin(async move {
            self.access.ready().await?;
            self.reader.tags(arn).await
        })
    }
}

/// A job's place: the reader of its scope and the member account whose scope polls it.
#[derive(Clone)]
pub struct Place {
    pub reader: Arc<dyn JobReader>,
    /// `None`: the own account (its scope key is `{kind}#{region}`).
    pub member: Option<String>,
}

impl std::fmt::Debug for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Place")
            .field("member", &self.member)
            .finish_non_exhaustive()
    }
}

impl Place {
    /// The scope whose poll settles a job of `family` in `region` here.
    pub fn scope(&self, family: JobKind, region: &str) -> Scope {
        Scope::of(family, self.member.as_deref(), region)
    }

    /// How the job's documents read: a member account's show its id, not `ACCOUNT_NAME`
    /// (as `Poller::in_account` presents them).
    pub fn presentation(&self, own: &Presentation) -> Presentation {
        match self.member {
            Some(_) => Presentation {
                account_name: None,
                ..own.clone()
            },
            None => own.clone(),
        }
    }
}

/// Where the jobs of this deployment are read.
pub trait Places: Send + Sync {
    /// The families a wait may name.
    fn families(&self) -> Vec<JobKind>;

    /// The place of `family`'s job `arn`; `own_account`: the function's (`None` in local runs:
    /// any account that is not a member's is the own one). `Ok(Err(reason))`: not a job this
    /// deployment watches.
    fn place<'a>(
        &'a self,
        family: JobKind,
        arn: &'a JobArn,
        own_account: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Result<Place, String>, Error>>;
}

/// Why a job has no place among the fixed scopes.
enum Miss {
    /// The account is neither the own one nor a listed member.
    Account(String),
    /// The account is watched, but not this family in this region.
    Scope(String),
}

impl Miss {
    fn reason(self) -> String {
        match self {
            Miss::Account(reason) | Miss::Scope(reason) => reason,
        }
    }
}

/// Places known at cold start: one per (family, account, region) of the target settings.
#[derive(Default)]
pub struct FixedPlaces {
    readers: HashMap<(JobKind, Option<String>, String), Arc<dyn JobReader>>,
}

impl FixedPlaces {
    /// Adds the scope of `family` in `member` (`None`: the own account) and `region`.
    pub fn with(
        mut self,
        family: JobKind,
        member: Option<&str>,
        region: &str,
        reader: impl JobReader + 'static,
    ) -> Self {
        self.insert(family, member, region, Arc::new(reader));
        self
    }

    fn insert(
        &mut self,
        family: JobKind,
        member: Option<&str>,
        region: &str,
        reader: Arc<dyn JobReader>,
    ) {
        let key = (family, member.map(str::to_owned), region.to_owned());
        self.readers.insert(key, reader);
    }

    fn families(&self) -> Vec<JobKind> {
        let mut kinds: Vec<JobKind> = self.readers.keys().map(|(k, _, _)| *k).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    fn is_member(&self, account: &str) -> bool {
        self.readers
            .keys()
            .any(|(_, member, _)| member.as_deref() == Some(account))
    }

    fn has_own(&self) -> bool {
        self.readers.keys().any(|(_, member, _)| member.is_none())
    }

    /// As a fleet picks the scope of an event (`Fleet::scope_for`): a member's by its id, else
    /// the own account's when the account is the function's.
    fn find(
        &self,
        family: JobKind,
        arn: &JobArn,
        own_account: Option<&str>,
    ) -> Result<Place, Miss> {
        let (Some(account), Some(region)) = (arn.account(), arn.region()) else {
            return Err(Miss::Account(format!(
                "the job ARN names no account or region ({arn})"
            )));
        };
        let member = match self.is_member(account) {
            true => Some(account.to_owned()),
            false if self.has_own() && own_account.is_none_or(|own| own == account) => None,
            false => {
                return Err(Miss::Account(format!(
                    "this deployment does not watch account {account} ({arn})"
                )))
            }
        };
        let key = (family, member.clone(), region.to_owned());
        match self.readers.get(&key) {
            Some(reader) => Ok(Place {
                reader: reader.clone(),
                member,
            }),
            None => Err(Miss::Scope(format!(
                "this deployment does not watch {family} jobs in {region} of account {account} ({arn})"
            ))),
        }
    }
}

impl Places for FixedPlaces {
    fn families(&self) -> Vec<JobKind> {
        FixedPlaces::families(self)
    }

    fn place<'a>(
        &'a self,
        family: JobKind,
        arn: &'a JobArn,
        own_account: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Result<Place, String>, Error>> {
        Box::pin(async move { Ok(self.find(family, arn, own_account).map_err(Miss::reason)) })
    }
}

/// The deployment's places: the fixed scopes (`ACCOUNTS` x `REGIONS`), and, when the stack
/// fans out over an organisation, its members as the last refresh selected them (read from
/// the table when a wait names one; its role assumed once per cold start).
pub struct LivePlaces {
    fixed: FixedPlaces,
    families: Vec<JobKind>,
    org: Option<OrgPlaces>,
}

/// Readers by (family, member account, region).
type Readers = HashMap<(JobKind, String, String), Arc<dyn JobReader>>;

/// The organisation's members, read on demand.
struct OrgPlaces {
    base: SdkConfig,
    config: Config,
    registry: Box<dyn RegistryStore>,
    session: String,
    /// The readers made so far, by (family, account, region).
    made: tokio::sync::Mutex<Readers>,
    /// Each member account's role, assumed once per cold start.
    roles: tokio::sync::Mutex<HashMap<String, Arc<AssumedRole>>>,
}

impl LivePlaces {
    /// Every scope of `config` (the watched families over `ACCOUNTS` x `REGIONS`), each member
    /// role assumed lazily, once per cold start; `registry`: where the organisation's selection
    /// is kept (read only when `config` names an organisation).
    pub async fn new(base: &SdkConfig, config: &Config, registry: Box<dyn RegistryStore>) -> Self {
        let session = format!("jobwatch-workflows-{}", chrono::Utc::now().timestamp());
        let mut roles: HashMap<RoleArn, Arc<AssumedRole>> = HashMap::new();
        let mut fixed = FixedPlaces::default();
        for &kind in &config.watched {
            for target in config.targets.targets(kind, &config.poll.region) {
                let (reader, member) = match &target.account {
                    Account::Own => (own_reader(base, config, kind, &target.region), None),
                    Account::Member(role) => {
                        let assumed = match roles.get(role) {
                            Some(assumed) => assumed.clone(),
                            None => {
                                let external = config.targets.external_id.as_deref();
                                let made =
                                    AssumedRole::new(base, role.clone(), external, &session).await;
                                roles.insert(role.clone(), made.clone());
                                made
                            }
                        };
                        let reader = member_reader(base, config, kind, &target.region, &assumed);
                        (reader, Some(role.account()))
                    }
                };
                fixed.insert(kind, member, &target.region, reader);
            }
        }
        let org = config.fanout.org.as_ref().map(|_| OrgPlaces {
            base: base.clone(),
            config: config.clone(),
            registry,
            session,
            made: Default::default(),
            roles: Default::default(),
        });
        Self {
            fixed,
            families: config.watched.clone(),
            org,
        }
    }
}

fn own_reader(
    base: &SdkConfig,
    config: &Config,
    kind: JobKind,
    region: &str,
) -> Arc<dyn JobReader> {
    let regional = base
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    Arc::new(AnySource::new(kind, &regional, config))
}

fn member_reader(
    base: &SdkConfig,
    config: &Config,
    kind: JobKind,
    region: &str,
    assumed: &Arc<AssumedRole>,
) -> Arc<dyn JobReader> {
    let sdk = assumed.sdk_config(base, region);
    let access: Arc<dyn Access> = assumed.clone();
    Arc::new(Behind {
        access,
        reader: AnySource::new(kind, &sdk, config),
    })
}

impl Places for LivePlaces {
    fn families(&self) -> Vec<JobKind> {
        self.families.clone()
    }

    fn place<'a>(
        &'a self,
        family: JobKind,
        arn: &'a JobArn,
        own_account: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Result<Place, String>, Error>> {
        Box::pin(async move {
            match (self.fixed.find(family, arn, own_account), &self.org) {
                (Ok(place), _) => Ok(Ok(place)),
                (Err(Miss::Account(reason)), Some(org)) => org.place(family, arn, reason).await,
                (Err(miss), _) => Ok(Err(miss.reason())),
            }
        })
    }
}

impl OrgPlaces {
    /// A member of the organisation's selection, in a region this deployment watches.
    async fn place(
        &self,
        family: JobKind,
        arn: &JobArn,
        unwatched: String,
    ) -> Result<Result<Place, String>, Error> {
        let (account, region) = (
            arn.account().unwrap_or_default(),
            arn.region().unwrap_or_default(),
        );
        let key = (family, account.to_owned(), region.to_owned());
        if let Some(reader) = self.made.lock().await.get(&key) {
            return Ok(Ok(Place {
                reader: reader.clone(),
                member: Some(account.to_owned()),
            }));
        }
        let registry = self.registry.registry().await?.unwrap_or_default();
        let Some(member) = registry.member(account) else {
            let reason = format!("{unwatched}: not in the organisation's watched accounts");
            return Ok(Err(reason));
        };
        let Some(role) = RoleArn::parse(&member.role).filter(|r| r.account() == account) else {
            return Ok(Err(format!(
                "account {account}'s role {} is not a role ARN of it",
                member.role
            )));
        };
        let regions = TargetSettings {
            accounts: vec![Account::Member(role.clone())],
            ..self.config.targets.clone()
        };
        let watched = regions
            .targets(family, &self.config.poll.region)
            .iter()
            .any(|t| t.region == region);
        if !watched {
            return Ok(Err(format!(
                "this deployment does not watch {family} jobs in {region} of account {account} ({arn})"
            )));
        }
        let assumed = self.role(role).await;
        let reader = member_reader(&self.base, &self.config, family, region, &assumed);
        self.made.lock().await.insert(key, reader.clone());
        Ok(Ok(Place {
            reader,
            member: Some(account.to_owned()),
        }))
    }

    async fn role(&self, role: RoleArn) -> Arc<AssumedRole> {
        let mut roles = self.roles.lock().await;
        if let Some(assumed) = roles.get(role.account()) {
            return assumed.clone();
        }
        let external = self.config.targets.external_id.as_deref();
        let made = AssumedRole::new(&self.base, role.clone(), external, &self.session).await;
        roles.insert(role.account().to_owned(), made.clone());
        made
    }
}

/// What a success document needs from the scope that polls its job, so that it reads as the
/// JSON sink's notice of the job: the scope's presentation and the job's tags, read there.
pub trait JobScopes: Send + Sync {
    /// `None`: no scope here polls the job (the resumer's own presentation). `own_account`:
    /// the function's (`None`: any account not a member's is the own one, as for events).
    fn presentation(&self, arn: &JobArn, own_account: Option<&str>) -> Option<Presentation>;
    fn tags<'a>(
        &'a self,
        arn: &'a JobArn,
        own_account: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Tags, Error>>;
}

/// A poller's fleet: the scope an event of the job would go to.
impl<S, T, N> JobScopes for crate::poller::Fleet<S, T, N>
where
    S: JobSource,
    T: crate::ports::JobStore,
    N: crate::ports::Notifier,
{
    fn presentation(&self, arn: &JobArn, own_account: Option<&str>) -> Option<Presentation> {
        let scope = self
            .scope_for(arn.account(), arn.region(), own_account)
            .ok()?;
        Some(scope.poller.settings.presentation.clone())
    }

    fn tags<'a>(
        &'a self,
        arn: &'a JobArn,
        own_account: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Tags, Error>> {
        Box::pin(async move {
            let scope = self
                .scope_for(arn.account(), arn.region(), own_account)
                .map_err(Error::Event)?;
            if let Some(access) = &scope.access {
                access.ready().await?;
            }
            JobSource::tags(&scope.poller.source, arn).await
        })
    }
}

/// A place seen with the registrar's presentation.
pub struct PlaceScope<'a> {
    pub place: &'a Place,
    pub presentation: Presentation,
}

impl JobScopes for PlaceScope<'_> {
    fn presentation(&self, _arn: &JobArn, _own: Option<&str>) -> Option<Presentation> {
        Some(self.place.presentation(&self.presentation))
    }

    fn tags<'a>(
        &'a self,
        arn: &'a JobArn,
        _own: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Tags, Error>> {
        self.place.reader.tags(arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that is never called: resolution alone is under test.
    struct Nobody;

    impl JobReader for Nobody {
        fn read<'a>(&'a self, _: &'a JobArn) -> BoxFuture<'a, Result<Option<ObservedJob>, Error>> {
            Box::pin(async { Ok(None) })
        }
        fn tags<'a>(&'a self, _: &'a JobArn) -> BoxFuture<'a, Result<Tags, Error>> {
            Box::pin(async { Ok(Tags::new()) })
        }
    }

    const OWN: &str = "111111111111";
    const MEMBER: &str = "222222222222";

    fn arn(account: &str, region: &str) -> JobArn {
        JobArn::new(format!(
            "arn:aws:bedrock:{region}:{account}:model-invocation-job/abcdefghijkl"
        ))
    }

    /// The own account and a member, in us-east-1 only.
    fn places() -> FixedPlaces {
        let batch = JobKind::BatchInference;
        FixedPlaces::default()
            .with(batch, None, "us-east-1", Nobody)
            .with(batch, Some(MEMBER), "us-east-1", Nobody)
    }

    fn resolve(arn: &JobArn, own: Option<&str>) -> Result<Option<String>, String> {
        places()
            .find(JobKind::BatchInference, arn, own)
            .map(|p| p.member)
            .map_err(Miss::reason)
    }

    #[test]
    fn a_job_is_placed_in_its_accounts_scope_and_an_unwatched_account_is_named() {
        let own = Some(OWN);
        assert_eq!(resolve(&arn(OWN, "us-east-1"), own), Ok(None));
        assert_eq!(
            resolve(&arn(MEMBER, "us-east-1"), own),
            Ok(Some(MEMBER.into()))
        );
        let stranger = resolve(&arn("333333333333", "us-east-1"), own).unwrap_err();
        assert!(
            stranger.contains("does not watch account 333333333333"),
            "{stranger}"
        );
        let region = resolve(&arn(MEMBER, "eu-west-1"), own).unwrap_err();
        assert!(
            region.contains("batch-inference jobs in eu-west-1 of account 222222222222"),
            "{region}"
        );
    }

    #[test]
    fn without_the_own_account_known_any_account_but_a_members_is_the_own_one() {
        // Local runs (no function ARN), as a fleet places events.
        assert_eq!(resolve(&arn("333333333333", "us-east-1"), None), Ok(None));
        assert_eq!(
            resolve(&arn(MEMBER, "us-east-1"), None),
            Ok(Some(MEMBER.into()))
        );
    }

    #[test]
    fn a_member_only_deployment_refuses_its_own_accounts_jobs() {
        let places =
            FixedPlaces::default().with(JobKind::BatchInference, Some(MEMBER), "us-east-1", Nobody);
        let miss = places
            .find(JobKind::BatchInference, &arn(OWN, "us-east-1"), Some(OWN))
            .err()
            .map(Miss::reason)
            .unwrap_or_default();
        assert!(
            miss.contains("does not watch account 111111111111"),
            "{miss}"
        );
    }
}
