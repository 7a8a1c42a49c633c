//! Reading AWS Price List records (`GetProducts`, `FormatVersion` `aws_v1`, service code
//! `AmazonBedrock`): each `PriceList` element is a JSON document in a string. Only batch token
//! rows are kept, normalised to USD per million tokens; an unknown unit is refused rather than
//! guessed (a 1K/1M mix-up is a 1000x error). See design/cost-and-progress.md §1.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which token count a row prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Meter {
    Input,
    Output,
}

/// One batch token price of one model in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceRow {
    pub region: String,
    /// The record's `model` attribute (a display name such as `Claude 3 Haiku`).
    pub model: String,
    pub usagetype: String,
    pub meter: Meter,
    pub usd_per_million: f64,
    /// The record's `publicationDate` (`YYYY-MM-DD`).
    pub published: String,
}

/// What a provisioned throughput was bought for: the API's `commitmentDuration` (absent: no
/// commitment), and the Price List's name for it in the usage type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Commitment {
    NoCommit,
    OneMonth,
    SixMonths,
}

impl Commitment {
    /// From `commitmentDuration` as the API gives it (`OneMonth`, `SixMonths`; none: no
    /// commitment). `None` for a value a newer API adds: not priced rather than mispriced.
    pub fn of_api(duration: Option<&str>) -> Option<Self> {
        match duration {
            None | Some("") => Some(Self::NoCommit),
            Some("OneMonth") => Some(Self::OneMonth),
            Some("SixMonths") => Some(Self::SixMonths),
            Some(_) => None,
        }
    }

    /// The usage type's segment (`...-ProvisionedThroughput-1month-ModelUnits`).
    fn of_usagetype(segment: &str) -> Option<Self> {
        match segment {
            "nocommit" => Some(Self::NoCommit),
            "1month" => Some(Self::OneMonth),
            "6month" | "6months" => Some(Self::SixMonths),
            _ => None,
        }
    }

    /// As the notices say it.
    pub fn label(self) -> &'static str {
        match self {
            Self::NoCommit => "no",
            Self::OneMonth => "1-month",
            Self::SixMonths => "6-month",
        }
    }
}

/// One provisioned-throughput price: USD per model unit per hour of one model, commitment and
/// region (`<PFX>-<Model>-ProvisionedThroughput[-Custom]-<NoCommit|1month|6month>-ModelUnits`,
/// unit `hour`; design/cost-and-progress.md §1.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedRow {
    pub region: String,
    pub model: String,
    pub usagetype: String,
    pub commitment: Commitment,
    /// The `-Custom-` rows price throughputs of custom models.
    pub custom: bool,
    pub usd_per_unit_hour: f64,
    pub published: String,
}

/// A region's batch rows as read from the Price List, and when: the table caches one per
/// region and a run refreshes it when older than a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedPrices {
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    pub rows: Vec<PriceRow>,
    /// Provisioned-throughput rows (absent in a cache written before they were read: that
    /// region's throughputs fall back to the shipped file until the next daily refresh).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provisioned: Vec<ProvisionedRow>,
}

impl CachedPrices {
    /// Whether the rows are younger than a day at `now`.
    pub fn fresh(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        now - self.fetched_at < chrono::Duration::days(1)
    }
}

/// Usage types that are not a base model's batch token price (cross-region, cache, media,
/// custom models, capacity, other tiers).
const EXCLUDED: [&str; 14] = [
    "cross-region",
    "global",
    "cache",
    "image",
    "audio",
    "video",
    "speech",
    "document",
    "custom-model",
    "customization",
    "provisionedthroughput",
    "latency",
    "flex",
    "priority",
];

