//! When provisioned throughputs were last invoked: `cloudwatch:GetMetricData` on `AWS/Bedrock`
//! `Invocations`, dimension `ModelId` (the id a caller invokes with, for a provisioned
//! throughput its ARN; Bedrock user guide, "Monitor bedrock-runtime inference using CloudWatch
//! metrics"). One query per throughput, up to 500 in one call (GetMetricData's limit), hourly
//! sums newest first: the first non-zero sum dates the last invocation to its hour.

use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat, ScanBy,
};
use aws_sdk_cloudwatch::Client;
use chrono::{DateTime, Duration, Utc};

use super::sdk::{sdk_retryable, sdk_source, Calls};
use crate::error::Error;
use crate::ports::{BoxFuture, InvocationMetrics, LastInvocations};

/// GetMetricData's limit on queries per request.
pub const MAX_QUERIES: usize = 500;
const NAMESPACE: &str = "AWS/Bedrock";
const METRIC: &str = "Invocations";
const DIMENSION: &str = "ModelId";
const PERIOD_SECONDS: i32 = 3600;

pub struct CloudWatchInvocations {
    client: Client,
    calls: Calls,
}

impl CloudWatchInvocations {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }

    /// One chunk of at most [`MAX_QUERIES`] throughputs, every page of it.
    async fn chunk(
        &self,
        arns: &[String],
        now: DateTime<Utc>,
        window: Duration,
        out: &mut LastInvocations,
    ) -> Result<(), Error> {
        let queries: Vec<MetricDataQuery> = arns.iter().enumerate().map(query).collect();
        let results = metric_data(&self.client, &self.calls, queries, now - window, now).await?;
        for result in &results {
            let Some(arn) = result.id().and_then(index).and_then(|i| arns.get(i)) else {
                continue;
            };
            let last = last_used(result.timestamps(), result.values());
            let slot = out.entry(arn.clone()).or_insert(None);
            *slot = (*slot).max(last);
        }
        Ok(())
    }
}

/// Every page of one `GetMetricData` request over `[start, end]`, newest first, each page
/// counted in `calls`: the results as CloudWatch returns them (a query's series may span
/// pages). Both CloudWatch readers (idle throughputs, batch stalls) read through it.
pub(crate) async fn metric_data(
    client: &Client,
    calls: &Calls,
    queries: Vec<MetricDataQuery>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<MetricDataResult>, Error> {
    let mut results = Vec::new();
    let mut token: Option<String> = None;
    loop {
        calls.add(1);
        let page = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(AwsDateTime::from_secs(start.timestamp()))
            .end_time(AwsDateTime::from_secs(end.timestamp()))
            .scan_by(ScanBy::TimestampDescending)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Error::Metrics {
                operation: "GetMetricData",
                retryable: sdk_retryable(&e),
                source: sdk_source(e),
            })?;
        results.extend(page.metric_data_results().iter().cloned());
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(results),
        }
    }
}

/// The query for the `i`th throughput (`m{i}`: ids must start with a lower-case letter).
fn query((i, arn): (usize, &String)) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(NAMESPACE)
        .metric_name(METRIC)
        .dimensions(Dimension::builder().name(DIMENSION).value(arn).build())
        .build();
    MetricDataQuery::builder()
        .id(format!("m{i}"))
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(PERIOD_SECONDS)
                .stat("Sum")
                .build(),
        )
        .return_data(true)
        .build()
}

fn index(id: &str) -> Option<usize> {
    id.strip_prefix('m')?.parse().ok()
}

/// The newest period with a non-zero sum (whatever order the points came in).
fn last_used(timestamps: &[AwsDateTime], values: &[f64]) -> Option<DateTime<Utc>> {
    timestamps
        .iter()
        .zip(values)
        .filter(|(_, v)| **v > 0.0)
        .filter_map(|(t, _)| DateTime::from_timestamp(t.secs(), 0))
        .max()
}

impl InvocationMetrics for CloudWatchInvocations {
    fn last_invocations<'a>(
        &'a self,
        model_arns: &'a [String],
        now: DateTime<Utc>,
        window: Duration,
    ) -> BoxFuture<'a, Result<LastInvocations, Error>> {
        Box::pin(async move {
            let mut out: LastInvocations =
                model_arns.iter().map(|arn| (arn.clone(), None)).collect();
            for arns in model_arns.chunks(MAX_QUERIES) {
                self.chunk(arns, now, window, &mut out).await?;
            }
            Ok(out)
        })
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_use_is_the_newest_non_zero_period() {
        let t = |s| AwsDateTime::from_secs(s);
        let used = last_used(&[t(7200), t(3600), t(10800)], &[2.0, 1.0, 0.0]);
        assert_eq!(used, DateTime::from_timestamp(7200, 0));
        assert_eq!(last_used(&[t(3600)], &[0.0]), None);
        assert_eq!(index("m12"), Some(12));
        assert_eq!(index("x1"), None);
    }
}
