//! The request extractor [`Scoped`]: the caller a request comes from, the (account, region) it
//! addresses (see [`crate::scope`] for how it is resolved), and that scope's own store.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use tokio::sync::RwLock;

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::scope::{account_of_key, credential_scope, Scope};
use crate::store::Store;

/// What a request says about its caller: the access key id it was signed with, if any.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: Option<String>,
    pub scope: Scope,
}

impl Caller {
    /// Resolves the caller of a request (headers first, then `region`/`account` parameters).
    pub fn of_request(parts: &Parts, defaults: &Scope) -> Caller {
        let signed = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(credential_scope);
        if let Some((key, region)) = signed {
            let account = account_of_key(key).unwrap_or(&defaults.account);
            return Caller {
                key_id: Some(key.to_owned()),
                scope: Scope::new(account, region),
            };
        }
        let params = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        let pick = |name: &str, default: &String| params.get(name).unwrap_or(default).clone();
        Caller {
            key_id: None,
            scope: Scope::new(
                pick("account", &defaults.account),
                pick("region", &defaults.region),
            ),
        }
    }
}

/// A handler's view of the emulator: the shared [`App`] (settings, ids, randomness, faults)
/// and the store of the one scope the request addresses.
pub struct Scoped {
    app: Arc<App>,
    pub caller: Caller,
    pub scope: Scope,
    pub store: Arc<RwLock<Store>>,
}

impl Scoped {
    pub fn new(app: Arc<App>, scope: Scope) -> Scoped {
        let caller = Caller {
            key_id: None,
            scope: scope.clone(),
        };
        Self::for_caller(app, caller)
    }

    pub fn for_caller(app: Arc<App>, caller: Caller) -> Scoped {
        let scope = caller.scope.clone();
        let store = app.store_of(&scope);
        Scoped {
            app,
            caller,
            scope,
            store,
        }
    }

    /// Counts the call and applies the fault rules for `operation` in this scope.
    pub async fn enter(&self, operation: &str) -> ApiResult<()> {
        self.app.enter_in(&self.scope, operation).await
    }

    /// An ARN of this scope: `arn:aws:bedrock:{region}:{account}:{resource}/{id}`.
    pub fn arn(&self, resource: &str, id: &str) -> String {
        format!(
            "arn:aws:bedrock:{}:{}:{resource}/{id}",
            self.scope.region, self.scope.account
        )
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }
}

impl Deref for Scoped {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

impl FromRequestParts<Arc<App>> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> ApiResult<Scoped> {
        let caller = Caller::of_request(parts, &app.default_scope());
        Ok(Scoped::for_caller(app.clone(), caller))
    }
}
