//! A stand-in for the AWS Price List Query API (moto has none): `GetProducts` over awsJson 1.1
//! (`POST /`, `X-Amz-Target: AWSPriceListService.GetProducts`), answering with `PriceList` as
//! JSON documents in strings, in the shape of real `AmazonBedrock` records (aws/aws-cli#9567;
//! design/cost-and-progress.md §1.3): legacy display-name rows marked batch only by `feature`,
//! on-demand rows, a cross-region batch row, a "mantle" row and a Provisioned Throughput row,
//! so a client must classify them as the real catalogue demands. `TERM_MATCH` filters on any
//! attribute, `MaxResults` (1..=100) with `NextToken`, `NotFoundException` for another service.
//! Faults: rules naming `GetProducts` (e.g. `AccessDeniedException`).

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::families::data_automation::{error_response, json_response};
use crate::scoped::Scoped;

pub const TARGET_PREFIX: &str = "AWSPriceListService.";

/// When the stand-in's catalogue says it was published.
pub const PUBLISHED: &str = "2026-11-20T18:30:00Z";

/// `(region, model, usagetype after the region prefix, feature, inferenceType, unit, USD)`.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// The catalogue: batch and on-demand token rows of two models in two regions, rows a batch
/// price must not be taken from, and provisioned-throughput unit-hour rows (no commitment and
/// one month for one model; its custom-model row; figures as reported read from the Price List,
/// design/cost-and-progress.md section 1.5).
const ROWS: [Row; 16] = [
    (
        "us-east-1",
        "Claude 3 Haiku",
        "Claude3Haiku-input-tokens",
        "On-demand Inference",
        "Input tokens",
        "1K tokens",
        "0.0002500000",
    ),
    (
        "us-east-1",
        "Claude 3 Haiku",
        "Claude3Haiku-output-tokens",
        "On-demand Inference",
        "Output tokens",
        "1K tokens",
        "0.0012500000",
    ),
    (
        "us-east-1",
        "Claude 3 Haiku",
        "Claude3Haiku-input-tokens-batch",
        "Batch Inference",
        "Input tokens",
        "1K tokens",
        "0.0001250000",
    ),
    (
        "us-east-1",
        "Claude 3 Haiku",
        "Claude3Haiku-output-tokens-batch",
        "Batch Inference",
        "Output tokens",
        "1K tokens",
        "0.0006250000",
    ),
    (
        "us-east-1",
        "Claude 3 Haiku",
        "Claude3Haiku-input-tokens-cross-region-global-batch",
        "Batch Inference",
        "Input tokens",
        "1K tokens",
        "0.0001100000",
    ),
    (
        "us-east-1",
        "Llama 3.1 8B",
        "Llama3-1-8B-input-tokens-batch",
        "Batch Inference",
        "Input tokens",
        "1K tokens",
        "0.0001100000",
    ),
    (
        "us-east-1",
        "Llama 3.1 8B",
        "Llama3-1-8B-output-tokens-batch",
        "Batch Inference",
        "Output tokens",
        "1K tokens",
        "0.0001100000",
    ),
    (
        "us-east-1",
        "Qwen3 32B",
        "qwen.qwen3-32b-mantle-input-tokens-batch",
        "",
        "input tokens batch",
        "1M tokens",
        "0.0750000000",
    ),
    (
        "us-east-1",
        "Qwen3 32B",
        "Qwen3-32B-ProvisionedThroughput-NoCommit-ModelUnits",
        "Provisioned Throughput Inference - no commit",
        "",
        "hour",
        "24.5000000000",
    ),
    (
        "us-east-1",
        "Nova 2.0 Lite",
        "Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits",
        "Provisioned Throughput Inference - no commit",
        "",
        "hour",
        "60.5000000000",
    ),
    (
        "us-east-1",
        "Nova 2.0 Lite",
        "Nova2.0Lite-ProvisionedThroughput-1month-ModelUnits",
        "Provisioned Throughput Inference - 1 month",
        "",
        "hour",
        "55.0000000000",
    ),
    (
        "us-east-1",
        "Nova 2.0 Lite",
        "Nova2.0Lite-ProvisionedThroughput-Custom-NoCommit-ModelUnits",
        "Provisioned Throughput Inference - Custom - no commit",
        "",
        "hour",
        "60.5000000000",
    ),
    (
        "eu-west-1",
        "Claude 3 Haiku",
        "Claude3Haiku-input-tokens",
        "On-demand Inference",
        "Input tokens",
        "1K tokens",
        "0.0002500000",
    ),
    (
        "eu-west-1",
        "Claude 3 Haiku",
        "Claude3Haiku-output-tokens",
        "On-demand Inference",
        "Output tokens",
        "1K tokens",
        "0.0012500000",
    ),
    (
        "eu-west-1",
        "Claude 3 Haiku",
        "Claude3Haiku-input-tokens-batch",
        "Batch Inference",
        "Input tokens",
        "1K tokens",
        "0.0001250000",
    ),
    (
        "eu-west-1",
        "Claude 3 Haiku",
        "Claude3Haiku-output-tokens-batch",
        "Batch Inference",
        "Output tokens",
        "1K tokens",
        "0.0006250000",
    ),
];

