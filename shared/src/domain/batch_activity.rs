//! What CloudWatch's `AWS/Bedrock/Batch` metrics say about a model's batch work, and what that
//! makes of a batch job whose processed count has not moved: the aws-samples "batch inference
//! with SLA" stall rule (records pending and no tokens processed, for the whole threshold), as
//! a pure function. The metrics are per model and per account (dimension `ModelId`), not per
//! job: tokens processed for the model may be another job's, so they clear a stall rather than
//! prove progress.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One model's batch metrics over a window (the stall threshold), as the reader found them.
/// Whole numbers: the item that keeps them is compared for equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelActivity {
    /// `NumberOfRecordsPendingProcessing`, the newest 5-minute average (`None`: no datapoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_pending: Option<i64>,
    /// `NumberOfTokensPendingProcessing` (published for some models only, e.g. Anthropic's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_pending: Option<i64>,
    /// The highest 5-minute average of `NumberOfInputTokensProcessedPerMinute` in the window
    /// (`None`: no datapoint at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_per_minute: Option<i64>,
    /// The same for `NumberOfOutputTokensProcessedPerMinute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_minute: Option<i64>,
    /// The window read, in minutes (the stall threshold, capped: [`window_minutes`]).
    pub window_minutes: u32,
    /// When the run read them.
    pub read_at: DateTime<Utc>,
}

/// What the metrics make of a job whose count did not move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The model processed tokens in the window: not called stalled (the anchors' alarm does
    /// not fire either).
    Processing,
    /// Records pending and no tokens processed for the whole window: stalled, with evidence.
    Stalled,
    /// No datapoints, or nothing pending and nothing processed: the count-based rule decides.
    Unknown,
}

impl ModelActivity {
    pub fn verdict(&self) -> Verdict {
        let processed = [self.input_tokens_per_minute, self.output_tokens_per_minute];
        if processed.iter().flatten().any(|&t| t > 0) {
            return Verdict::Processing;
        }
        let idle = processed.iter().any(Option::is_some);
        match self.records_pending {
            Some(pending) if pending > 0 && idle => Verdict::Stalled,
            _ => Verdict::Unknown,
        }
    }
}

/// The batch metrics of the models a run asked about (a model without any datapoint is absent).
pub type Activities = std::collections::BTreeMap<String, ModelActivity>;

/// The longest window read: 12 hours of 5-minute periods keeps 100 models x 4 metrics within
/// GetMetricData's 100 800 datapoints per call.
pub const MAX_WINDOW_MINUTES: u32 = 12 * 60;

/// The window a stall threshold is checked over: the threshold itself, 5 minutes at least,
/// [`MAX_WINDOW_MINUTES`] at most.
pub fn window_minutes(stalled_after: chrono::Duration) -> u32 {
    let minutes = stalled_after
        .num_minutes()
        .clamp(5, MAX_WINDOW_MINUTES.into());
    u32::try_from(minutes).unwrap_or(MAX_WINDOW_MINUTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(pending: Option<i64>, input: Option<i64>, output: Option<i64>) -> ModelActivity {
        ModelActivity {
            records_pending: pending,
            tokens_pending: None,
            input_tokens_per_minute: input,
            output_tokens_per_minute: output,
            window_minutes: 120,
            read_at: DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    #[test]
    fn tokens_processed_clear_a_stall_and_pending_records_without_tokens_confirm_it() {
        let cases = [
            (
                activity(Some(500), Some(1200), Some(0)),
                Verdict::Processing,
            ),
            (activity(Some(500), Some(0), Some(30)), Verdict::Processing),
            (activity(Some(500), Some(0), Some(0)), Verdict::Stalled),
            (activity(Some(500), Some(0), None), Verdict::Stalled),
            (activity(Some(0), Some(0), Some(0)), Verdict::Unknown),
            (activity(Some(500), None, None), Verdict::Unknown),
            (activity(None, Some(0), Some(0)), Verdict::Unknown),
        ];
        for (a, want) in cases {
            assert_eq!(a.verdict(), want, "{a:?}");
        }
    }

    #[test]
    fn the_window_is_the_threshold_within_bounds() {
        assert_eq!(window_minutes(chrono::Duration::hours(2)), 120);
        assert_eq!(window_minutes(chrono::Duration::minutes(1)), 5);
        assert_eq!(
            window_minutes(chrono::Duration::days(3)),
            MAX_WINDOW_MINUTES
        );
    }
}
