//! Progress of running jobs without record counts, as their family's `progress_details` keep
//! it in the item: a model customization job's stages (`statusDetails`: validation, data
//! processing, training, each `NotStarted`, `InProgress`, `Completed`, `Stopping`, `Stopped` or
//! `Failed`) and a knowledge-base ingestion job's document statistics. Neither gives a total to
//! project an end from (stages take unequal times; the documents to ingest are known only when
//! the scan ends), so there is no estimated end for them: the texts say so rather than guess.
//! Pure: the adapters encode what the API returned, the notices and the CLI read it back.

use super::Details;

/// The customization stages in the order a job goes through them (the API's `StatusDetails`
/// members without their `Details` suffix).
pub const STAGES: [&str; 3] = ["validation", "dataProcessing", "training"];

/// One stage and its status as the API spells it.
pub type StageStatus<'a> = (&'a str, &'a str);

/// `validation=Completed, dataProcessing=InProgress, training=NotStarted`: the stages the API
/// reported, in order (a stage it left out is left out).
pub fn encode_stages(stages: &[StageStatus]) -> String {
    stages
        .iter()
        .map(|(stage, status)| format!("{stage}={status}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The stages of an encoded `statusDetails`, in order.
pub fn stages(details: &Details) -> Vec<(String, String)> {
    details
        .get("statusDetails")
        .map(|s| {
            s.split(", ")
                .filter_map(|pair| pair.split_once('='))
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// An ingestion job's document statistics, as the API counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Documents {
    pub scanned: i64,
    /// New and modified documents indexed.
    pub indexed: i64,
    pub deleted: i64,
    pub failed: i64,
    pub skipped: i64,
}

impl Documents {
    /// `scanned=1204, indexed=1150, deleted=4, failed=12, skipped=38`.
    pub fn encode(&self) -> String {
        format!(
            "scanned={}, indexed={}, deleted={}, failed={}, skipped={}",
            self.scanned, self.indexed, self.deleted, self.failed, self.skipped
        )
    }

    /// The statistics an item keeps (`None`: none kept, or not in this shape).
    pub fn of(details: &Details) -> Option<Documents> {
        let text = details.get("statistics")?;
        let mut d = Documents::default();
        for (key, value) in text.split(", ").filter_map(|p| p.split_once('=')) {
            let value: i64 = value.parse().ok()?;
            match key {
                "scanned" => d.scanned = value,
                "indexed" => d.indexed = value,
                "deleted" => d.deleted = value,
                "failed" => d.failed = value,
                "skipped" => d.skipped = value,
                _ => return None,
            }
        }
        Some(d)
    }
}

/// Folds the progress details of a fresh observation into `details` (only the family's
/// `progress_details` keys). Returns whether one changed: the item then needs a write.
pub fn track(details: &mut Details, fresh: &Details, keys: &[&str]) -> bool {
    let mut changed = false;
    for key in keys {
        if let Some(value) = fresh.get(*key) {
            if details.get(*key) != Some(value) {
                details.insert((*key).to_owned(), value.clone());
                changed = true;
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_documents_read_back_what_was_encoded() {
        let mut details = Details::new();
        let encoded = encode_stages(&[
            ("validation", "Completed"),
            ("dataProcessing", "InProgress"),
            ("training", "NotStarted"),
        ]);
        details.insert("statusDetails".into(), encoded);
        assert_eq!(
            stages(&details)[1],
            ("dataProcessing".to_owned(), "InProgress".to_owned())
        );
        let docs = Documents {
            scanned: 1204,
            indexed: 1150,
            deleted: 4,
            failed: 12,
            skipped: 38,
        };
        details.insert("statistics".into(), docs.encode());
        assert_eq!(Documents::of(&details), Some(docs));
        details.insert("statistics".into(), "scanned=x".into());
        assert_eq!(Documents::of(&details), None);
    }

    #[test]
    fn only_the_familys_progress_keys_are_tracked_and_only_a_change_needs_a_write() {
        let mut kept = Details::new();
        kept.insert("statusDetails".into(), "validation=InProgress".into());
        let mut fresh = kept.clone();
        fresh.insert("jobType".into(), "other".into());
        assert!(!track(&mut kept, &fresh, &["statusDetails"]));
        fresh.insert("statusDetails".into(), "validation=Completed".into());
        assert!(track(&mut kept, &fresh, &["statusDetails"]));
        assert_eq!(kept["statusDetails"], "validation=Completed");
        assert!(!kept.contains_key("jobType"));
    }
}
