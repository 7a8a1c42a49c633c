//! Knowledge bases and their data sources (bedrock-agent): the containers ingestion jobs run in.
//! The jobs themselves are ordinary [`crate::model::Job`]s of kind `KbIngestion`, so that the
//! lifecycle, the control API and seeding treat them like every other job.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::model::iso;

#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    pub role_arn: String,
    pub configuration: Value,
    pub storage: Option<Value>,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct DataSource {
    pub kb_id: String,
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub configuration: Value,
    pub deletion_policy: Option<String>,
    pub created: DateTime<Utc>,
}

/// Every knowledge base and data source, ordered by id (the List order; ids page as tokens).
#[derive(Debug, Default)]
pub struct Registry {
    pub bases: BTreeMap<String, KnowledgeBase>,
    pub sources: BTreeMap<(String, String), DataSource>,
    /// `clientToken` of a create -> the id it created (a retried create returns the same).
    pub tokens: HashMap<String, String>,
}

impl Registry {
    pub fn base(&self, kb_id: &str) -> ApiResult<&KnowledgeBase> {
        self.bases.get(kb_id).ok_or_else(|| {
            ApiError::not_found(format!("Knowledge base with id {kb_id} does not exist"))
        })
    }

    pub fn source(&self, kb_id: &str, ds_id: &str) -> ApiResult<&DataSource> {
        self.base(kb_id)?;
        self.sources
            .get(&(kb_id.to_owned(), ds_id.to_owned()))
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "Data source with id {ds_id} does not exist in knowledge base {kb_id}"
                ))
            })
    }

    /// One page of knowledge bases after the token's id.
    pub fn bases_page(
        &self,
        max: usize,
        token: Option<&str>,
    ) -> ApiResult<(Vec<&KnowledgeBase>, Option<String>)> {
        let from = token.map(decode).transpose()?;
        let range = self.bases.range::<String, _>((
            from.as_ref().map_or(Bound::Unbounded, Bound::Excluded),
            Bound::Unbounded,
        ));
        Ok(page(range.map(|(_, kb)| kb), max, |kb| kb.id.clone()))
    }

    /// One page of a knowledge base's data sources after the token's id.
    pub fn sources_page(
        &self,
        kb_id: &str,
        max: usize,
        token: Option<&str>,
    ) -> ApiResult<(Vec<&DataSource>, Option<String>)> {
        self.base(kb_id)?;
        let from = token.map(decode).transpose()?.unwrap_or_default();
        let range = self
            .sources
            .range((Bound::Excluded((kb_id.to_owned(), from)), Bound::Unbounded));
        let of_kb = range
            .take_while(|((kb, _), _)| kb == kb_id)
            .map(|(_, ds)| ds);
        Ok(page(of_kb, max, |ds| ds.id.clone()))
    }
}

fn page<'a, T>(
    items: impl Iterator<Item = &'a T>,
    max: usize,
    key: impl Fn(&T) -> String,
) -> (Vec<&'a T>, Option<String>) {
    let mut items: Vec<&T> = items.take(max + 1).collect();
    let next = (items.len() > max).then(|| {
        items.truncate(max);
        items.last().map(|last| format!("v1.{}", key(last)))
    });
    (items, next.flatten())
}

fn decode(token: &str) -> ApiResult<String> {
    token
        .strip_prefix("v1.")
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::validation("The pagination token is not valid."))
}

/// `KnowledgeBase` as `CreateKnowledgeBase` and `GetKnowledgeBase` answer it.
pub fn render_base(kb: &KnowledgeBase) -> Value {
    let mut v = json!({
        "knowledgeBaseId": kb.id,
        "knowledgeBaseArn": kb.arn,
        "name": kb.name,
        "roleArn": kb.role_arn,
        "knowledgeBaseConfiguration": kb.configuration,
        "status": "ACTIVE",
        "createdAt": iso(kb.created),
        "updatedAt": iso(kb.created),
    });
    if let Some(d) = &kb.description {
        v["description"] = json!(d);
    }
    if let Some(s) = &kb.storage {
        v["storageConfiguration"] = s.clone();
    }
    v
}

pub fn render_base_summary(kb: &KnowledgeBase) -> Value {
    let mut v = json!({
        "knowledgeBaseId": kb.id,
        "name": kb.name,
        "status": "ACTIVE",
        "updatedAt": iso(kb.created),
    });
    if let Some(d) = &kb.description {
        v["description"] = json!(d);
    }
    v
}

/// `DataSource` as `CreateDataSource` answers it.
pub fn render_source(ds: &DataSource) -> Value {
    let mut v = render_source_summary(ds);
    v["dataSourceConfiguration"] = ds.configuration.clone();
    v["createdAt"] = json!(iso(ds.created));
    if let Some(p) = &ds.deletion_policy {
        v["dataDeletionPolicy"] = json!(p);
    }
    v
}

pub fn render_source_summary(ds: &DataSource) -> Value {
    let mut v = json!({
        "knowledgeBaseId": ds.kb_id,
        "dataSourceId": ds.id,
        "name": ds.name,
        "status": "AVAILABLE",
        "updatedAt": iso(ds.created),
    });
    if let Some(d) = &ds.description {
        v["description"] = json!(d);
    }
    v
}
