//! Idle provisioned throughput (issue 34, point 4): a resource in service that nobody invokes
//! costs its owner every hour in silence. Pure: the last invocation comes from CloudWatch
//! (`AWS/Bedrock` `Invocations`, dimension `ModelId` = the provisioned model's ARN, the id it is
//! invoked with), read by an adapter with one `GetMetricData` call per run and scope for all
//! in-service throughputs; this module only decides whether an `idle` alert is due and how its
//! hourly cost reads.

use chrono::{DateTime, Duration, Utc};

use super::cost::{usd, CostEstimate, PriceOrigin, UnitHourPrice};

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

impl IdleSettings {
    /// How far back the invocations are read: the threshold and one repeat, plus the hour a
    /// period may straddle, so that a throughput alerted yesterday still has its last use in
    /// view (hourly sums: 49 points per throughput by default, 24 500 for 500, within
    /// GetMetricData's 100 800).
    pub fn window(&self) -> Duration {
        self.after + self.repeat + Duration::hours(1)
    }
}

pub use super::record::IdleState;

/// Whether an in-service resource is due an `idle` alert now, and the state to store if so.
/// `last_invocation`: the newest use CloudWatch showed in [`IdleSettings::window`]; without
/// one, the stretch last alerted still runs (if it began in this service cycle), else the
/// resource has been idle since it went into service.
pub fn judge(
    in_service_since: DateTime<Utc>,
    last_invocation: Option<DateTime<Utc>>,
    stored: Option<&IdleState>,
    now: DateTime<Utc>,
    settings: &IdleSettings,
) -> Option<IdleState> {
    let known = stored.filter(|s| s.since >= in_service_since);
    let last_invocation = last_invocation.or(known.map(|s| s.since));
    let inputs = IdleInputs {
        in_service_since,
        last_invocation,
        last_alert: stored.map(|s| s.alerted_at),
        now,
    };
    let idle = idle_due(&inputs, settings)?;
    Some(IdleState {
        in_service_since,
        since: idle.since,
        alerted_at: now,
    })
}

/// When a resource in service went into service: its settling's date (the family's cycle
/// detail, `lastModifiedTime`), else its creation.
pub fn in_service_since(job: &super::ObservedJob) -> DateTime<Utc> {
    job.kind
        .family()
        .cycle_of(&job.details)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(job.submit_time, |t| t.with_timezone(&Utc))
}

/// What holding an idle alert needs of the run.
#[derive(Debug, Clone)]
pub struct IdleRun<'a> {
    pub now: DateTime<Utc>,
    pub settings: &'a IdleSettings,
    /// The run's lease on the notice it holds.
    pub lease: super::Lease,
    pub retention: Duration,
}

