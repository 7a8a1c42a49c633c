//! Idle provisioned throughput (issue 34, point 4): a resource in service that nobody invokes
//! costs its owner every hour in silence. Pure: the last invocation comes from CloudWatch
//! (`AWS/Bedrock` `Invocations`, dimension `ModelId` = the provisioned model's ARN, the id it is
//! invoked with), read by an adapter with one `GetMetricData` call per run and scope for all
//! in-service throughputs; this module only decides whether an `idle` alert is due and how its
//! hourly cost reads.

use chrono::{DateTime, Duration, Utc};

use super::cost::{usd, CostEstimate, PriceOrigin};

/// `ALERT_IDLE_AFTER` (hours, default 24): no invocation for this long is `idle`. An idle
/// alert is repeated at most once per [`IdleSettings::repeat`] while it stays idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleSettings {
    pub after: Duration,
    pub repeat: Duration,
}

impl Default for IdleSettings {
    fn default() -> Self {
        Self {
            after: Duration::hours(24),
            repeat: Duration::hours(24),
        }
    }
}

/// An idle stretch worth an alert: since when nobody invoked it, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Idle {
    pub since: DateTime<Utc>,
    pub idle_for: Duration,
}

/// What the rule reads: when the resource went into service (its last settling), its last
/// invocation seen in the metric window (`None`: none in the window), the last idle alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleInputs {
    pub in_service_since: DateTime<Utc>,
    pub last_invocation: Option<DateTime<Utc>>,
    pub last_alert: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// The `idle` alert due now, if any: idle for at least `after`, and no idle alert for this
/// stretch within `repeat`. An invocation after the last alert starts a new stretch, so a used
/// throughput is quiet until it is idle for `after` again; a deleted one is never listed, so
/// never judged.
pub fn idle_due(inputs: &IdleInputs, settings: &IdleSettings) -> Option<Idle> {
    let since = inputs
        .last_invocation
        .map_or(inputs.in_service_since, |at| {
            at.max(inputs.in_service_since)
        });
    let idle_for = inputs.now - since;
    if idle_for < settings.after {
        return None;
    }
    let told_recently = inputs
        .last_alert
        .is_some_and(|at| at >= since && inputs.now - at < settings.repeat);
    (!told_recently).then_some(Idle { since, idle_for })
}

/// A throughput's hourly cost: `model_units` x the price of one model unit per hour for its
/// commitment (`None` without a price: the alert then says the hourly cost is unknown).
pub fn hourly_cost(
    model_units: i64,
    unit_hour_usd: f64,
    commitment: &str,
    origin: PriceOrigin,
    as_of: &str,
) -> CostEstimate {
    let total = model_units.max(0) as f64 * unit_hour_usd;
    CostEstimate {
        micro_usd: (total * 1e6).round() as i64,
        origin,
        as_of: as_of.to_string(),
        basis: format!(
            "per hour: {model_units} model units x {} per unit-hour, {commitment} commitment",
            usd(unit_hour_usd)
        ),
        fallback: None,
        over_micro_usd: None,
    }
}

/// The idle alert's cost sentence, e.g. `It costs ≈ $42.36 (estimate; ...) while it exists.`
pub fn cost_sentence(hourly: Option<&CostEstimate>) -> String {
    match hourly {
        Some(cost) => format!("It costs {} while it exists.", cost.describe()),
        None => "Hourly cost unknown (no price for its model and commitment).".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::hours(hours)
    }

    fn inputs(now: i64, last_invocation: Option<i64>, last_alert: Option<i64>) -> IdleInputs {
        IdleInputs {
            in_service_since: at(0),
            last_invocation: last_invocation.map(at),
            last_alert: last_alert.map(at),
            now: at(now),
        }
    }

    #[test]
    fn unused_throughput_is_idle_once_past_the_threshold() {
        let settings = IdleSettings::default();
        assert_eq!(idle_due(&inputs(23, None, None), &settings), None);
        assert_eq!(
            idle_due(&inputs(24, None, None), &settings),
            Some(Idle {
                since: at(0),
                idle_for: Duration::hours(24)
            })
        );
    }

    #[test]
    fn idle_alert_is_repeated_at_most_once_a_day() {
        let settings = IdleSettings::default();
        assert_eq!(idle_due(&inputs(30, None, Some(24)), &settings), None);
        assert_eq!(idle_due(&inputs(47, None, Some(24)), &settings), None);
        assert!(idle_due(&inputs(48, None, Some(24)), &settings).is_some());
    }

    #[test]
    fn an_invocation_silences_it_until_idle_again() {
        let settings = IdleSettings::default();
        // Alerted at 24h, invoked at 30h: quiet until 54h, whatever the last alert's date.
        assert_eq!(idle_due(&inputs(50, Some(30), Some(24)), &settings), None);
        let again = idle_due(&inputs(54, Some(30), Some(24)), &settings).unwrap();
        assert_eq!(again.since, at(30));
        // An invocation dated before it went into service (an update) counts from the update.
        let updated = IdleInputs {
            in_service_since: at(10),
            ..inputs(33, Some(2), None)
        };
        assert_eq!(idle_due(&updated, &settings), None);
    }

    #[test]
    fn hourly_cost_is_units_times_unit_price_labelled_as_an_estimate() {
        let cost = hourly_cost(2, 21.18, "OneMonth", PriceOrigin::Shipped, "2026-12-01");
        assert_eq!(
            cost_sentence(Some(&cost)),
            "It costs ≈ $42.36 (estimate; price file shipped with bedrock-jobwatch, dated 2026-12-01, per hour: 2 model units x $21.18 per unit-hour, OneMonth commitment) while it exists."
        );
        assert_eq!(
            cost_sentence(None),
            "Hourly cost unknown (no price for its model and commitment)."
        );
    }
}
