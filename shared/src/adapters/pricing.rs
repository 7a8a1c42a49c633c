//! Prices for cost estimates, in order of precedence: the `PRICE_OVERRIDES` setting, the AWS
//! Price List Query API (`pricing:GetProducts`, service code `AmazonBedrock`, cached in the
//! table for a day), then the dated price file shipped in `shared/prices/`. A source that
//! fails is skipped and the figure says which one was used (docs/notifications/cost-and-progress.md).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use aws_sdk_pricing::error::ProvideErrorMetadata;
use aws_sdk_pricing::types::{Filter, FilterType};
use chrono::Utc;
use serde::Deserialize;

pub use crate::domain::cost::Override;
use crate::domain::price_list::{self, CachedPrices, Commitment, PriceRow, ProvisionedRow};
use crate::domain::{PriceOrigin, TokenPrice, UnitHourPrice};
use crate::ports::{BoxFuture, PriceBook, PriceCache};

/// The Price List endpoints exist in three regions only (botocore `endpoints.json`, service
/// `api.pricing`); any of them answers for every region's prices. The nearest one is used.
pub fn endpoint_region(region: &str) -> &'static str {
    match region.split('-').next() {
        Some("eu" | "me" | "af" | "il") => "eu-central-1",
        Some("ap") => "ap-south-1",
        _ => "us-east-1",
    }
}

/// The shipped file (`shared/prices/bedrock-batch.json`).
const SHIPPED: &str = include_str!("../../prices/bedrock-batch.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShippedFile {
    retrieved: String,
    batch: Vec<ShippedRow>,
    /// When the provisioned-throughput rows were transcribed.
    #[serde(default)]
    provisioned_retrieved: String,
    #[serde(default)]
    provisioned: Vec<ShippedProvisioned>,
}

/// One model unit-hour price of a provisioned throughput.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShippedProvisioned {
    region: String,
    model_id: String,
    price_list_model: String,
    commitment: Commitment,
    #[serde(default)]
    custom: bool,
    usd_per_model_unit_hour: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShippedRow {
    region: String,
    model_id: String,
    price_list_model: String,
    input_per_million: f64,
    output_per_million: f64,
}

/// Prices that need no call: overrides and the shipped file.
#[derive(Debug, Clone)]
pub struct StaticPrices {
    shipped: ShippedFile,
    overrides: BTreeMap<String, Override>,
}

impl StaticPrices {
    /// The shipped file and these overrides (by model id).
    pub fn new(overrides: BTreeMap<String, Override>) -> Self {
        let shipped =
            serde_json::from_str(SHIPPED).expect("the shipped price file parses (tested)");
        Self { shipped, overrides }
    }

    fn overridden(&self, model_id: &str) -> Option<TokenPrice> {
        let o = self.overrides.get(base_model(model_id))?;
        Some(TokenPrice {
            input_per_million: o.input,
            output_per_million: o.output,
            origin: PriceOrigin::Override,
            as_of: Utc::now().format("%Y-%m-%d").to_string(),
            fallback: None,
        })
    }

    fn shipped_row(&self, region: &str, model_id: &str) -> Option<&ShippedRow> {
        let id = base_model(model_id);
        self.shipped
            .batch
            .iter()
            .find(|r| r.region == region && r.model_id == id)
    }

    fn shipped(&self, region: &str, model_id: &str, why: Option<String>) -> Option<TokenPrice> {
        let row = self.shipped_row(region, model_id)?;
        Some(TokenPrice {
            input_per_million: row.input_per_million,
            output_per_million: row.output_per_million,
            origin: PriceOrigin::Shipped,
            as_of: self.shipped.retrieved.clone(),
            fallback: why,
        })
    }

    /// The Price List `model` name a model id is matched with.
    fn price_list_model(&self, model_id: &str) -> Option<&str> {
        let id = base_model(model_id);
        self.shipped
            .batch
            .iter()
            .find(|r| r.model_id == id)
            .map(|r| r.price_list_model.as_str())
    }