/// The batch token row one record holds, if it is one (`None` for any other record or one
/// whose price cannot be read).
pub fn parse_record(text: &str) -> Option<PriceRow> {
    let record: Value = serde_json::from_str(text).ok()?;
    let attributes = &record["product"]["attributes"];
    let attr = |name: &str| attributes[name].as_str().unwrap_or_default();
    let usagetype = attr("usagetype");
    let lower = usagetype.to_ascii_lowercase();
    if !is_batch(attributes, &lower) || EXCLUDED.iter().any(|x| lower.contains(x)) {
        return None;
    }
    let meter = meter(&lower, &attr("inferenceType").to_ascii_lowercase())?;
    let (unit, usd) = first_dimension(&record["terms"]["OnDemand"])?;
    Some(PriceRow {
        region: attr("regionCode").to_owned(),
        model: attr("model").to_owned(),
        usagetype: usagetype.to_owned(),
        meter,
        usd_per_million: usd * per_million(&unit)?,
        published: record["publicationDate"]
            .as_str()
            .map(|d| d.chars().take(10).collect())
            .unwrap_or_default(),
    })
}

/// The provisioned-throughput row one record holds, if it is one: a per-hour price of a named
/// model (Marketplace rows, `MP:`, name no model and are left out), any other unit refused.
pub fn parse_provisioned(text: &str) -> Option<ProvisionedRow> {
    let record: Value = serde_json::from_str(text).ok()?;
    let attributes = &record["product"]["attributes"];
    let attr = |name: &str| attributes[name].as_str().unwrap_or_default();
    let usagetype = attr("usagetype");
    let lower = usagetype.to_ascii_lowercase();
    let (_, tail) = lower.split_once("-provisionedthroughput-")?;
    let (custom, tail) = match tail.strip_prefix("custom-") {
        Some(rest) => (true, rest),
        None => (false, tail),
    };
    let commitment = Commitment::of_usagetype(tail.strip_suffix("-modelunits")?)?;
    let (unit, usd) = first_dimension(&record["terms"]["OnDemand"])?;
    let hourly = matches!(unit.to_ascii_lowercase().as_str(), "hour" | "hours" | "hrs");
    if !hourly || attr("model").is_empty() || lower.contains("mp:") {
        return None;
    }
    Some(ProvisionedRow {
        region: attr("regionCode").to_owned(),
        model: attr("model").to_owned(),
        usagetype: usagetype.to_owned(),
        commitment,
        custom,
        usd_per_unit_hour: usd,
        published: record["publicationDate"]
            .as_str()
            .map(|d| d.chars().take(10).collect())
            .unwrap_or_default(),
    })
}

/// The price of one model unit-hour of `model` in `region` for `commitment` (`custom`: the
/// throughput serves a custom model), with its publication date.
pub fn unit_hour_price(
    rows: &[ProvisionedRow],
    region: &str,
    model: &str,
    commitment: Commitment,
    custom: bool,
) -> Option<(f64, String)> {
    rows.iter()
        .find(|r| {
            r.region == region
                && r.commitment == commitment
                && r.custom == custom
                && same_model(&r.model, model)
        })
        .map(|r| (r.usd_per_unit_hour, r.published.clone()))
}

/// Batch rows are marked in one of four places, in this order (legacy rows only by `feature`).
fn is_batch(attributes: &Value, usagetype: &str) -> bool {
    let has = |name: &str| {
        attributes[name]
            .as_str()
            .is_some_and(|v| v.to_ascii_lowercase().contains("batch"))
    };
    has("service_tier") || has("feature") || has("inferenceType") || usagetype.ends_with("-batch")
}

fn meter(usagetype: &str, inference_type: &str) -> Option<Meter> {
    let says = |word: &str| usagetype.contains(word) || inference_type.contains(word);
    match (says("input"), says("output")) {
        (true, false) => Some(Meter::Input),
        (false, true) => Some(Meter::Output),
        _ => None,
    }
}

/// The unit and USD price of the first price dimension of the first on-demand term (offer term
/// codes and rate codes are map keys: iterate, never assume them).
fn first_dimension(on_demand: &Value) -> Option<(String, f64)> {
    let term = on_demand.as_object()?.values().next()?;
    let dimension = term["priceDimensions"].as_object()?.values().next()?;
    let usd = dimension["pricePerUnit"]["USD"].as_str()?.parse().ok()?;
    Some((dimension["unit"].as_str()?.to_owned(), usd))
}

