//! `JobStore` on a DynamoDB table: conditional writes, a sparse watch index, watermarks.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::domain::{Change, JobArn, JobRecord, JobStatus};
use crate::error::{sdk_retryable, sdk_source, Error};
use crate::ports::{JobStore, SaveOutcome};

/// Name of the sparse GSI on `watch` (open jobs and pending notices only).
pub const WATCH_INDEX: &str = "watch-index";

#[derive(Debug, Clone)]
pub struct DynamoJobStore {
    client: Client,
    table: String,
}

impl DynamoJobStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s(pk))])
}

fn watermark_key(scope: &str) -> String {
    format!("WATERMARK#{scope}")
}

/// Fixed-width UTC timestamps (nanoseconds) compare correctly as strings.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn store_error<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> Error
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |e| Error::Store {
        operation,
        retryable: sdk_retryable(&e),
        source: sdk_source(e),
    }
}

/// Whether a write failed only because its condition did not hold.
fn condition_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    e: &SdkError<E, R>,
) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

/// The outcome of a conditional write: `Ok(true)` written, `Ok(false)` its condition did not hold
/// (another run got there first), `Err` anything else.
fn condition_held<O, E, R>(
    operation: &'static str,
    result: Result<O, SdkError<E, R>>,
) -> Result<bool, Error>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(store_error(operation)(e)),
    }
}

fn parse(item: HashMap<String, AttributeValue>) -> Result<JobRecord, Error> {
    let key = match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => "?".to_owned(),
    };
    serde_dynamo::from_item(item).map_err(|e| Error::Corrupt {
        key,
        source: Box::new(e),
    })
}

impl JobStore for DynamoJobStore {
    async fn watermark(&self, scope: &str) -> Result<Option<DateTime<Utc>>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(&watermark_key(scope))))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error("GetItem"))?;
        let Some(AttributeValue::S(raw)) = out.item.as_ref().and_then(|i| i.get("watermark"))
        else {
            return Ok(None);
        };
        DateTime::parse_from_rfc3339(raw)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| Error::Corrupt {
                key: watermark_key(scope),
                source: Box::new(e),
            })
    }

    async fn advance_watermark(&self, scope: &str, to: DateTime<Utc>) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&watermark_key(scope))))
            .update_expression("SET watermark = :t")
            .condition_expression("attribute_not_exists(watermark) OR watermark < :t")
            .expression_attribute_values(":t", s(stamp(to)))
            .send()
            .await;
        // Not held: an overlapping run already moved it further, which is fine.
        condition_held("UpdateItem", result).map(|_| ())
    }

    async fn watched(&self, scope: &str) -> Result<Vec<JobRecord>, Error> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(WATCH_INDEX)
            .key_condition_expression("watch = :w")
            .expression_attribute_values(":w", s(scope))
            .into_paginator()
            .send();
        let mut records = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(store_error("Query"))?;
            for item in page.items.unwrap_or_default() {
                records.push(parse(item)?);
            }
        }
        Ok(records)
    }

    async fn get_many(&self, arns: &[JobArn]) -> Result<Vec<JobRecord>, Error> {
        let mut records = Vec::new();
        for chunk in arns.chunks(100) {
            let keys = chunk.iter().map(|a| key(a.as_str())).collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| Error::Store {
                        operation: "BatchGetItem",
                        retryable: false,
                        source: Box::new(e),
                    })?,
            );
            // Unprocessed keys (throttling) are retried with backoff; the SDK retries the call itself.
            for attempt in 0..8u32 {
                let Some(keys) = request.take() else { break };
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(store_error("BatchGetItem"))?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    records.push(parse(item)?);
                }
                request = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.table)
                    .filter(|k| !k.keys.is_empty());
            }
            if request.is_some() {
                return Err(Error::Store {
                    operation: "BatchGetItem",
                    retryable: true,
                    source: "keys still unprocessed after 8 attempts".into(),
                });
            }
        }
        Ok(records)
    }

    async fn save(&self, change: &Change) -> Result<SaveOutcome, Error> {
        let item = serde_dynamo::to_item(&change.record).map_err(|e| Error::Corrupt {
            key: change.record.pk.to_string(),
            source: Box::new(e),
        })?;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        request = match change.expected_version {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(v) => request
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(v as i64)),
        };
        Ok(match condition_held("PutItem", request.send().await)? {
            true => SaveOutcome::Saved,
            false => SaveOutcome::Conflict,
        })
    }

    async fn claim(&self, arn: &JobArn, owner: &str, until: i64, now: i64) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(arn.as_str())))
            .update_expression("SET lease_owner = :o, lease_until = :u")
            .condition_expression(
                "attribute_exists(pending_status) AND (attribute_not_exists(lease_until) OR lease_until <= :now)",
            )
            .expression_attribute_values(":o", s(owner))
            .expression_attribute_values(":u", n(until))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        condition_held("UpdateItem", result)
    }

    async fn release(&self, arn: &JobArn, owner: &str) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(arn.as_str())))
            .update_expression("REMOVE lease_owner, lease_until")
            .condition_expression("lease_owner = :o")
            .expression_attribute_values(":o", s(owner))
            .send()
            .await;
        // Not held: the lease was no longer ours; nothing to give back.
        condition_held("UpdateItem", result).map(|_| ())
    }

    async fn mark_sent(
        &self,
        arn: &JobArn,
        status: &JobStatus,
        owner: &str,
        now: DateTime<Utc>,
        finished_ttl: Option<i64>,
    ) -> Result<bool, Error> {
        let (set_extra, remove_extra) = match finished_ttl {
            Some(_) => (", expires_at = :ttl", ", watch"),
            None => ("", ""),
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(arn.as_str())))
            .update_expression(format!(
                "SET notified_status = :s, notified_at = :at, version = version + :one{set_extra} \
                 REMOVE pending_status, lease_owner, lease_until{remove_extra}"
            ))
            .condition_expression("pending_status = :s AND lease_owner = :o")
            .expression_attribute_values(":s", s(status.as_str()))
            .expression_attribute_values(":o", s(owner))
            .expression_attribute_values(":at", s(stamp(now)))
            .expression_attribute_values(":one", n(1));
        if let Some(ttl) = finished_ttl {
            request = request.expression_attribute_values(":ttl", n(ttl));
        }
        condition_held("UpdateItem", request.send().await)
    }
}

/// Creates the jobs table as `template.yaml` defines it (key `pk`, sparse GSI `watch-index`,
/// on-demand). For local development, tests and the demo; production uses the template.
pub async fn create_table(client: &Client, table: &str) -> Result<(), Error> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    let build = |e: aws_sdk_dynamodb::error::BuildError| Error::Store {
        operation: "CreateTable",
        retryable: false,
        source: Box::new(e),
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let hash_key = |name: &str| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::Hash)
            .build()
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk").map_err(build)?)
        .attribute_definitions(attribute("watch").map_err(build)?)
        .key_schema(hash_key("pk").map_err(build)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(WATCH_INDEX)
                .key_schema(hash_key("watch").map_err(build)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(store_error("CreateTable"))?;
    Ok(())
}