    fn shipped_hourly(&self, wanted: &Hourly<'_>, why: Option<String>) -> Option<UnitHourPrice> {
        let id = throughput_model(wanted.model_id);
        let row = self.shipped.provisioned.iter().find(|r| {
            r.region == wanted.region
                && r.model_id == id
                && r.commitment == wanted.commitment
                && r.custom == wanted.custom
        })?;
        Some(UnitHourPrice {
            usd: row.usd_per_model_unit_hour,
            origin: PriceOrigin::Shipped,
            as_of: self.shipped.provisioned_retrieved.clone(),
            fallback: why,
        })
    }

    /// The Price List `model` name of a throughput's base model.
    fn provisioned_model(&self, model_id: &str) -> Option<&str> {
        let id = throughput_model(model_id);
        self.shipped
            .provisioned
            .iter()
            .find(|r| r.model_id == id)
            .map(|r| r.price_list_model.as_str())
            .or_else(|| self.price_list_model(id))
    }
}

/// The throughput price asked for.
struct Hourly<'a> {
    region: &'a str,
    model_id: &'a str,
    commitment: Commitment,
    custom: bool,
}

/// A throughput's base model id without its context-window variant
/// (`amazon.nova-2-lite-v1:0:256k` is priced as `amazon.nova-2-lite-v1:0`).
fn throughput_model(model_id: &str) -> &str {
    let id = base_model(model_id);
    match id.rsplit_once(':') {
        Some((head, tail)) if head.contains(':') && tail.ends_with('k') => head,
        _ => id,
    }
}

impl PriceBook for StaticPrices {
    fn batch_price<'a>(
        &'a self,
        region: &'a str,
        model_id: &'a str,
    ) -> BoxFuture<'a, Option<TokenPrice>> {
        let price = self
            .overridden(model_id)
            .or_else(|| self.shipped(region, model_id, None));
        Box::pin(async move { price })
    }

    fn hourly_price<'a>(
        &'a self,
        region: &'a str,
        model_id: &'a str,
        commitment: Commitment,
        custom: bool,
    ) -> BoxFuture<'a, Option<UnitHourPrice>> {
        let wanted = Hourly {
            region,
            model_id,
            commitment,
            custom,
        };
        let price = self.shipped_hourly(&wanted, None);
        Box::pin(async move { price })
    }
}

/// The model id of a foundation-model ARN (`arn:...:foundation-model/{id}`), else the id as
/// given. Inference profiles (`us.`, `global.`) are priced differently and are not matched.
fn base_model(model_id: &str) -> &str {
    model_id
        .rsplit_once("foundation-model/")
        .map_or(model_id, |(_, id)| id)
}

/// A region's rows: batch token prices and provisioned-throughput unit-hour prices.
type Rows = (Vec<PriceRow>, Vec<ProvisionedRow>);
type Memo = (chrono::DateTime<Utc>, Result<Rows, String>);

/// How long a process keeps a region's rows (or its failure) before asking the table again.
const MEMO_FOR: chrono::Duration = chrono::Duration::hours(1);

/// Every source: overrides, the Price List (cached in the table), the shipped file.
pub struct PriceListBook<C> {
    client: aws_sdk_pricing::Client,
    cache: C,
    fixed: StaticPrices,
    /// This process's rows per region and when they were read (`Err`: the Price List could not
    /// be read, and why); a warm Lambda re-reads the table after [`MEMO_FOR`].
    memo: Mutex<HashMap<String, Memo>>,
    calls: AtomicU64,
}

impl<C: PriceCache> PriceListBook<C> {
    pub fn new(client: aws_sdk_pricing::Client, cache: C, fixed: StaticPrices) -> Self {
        Self {
            client,
            cache,
            fixed,
            memo: Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
        }
    }

    async fn lookup(&self, region: &str, model_id: &str) -> Option<TokenPrice> {
        if let Some(price) = self.fixed.overridden(model_id) {
            return Some(price);
        }
        let name = self.fixed.price_list_model(model_id);
        let why = match self.rows(region).await {
            Ok((rows, _)) => {
                let found = name.and_then(|n| price_list::batch_prices(&rows, region, n));
                if let Some((input, output, published)) = found {
                    return Some(TokenPrice {
                        input_per_million: input,
                        output_per_million: output,
                        origin: PriceOrigin::PriceList,
                        as_of: published,
                        fallback: None,
                    });
                }
                "no batch price for this model in the AWS Price List".to_owned()
            }
            Err(why) => why,
        };
        self.fixed.shipped(region, model_id, Some(why))
    }