/// The factor from a price per `unit` to a price per million tokens.
fn per_million(unit: &str) -> Option<f64> {
    match unit.to_ascii_lowercase().as_str() {
        "1k tokens" => Some(1000.0),
        "1m tokens" => Some(1.0),
        _ => None,
    }
}

/// Model names compare without case, spaces or punctuation (`Llama 3.1 8B` = `llama-3-1-8b`).
pub fn same_model(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    !a.is_empty() && norm(a) == norm(b)
}

/// The (input, output) batch prices per million tokens of `model` in `region`, with the
/// publication date, when both are published.
pub fn batch_prices(rows: &[PriceRow], region: &str, model: &str) -> Option<(f64, f64, String)> {
    let find = |meter: Meter| {
        rows.iter()
            .find(|r| r.region == region && r.meter == meter && same_model(&r.model, model))
    };
    let (input, output) = (find(Meter::Input)?, find(Meter::Output)?);
    let published = input.published.clone().max(output.published.clone());
    Some((input.usd_per_million, output.usd_per_million, published))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record of aws/aws-cli#9567 (on-demand, Claude 2.0), as `GetProducts` returns it.
    const ON_DEMAND: &str = r#"{"product":{"productFamily":"Amazon Bedrock","attributes":{"regionCode":"us-east-1","inferenceType":"Input tokens","servicecode":"AmazonBedrock","feature":"On-demand Inference","provider":"Anthropic","usagetype":"USE1-Claude2.0-input-tokens","locationType":"AWS Region","location":"US East (N. Virginia)","model":"Claude 2.0","servicename":"Amazon Bedrock","operation":""},"sku":"3G679R3Y8YSQSJTA"},"serviceCode":"AmazonBedrock","terms":{"OnDemand":{"3G679R3Y8YSQSJTA.JRTCKXETXF":{"priceDimensions":{"3G679R3Y8YSQSJTA.JRTCKXETXF.6YS6EN2CT7":{"unit":"1K tokens","endRange":"Inf","description":"$0.00800 per 1K tokens for Claude2.0-input-tokens inUS East (N. Virginia)","appliesTo":[],"rateCode":"3G679R3Y8YSQSJTA.JRTCKXETXF.6YS6EN2CT7","beginRange":"0","pricePerUnit":{"USD":"0.0080000000"}}},"sku":"3G679R3Y8YSQSJTA","effectiveDate":"2025-06-01T00:00:00Z","offerTermCode":"JRTCKXETXF","termAttributes":{}}}},"version":"20250618225550","publicationDate":"2025-06-18T22:55:50Z"}"#;

    fn batch(meter: &str, usagetype: &str, unit: &str, usd: &str) -> String {
        ON_DEMAND
            .replace("On-demand Inference", "Batch Inference")
            .replace("Input tokens", meter)
            .replace("USE1-Claude2.0-input-tokens", usagetype)
            .replace("\"1K tokens\"", &format!("\"{unit}\""))
            .replace("0.0080000000", usd)
    }

    /// A provisioned-throughput record in the shape cultivar's fixture mirrors from the live
    /// Price List (design/cost-and-progress.md §1.3).
    fn provisioned(usagetype: &str, unit: &str, usd: &str) -> String {
        ON_DEMAND
            .replace(
                "On-demand Inference",
                "Provisioned Throughput Inference - 1 month",
            )
            .replace("USE1-Claude2.0-input-tokens", usagetype)
            .replace("\"Claude 2.0\"", "\"Nova 2.0 Lite\"")
            .replace("\"1K tokens\"", &format!("\"{unit}\""))
            .replace("0.0080000000", usd)
    }

    #[test]
    fn provisioned_rows_are_read_per_commitment_and_never_as_batch_prices() {
        let month = provisioned(
            "USE1-Nova2.0Lite-ProvisionedThroughput-1month-ModelUnits",
            "hour",
            "55.0000000000",
        );
        assert_eq!(parse_record(&month), None, "not a token price");
        let row = parse_provisioned(&month).expect("a provisioned row");
        assert_eq!((row.commitment, row.custom), (Commitment::OneMonth, false));
        assert!((row.usd_per_unit_hour - 55.0).abs() < 1e-9);
        let custom = provisioned(
            "USE1-Nova2.0Lite-ProvisionedThroughput-Custom-NoCommit-ModelUnits",
            "hour",
            "60.5",
        );
        let custom = parse_provisioned(&custom).expect("a custom row");
        assert_eq!(
            (custom.commitment, custom.custom),
            (Commitment::NoCommit, true)
        );
        let rows = [row, custom];
        let (usd, published) = unit_hour_price(
            &rows,
            "us-east-1",
            "nova 2.0 lite",
            Commitment::OneMonth,
            false,
        )
        .unwrap();
        assert_eq!((usd, published.as_str()), (55.0, "2025-06-18"));
        assert_eq!(
            unit_hour_price(
                &rows,
                "us-east-1",
                "Nova 2.0 Lite",
                Commitment::SixMonths,
                false
            ),
            None
        );
        let odd = provisioned(
            "USE1-Nova2.0Lite-ProvisionedThroughput-1month-ModelUnits",
            "Units",
            "1",
        );
        assert_eq!(parse_provisioned(&odd), None, "unknown unit");
        let market = provisioned(
            "USE1-MP:USE1_ProvisionedThroughput_1MonthCommit_ModelUnits_Usage-Units",
            "hour",
            "1",
        );
        assert_eq!(
            parse_provisioned(&market),
            None,
            "Marketplace rows name no model"
        );
        assert_eq!(Commitment::of_api(None), Some(Commitment::NoCommit));
        assert_eq!(
            Commitment::of_api(Some("SixMonths")),
            Some(Commitment::SixMonths)
        );
        assert_eq!(Commitment::of_api(Some("TwoYears")), None);
    }

    #[test]
    fn an_on_demand_record_is_not_a_batch_price() {
        assert_eq!(parse_record(ON_DEMAND), None);
    }

    #[test]
    fn a_batch_record_per_1k_tokens_is_normalised_to_a_million() {
        let text = batch(
            "Input tokens",
            "USE1-Claude2.0-input-tokens-batch",
            "1K tokens",
            "0.0040000000",
        );
        let row = parse_record(&text).expect("a batch row");
        assert_eq!(
            (row.meter, row.region.as_str()),
            (Meter::Input, "us-east-1")
        );
        assert!((row.usd_per_million - 4.0).abs() < 1e-9);
        assert_eq!(
            (row.model.as_str(), row.published.as_str()),
            ("Claude 2.0", "2025-06-18")
        );
    }

    #[test]
    fn unknown_units_cross_region_and_cache_rows_are_refused() {
        let odd = batch("Input tokens", "USE1-X-input-tokens-batch", "Units", "1.0");
        assert_eq!(parse_record(&odd), None, "unknown unit");
        let cross = batch(
            "Input tokens",
            "USE1-X-input-tokens-cross-region-global-batch",
            "1K tokens",
            "1.0",
        );
        assert_eq!(parse_record(&cross), None);
        let per_m = batch(
            "Output tokens",
            "USE1-X-output-tokens-batch",
            "1M tokens",
            "2.5000000000",
        );
        assert!((parse_record(&per_m).unwrap().usd_per_million - 2.5).abs() < 1e-9);
    }

    #[test]
    fn batch_prices_need_both_meters_of_the_same_model_and_region() {
        let rows: Vec<PriceRow> = [
            batch(
                "Input tokens",
                "USE1-Claude2.0-input-tokens-batch",
                "1K tokens",
                "0.004",
            ),
            batch(
                "Output tokens",
                "USE1-Claude2.0-output-tokens-batch",
                "1K tokens",
                "0.012",
            ),
        ]
        .iter()
        .filter_map(|t| parse_record(t))
        .collect();
        let (input, output, _) = batch_prices(&rows, "us-east-1", "claude 2.0").unwrap();
        assert!((input - 4.0).abs() < 1e-9 && (output - 12.0).abs() < 1e-9);
        assert_eq!(batch_prices(&rows, "us-west-2", "Claude 2.0"), None);
        assert_eq!(batch_prices(&rows[..1], "us-east-1", "Claude 2.0"), None);
    }
}
