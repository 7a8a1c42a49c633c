//! `JobStore` on a DynamoDB table: conditional writes, a sparse watch index, watermarks.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::Stream;

use super::sdk::{pages, sdk_retryable, sdk_source, Calls};
use crate::domain::{
    Change, Delivered, Due, DurationStats, JobArn, JobKind, JobRecord, Lease, RunId, Scope, Sent,
};
use crate::error::Error;
use crate::ports::{
    BoxFuture, Checkpoint, JobStore, LastRun, Listed, OpenJobs, Page, Progress, ScheduleStore,
    ScopeState, ShardState, Write,
};
use crate::schedule::Clocks;

/// The sparse GSI of open jobs and pending notices: partition `kind`, sort `watch` (the
/// scope), so one Query reads a scope's items and one reads every scope of a family.
pub const FAMILY_WATCH_INDEX: &str = "family-watch-index";

/// The GSI on `watch` alone that releases before `family-watch-index` read. Nothing reads it
/// now; the template keeps it for one release because CloudFormation adds or deletes only one
/// GSI per update (an upgrade first adds the new one).
pub const WATCH_INDEX: &str = "watch-index";

/// Items per page of the watch index: a run holds at most this many records at once.
pub const WATCH_PAGE: i32 = 500;

#[derive(Debug, Clone)]
pub struct DynamoJobStore {
    client: Client,
    table: String,
    calls: Calls,
    writes: Calls,
}

impl DynamoJobStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            calls: Calls::default(),
            writes: Calls::default(),
        }
    }

    /// Write requests (PutItem, UpdateItem) so far, a part of `calls`.
    pub fn writes(&self) -> u64 {
        self.writes.get()
    }

    /// Sends a conditional write (counted) and maps its outcome.
    async fn conditional<O, E, R>(
        &self,
        operation: &'static str,
        request: impl std::future::Future<Output = Result<O, SdkError<E, R>>>,
    ) -> Result<Write, Error>
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        self.calls.add(1);
        self.writes.add(1);
        condition_held(operation, request.await)
    }

    /// A Query of the watch index, before its key condition.
    fn watch_query(&self) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(FAMILY_WATCH_INDEX)
            .expression_attribute_names("#kind", "kind")
            .limit(WATCH_PAGE)
    }

    /// The items a watch Query returns, a page at a time.
    fn watch_pages(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> impl Stream<Item = Page<JobRecord>> + Send + '_ {
        let paginator = query.into_paginator().send();
        pages(paginator, self.calls.clone(), |page| {
            let page = page.map_err(store_error("Query"))?;
            page.items
                .unwrap_or_default()
                .into_iter()
                .map(parse)
                .collect()
        })
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

fn schedule_key(shard: &str) -> String {
    format!("SCHEDULE#{shard}")
}

fn watermark_key(scope: &Scope) -> String {
    format!("WATERMARK#{scope}")
}

/// Fixed-width UTC timestamps (nanoseconds) compare correctly as strings.
/// A string attribute of `item` (`None`: absent or not a string).
fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn store_error<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> Error
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

/// The outcome of a conditional write: written, its condition did not hold (another run got
/// there first), or an error.
pub(crate) fn condition_held<O, E, R>(
    operation: &'static str,
    result: Result<O, SdkError<E, R>>,
) -> Result<Write, Error>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(Write::Written),
        Err(e) if condition_failed(&e) => Ok(Write::LostRace),
        Err(e) => Err(store_error(operation)(e)),
    }
}

/// An UpdateItem expression built clause by clause; each attribute's value is bound as
/// `:{attribute}` (attribute names here are plain identifiers, none of them reserved words).
#[derive(Default)]
struct Update {
    set: Vec<String>,
    remove: Vec<String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn set(&mut self, attribute: &str, value: AttributeValue) {
        self.set.push(format!("{attribute} = :{attribute}"));
        self.value(&format!(":{attribute}"), value);
    }

    fn set_if_absent(&mut self, attribute: &str, value: AttributeValue) {
        self.set.push(format!(
            "{attribute} = if_not_exists({attribute}, :{attribute})"
        ));
        self.value(&format!(":{attribute}"), value);
    }