    async fn lookup_hourly(&self, wanted: Hourly<'_>) -> Option<UnitHourPrice> {
        let name = self.fixed.provisioned_model(wanted.model_id);
        let why = match self.rows(wanted.region).await {
            Ok((_, rows)) => {
                let found = name.and_then(|n| {
                    let (region, commitment, custom) =
                        (wanted.region, wanted.commitment, wanted.custom);
                    price_list::unit_hour_price(&rows, region, n, commitment, custom)
                });
                if let Some((usd, published)) = found {
                    return Some(UnitHourPrice {
                        usd,
                        origin: PriceOrigin::PriceList,
                        as_of: published,
                        fallback: None,
                    });
                }
                "no provisioned throughput price for this model in the AWS Price List".to_owned()
            }
            Err(why) => why,
        };
        self.fixed.shipped_hourly(&wanted, Some(why))
    }

    /// The region's batch rows: this process's copy, else the table's if under a day old,
    /// else a fresh read (written back), else the table's stale copy.
    async fn rows(&self, region: &str) -> Result<Rows, String> {
        let now = Utc::now();
        if let Some((at, known)) = self.memo.lock().expect("memo").get(region) {
            if now - *at < MEMO_FOR {
                return known.clone();
            }
        }
        let cached = self.cache.read_prices(region).await.ok().flatten();
        let rows = match cached {
            Some(c) if c.fresh(Utc::now()) => Ok((c.rows, c.provisioned)),
            stale => match self.fetch(region).await {
                Ok(rows) => {
                    let prices = CachedPrices {
                        fetched_at: Utc::now(),
                        rows: rows.0.clone(),
                        provisioned: rows.1.clone(),
                    };
                    if let Err(e) = self.cache.write_prices(region, &prices).await {
                        tracing::warn!(error = %e, region, "price cache not written");
                    }
                    Ok(rows)
                }
                Err(why) => stale.map(|c| (c.rows, c.provisioned)).ok_or(why),
            },
        };
        let mut memo = self.memo.lock().expect("memo");
        memo.insert(region.to_owned(), (now, rows.clone()));
        rows
    }

    /// `GetProducts` for `AmazonBedrock` in `region`, every page, batch rows kept.
    async fn fetch(&self, region: &str) -> Result<Rows, String> {
        let filter = Filter::builder()
            .r#type(FilterType::TermMatch)
            .field("regionCode")
            .value(region)
            .build()
            .map_err(|e| e.to_string())?;
        let mut pages = self
            .client
            .get_products()
            .service_code("AmazonBedrock")
            .filters(filter)
            .format_version("aws_v1")
            .max_results(100)
            .into_paginator()
            .send();
        let (mut rows, mut provisioned) = (Vec::new(), Vec::new());
        while let Some(page) = pages.next().await {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let page = page.map_err(|e| {
                let code = e.code().unwrap_or("unreachable").to_owned();
                tracing::warn!(code, region, "AWS Price List GetProducts failed");
                format!("AWS Price List not readable ({code})")
            })?;
            let texts = page.price_list.unwrap_or_default();
            rows.extend(texts.iter().filter_map(|t| price_list::parse_record(t)));
            provisioned.extend(
                texts
                    .iter()
                    .filter_map(|t| price_list::parse_provisioned(t)),
            );
        }
        // Rows of other regions (the filter is undocumented for this service) are dropped.
        rows.retain(|r| r.region == region);
        provisioned.retain(|r| r.region == region);
        Ok((rows, provisioned))
    }
}

