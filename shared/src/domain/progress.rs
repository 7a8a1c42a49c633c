//! Progress and an estimated end for running jobs with a processed count: the last few
//! observations a job's item keeps, the rate they show and when the job would finish at that
//! rate. Pure: the observations come from counts the runs already list (no extra Bedrock call).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::RecordCounts;

/// Observations kept per job: enough to smooth a bumpy count over a few hours of writes (a
/// moving count is written at most every quarter of the stall threshold), small in the item.
pub const OBSERVATIONS_KEPT: usize = 6;

/// A rate needs observations at least this far apart: two counts a minute apart say little.
pub fn min_span() -> Duration {
    Duration::minutes(10)
}

/// One processed count and when a run saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub at: DateTime<Utc>,
    pub processed: i64,
}

/// Running jobs a run reports in the optional progress metrics (`PROGRESS_METRICS`): each is
/// a metric series of its own while it runs, so a run reports at most this many (the first it
/// settles), and the EMF limit of 100 documents' worth stays far.
pub const MAX_PROGRESS_JOBS: usize = 100;

/// A running job's progress at a run, as the optional per-job metrics give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobProgress {
    /// The job's id (the end of its ARN): ASCII, unlike its name, so a safe dimension value.
    pub job_id: String,
    pub remaining: i64,
    /// Rounded to whole records.
    pub records_per_hour: u64,
    /// From the run to the projected end (`None`: a zero rate projects no end).
    pub seconds_to_end: Option<i64>,
}

impl JobProgress {
    /// The progress `estimate` shows at `now`.
    pub fn at(job_id: String, estimate: &Estimate, now: DateTime<Utc>) -> Self {
        Self {
            job_id,
            remaining: estimate.remaining,
            records_per_hour: estimate.records_per_hour.max(0.0).round() as u64,
            seconds_to_end: estimate.end.map(|end| (end - now).num_seconds()),
        }
    }
}

/// What a rate was measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Basis {
    /// The job's own observations (at least two, [`min_span`] apart).
    Observed,
    /// One observation only: its count over the time since submission (queue time included,
    /// so the rate is low and the end late: it errs towards warning).
    SinceSubmit,
}

/// A running job's rate and the end it projects.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub records_per_hour: f64,
    /// Records not yet processed (`total - processed`).
    pub remaining: i64,
    /// When the job would finish at this rate; `None` while the rate is zero.
    pub end: Option<DateTime<Utc>>,
    pub basis: Basis,
    /// The observation the end is projected from (the last time the count was recorded).
    pub as_of: DateTime<Utc>,
}

impl Estimate {
    /// Whether the projected end falls after `deadline` (a zero rate never finishes).
    pub fn misses(&self, deadline: DateTime<Utc>) -> bool {
        self.end.is_none_or(|end| end > deadline)
    }
}

/// Appends `observed` to `history` (the oldest dropped beyond [`OBSERVATIONS_KEPT`]); a count
/// that went down (a job re-run, a corrected count) starts the history again.
pub fn observe(history: &mut Vec<Observation>, observed: Observation) {
    if history
        .last()
        .is_some_and(|last| observed.processed < last.processed || observed.at < last.at)
    {
        history.clear();
    }
    history.push(observed);
    if history.len() > OBSERVATIONS_KEPT {
        history.remove(0);
    }
}

/// The rate and projected end of a job with `counts`, from its `history`, else from its last
/// observation since `submitted`. `None` without a total, an observation, or a measurable span.
pub fn estimate(
    counts: &RecordCounts,
    history: &[Observation],
    submitted: DateTime<Utc>,
) -> Option<Estimate> {
    let total = counts.total?;
    let last = *history.last()?;
    let first = history
        .first()
        .copied()
        .filter(|f| last.at - f.at >= min_span());
    let (from, basis) = match first {
        Some(first) => (first, Basis::Observed),
        None => (
            Observation {
                at: submitted,
                processed: 0,
            },
            Basis::SinceSubmit,
        ),
    };
    let span = last.at - from.at;
    if span < min_span() {
        return None;
    }
    let per_hour = (last.processed - from.processed) as f64 * 3600.0 / span.num_seconds() as f64;
    let remaining = (total - last.processed).max(0);
    Some(Estimate {
        records_per_hour: per_hour,
        remaining,
        end: project(last.at, remaining, per_hour),
        basis,
        as_of: last.at,
    })
}