    fn add_to(&mut self, attribute: &str, value: AttributeValue) {
        self.set
            .push(format!("{attribute} = {attribute} + :{attribute}"));
        self.value(&format!(":{attribute}"), value);
    }

    /// Appends `value` (a list) to a list attribute, creating it if absent.
    fn append(&mut self, attribute: &str, value: AttributeValue) {
        self.set.push(format!(
            "{attribute} = list_append(if_not_exists({attribute}, :empty_list), :{attribute})"
        ));
        self.value(":empty_list", AttributeValue::L(Vec::new()));
        self.value(&format!(":{attribute}"), value);
    }

    fn remove(&mut self, attribute: &str) {
        self.remove.push(attribute.to_owned());
    }

    fn value(&mut self, name: &str, value: AttributeValue) {
        self.values.insert(name.to_owned(), value);
    }

    fn build(self) -> (String, HashMap<String, AttributeValue>) {
        let mut expression = format!("SET {}", self.set.join(", "));
        if !self.remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", self.remove.join(", ")));
        }
        (expression, self.values)
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
    async fn scope_state(&self, scope: &Scope) -> Result<ScopeState, Error> {
        self.calls.add(1);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(&watermark_key(scope))))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error("GetItem"))?;
        let item = out.item.unwrap_or_default();
        let time = |name: &str| -> Result<Option<DateTime<Utc>>, Error> {
            let Some(AttributeValue::S(raw)) = item.get(name) else {
                return Ok(None);
            };
            DateTime::parse_from_rfc3339(raw)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| Error::Corrupt {
                    key: format!("{}.{name}", watermark_key(scope)),
                    source: Box::new(e),
                })
        };
        let checkpoint = match (time("checkpoint_started")?, time("checkpoint_reached")?) {
            (Some(started), Some(reached)) => Some(Checkpoint { started, reached }),
            _ => None,
        };
        let count = match item.get("open_count") {
            Some(AttributeValue::N(n)) => n.parse().unwrap_or(0),
            _ => 0,
        };
        let durations = match item.get("durations") {
            Some(value) => {
                serde_dynamo::from_attribute_value(value.clone()).map_err(|e| Error::Corrupt {
                    key: format!("{}.durations", watermark_key(scope)),
                    source: Box::new(e),
                })?
            }
            None => DurationStats::default(),
        };
        let last_run = match (time("last_run_at")?, item.get("last_run_id")) {
            (Some(at), Some(AttributeValue::S(id))) => Some(LastRun {
                at,
                run_id: RunId::new(id.as_str()),
                ok: matches!(item.get("last_run_ok"), Some(AttributeValue::Bool(true))),
            }),
            _ => None,
        };
        Ok(ScopeState {
            durations,
            watermark: time("watermark")?,
            checkpoint,
            open: OpenJobs {
                count,
                oldest: time("oldest_open")?,
            },
            last_run,
            cursor: text(&item, "sweep_cursor"),
        })
    }

    async fn save_progress(&self, scope: &Scope, progress: &Progress) -> Result<Write, Error> {
        let mut update = Update::default();
        update.set("open_count", n(progress.open.count as i64));
        if let Some(run) = &progress.last_run {
            update.set("last_run_at", s(stamp(run.at)));
            update.set("last_run_id", s(run.run_id.as_str()));
            update.set("last_run_ok", AttributeValue::Bool(run.ok));
        }
        match progress.open.oldest {
            Some(oldest) => update.set("oldest_open", s(stamp(oldest))),
            None => update.remove("oldest_open"),
        }
        match &progress.cursor {
            Some(cursor) => update.set("sweep_cursor", s(cursor.as_str())),
            None => update.remove("sweep_cursor"),
        }
        if let Some(durations) = &progress.durations {
            let value =
                serde_dynamo::to_attribute_value(durations).map_err(|e| Error::Corrupt {
                    key: format!("{}.durations", watermark_key(scope)),
                    source: Box::new(e),
                })?;
            update.set("durations", value);
        }
        let condition = match &progress.listed {
            Listed::Complete(to) => {
                update.set("watermark", s(stamp(*to)));
                update.remove("checkpoint_started");
                update.remove("checkpoint_reached");
                Some("attribute_not_exists(watermark) OR watermark < :watermark")
            }
            Listed::Reached(checkpoint) => {
                update.set_if_absent("checkpoint_started", s(stamp(checkpoint.started)));
                update.set("checkpoint_reached", s(stamp(checkpoint.reached)));
                Some("attribute_not_exists(checkpoint_reached) OR checkpoint_reached < :checkpoint_reached")
            }
            Listed::Nothing => None,
        };
        let (expression, values) = update.build();
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&watermark_key(scope))))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values(Some(values))
            .send();
        self.conditional("UpdateItem", request).await
    }

    fn watched(&self, scope: &Scope) -> impl Stream<Item = Page<JobRecord>> + Send + '_ {
        let query = self
            .watch_query()
            .key_condition_expression("#kind = :kind AND #watch = :watch")
            .expression_attribute_names("#watch", "watch")
            .expression_attribute_values(":kind", s(scope.kind()))
            .expression_attribute_values(":watch", s(scope.as_str()));
        self.watch_pages(query)
    }

    fn watched_family(&self, kind: JobKind) -> impl Stream<Item = Page<JobRecord>> + Send + '_ {
        let query = self
            .watch_query()
            .key_condition_expression("#kind = :kind")
            .expression_attribute_values(":kind", s(kind.as_str()));
        self.watch_pages(query)
    }

    async fn get_many(&self, arns: &[JobArn]) -> Result<Vec<JobRecord>, Error> {
        let mut records = Vec::new();
        // BatchGetItem takes at most 100 keys.
        for chunk in arns.chunks(100) {
            records.extend(self.get_chunk(chunk).await?);
        }
        Ok(records)
    }

    async fn save(&self, change: &Change) -> Result<Write, Error> {
        let item = serde_dynamo::to_item(&change.record).map_err(|e| Error::Corrupt {
            key: change.record.pk.to_string(),
            source: Box::new(e),
        })?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = match change.expected_version {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(v) => request
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(v as i64)),
        };
        self.conditional("PutItem", request.send()).await
    }

    async fn claim(
        &self,
        arn: &JobArn,
        version: u64,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Write, Error> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(arn.as_str())))
            .update_expression("SET lease_owner = :o, lease_until = :u")
            .condition_expression(
                "version = :v AND (attribute_exists(pending_status) OR attribute_exists(pending_alert)) AND (attribute_not_exists(lease_until) OR lease_until <= :now)",
            )
            .expression_attribute_values(":v", n(version as i64))
            .expression_attribute_values(":o", s(lease.owner.as_str()))
            .expression_attribute_values(":u", n(lease.until.timestamp()))
            .expression_attribute_values(":now", n(now.timestamp()))
            .send();
        self.conditional("UpdateItem", request).await
    }

    async fn release(&self, arn: &JobArn, owner: &RunId) -> Result<Write, Error> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(arn.as_str())))
            .update_expression("REMOVE lease_owner, lease_until")
            .condition_expression("lease_owner = :o")
            .expression_attribute_values(":o", s(owner.as_str()))
            .send();
        self.conditional("UpdateItem", request).await
    }

    async fn release_delivered(
        &self,
        arn: &JobArn,
        owner: &RunId,
        delivered: &Delivered,
    ) -> Result<Write, Error> {
        let value = serde_dynamo::to_attribute_value(delivered).map_err(|e| Error::Corrupt {
            key: arn.to_string(),
            source: Box::new(e),
        })?;
        // The version moves: a run that read the item before cannot overwrite what was recorded.
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(arn.as_str())))
            .update_expression(
                "SET delivered = :d, version = version + :one REMOVE lease_owner, lease_until",
            )
            .condition_expression("lease_owner = :o")
            .expression_attribute_values(":d", value)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":o", s(owner.as_str()))
            .send();
        self.conditional("UpdateItem", request).await
    }

    async fn mark_sent(&self, arn: &JobArn, owner: &RunId, sent: &Sent) -> Result<Write, Error> {
        // The derived attributes come from the record's one rule (`JobRecord::sent`).
        let mut update = Update::default();
        let held = match &sent.due {
            Due::Status(status) => {
                update.set("notified_status", s(status.as_str()));
                update.set("notified_at", s(stamp(sent.at)));
                update.remove("pending_status");
                update.value(":due", s(status.as_str()));
                "pending_status = :due"
            }
            Due::Alert(alert) => {
                update.append("alerts_sent", AttributeValue::L(vec![s(alert.as_str())]));
                update.set("alerted_at", s(stamp(sent.at)));
                update.remove("pending_alert");
                update.value(":due", s(alert.as_str()));
                "pending_alert = :due"
            }
        };
        let entry = serde_dynamo::to_attribute_value(sent.entry()).map_err(|e| Error::Corrupt {
            key: arn.to_string(),
            source: Box::new(e),
        })?;
        update.append("notifications", AttributeValue::L(vec![entry]));
        update.add_to("version", n(1));
        for attribute in ["lease_owner", "lease_until", "delivered"] {
            update.remove(attribute);
        }
        match &sent.watch {
            Some(scope) => update.set("watch", s(scope.as_str())),
            None => update.remove("watch"),
        }
        match sent.expires_at {
            Some(ttl) => update.set("expires_at", n(ttl.timestamp())),
            None => update.remove("expires_at"),
        }
        update.value(":owner", s(owner.as_str()));
        let (expression, values) = update.build();
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(arn.as_str())))
            .update_expression(expression)
            .condition_expression(format!("{held} AND lease_owner = :owner"))
            .set_expression_attribute_values(Some(values))
            .send();
        self.conditional("UpdateItem", request).await
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