/// `POST /` with an `AWSPriceListService.*` target.
pub async fn dispatch(app: Scoped, headers: HeaderMap, raw: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let result = match target.strip_prefix(TARGET_PREFIX) {
        Some("GetProducts") => get_products(&app, &raw).await,
        _ => Err(ApiError::new(
            "UnknownOperationException",
            StatusCode::BAD_REQUEST,
            format!("The emulator does not implement {target:?}"),
        )),
    };
    match result {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(e) => error_response(e),
    }
}

async fn get_products(app: &Scoped, raw: &[u8]) -> ApiResult<Value> {
    app.enter_sts(&app.scope, "GetProducts").await?;
    let body: Value = serde_json::from_slice(raw)
        .map_err(|e| invalid(format!("The request body is not JSON: {e}")))?;
    let service = body["ServiceCode"]
        .as_str()
        .ok_or_else(|| invalid("ServiceCode is required"))?;
    if body["FormatVersion"]
        .as_str()
        .is_some_and(|v| v != "aws_v1")
    {
        return Err(invalid("FormatVersion must be aws_v1"));
    }
    if service != "AmazonBedrock" {
        return Err(ApiError::new(
            "NotFoundException",
            StatusCode::BAD_REQUEST,
            format!("Service code {service} is not served by this stand-in"),
        ));
    }
    let filters = term_matches(&body["Filters"])?;
    let max = body["MaxResults"].as_u64().unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(invalid("MaxResults must be between 1 and 100"));
    }
    let start: usize = match body["NextToken"].as_str() {
        Some(token) => token.parse().map_err(|_| {
            ApiError::new(
                "InvalidNextTokenException",
                StatusCode::BAD_REQUEST,
                "bad NextToken",
            )
        })?,
        None => 0,
    };
    let matching: Vec<Value> = ROWS
        .iter()
        .map(record)
        .filter(|r| matches(r, &filters))
        .collect();
    let end = (start + max as usize).min(matching.len());
    let page: Vec<String> = matching[start.min(end)..end]
        .iter()
        .map(Value::to_string)
        .collect();
    let next = (end < matching.len()).then(|| end.to_string());
    Ok(json!({"FormatVersion": "aws_v1", "PriceList": page, "NextToken": next}))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(
        "InvalidParameterException",
        StatusCode::BAD_REQUEST,
        message,
    )
}

/// The `TERM_MATCH` filters as (field, value); other types are refused as unsupported here.
fn term_matches(filters: &Value) -> ApiResult<Vec<(String, String)>> {
    let Some(filters) = filters.as_array() else {
        return Ok(Vec::new());
    };
    filters
        .iter()
        .map(
            |f| match (f["Type"].as_str(), f["Field"].as_str(), f["Value"].as_str()) {
                (Some("TERM_MATCH"), Some(field), Some(value)) => Ok((field.into(), value.into())),
                (Some(_), Some(_), Some(_)) => {
                    Err(invalid("the stand-in implements TERM_MATCH only"))
                }
                _ => Err(invalid("a Filter needs Type, Field and Value")),
            },
        )
        .collect()
}

fn matches(record: &Value, filters: &[(String, String)]) -> bool {
    let attributes = &record["product"]["attributes"];
    filters.iter().all(|(field, value)| {
        let have = match field.as_str() {
            "ServiceCode" => record["serviceCode"].as_str(),
            name => attributes[name].as_str(),
        };
        have == Some(value.as_str())
    })
}

/// One record in the real shape: product, attributes, and the on-demand term with one price
/// dimension under map keys built from the SKU (a deterministic one here).
fn record(row: &Row) -> Value {
    let (region, model, usage, feature, inference, unit, usd) = *row;
    let prefix = match region {
        "us-east-1" => "USE1",
        "eu-west-1" => "EUW1",
        _ => "XXX1",
    };
    let usagetype = format!("{prefix}-{usage}");
    let sku = sku(&usagetype);
    let (term, rate) = (
        format!("{sku}.JRTCKXETXF"),
        format!("{sku}.JRTCKXETXF.6YS6EN2CT7"),
    );
    json!({
        "product": {"productFamily": null, "attributes": {
            "regionCode": region, "inferenceType": inference, "servicecode": "AmazonBedrock",
            "feature": feature, "usagetype": usagetype, "locationType": "AWS Region",
            "location": location(region), "model": model, "servicename": "Amazon Bedrock",
            "operation": ""}, "sku": sku},
        "serviceCode": "AmazonBedrock",
        "terms": {"OnDemand": {term.clone(): {
            "priceDimensions": {rate.clone(): {
                "unit": unit, "endRange": "Inf", "beginRange": "0", "appliesTo": [],
                "description": format!("${usd} per {unit} for {usage} in {}", location(region)),
                "rateCode": rate, "pricePerUnit": {"USD": usd}}},
            "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z", "offerTermCode": "JRTCKXETXF",
            "termAttributes": {}}}},
        "version": "20261120183000",
        "publicationDate": PUBLISHED,
    })
}

fn location(region: &str) -> &'static str {
    match region {
        "us-east-1" => "US East (N. Virginia)",
        "eu-west-1" => "EU (Ireland)",
        _ => "Unknown",
    }
}

/// A 16-character upper-case SKU derived from the usage type (stable across runs).
fn sku(usagetype: &str) -> String {
    let mut h: u64 = 1469598103934665603;
    for b in usagetype.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(1099511628211);
    }
    (0..16)
        .map(|i| {
            let d = ((h >> (i * 4)) & 0xF) as u8;
            (if d < 10 { b'0' + d } else { b'A' + d - 10 }) as char
        })
        .collect()
}
