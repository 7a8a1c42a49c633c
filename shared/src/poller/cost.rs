//! Pricing the jobs a batch records as finished: the phase between planning and writing that
//! puts an estimated cost on each finished job with a usage figure (batch inference tokens from
//! the output manifest), so the notice, the item and the metrics all carry the same figure.

use super::summary::Settled;
use super::Poller;
use crate::domain::cost::batch_cost;
use crate::domain::price_list::Commitment;
use crate::domain::{Change, CostEstimate, JobRecord, Outcome};
use crate::ports::{JobSource, JobStore, Notifier};

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Sets `cost` on the finished jobs about to be notified that have token counts and a
    /// price; counts the Price List calls it took. Jobs without either say nothing.
    pub(super) async fn price(&self, changes: &mut [Change], report: &mut Settled) {
        let Some(prices) = &self.settings.prices.0 else {
            return;
        };
        for change in changes.iter_mut().filter(|c| ready_and_billed(&c.record)) {
            change.record.hourly_cost = self.hourly(&change.record, report).await;
        }
        let before = prices.calls();
        for change in changes.iter_mut().filter(|c| priceable(&c.record)) {
            let record = &mut change.record;
            let Some(model) = record.model_id.as_deref() else {
                continue;
            };
            if let Some(price) = prices.batch_price(&record.region, model).await {
                record.cost = batch_cost(&record.counts, &price, &record.region);
                if let Some(cost) = record.cost.as_mut() {
                    cost.check_threshold(self.settings.cost_alert_usd);
                }
                let micro = record.cost.as_ref().map_or(0, |c| c.micro_usd.max(0));
                report.estimated_cost_micro_usd += micro as u64;
            }
        }
        report.pricing_calls += prices.calls() - before;
    }

    /// What a resource bought by the model unit costs per hour: its units x the unit-hour
    /// price of its base model and commitment (`None`: no price, or not such a resource).
    pub(super) async fn hourly(
        &self,
        record: &JobRecord,
        report: &mut Settled,
    ) -> Option<CostEstimate> {
        let prices = self.settings.prices.0.as_ref()?;
        let units: i64 = record.details.get("modelUnits")?.parse().ok()?;
        let duration = record.details.get("commitmentDuration").map(String::as_str);
        let commitment = Commitment::of_api(duration)?;
        let model = record.model_id.as_deref()?;
        let base = record
            .details
            .get("foundationModelArn")
            .map_or(model, String::as_str);
        let custom = model.contains(":custom-model/");
        let before = prices.calls();
        let price = prices
            .hourly_price(&record.region, base, commitment, custom)
            .await;
        report.pricing_calls += prices.calls() - before;
        let label = duration.unwrap_or("no");
        price.map(|p| crate::domain::idle::hourly_estimate(units, &p, label))
    }
}

/// A resource bought by the model unit (its `modelUnits` detail), just settled ready and to be
/// notified: its notice says what it costs per hour.
fn ready_and_billed(record: &JobRecord) -> bool {
    record.pending_status.is_some()
        && record.phase().outcome() == Outcome::Success
        && record.details.contains_key("modelUnits")
}

/// A job just recorded as finished, to be notified, with both token counts and no estimate yet.
fn priceable(record: &JobRecord) -> bool {
    !record.is_open()
        && record.cost.is_none()
        && record.pending_status.is_some()
        && record.counts.input_tokens.is_some()
        && record.counts.output_tokens.is_some()
}