/// `SCHEDULE#{shard}`: `clocks` (a map by scope), `done_at`, `lease_owner`, `lease_until`
/// (epoch seconds, as the notices' leases) and `version`.
impl ScheduleStore for DynamoJobStore {
    fn shard<'a>(&'a self, shard: &'a str) -> BoxFuture<'a, Result<ShardState, Error>> {
        Box::pin(async move {
            self.calls.add(1);
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key(&schedule_key(shard))))
                .consistent_read(true)
                .send()
                .await
                .map_err(store_error("GetItem"))?;
            shard_state(shard, out.item.unwrap_or_default())
        })
    }

    fn lease<'a>(
        &'a self,
        shard: &'a str,
        lease: &'a crate::domain::Lease,
        now: DateTime<Utc>,
        queued_at: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<Write, Error>> {
        let free = "(attribute_not_exists(lease_until) OR lease_until <= :now OR lease_owner = :o)";
        let condition = match queued_at {
            Some(_) => format!("{free} AND (attribute_not_exists(done_at) OR done_at < :queued)"),
            None => free.to_owned(),
        };
        let mut values = HashMap::from([
            (":o".to_owned(), s(lease.owner.as_str())),
            (":u".to_owned(), n(lease.until.timestamp())),
            (":now".to_owned(), n(now.timestamp())),
            (":zero".to_owned(), n(0)),
            (":one".to_owned(), n(1)),
        ]);
        if let Some(queued) = queued_at {
            values.insert(":queued".to_owned(), s(stamp(queued)));
        }
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&schedule_key(shard))))
            .update_expression(
                "SET lease_owner = :o, lease_until = :u, version = if_not_exists(version, :zero) + :one",
            )
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .send();
        Box::pin(self.conditional("UpdateItem", request))
    }

    fn save_shard<'a>(
        &'a self,
        shard: &'a str,
        owner: &'a RunId,
        version: u64,
        clocks: &'a Clocks,
        done_at: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<Write, Error>> {
        Box::pin(async move {
            let value = serde_dynamo::to_attribute_value(clocks).map_err(|e| Error::Corrupt {
                key: schedule_key(shard),
                source: Box::new(e),
            })?;
            let mut update = Update::default();
            update.set("clocks", value);
            if let Some(done) = done_at {
                update.set("done_at", s(stamp(done)));
            }
            update.set("version", n(version as i64 + 1));
            update.value(":expected", n(version as i64));
            update.value(":owner", s(owner.as_str()));
            let (expression, values) = update.build();
            // The lease goes with the write when it is ours; another run's stays.
            let release = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(&schedule_key(shard))))
                .update_expression(format!("{expression} REMOVE lease_owner, lease_until"))
                .condition_expression(
                    "(attribute_not_exists(version) OR version = :expected) AND lease_owner = :owner",
                )
                .set_expression_attribute_values(Some(values.clone()))
                .send();
            match self.conditional("UpdateItem", release).await? {
                Write::Written => return Ok(Write::Written),
                Write::LostRace => {}
            }
            let mut values = values;
            values.remove(":owner");
            let keep = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(&schedule_key(shard))))
                .update_expression(expression)
                .condition_expression("attribute_not_exists(version) OR version = :expected")
                .set_expression_attribute_values(Some(values))
                .send();
            self.conditional("UpdateItem", keep).await
        })
    }
}

