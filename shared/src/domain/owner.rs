//! Who a job's cost is counted under (`COST_OWNER_TAG`): the value of one tag, made fit for a
//! CloudWatch dimension value, with bounded cardinality. Every custom metric series is billed
//! and a tag value is user data, so at most [`MAX_OWNERS`] distinct values a day are reported
//! by one function instance; later ones are counted under [`OTHER`], never dropped. Pure: the
//! tag read is the poller's ([`crate::poller`]), the metric line [`crate::metrics`]'s.

use std::collections::BTreeSet;

use chrono::NaiveDate;

/// The bucket of a job whose tags have no (or a blank) owner tag, including families whose
/// API has no tags.
pub const UNTAGGED: &str = "untagged";
/// The bucket of a job whose tags could not be read (denied, throttled).
pub const UNKNOWN: &str = "unknown";
/// The bucket of the owner values past the bound.
pub const OTHER: &str = "other";
/// Distinct owner values one function instance reports per UTC day (the three fixed buckets
/// are not counted): 20 owners x (one `[JobKind, Owner]` series per family + one `[Owner]`).
pub const MAX_OWNERS: usize = 20;
/// CloudWatch takes dimension values of up to 1 024 ASCII characters, but alarms and
/// `AWS::CloudWatch::Alarm` only 255: kept to the smaller so that any owner can be alarmed on.
pub const MAX_OWNER_LEN: usize = 255;

/// An owner tag value as a CloudWatch dimension value: ASCII, at least one non-blank
/// character, no control characters, at most [`MAX_OWNER_LEN`] long. Leading and trailing
/// whitespace is trimmed; other bytes that CloudWatch refuses (non-ASCII, controls such as a
/// newline) and `%` itself are percent-encoded from their UTF-8, so that distinct values stay
/// distinct (`José` is `Jos%C3%A9`); a longer value is cut at a whole character. `None`: blank.
pub fn dimension_value(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let mut out = String::new();
    for c in trimmed.chars() {
        let piece = match c {
            ' '..='~' if c != '%' => c.to_string(),
            _ => {
                let mut bytes = [0; 4];
                c.encode_utf8(&mut bytes)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        };
        if out.len() + piece.len() > MAX_OWNER_LEN {
            break;
        }
        out.push_str(&piece);
    }
    (!out.trim().is_empty()).then_some(out)
}

/// What the tag read said about a job's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerTag<'a> {
    /// The tag's value, as the job carries it.
    Named(&'a str),
    /// The job has no such tag (or its family has no tags).
    Untagged,
    /// The tags could not be read.
    Unreadable,
}

/// The owner values reported so far today by this function instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerBound {
    day: Option<NaiveDate>,
    admitted: BTreeSet<String>,
}

/// A job's bucket: the owner dimension value, and whether the bound put it under [`OTHER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub owner: String,
    pub past_bound: bool,
}

impl OwnerBound {
    /// The bucket of `tag` on `day`: a value seen today, or a new one while fewer than
    /// [`MAX_OWNERS`] were, is its own; a new one past that is [`OTHER`]. A new day starts
    /// an empty set.
    pub fn bucket(&mut self, tag: OwnerTag<'_>, day: NaiveDate) -> Bucket {
        if self.day != Some(day) {
            self.day = Some(day);
            self.admitted.clear();
        }
        let value = match tag {
            OwnerTag::Unreadable => return Bucket::fixed(UNKNOWN),
            OwnerTag::Untagged => return Bucket::fixed(UNTAGGED),
            OwnerTag::Named(raw) => match dimension_value(raw) {
                None => return Bucket::fixed(UNTAGGED),
                Some(value) => value,
            },
        };
        if self.admitted.contains(&value) || self.admitted.len() < MAX_OWNERS {
            self.admitted.insert(value.clone());
            return Bucket::fixed(&value);
        }
        Bucket {
            owner: OTHER.to_owned(),
            past_bound: true,
        }
    }
}

impl Bucket {
    fn fixed(owner: &str) -> Self {
        Self {
            owner: owner.to_owned(),
            past_bound: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn plain_values_are_kept_as_they_are() {
        assert_eq!(dimension_value("team-a").as_deref(), Some("team-a"));
        assert_eq!(
            dimension_value("  ml platform@corp.example  ").as_deref(),
            Some("ml platform@corp.example")
        );
    }

    #[test]
    fn blank_values_are_no_owner() {
        assert_eq!(dimension_value(""), None);
        assert_eq!(dimension_value(" \t\n "), None);
    }

    #[test]
    fn unicode_and_newlines_are_percent_encoded_and_stay_distinct() {
        assert_eq!(dimension_value("José").as_deref(), Some("Jos%C3%A9"));
        assert_eq!(dimension_value("a\nb").as_deref(), Some("a%0Ab"));
        assert_eq!(dimension_value("100%").as_deref(), Some("100%25"));
        assert_eq!(
            dimension_value("データ").as_deref(),
            Some("%E3%83%87%E3%83%BC%E3%82%BF")
        );
        assert_ne!(dimension_value("Jos%C3%A9"), dimension_value("José"));
    }

    #[test]
    fn every_value_fits_cloudwatch_rules() {
        let long = "x".repeat(1024);
        let odd = format!("{}\r\n\u{7f}é{}", "y".repeat(250), "z".repeat(800));
        for raw in [
            long.as_str(),
            odd.as_str(),
            "é".repeat(200).as_str(),
            "\u{0}a",
        ] {
            let value = dimension_value(raw).unwrap();
            assert!(value.len() <= MAX_OWNER_LEN, "{} long", value.len());
            assert!(value.chars().all(|c| c.is_ascii() && !c.is_ascii_control()));
            assert!(!value.trim().is_empty());
        }
        assert_eq!(dimension_value(&long).unwrap().len(), MAX_OWNER_LEN);
        // A multi-byte character is never cut in half: 85 x "%C3%A9" = 510 > 255.
        assert_eq!(dimension_value(&"é".repeat(200)).unwrap().len(), 42 * 6);
    }

    #[test]
    fn untagged_and_unreadable_jobs_have_their_own_buckets() {
        let mut bound = OwnerBound::default();
        assert_eq!(bound.bucket(OwnerTag::Untagged, day(6)).owner, UNTAGGED);
        assert_eq!(bound.bucket(OwnerTag::Named("  "), day(6)).owner, UNTAGGED);
        assert_eq!(bound.bucket(OwnerTag::Unreadable, day(6)).owner, UNKNOWN);
    }

    #[test]
    fn values_past_the_bound_are_other_until_the_next_day() {
        let mut bound = OwnerBound::default();
        for n in 0..MAX_OWNERS {
            let owner = format!("team-{n}");
            assert_eq!(bound.bucket(OwnerTag::Named(&owner), day(6)).owner, owner);
        }
        let past = bound.bucket(OwnerTag::Named("team-late"), day(6));
        assert_eq!((past.owner.as_str(), past.past_bound), (OTHER, true));
        // Values already admitted, and the fixed buckets, still count as themselves.
        assert_eq!(
            bound.bucket(OwnerTag::Named("team-3"), day(6)).owner,
            "team-3"
        );
        assert_eq!(bound.bucket(OwnerTag::Untagged, day(6)).owner, UNTAGGED);
        let next_day = bound.bucket(OwnerTag::Named("team-late"), day(7));
        assert_eq!(
            (next_day.owner.as_str(), next_day.past_bound),
            ("team-late", false)
        );
    }
}
