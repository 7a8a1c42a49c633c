//! `WaitStore` on the jobs table: wait items beside the jobs' items, read through
//! `family-watch-index` (partition `workflow-wait`), written with conditions so that a
//! redelivered register message and overlapping runs change nothing twice.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use futures::Stream;

use super::dynamodb::{condition_held, store_error, FAMILY_WATCH_INDEX, WATCH_PAGE};
use super::sdk::{pages, Calls};
use crate::domain::{JobArn, JobKind, Lease, RunId};
use crate::error::Error;
use crate::ports::{Page, Write};
use crate::workflows::ports::WaitStore;
use crate::workflows::wait::{family_prefix, watch_key, Wait, WAIT_KIND};

#[derive(Debug, Clone)]
pub struct DynamoWaitStore {
    client: Client,
    table: String,
    calls: Calls,
}

impl DynamoWaitStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            calls: Calls::default(),
        }
    }

    /// Table requests made so far.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    fn query(&self) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(FAMILY_WATCH_INDEX)
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#watch", "watch")
            .expression_attribute_values(":kind", s(WAIT_KIND))
            .limit(WATCH_PAGE)
    }

    fn key(wait: &Wait) -> HashMap<String, AttributeValue> {
        HashMap::from([("pk".to_owned(), s(&wait.pk))])
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn parse(item: HashMap<String, AttributeValue>) -> Result<Wait, Error> {
    let key = match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => "?".to_owned(),
    };
    serde_dynamo::from_item(item).map_err(|e| Error::Corrupt {
        key,
        source: Box::new(e),
    })
}

impl WaitStore for DynamoWaitStore {
    async fn add(&self, wait: &Wait) -> Result<Write, Error> {
        let item = serde_dynamo::to_item(wait).map_err(|e| Error::Corrupt {
            key: wait.pk.clone(),
            source: Box::new(e),
        })?;
        self.calls.add(1);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        condition_held("PutItem", result)
    }

    fn waits_of(&self, family: JobKind) -> impl Stream<Item = Page<Wait>> + Send + '_ {
        let query = self
            .query()
            .key_condition_expression("#kind = :kind AND begins_with(#watch, :prefix)")
            .expression_attribute_values(":prefix", s(family_prefix(family)));
        pages(query.into_paginator().send(), self.calls.clone(), |page| {
            let page = page.map_err(store_error("Query"))?;
            page.items
                .unwrap_or_default()
                .into_iter()
                .map(parse)
                .collect()
        })
    }

    async fn waits_on(&self, family: JobKind, arn: &JobArn) -> Result<Vec<Wait>, Error> {
        self.calls.add(1);
        let out = self
            .query()
            .key_condition_expression("#kind = :kind AND #watch = :watch")
            .expression_attribute_values(":watch", s(watch_key(family, arn)))
            .send()
            .await
            .map_err(store_error("Query"))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(parse)
            .collect()
    }

    async fn claim(&self, wait: &Wait, lease: &Lease, now: DateTime<Utc>) -> Result<Write, Error> {
        self.calls.add(1);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(wait)))
            .update_expression("SET lease_owner = :owner, lease_until = :until")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(lease_until) OR lease_until <= :now)",
            )
            .expression_attribute_values(":owner", s(lease.owner.as_str()))
            .expression_attribute_values(":until", AttributeValue::N(lease.until.timestamp().to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .send()
            .await;
        condition_held("UpdateItem", result)
    }

    async fn remove(&self, wait: &Wait, owner: Option<&RunId>) -> Result<Write, Error> {
        self.calls.add(1);
        let request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(wait)));
        let request = match owner {
            Some(owner) => request
                .condition_expression("lease_owner = :owner")
                .expression_attribute_values(":owner", s(owner.as_str())),
            None => request.condition_expression("attribute_exists(pk)"),
        };
        condition_held("DeleteItem", request.send().await)
    }

    async fn release(&self, wait: &Wait, owner: &RunId) -> Result<Write, Error> {
        self.calls.add(1);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(wait)))
            .update_expression("REMOVE lease_owner, lease_until")
            .condition_expression("lease_owner = :owner")
            .expression_attribute_values(":owner", s(owner.as_str()))
            .send()
            .await;
        condition_held("UpdateItem", result)
    }
}