/// Members per registry chunk item (about 100 bytes each: far below DynamoDB's 400 KB).
const REGISTRY_CHUNK: usize = 1_000;

/// The registry: `REGISTRY` (when, how many chunks, the unwatched accounts) and its chunks
/// `REGISTRY#{i}` (members as JSON). Chunks are written first and the head last, so a reader
/// never sees a head that counts a chunk not yet written.
/// The Price List cache: one item per region, `PRICES#AmazonBedrock#{region}`, its batch rows
/// as one JSON string (a few kilobytes) and when they were read. No `kind` or `watch`: the
/// item is in no index.
impl crate::ports::PriceCache for DynamoJobStore {
    fn read_prices<'a>(
        &'a self,
        region: &'a str,
    ) -> BoxFuture<'a, Result<Option<crate::domain::price_list::CachedPrices>, Error>> {
        Box::pin(async move {
            let key = prices_key(region);
            let Some(item) = self.get_plain(&key).await? else {
                return Ok(None);
            };
            let Some(AttributeValue::S(text)) = item.get("prices") else {
                return Ok(None);
            };
            serde_json::from_str(text)
                .map(Some)
                .map_err(|e| Error::Corrupt {
                    key,
                    source: Box::new(e),
                })
        })
    }

    fn write_prices<'a>(
        &'a self,
        region: &'a str,
        prices: &'a crate::domain::price_list::CachedPrices,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let text = serde_json::to_string(prices).map_err(|e| Error::Corrupt {
                key: prices_key(region),
                source: Box::new(e),
            })?;
            let item = HashMap::from([
                ("pk".to_owned(), s(prices_key(region))),
                ("prices".to_owned(), s(text)),
            ]);
            self.put_plain(item).await
        })
    }
}

