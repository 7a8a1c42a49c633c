//! Pricing the jobs a batch records as finished: the phase between planning and writing that
//! puts an estimated cost on each finished job with a usage figure (batch inference tokens from
//! the output manifest), so the notice, the item and the metrics all carry the same figure.

use super::summary::Settled;
use super::Poller;
use crate::domain::cost::batch_cost;
use crate::domain::{Change, JobRecord};
use crate::ports::{JobSource, JobStore, Notifier};

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Sets `cost` on the finished jobs about to be notified that have token counts and a
    /// price; counts the Price List calls it took. Jobs without either say nothing.
    pub(super) async fn price(&self, changes: &mut [Change], report: &mut Settled) {
        let Some(prices) = &self.settings.prices.0 else {
            return;
        };
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
}

/// A job just recorded as finished, to be notified, with both token counts and no estimate yet.
fn priceable(record: &JobRecord) -> bool {
    !record.is_open()
        && record.cost.is_none()
        && record.pending_status.is_some()
        && record.counts.input_tokens.is_some()
        && record.counts.output_tokens.is_some()
}
