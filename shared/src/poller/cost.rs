//! Pricing the jobs a batch records as finished: the phase between planning and writing that
//! puts an estimated cost on each finished job with a usage figure (batch inference tokens from
//! the output manifest), so the notice, the item and the metrics all carry the same figure;
//! then, with `COST_OWNER_TAG`, the owner each priced job's cost counts under.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::{stream, StreamExt};

use super::settle::TagRead;
use super::summary::Settled;
use super::Poller;
use crate::domain::cost::batch_cost;
use crate::domain::owner::{Bucket, OwnerBound, OwnerTag, MAX_OWNERS};
use crate::domain::{Change, JobArn, JobRecord};
use crate::ports::{JobSource, JobStore, Notifier};

/// `COST_OWNER_TAG` and the owner values this function instance reported today (shared by
/// every scope and run of the instance: the bound is per instance and UTC day).
#[derive(Clone, Default)]
pub struct CostOwners {
    tag: Option<String>,
    bound: Arc<Mutex<OwnerBound>>,
}

impl CostOwners {
    pub fn new(tag: Option<String>) -> Self {
        Self {
            tag,
            bound: Arc::default(),
        }
    }

    /// The owner tag key, when totals by owner are on.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    fn bucket(&self, tag: OwnerTag<'_>, now: DateTime<Utc>) -> Bucket {
        let mut bound = self.bound.lock().unwrap_or_else(|p| p.into_inner());
        bound.bucket(tag, now.date_naive())
    }
}

impl std::fmt::Debug for CostOwners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CostOwners")
            .field("tag", &self.tag)
            .finish()
    }
}

impl PartialEq for CostOwners {
    fn eq(&self, other: &Self) -> bool {
        self.tag == other.tag
    }
}

/// A job priced by this batch and its estimate, in micro-dollars.
pub(super) type Priced = Vec<(JobArn, u64)>;

/// The owner bucket each priced job's cost counts under (with `COST_OWNER_TAG`).
pub(super) type Owners = HashMap<JobArn, String>;

impl<S: JobSource, T: JobStore, N: Notifier> Poller<S, T, N> {
    /// Adds the cost of the priced jobs this run recorded (`held`: written, to be notified) to
    /// the run's totals. A job whose write was deferred or lost a race is counted by the run that
    /// records it, so that a total never counts one job twice.
    pub(super) fn count_recorded(
        &self,
        held: &[super::settle::Held],
        priced: &Priced,
        owners: &Owners,
        report: &mut Settled,
    ) {
        let priced: HashMap<&JobArn, u64> =
            priced.iter().map(|(arn, micro)| (arn, *micro)).collect();
        for arn in held.iter().map(|h| &h.record.pk) {
            let Some(micro) = priced.get(arn) else {
                continue;
            };
            report.estimated_cost_micro_usd += micro;
            if let Some(owner) = owners.get(arn) {
                *report.cost_by_owner.entry(owner.clone()).or_default() += micro;
            }
        }
    }

    /// Sets `cost` on the finished jobs about to be notified that have token counts and a
    /// price; counts the Price List calls it took. Jobs without either say nothing. Returns
    /// the jobs priced, for [`Self::attribute`].
    pub(super) async fn price(&self, changes: &mut [Change], report: &mut Settled) -> Priced {
        let mut priced = Vec::new();
        let Some(prices) = &self.settings.prices.0 else {
            return priced;
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
                let micro = record.cost.as_ref().map_or(0, |c| c.micro_usd.max(0)) as u64;
                if micro > 0 {
                    priced.push((record.pk.clone(), micro));
                }
            }
        }
        report.pricing_calls += prices.calls() - before;
        priced
    }

    /// With `COST_OWNER_TAG`: reads each priced job's tags (`ListTagsForResource`, one per
    /// job, concurrently) and finds the owner its cost counts under. Returns what was read,
    /// so that the job's notice reuses it instead of reading the tags again (`NOTIFY_TAGS`),
    /// and the owners. A failed read counts under `unknown` and in `tag_reads_failed`, and
    /// never blocks anything.
    pub(super) async fn attribute(
        &self,
        priced: &Priced,
        now: DateTime<Utc>,
        report: &mut Settled,
    ) -> (HashMap<JobArn, TagRead>, Owners) {
        let owners = &self.settings.cost_owners;
        let Some(key) = owners.tag() else {
            return Default::default();
        };
        let reads: Vec<(JobArn, TagRead)> = stream::iter(priced.iter().map(|(arn, _)| arn.clone()))
            .map(|arn| async move {
                let read = match self.source.tags(&arn).await {
                    Ok(tags) => TagRead::Read(tags),
                    Err(e) => {
                        tracing::warn!(job_arn = %arn, error = %e.chain(), "tags unreadable: cost counted under owner unknown");
                        TagRead::Failed
                    }
                };
                (arn, read)
            })
            .buffered(self.settings.get_concurrency.max(1))
            .collect()
            .await;
        let mut past_bound = 0;
        let (mut read, mut owned) = (HashMap::new(), Owners::new());
        for (arn, tags) in reads {
            let tag = match &tags {
                TagRead::Read(tags) => tags
                    .get(key)
                    .map_or(OwnerTag::Untagged, |v| OwnerTag::Named(v)),
                TagRead::Failed => {
                    report.tag_reads_failed += 1;
                    OwnerTag::Unreadable
                }
            };
            let bucket = owners.bucket(tag, now);
            past_bound += usize::from(bucket.past_bound);
            owned.insert(arn.clone(), bucket.owner);
            read.insert(arn, tags);
        }
        if past_bound > 0 {
            report.owners_past_bound += past_bound;
            tracing::warn!(
                jobs = past_bound,
                bound = MAX_OWNERS,
                "owner values past today's bound: their cost is reported under owner other"
            );
        }
        (read, owned)
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