impl<C: PriceCache> PriceBook for PriceListBook<C> {
    fn batch_price<'a>(
        &'a self,
        region: &'a str,
        model_id: &'a str,
    ) -> BoxFuture<'a, Option<TokenPrice>> {
        Box::pin(self.lookup(region, model_id))
    }

    fn hourly_price<'a>(
        &'a self,
        region: &'a str,
        model_id: &'a str,
        commitment: Commitment,
        custom: bool,
    ) -> BoxFuture<'a, Option<UnitHourPrice>> {
        Box::pin(self.lookup_hourly(Hourly {
            region,
            model_id,
            commitment,
            custom,
        }))
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// The price book of a function: `None` with `COST_ESTIMATES=off`; otherwise the Price List
/// (its client pinned to the nearest of its three endpoint regions, whatever the function's
/// region; `AWS_ENDPOINT_URL_PRICING` still applies) cached in the jobs table, the overrides
/// and the shipped file.
pub fn book(
    sdk: &aws_config::SdkConfig,
    config: &crate::Config,
    table: crate::adapters::dynamodb::DynamoJobStore,
) -> crate::poller::Prices {
    if !config.costs.enabled {
        return crate::poller::Prices(None);
    }
    let endpoint = endpoint_region(&config.poll.region);
    let pricing = aws_sdk_pricing::config::Builder::from(sdk)
        .region(aws_sdk_pricing::config::Region::new(endpoint))
        .build();
    let fixed = StaticPrices::new(config.costs.overrides.clone());
    let book = PriceListBook::new(aws_sdk_pricing::Client::from_conf(pricing), table, fixed);
    crate::poller::Prices(Some(std::sync::Arc::new(book)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_parses_and_overrides_come_first() {
        let overrides = BTreeMap::from([(
            "meta.llama3-1-8b-instruct-v1:0".to_owned(),
            Override {
                input: 1.0,
                output: 2.0,
            },
        )]);
        let prices = StaticPrices::new(overrides);
        assert!(!prices.shipped.batch.is_empty());
        let arn = "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-8b-instruct-v1:0";
        let price = prices.overridden(arn).expect("overridden");
        assert_eq!(
            (price.input_per_million, price.origin),
            (1.0, PriceOrigin::Override)
        );
        let haiku = prices
            .shipped("us-east-1", "anthropic.claude-3-haiku-20240307-v1:0", None)
            .expect("shipped");
        assert_eq!(
            (haiku.as_of.as_str(), haiku.origin),
            ("2025-07-20", PriceOrigin::Shipped)
        );
        assert_eq!(
            prices.shipped("eu-west-1", "anthropic.claude-3-haiku-20240307-v1:0", None),
            None
        );
        assert_eq!(
            prices.shipped(
                "us-east-1",
                "us.anthropic.claude-3-haiku-20240307-v1:0",
                None
            ),
            None
        );
    }

    #[test]
    fn the_shipped_file_prices_throughputs_per_commitment() {
        let prices = StaticPrices::new(BTreeMap::new());
        let wanted = |model_id, commitment| Hourly {
            region: "us-east-1",
            model_id,
            commitment,
            custom: false,
        };
        let arn = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k";
        let month = prices
            .shipped_hourly(&wanted(arn, Commitment::OneMonth), None)
            .expect("a shipped 1-month price");
        assert_eq!((month.usd, month.origin), (55.0, PriceOrigin::Shipped));
        assert_eq!(prices.provisioned_model(arn), Some("Nova 2.0 Lite"));
        assert_eq!(
            prices.shipped_hourly(&wanted(arn, Commitment::SixMonths), None),
            None,
            "no 6-month row is published: nothing is guessed"
        );
        assert_eq!(
            throughput_model("meta.llama3-1-70b-instruct-v1:0"),
            "meta.llama3-1-70b-instruct-v1:0"
        );
    }

    #[test]
    fn the_endpoint_is_one_of_the_three_price_list_regions() {
        assert_eq!(endpoint_region("eu-west-1"), "eu-central-1");
        assert_eq!(endpoint_region("ap-northeast-1"), "ap-south-1");
        assert_eq!(endpoint_region("us-west-2"), "us-east-1");
        assert_eq!(endpoint_region("sa-east-1"), "us-east-1");
    }
}