fn prices_key(region: &str) -> String {
    format!("PRICES#AmazonBedrock#{region}")
}

impl crate::org::RegistryStore for DynamoJobStore {
    fn registry(&self) -> BoxFuture<'_, Result<Option<crate::org::Registry>, Error>> {
        Box::pin(async move {
            let Some(head) = self.get_plain("REGISTRY").await? else {
                return Ok(None);
            };
            let corrupt = |e: serde_json::Error| Error::Corrupt {
                key: "REGISTRY".into(),
                source: Box::new(e),
            };
            let text = |item: &HashMap<String, AttributeValue>, name: &str| match item.get(name) {
                Some(AttributeValue::S(v)) => v.clone(),
                _ => String::new(),
            };
            let chunks: usize = text(&head, "chunks").parse().unwrap_or(0);
            let mut registry = crate::org::Registry {
                refreshed_at: DateTime::parse_from_rfc3339(&text(&head, "refreshed_at"))
                    .ok()
                    .map(|t| t.with_timezone(&Utc)),
                unwatched: serde_json::from_str(&text(&head, "unwatched")).map_err(corrupt)?,
                watched: Vec::new(),
            };
            for i in 0..chunks {
                let item = self
                    .get_plain(&format!("REGISTRY#{i}"))
                    .await?
                    .unwrap_or_default();
                let members: Vec<crate::org::Member> =
                    serde_json::from_str(&text(&item, "members")).map_err(corrupt)?;
                registry.watched.extend(members);
            }
            Ok(Some(registry))
        })
    }

    fn save_registry<'a>(
        &'a self,
        registry: &'a crate::org::Registry,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let json = |v: &dyn erased::Json| v.json();
            let chunks: Vec<&[crate::org::Member]> =
                registry.watched.chunks(REGISTRY_CHUNK).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                let item = HashMap::from([
                    ("pk".to_owned(), s(format!("REGISTRY#{i}"))),
                    ("members".to_owned(), s(json(chunk))),
                ]);
                self.put_plain(item).await?;
            }
            let refreshed = registry.refreshed_at.map(stamp).unwrap_or_default();
            let head = HashMap::from([
                ("pk".to_owned(), s("REGISTRY")),
                ("chunks".to_owned(), s(chunks.len().to_string())),
                ("refreshed_at".to_owned(), s(refreshed)),
                ("unwatched".to_owned(), s(json(&registry.unwatched))),
            ]);
            self.put_plain(head).await
        })
    }
}

