//! Estimated cost of a finished job: token counts x a published price, always labelled as an
//! estimate with where the price came from and its date. Pure: prices are looked up by the
//! adapters ([`crate::adapters::pricing`]); reading AWS Price List records is
//! [`super::price_list`].

use serde::{Deserialize, Serialize};

use super::RecordCounts;

/// Where a price came from, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PriceOrigin {
    /// The `PRICE_OVERRIDES` setting (the operator's own figure).
    Override,
    /// The AWS Price List Query API (`GetProducts`), as cached in the table.
    PriceList,
    /// The dated price file shipped with this release (`shared/prices/`).
    Shipped,
}

impl PriceOrigin {
    pub fn label(self) -> &'static str {
        match self {
            Self::Override => "PRICE_OVERRIDES setting",
            Self::PriceList => "AWS Price List",
            Self::Shipped => "price file shipped with bedrock-jobwatch",
        }
    }
}

/// A model's own batch prices, USD per million tokens (`PRICE_OVERRIDES`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Override {
    pub input: f64,
    pub output: f64,
}

/// A model's batch-inference token prices in one region, in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPrice {
    pub input_per_million: f64,
    pub output_per_million: f64,
    pub origin: PriceOrigin,
    /// The price's date (`YYYY-MM-DD`): the Price List's publication, the file's retrieval, or
    /// the day an override was read.
    pub as_of: String,
    /// Why a lower-precedence source was used (e.g. the Price List could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// The price of one provisioned-throughput model unit per hour, in USD, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitHourPrice {
    pub usd: f64,
    pub origin: PriceOrigin,
    /// As [`TokenPrice::as_of`].
    pub as_of: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// What a finished job cost, as estimated: stored on the job's item and shown in its notice.
/// Kept in millionths of a dollar (an exact integer in the item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostEstimate {
    pub micro_usd: i64,
    pub origin: PriceOrigin,
    pub as_of: String,
    /// What was priced, e.g. `batch rate for us-east-1`.
    pub basis: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// `COST_ALERT_USD` in millionths of a dollar, set when this estimate passed it: the
    /// finished job's notice then says so (once, as every finished notice is sent once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_micro_usd: Option<i64>,
}

impl CostEstimate {
    /// Marks the estimate as over `threshold_usd` when it is (strictly) above it.
    pub fn check_threshold(&mut self, threshold_usd: Option<f64>) {
        let threshold = threshold_usd.map(|usd| (usd * 1e6).round() as i64);
        self.over_micro_usd = threshold.filter(|limit| self.micro_usd > *limit);
    }

    /// `over COST_ALERT_USD ($500.00)` when the estimate passed the threshold.
    pub fn alert_line(&self) -> Option<String> {
        self.over_micro_usd
            .map(|limit| format!("over COST_ALERT_USD ({})", usd(limit as f64 / 1e6)))
    }

    pub fn usd(&self) -> f64 {
        self.micro_usd as f64 / 1e6
    }

    /// `≈ $12.34 (estimate; AWS Price List, published 2026-12-01, batch rate for us-east-1)`.
    pub fn describe(&self) -> String {
        let dated = match self.origin {
            PriceOrigin::PriceList => format!("published {}", self.as_of),
            PriceOrigin::Shipped => format!("dated {}", self.as_of),
            PriceOrigin::Override => format!("read {}", self.as_of),
        };
        let fallback = self
            .fallback
            .as_ref()
            .map_or(String::new(), |why| format!("; {why}"));
        format!(
            "≈ {} (estimate; {}, {dated}, {}{fallback})",
            usd(self.usd()),
            self.origin.label(),
            self.basis
        )
    }
}

/// Dollars with cents, or with four decimals under a dollar (small jobs are not `$0.00`).
pub fn usd(amount: f64) -> String {
    if amount < 1.0 {
        format!("${amount:.4}")
    } else {
        let cents = (amount * 100.0).round() as i64;
        format!("${}.{:02}", group(cents / 100), cents % 100)
    }
}

fn group(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A batch job's cost from its manifest's token counts at `price` (`None` without both counts:
/// a job with no usage figure says nothing rather than guess).
pub fn batch_cost(counts: &RecordCounts, price: &TokenPrice, region: &str) -> Option<CostEstimate> {
    let (input, output) = (counts.input_tokens?, counts.output_tokens?);
    let usd = input.max(0) as f64 / 1e6 * price.input_per_million
        + output.max(0) as f64 / 1e6 * price.output_per_million;
    Some(CostEstimate {
        micro_usd: (usd * 1e6).round() as i64,
        origin: price.origin,
        as_of: price.as_of.clone(),
        basis: format!("batch rate for {region}"),
        fallback: price.fallback.clone(),
        over_micro_usd: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(origin: PriceOrigin) -> TokenPrice {
        TokenPrice {
            input_per_million: 0.125,
            output_per_million: 0.625,
            origin,
            as_of: "2025-07-20".into(),
            fallback: None,
        }
    }

    fn tokens(input: Option<i64>, output: Option<i64>) -> RecordCounts {
        RecordCounts {
            input_tokens: input,
            output_tokens: output,
            ..RecordCounts::default()
        }
    }

    #[test]
    fn cost_is_tokens_times_the_price_per_million() {
        let counts = tokens(Some(40_000_000), Some(8_000_000));
        let cost = batch_cost(&counts, &price(PriceOrigin::PriceList), "us-east-1").unwrap();
        assert_eq!(cost.micro_usd, 10_000_000);
        assert_eq!(
            cost.describe(),
            "≈ $10.00 (estimate; AWS Price List, published 2025-07-20, batch rate for us-east-1)"
        );
    }

    #[test]
    fn without_both_token_counts_there_is_no_estimate() {
        let p = price(PriceOrigin::Shipped);
        assert_eq!(batch_cost(&tokens(Some(5), None), &p, "us-east-1"), None);
        assert_eq!(batch_cost(&tokens(None, Some(5)), &p, "us-east-1"), None);
    }

    #[test]
    fn a_fallback_says_so_and_small_amounts_keep_their_digits() {
        let mut p = price(PriceOrigin::Shipped);
        p.fallback = Some("AWS Price List not reachable".into());
        let cost = batch_cost(&tokens(Some(1000), Some(1000)), &p, "eu-west-1").unwrap();
        assert_eq!(
            cost.describe(),
            "≈ $0.0008 (estimate; price file shipped with bedrock-jobwatch, dated 2025-07-20, batch rate for eu-west-1; AWS Price List not reachable)"
        );
        assert_eq!(usd(1234.5), "$1,234.50");
    }
}
