//! Batch inference activity per model: `cloudwatch:GetMetricData` on `AWS/Bedrock/Batch`, the
//! metrics Bedrock publishes at account level for batch jobs, dimension `ModelId` (the AWS ML
//! blog "Monitor Amazon Bedrock batch inference using Amazon CloudWatch metrics", Sept 2025):
//! `NumberOfRecordsPendingProcessing`, `NumberOfTokensPendingProcessing` (some models only),
//! `NumberOfInputTokensProcessedPerMinute`, `NumberOfOutputTokensProcessedPerMinute`. Read as
//! the aws-samples "batch inference with SLA" alarm reads them: 5-minute averages over the
//! stall threshold. Four queries per model, 100 models (400 queries) per call.

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat};
use aws_sdk_cloudwatch::Client;
use chrono::{DateTime, Duration, Utc};

use super::cloudwatch::metric_data;
use super::sdk::Calls;
use crate::domain::batch_activity::{Activities, ModelActivity};
use crate::error::Error;
use crate::ports::{BatchActivity, BoxFuture};

const NAMESPACE: &str = "AWS/Bedrock/Batch";
const DIMENSION: &str = "ModelId";
const PERIOD_SECONDS: i32 = 300;
/// Models per call: 4 queries each within GetMetricData's 500.
pub const MODELS_PER_CALL: usize = 100;

/// The metrics read per model, and the query id prefix of each.
const METRICS: [(char, &str); 4] = [
    ('p', "NumberOfRecordsPendingProcessing"),
    ('k', "NumberOfTokensPendingProcessing"),
    ('i', "NumberOfInputTokensProcessedPerMinute"),
    ('o', "NumberOfOutputTokensProcessedPerMinute"),
];

pub struct CloudWatchBatchActivity {
    client: Client,
    calls: Calls,
}

impl CloudWatchBatchActivity {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }

    /// The reader of the scope `sdk` is configured for (a member account's role, a region).
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(sdk))
    }

    /// One call (every page of it) for at most [`MODELS_PER_CALL`] models.
    async fn chunk(
        &self,
        models: &[String],
        now: DateTime<Utc>,
        window_minutes: u32,
        out: &mut Activities,
    ) -> Result<(), Error> {
        let queries: Vec<MetricDataQuery> = models.iter().enumerate().flat_map(queries).collect();
        let start = now - Duration::minutes(window_minutes.into());
        let results = metric_data(&self.client, &self.calls, queries, start, now).await?;
        for (i, model) in models.iter().enumerate() {
            let found = |prefix: char| series(&results, &format!("{prefix}{i}"));
            if let Some(activity) = fold(found, window_minutes, now) {
                out.insert(model.clone(), activity);
            }
        }
        Ok(())
    }
}

/// The four queries of the `i`th model (ids: a lower-case letter and the index).
fn queries((i, model): (usize, &String)) -> Vec<MetricDataQuery> {
    METRICS
        .iter()
        .map(|(prefix, name)| {
            let metric = Metric::builder()
                .namespace(NAMESPACE)
                .metric_name(*name)
                .dimensions(Dimension::builder().name(DIMENSION).value(model).build())
                .build();
            MetricDataQuery::builder()
                .id(format!("{prefix}{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(PERIOD_SECONDS)
                        .stat("Average")
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect()
}

/// A query's datapoints, newest first (whatever order the pages gave them in).
fn series(results: &[MetricDataResult], id: &str) -> Vec<(i64, f64)> {
    let mut points: Vec<(i64, f64)> = results
        .iter()
        .filter(|r| r.id() == Some(id))
        .flat_map(|r| {
            r.timestamps()
                .iter()
                .map(|t| t.secs())
                .zip(r.values().iter().copied())
        })
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.0));
    points
}

/// One model's activity from its series (`None`: not one datapoint).
fn fold(
    series: impl Fn(char) -> Vec<(i64, f64)>,
    window_minutes: u32,
    now: DateTime<Utc>,
) -> Option<ModelActivity> {
    let newest = |prefix| series(prefix).first().map(|(_, v)| v.round() as i64);
    let highest = |prefix| series(prefix).iter().map(|(_, v)| v.round() as i64).max();
    let activity = ModelActivity {
        records_pending: newest('p'),
        tokens_pending: newest('k'),
        input_tokens_per_minute: highest('i'),
        output_tokens_per_minute: highest('o'),
        window_minutes,
        read_at: now,
    };
    let any = [
        activity.records_pending,
        activity.tokens_pending,
        activity.input_tokens_per_minute,
        activity.output_tokens_per_minute,
    ]
    .iter()
    .any(Option::is_some);
    any.then_some(activity)
}

impl BatchActivity for CloudWatchBatchActivity {
    fn activity<'a>(
        &'a self,
        model_ids: &'a [String],
        now: DateTime<Utc>,
        window_minutes: u32,
    ) -> BoxFuture<'a, Result<Activities, Error>> {
        Box::pin(async move {
            let mut out = Activities::new();
            for models in model_ids.chunks(MODELS_PER_CALL) {
                self.chunk(models, now, window_minutes, &mut out).await?;
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
    fn the_newest_pending_and_the_highest_rate_make_a_models_activity() {
        let now = DateTime::from_timestamp(10_000, 0).unwrap();
        let series = |prefix| match prefix {
            'p' => vec![(9_900, 40.0), (9_600, 55.0)],
            'i' => vec![(9_900, 0.0), (9_600, 812.4)],
            _ => vec![],
        };
        let a = fold(series, 120, now).unwrap();
        assert_eq!(a.records_pending, Some(40));
        assert_eq!(a.input_tokens_per_minute, Some(812));
        assert_eq!((a.tokens_pending, a.output_tokens_per_minute), (None, None));
        assert_eq!(fold(|_| vec![], 120, now), None);
        assert_eq!(queries((3, &"m".to_owned()))[0].id(), Some("p3"));
    }
}