/// The write that holds an `idle` alert on `known` (the resource's item, in the status the
/// listing shows) when one is due: the stretch and day in `idle`, the alert pending under the
/// run's lease, and the item watched until it is sent. `None`: not due, or a notice is
/// already pending (its run, or the next one, delivers it first).
pub fn plan_idle(
    known: &super::JobRecord,
    observed: &super::ObservedJob,
    last_invocation: Option<DateTime<Utc>>,
    run: &IdleRun,
) -> Option<super::Change> {
    let pending = known.pending_status.is_some() || known.pending_alert.is_some();
    if pending || known.retired || known.status != observed.status {
        return None;
    }
    let since = in_service_since(observed);
    let state = judge(
        since,
        last_invocation,
        known.idle.as_ref(),
        run.now,
        run.settings,
    )?;
    let mut record = known.clone();
    record.idle = Some(state);
    record.pending_alert = Some(super::AlertKind::Idle);
    record.set_lease(Some(run.lease.clone()));
    record.version += 1;
    record.updated_at = run.now;
    record.refresh_derived(run.now, run.retention);
    Some(super::Change {
        record,
        expected_version: Some(known.version),
        notify: true,
        transition: false,
    })
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

/// [`hourly_cost`] from a looked-up price, keeping why a fallback source was used.
pub fn hourly_estimate(model_units: i64, price: &UnitHourPrice, commitment: &str) -> CostEstimate {
    CostEstimate {
        fallback: price.fallback.clone(),
        ..hourly_cost(
            model_units,
            price.usd,
            commitment,
            price.origin,
            &price.as_of,
        )
    }
}

/// The ready notice's sentence: `It costs about $110.00 per hour while it exists (estimate; ...).`
pub fn ready_sentence(cost: &CostEstimate) -> String {
    let described = cost.describe();
    // `describe` reads `≈ $X (estimate; ...)`: the sentence keeps the parenthesis.
    let detail = described.find(" (").map_or("", |i| &described[i..]);
    format!(
        "It costs about {} per hour while it exists{detail}.",
        usd(cost.usd())
    )
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
    use crate::domain::AlertKind;

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
    fn judged_once_per_stretch_and_day_and_silenced_by_a_use() {
        let settings = IdleSettings::default();
        let first = judge(at(0), None, None, at(25), &settings).expect("idle for 25h");
        assert_eq!((first.since, first.alerted_at), (at(0), at(25)));
        // The same day, again (another run, or an overlapping one that read the state): none.
        assert_eq!(judge(at(0), None, Some(&first), at(30), &settings), None);
        // A day later, still idle: the same stretch, a new key.
        let again = judge(at(0), None, Some(&first), at(49), &settings).expect("a day later");
        assert_eq!(again.since, at(0));
        assert_ne!(again.key(), first.key());
        // Invoked at 40h: quiet a day from then.
        assert_eq!(
            judge(at(0), Some(at(40)), Some(&first), at(49), &settings),
            None
        );
        // A new service cycle (updated at 60h) does not inherit the old stretch.
        let cycle = judge(at(60), None, Some(&first), at(85), &settings).expect("idle anew");
        assert_eq!(cycle.since, at(60));
    }

    fn throughput(
        status: &str,
        modified: i64,
    ) -> (crate::domain::JobRecord, crate::domain::ObservedJob) {
        use crate::domain::{JobArn, JobKind, JobRecord, JobStatus, ObservedJob};
        let arn = JobArn::new("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p1");
        let mut job = ObservedJob::new(
            JobKind::ProvisionedThroughput,
            arn.clone(),
            JobStatus::new(status),
            at(-5),
        );
        job.details
            .insert("lastModifiedTime".into(), at(modified).to_rfc3339());
        let mut record = JobRecord::new(
            JobKind::ProvisionedThroughput,
            arn,
            "us-east-1".into(),
            JobStatus::new(status),
            at(-5),
            at(0),
        );
        record.version = 3;
        (record, job)
    }

    fn idle_run(now: i64, settings: &IdleSettings) -> IdleRun<'_> {
        IdleRun {
            now: at(now),
            settings,
            lease: crate::domain::Lease {
                owner: "run-1".into(),
                until: at(now) + Duration::minutes(5),
            },
            retention: Duration::days(90),
        }
    }

    #[test]
    fn an_idle_alert_is_held_on_the_item_under_the_run_lease_and_stays_watched() {
        let settings = IdleSettings::default();
        let (known, job) = throughput("InService", 0);
        let change = plan_idle(&known, &job, None, &idle_run(25, &settings)).expect("idle");
        let record = &change.record;
        assert_eq!((change.expected_version, record.version), (Some(3), 4));
        assert!(change.notify && !change.transition);
        assert_eq!(record.pending_alert, Some(AlertKind::Idle));
        assert_eq!(
            record.idle.map(|s| (s.since, s.alerted_at)),
            Some((at(0), at(25)))
        );
        assert!(
            record.watch.is_some(),
            "watched until sent, so a failed send is retried"
        );
        assert_eq!(
            record.lease_owner.as_ref().map(|r| r.to_string()),
            Some("run-1".into())
        );
        // Held already (another run, or a failed send): nothing more is planned.
        assert_eq!(
            plan_idle(record, &job, None, &idle_run(26, &settings)),
            None
        );
        // Sent: the same day nothing, the next day again.
        let mut sent = record.clone();
        sent.pending_alert = None;
        assert_eq!(plan_idle(&sent, &job, None, &idle_run(30, &settings)), None);
        assert!(plan_idle(&sent, &job, None, &idle_run(49, &settings)).is_some());
        // Used since: nothing.
        assert_eq!(
            plan_idle(&sent, &job, Some(at(45)), &idle_run(49, &settings)),
            None
        );
    }

    #[test]
    fn only_a_resource_the_table_knows_in_the_listed_status_is_judged() {
        let settings = IdleSettings::default();
        let (known, _) = throughput("Updating", 0);
        let (_, listed) = throughput("InService", 0);
        assert_eq!(
            plan_idle(&known, &listed, None, &idle_run(25, &settings)),
            None
        );
        let (mut retired, job) = throughput("InService", 0);
        retired.retired = true;
        assert_eq!(
            plan_idle(&retired, &job, None, &idle_run(25, &settings)),
            None
        );
        // Updated at 10h: its service began then, idle from there.
        let (known, job) = throughput("InService", 10);
        assert_eq!(
            plan_idle(&known, &job, None, &idle_run(25, &settings)),
            None
        );
        assert!(plan_idle(&known, &job, None, &idle_run(34, &settings)).is_some());
    }

    #[test]
    fn the_ready_sentence_names_the_hourly_cost() {
        let price = UnitHourPrice {
            usd: 55.0,
            origin: PriceOrigin::PriceList,
            as_of: "2026-11-20".into(),
            fallback: None,
        };
        let cost = hourly_estimate(2, &price, "OneMonth");
        assert_eq!(
            ready_sentence(&cost),
            "It costs about $110.00 per hour while it exists (estimate; AWS Price List, published 2026-11-20, per hour: 2 model units x $55.00 per unit-hour, OneMonth commitment)."
        );
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