/// `from` plus the time `remaining` records take at `per_hour` (`None` at a zero rate).
fn project(from: DateTime<Utc>, remaining: i64, per_hour: f64) -> Option<DateTime<Utc>> {
    if remaining == 0 {
        return Some(from);
    }
    (per_hour > 0.0).then(|| {
        let seconds = (remaining as f64 / per_hour * 3600.0).min(1e10);
        from + Duration::seconds(seconds.ceil() as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minutes)
    }

    fn counts(processed: i64, total: i64) -> RecordCounts {
        RecordCounts {
            total: Some(total),
            processed: Some(processed),
            ..RecordCounts::default()
        }
    }

    fn history(points: &[(i64, i64)]) -> Vec<Observation> {
        let mut h = Vec::new();
        for &(minute, processed) in points {
            observe(
                &mut h,
                Observation {
                    at: at(minute),
                    processed,
                },
            );
        }
        h
    }

    #[test]
    fn two_observations_an_hour_apart_give_the_rate_and_the_end_it_projects() {
        let h = history(&[(60, 100), (120, 300)]);
        let e = estimate(&counts(300, 1000), &h, at(0)).unwrap();
        assert_eq!(e.basis, Basis::Observed);
        assert!((e.records_per_hour - 200.0).abs() < 1e-9);
        assert_eq!(e.remaining, 700);
        assert_eq!(e.end, Some(at(120 + 210)));
        assert_eq!(e.as_of, at(120));
    }

    #[test]
    fn one_observation_measures_from_submission() {
        let h = history(&[(120, 200)]);
        let e = estimate(&counts(200, 1000), &h, at(0)).unwrap();
        assert_eq!(e.basis, Basis::SinceSubmit);
        assert!((e.records_per_hour - 100.0).abs() < 1e-9);
        assert_eq!(e.end, Some(at(120 + 480)));
    }

    #[test]
    fn observations_too_close_together_fall_back_to_the_time_since_submission() {
        let h = history(&[(115, 150), (120, 200)]);
        let e = estimate(&counts(200, 1000), &h, at(0)).unwrap();
        assert_eq!(e.basis, Basis::SinceSubmit);
    }

    #[test]
    fn no_total_no_count_or_no_span_is_no_estimate() {
        let h = history(&[(60, 100), (120, 300)]);
        let no_total = RecordCounts {
            processed: Some(300),
            ..RecordCounts::default()
        };
        assert_eq!(estimate(&no_total, &h, at(0)), None);
        assert_eq!(estimate(&counts(0, 1000), &[], at(0)), None);
        assert_eq!(estimate(&counts(5, 1000), &history(&[(3, 5)]), at(0)), None);
    }

    #[test]
    fn a_flat_count_has_a_zero_rate_and_no_end() {
        let h = history(&[(60, 300), (180, 300)]);
        let e = estimate(&counts(300, 1000), &h, at(0)).unwrap();
        assert_eq!((e.records_per_hour, e.end), (0.0, None));
        assert!(e.misses(at(10_000)));
    }

    #[test]
    fn a_finished_count_ends_at_its_last_observation() {
        let h = history(&[(60, 500), (120, 1000)]);
        let e = estimate(&counts(1000, 1000), &h, at(0)).unwrap();
        assert_eq!((e.remaining, e.end), (0, Some(at(120))));
    }

    #[test]
    fn misses_compares_the_projected_end_with_the_deadline() {
        let h = history(&[(60, 100), (120, 300)]);
        let e = estimate(&counts(300, 1000), &h, at(0)).unwrap();
        assert!(!e.misses(at(400)));
        assert!(e.misses(at(300)));
    }

    #[test]
    fn history_keeps_the_newest_few_and_restarts_when_the_count_goes_down() {
        let h = history(&[
            (10, 1),
            (20, 2),
            (30, 3),
            (40, 4),
            (50, 5),
            (60, 6),
            (70, 7),
        ]);
        assert_eq!(h.len(), OBSERVATIONS_KEPT);
        assert_eq!(h[0].processed, 2);
        let h = history(&[(10, 50), (20, 60), (30, 5)]);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].processed, 5);
    }
}
