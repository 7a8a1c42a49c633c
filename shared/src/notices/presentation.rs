//! How notices are presented to this deployment's readers: the account's name, how much detail
//! email carries, and which job tags travel with a notice.

use std::collections::BTreeMap;

/// A job's resource tags (key -> value), as `ListTagsForResource` returns them.
pub type Tags = BTreeMap<String, String>;

/// `EMAIL_DETAIL`: what the email variant may carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EmailDetail {
    /// Everything: the failure message and the S3 locations too.
    #[default]
    Full,
    /// No failure message and no S3 locations (they stay in the JSON document), for
    /// organisations that must not send them by email.
    Minimal,
}

/// Deployment-wide presentation settings (a part of [`crate::Config`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presentation {
    /// `ACCOUNT_NAME`: a name people recognise (`prod`, `ml-sandbox`); else the account id.
    pub account_name: Option<String>,
    /// `EMAIL_DETAIL`.
    pub email_detail: EmailDetail,
    /// `NOTIFY_TAGS`: the tag keys that travel with a notice (empty: tags are not read).
    pub notify_tags: Vec<String>,
}

impl Presentation {
    /// Whether tags are read at all.
    pub fn reads_tags(&self) -> bool {
        !self.notify_tags.is_empty()
    }

    /// Only the tags named in `NOTIFY_TAGS` (the rest may be private to their owners).
    pub fn keep(&self, tags: &Tags) -> Tags {
        tags.iter()
            .filter(|(k, _)| self.notify_tags.iter().any(|n| n == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The message attribute that carries tag `key` (`tag.team`), when SNS allows such a name:
/// letters, digits, `_`, `-` and `.`, no leading, trailing or doubled period, 256 at most.
pub fn tag_attribute(key: &str) -> Option<String> {
    let name = format!("tag.{key}");
    let valid = !key.is_empty()
        && name.len() <= 256
        && !name.ends_with('.')
        && !name.contains("..")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    valid.then_some(name)
}