/// Serialising the registry's parts (no error is possible for these plain structs: empty
/// on the impossible).
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize + ?Sized> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

impl DynamoJobStore {
    async fn get_plain(&self, pk: &str) -> Result<Option<HashMap<String, AttributeValue>>, Error> {
        self.calls.add(1);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error("GetItem"))?;
        Ok(out.item)
    }

    async fn put_plain(&self, item: HashMap<String, AttributeValue>) -> Result<(), Error> {
        self.calls.add(1);
        self.writes.add(1);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_error("PutItem"))?;
        Ok(())
    }
}

/// A schedule item read back.
fn shard_state(shard: &str, item: HashMap<String, AttributeValue>) -> Result<ShardState, Error> {
    let corrupt = |e: Box<dyn std::error::Error + Send + Sync>| Error::Corrupt {
        key: schedule_key(shard),
        source: e,
    };
    let clocks: Clocks = match item.get("clocks") {
        Some(value) => {
            serde_dynamo::from_attribute_value(value.clone()).map_err(|e| corrupt(Box::new(e)))?
        }
        None => Clocks::new(),
    };
    let done_at = match item.get("done_at") {
        Some(AttributeValue::S(raw)) => Some(
            DateTime::parse_from_rfc3339(raw)
                .map_err(|e| corrupt(Box::new(e)))?
                .with_timezone(&Utc),
        ),
        _ => None,
    };
    let number = |name: &str| match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
        _ => None,
    };
    let lease = match (item.get("lease_owner"), number("lease_until")) {
        (Some(AttributeValue::S(owner)), Some(until)) => Some(crate::domain::Lease {
            owner: RunId::new(owner.as_str()),
            until: DateTime::from_timestamp(until, 0).unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(ShardState {
        clocks,
        done_at,
        lease,
        version: number("version").unwrap_or(0).max(0) as u64,
    })
}

impl DynamoJobStore {
    /// One BatchGetItem of at most 100 keys; unprocessed keys (throttling) are retried with
    /// backoff (the SDK retries the call itself).
    async fn get_chunk(&self, chunk: &[JobArn]) -> Result<Vec<JobRecord>, Error> {
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
        let mut records = Vec::new();
        for attempt in 0..8u32 {
            let Some(keys) = request.take() else {
                return Ok(records);
            };
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
            }
            self.calls.add(1);
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
        match request {
            None => Ok(records),
            Some(_) => Err(Error::Store {
                operation: "BatchGetItem",
                retryable: true,
                source: "keys still unprocessed after 8 attempts".into(),
            }),
        }
    }
}

/// Creates the jobs table as `template.yaml` defines it (key `pk`, the sparse GSIs
/// `family-watch-index` and, for upgrades, `watch-index`; on-demand). For local development,
/// tests and the demo; production uses the template.
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
            .map_err(build)
    };
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(build)
    };
    let index = |name: &str, keys: Vec<KeySchemaElement>| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .set_key_schema(Some(keys))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(build)
    };
    let family_keys = vec![key("kind", KeyType::Hash)?, key("watch", KeyType::Range)?];
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("kind")?)
        .attribute_definitions(attribute("watch")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .global_secondary_indexes(index(FAMILY_WATCH_INDEX, family_keys)?)
        .global_secondary_indexes(index(WATCH_INDEX, vec![key("watch", KeyType::Hash)?])?)
        .send()
        .await
        .map_err(store_error("CreateTable"))?;
    Ok(())
}
