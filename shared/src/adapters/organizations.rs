//! `Directory` on AWS Organizations: the tree walked from each root, a level at a time
//! (`ListRoots`, then per parent `ListAccountsForParent` and `ListOrganizationalUnitsForParent`),
//! so that every account comes with the OUs above it. About two calls per OU, at each refresh
//! (hourly by default): well inside Organizations' request quotas.

use aws_sdk_organizations::Client;

use super::sdk::{sdk_retryable, sdk_source, Calls};
use crate::error::Error;
use crate::org::{AccountStatus, Directory, OrgAccount};
use crate::ports::BoxFuture;

#[derive(Debug, Clone)]
pub struct OrganizationsDirectory {
    client: Client,
    calls: Calls,
}

impl OrganizationsDirectory {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }

    /// Organizations calls so far.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    async fn roots(&self) -> Result<Vec<String>, Error> {
        let mut pages = self.client.list_roots().into_paginator().send();
        let mut roots = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.add(1);
            let page = page.map_err(org_error("ListRoots"))?;
            roots.extend(
                page.roots
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|r| r.id),
            );
        }
        Ok(roots)
    }

    /// The accounts directly under `parent`, each with `path` (the parents down to `parent`).
    async fn accounts_of(&self, parent: &str, path: &[String]) -> Result<Vec<OrgAccount>, Error> {
        let mut pages = self
            .client
            .list_accounts_for_parent()
            .parent_id(parent)
            .into_paginator()
            .send();
        let mut accounts = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.add(1);
            let page = page.map_err(org_error("ListAccountsForParent"))?;
            for account in page.accounts.unwrap_or_default() {
                // `State` is the newer member (it knows CLOSED); `Status` the older one.
                let status = account
                    .state
                    .as_ref()
                    .map(|s| s.as_str().to_owned())
                    .or_else(|| account.status.as_ref().map(|s| s.as_str().to_owned()))
                    .unwrap_or_default();
                accounts.push(OrgAccount {
                    id: account.id.unwrap_or_default(),
                    name: account.name.unwrap_or_default(),
                    status: AccountStatus::parse(&status),
                    path: path.to_vec(),
                });
            }
        }
        Ok(accounts)
    }

    async fn units_of(&self, parent: &str) -> Result<Vec<String>, Error> {
        let mut pages = self
            .client
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .into_paginator()
            .send();
        let mut units = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.add(1);
            let page = page.map_err(org_error("ListOrganizationalUnitsForParent"))?;
            let found = page.organizational_units.unwrap_or_default();
            units.extend(found.into_iter().filter_map(|u| u.id));
        }
        Ok(units)
    }

    /// Every account under the roots, breadth first (no recursion: OUs nest up to 5 deep).
    async fn walk(&self) -> Result<Vec<OrgAccount>, Error> {
        let mut parents: Vec<Vec<String>> =
            self.roots().await?.into_iter().map(|r| vec![r]).collect();
        let mut accounts = Vec::new();
        while let Some(path) = parents.pop() {
            let parent = path.last().cloned().unwrap_or_default();
            accounts.extend(self.accounts_of(&parent, &path).await?);
            for unit in self.units_of(&parent).await? {
                let mut below = path.clone();
                below.push(unit);
                parents.push(below);
            }
        }
        Ok(accounts)
    }
}

impl Directory for OrganizationsDirectory {
    fn accounts(&self) -> BoxFuture<'_, Result<Vec<OrgAccount>, Error>> {
        Box::pin(self.walk())
    }
}

fn org_error<E, R>(
    operation: &'static str,
) -> impl FnOnce(aws_sdk_organizations::error::SdkError<E, R>) -> Error
where
    E: aws_sdk_organizations::error::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |e| Error::Organizations {
        operation,
        retryable: sdk_retryable(&e),
        source: sdk_source(e),
    }
}
