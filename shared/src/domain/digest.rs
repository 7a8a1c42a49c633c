//! Messages for people (the email audience): one job's email, or, when more jobs finished in a
//! run than the family's digest threshold, one digest of them all: counts by outcome, then one
//! line per job, failures first.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::{subject, JobKind, Notice, Outcome};

/// A message attribute value: one string, or a list (`String.Array`: a filter policy matches
/// when any element does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    One(String),
    Many(Vec<String>),
}

/// What the people topic receives.
#[derive(Debug, Clone, PartialEq)]
pub struct PeopleMessage {
    pub subject: String,
    pub text: String,
    pub attributes: Vec<(String, AttributeValue)>,
    /// Stable for the same jobs and statuses (FIFO topics deduplicate on it).
    pub dedup_key: String,
    /// The jobs it covers.
    pub jobs: usize,
}

impl PeopleMessage {
    /// One job's email, with the job's own attributes.
    pub fn single(notice: &Notice) -> Self {
        Self {
            subject: notice.subject.clone(),
            text: notice.email.clone(),
            attributes: notice
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), AttributeValue::One(v.clone())))
                .collect(),
            dedup_key: notice.dedup_key.clone(),
            jobs: 1,
        }
    }
}

/// A digest of one run's notices of one family.
pub struct Digest;

/// Longest failure message a digest line carries.
const LINE_MESSAGE_CHARS: usize = 120;
/// Width of the name column (job names are at most 63 characters; ids are 12).
const NAME_COLUMN: usize = 32;

/// Failures first, then partial results, then successes.
fn rank(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Failure => 0,
        Outcome::Partial => 1,
        Outcome::Success => 2,
        Outcome::Progress => 3,
    }
}

impl Digest {
    /// The digest of `notices` (at least one) of jobs of `kind`. `with_messages`: whether lines
    /// carry failure messages (`EMAIL_DETAIL=full`).
    pub fn build(kind: JobKind, notices: &[&Notice], with_messages: bool) -> PeopleMessage {
        let mut sorted: Vec<&Notice> = notices.to_vec();
        sorted.sort_by(|a, b| {
            (rank(a.outcome), field(a, "status"), a.display_name()).cmp(&(
                rank(b.outcome),
                field(b, "status"),
                b.display_name(),
            ))
        });
        let counts = status_counts(&sorted);
        let first = sorted.first().map(|n| &n.body);
        let account_name = first.and_then(|b| b["accountName"].as_str());
        let shown_account = account_name.or(first.and_then(|b| b["account"].as_str()));
        let what = format!("{} {}", sorted.len(), plural(kind, sorted.len()));
        let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        let subject = subject::digest_subject(&summary.join(", "), &what, shown_account);
        let mut text = String::new();
        let region = first.and_then(|b| b["region"].as_str()).unwrap_or("-");
        let _ = writeln!(
            text,
            "{what} finished in one run ({}, {region}).",
            shown_account.unwrap_or("-")
        );
        let _ = writeln!(text);
        for (status, n) in &counts {
            let _ = writeln!(text, "{n:>7}  {status}");
        }
        let _ = writeln!(text);
        let width = counts
            .iter()
            .map(|(s, _)| s.chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        for notice in &sorted {
            let _ = writeln!(text, "{}", line(notice, width, with_messages));
        }
        footer(&mut text, kind, first);
        PeopleMessage {
            subject,
            attributes: attributes(kind, &sorted),
            dedup_key: dedup_key(kind, &sorted),
            jobs: sorted.len(),
            text,
        }
    }
}

fn field<'a>(notice: &'a Notice, key: &str) -> &'a str {
    notice.body[key].as_str().unwrap_or_default()
}

/// `50 async invocations`, `1 batch inference job`: the family's label, counted.
fn plural(kind: JobKind, n: usize) -> String {
    let word = kind.label().to_lowercase();
    match n {
        1 => word,
        _ => format!("{word}s"),
    }
}

/// `[(status, count)]` in the sorted order (failures first).
fn status_counts(sorted: &[&Notice]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for notice in sorted {
        let status = field(notice, "status");
        match counts.iter_mut().find(|(s, _)| s == status) {
            Some((_, n)) => *n += 1,
            None => counts.push((status.to_owned(), 1)),
        }
    }
    counts
}

/// `Failed     nightly-7              12m 03s  Validation failed: ...`
fn line(notice: &Notice, width: usize, with_messages: bool) -> String {
    let name = subject::one_line(notice.display_name());
    let name = match name.chars().count() > NAME_COLUMN {
        true => format!(
            "{}…",
            name.chars().take(NAME_COLUMN - 1).collect::<String>()
        ),
        false => name,
    };
    let took = notice.body["durationSeconds"]
        .as_i64()
        .map_or("-".to_owned(), super::email::duration);
    let mut line = format!(
        "{:<width$}{name:<NAME_COLUMN$} {took:>8}",
        field(notice, "status")
    );
    let message = notice.body["message"].as_str().filter(|_| with_messages);
    if let Some(message) = message.filter(|_| notice.outcome != Outcome::Success) {
        let short: String = subject::one_line(message)
            .chars()
            .take(LINE_MESSAGE_CHARS)
            .collect();
        let _ = write!(line, "  {short}");
    }
    line.trim_end().to_owned()
}

fn footer(text: &mut String, kind: JobKind, first: Option<&serde_json::Value>) {
    let console = first
        .and_then(|b| b["region"].as_str())
        .map(|r| {
            format!(
                "https://{r}.console.aws.amazon.com/bedrock/home?region={r}#/{}",
                kind.family().console_page
            )
        })
        .unwrap_or_default();
    let _ = writeln!(text);
    let _ = writeln!(text, "Console:          {console}");
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "-- bedrock-jobwatch digest: more jobs finished in one run than DIGEST_THRESHOLD, so"
    );
    let _ = write!(
        text,
        "   they come as one email; every job's full document still goes to the machine topic."
    );
}

/// Digest attributes: the family, `digest=true`, and every outcome, status and kept tag value
/// present (as lists, so `{"outcome": ["failure"]}` still selects digests with a failure).
fn attributes(kind: JobKind, sorted: &[&Notice]) -> Vec<(String, AttributeValue)> {
    let mut out = vec![
        (
            "job_kind".to_owned(),
            AttributeValue::One(kind.as_str().to_owned()),
        ),
        ("digest".to_owned(), AttributeValue::One("true".to_owned())),
    ];
    let mut keys: Vec<&str> = vec!["outcome", "status", "region", "account_name"];
    let tag_keys: BTreeSet<&str> = sorted
        .iter()
        .flat_map(|n| n.attributes.iter().map(|(k, _)| k.as_str()))
        .filter(|k| k.starts_with("tag."))
        .collect();
    keys.extend(tag_keys);
    for key in keys {
        let values: BTreeSet<&str> = sorted
            .iter()
            .flat_map(|n| {
                n.attributes
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
            })
            .collect();
        if !values.is_empty() {
            let values = values.into_iter().map(str::to_owned).collect();
            out.push((key.to_owned(), AttributeValue::Many(values)));
        }
    }
    out
}

/// `digest#{kind}#{jobs}#{hash of the member keys}` (FNV-1a, stable across runs).
fn dedup_key(kind: JobKind, sorted: &[&Notice]) -> String {
    let mut keys: Vec<&str> = sorted.iter().map(|n| n.dedup_key.as_str()).collect();
    keys.sort_unstable();
    let hash = keys
        .iter()
        .flat_map(|k| k.bytes().chain([b'\n']))
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("digest#{kind}#{}#{hash:016x}", sorted.len())
}
