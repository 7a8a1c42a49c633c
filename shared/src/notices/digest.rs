//! Messages for people (the email audience): one job's email, or, when more jobs finished in a
//! run than the family's digest threshold, one digest of them all: counts by outcome, then one
//! line per job, failures first. Alerts above the threshold get a digest of their own (they are
//! urgent, so never wait in or merge with the jobs' one): counts by kind, then one line per job,
//! the most urgent kind first.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::email::{duration, group};
use super::notice::MAX_ATTRIBUTES;
use super::{subject, Notice};
use crate::domain::{AlertKind, JobKind, Outcome};

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
        let counts = counts_by(&sorted, "status");
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
        for notice in sorted.iter().take(MAX_DIGEST_LINES) {
            let _ = writeln!(text, "{}", line(notice, width, with_messages));
        }
        more_lines(&mut text, sorted.len());
        footer(&mut text, kind, first);
        PeopleMessage {
            subject,
            attributes: attributes(kind, &sorted),
            dedup_key: dedup_key("digest", kind, &sorted),
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

/// `[(value of key, count)]` in the sorted order (failures or the most urgent first).
fn counts_by(sorted: &[&Notice], key: &str) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for notice in sorted {
        let status = field(notice, key);
        match counts.iter_mut().find(|(s, _)| s == status) {
            Some((_, n)) => *n += 1,
            None => counts.push((status.to_owned(), 1)),
        }
    }
    counts
}

/// `Failed     nightly-7              12m 03s  Validation failed: ...`
fn line(notice: &Notice, width: usize, with_messages: bool) -> String {
    let name = name_column(notice);
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

/// The job's name on one line, cut to the name column.
fn name_column(notice: &Notice) -> String {
    let name = subject::one_line(notice.display_name());
    match name.chars().count() > NAME_COLUMN {
        true => format!(
            "{}…",
            name.chars().take(NAME_COLUMN - 1).collect::<String>()
        ),
        false => name,
    }
}

/// The family's page of the Bedrock console, in the first notice's region.
fn console(kind: JobKind, first: Option<&serde_json::Value>) -> String {
    first
        .and_then(|b| b["region"].as_str())
        .map(|r| {
            format!(
                "https://{r}.console.aws.amazon.com/bedrock/home?region={r}#/{}",
                kind.family().console_page
            )
        })
        .unwrap_or_default()
}

fn footer(text: &mut String, kind: JobKind, first: Option<&serde_json::Value>) {
    let _ = writeln!(text);
    let _ = writeln!(text, "Console:          {}", console(kind, first));
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
    keys.extend(tag_keys(sorted));
    for key in keys {
        if let Some(values) = listed(sorted, key) {
            out.push((key.to_owned(), values));
        }
    }
    out
}

/// The `tag.*` attribute names the notices carry.
fn tag_keys<'a>(sorted: &[&'a Notice]) -> BTreeSet<&'a str> {
    sorted
        .iter()
        .flat_map(|n| n.attributes.iter().map(|(k, _)| k.as_str()))
        .filter(|k| k.starts_with("tag."))
        .collect()
}

/// Every value of attribute `key` among the notices, as a list (`None` when none has it).
fn listed(sorted: &[&Notice], key: &str) -> Option<AttributeValue> {
    let values: BTreeSet<&str> = sorted
        .iter()
        .flat_map(|n| {
            n.attributes
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        })
        .collect();
    (!values.is_empty())
        .then(|| AttributeValue::Many(values.into_iter().map(str::to_owned).collect()))
}

/// `{prefix}#{kind}#{jobs}#{hash of the member keys}` (FNV-1a, stable across runs).
fn dedup_key(prefix: &str, kind: JobKind, sorted: &[&Notice]) -> String {
    let mut keys: Vec<&str> = sorted.iter().map(|n| n.dedup_key.as_str()).collect();
    keys.sort_unstable();
    let hash = keys
        .iter()
        .flat_map(|k| k.bytes().chain([b'\n']))
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{prefix}#{kind}#{}#{hash:016x}", sorted.len())
}

/// A digest of one run's alerts of one family (sent apart from the jobs' digest: alerts are
/// urgent and about unfinished jobs).
pub struct AlertDigest;

/// Most lines one digest (of jobs or of alerts) lists: SNS takes 256 KiB per message and a line
/// takes at most about 200 bytes (a job's failure message is cut to 120 characters); past it
/// the rest are counted, since every one's document is on the machine topic.
pub const MAX_DIGEST_LINES: usize = 1000;

impl AlertDigest {
    /// The digest of `notices` (alert notices, at least one) of jobs of `kind`: counts by kind,
    /// one line per job grouped by kind (the most urgent first, then by name), what to do about
    /// each kind.
    pub fn build(kind: JobKind, notices: &[&Notice]) -> PeopleMessage {
        let mut sorted: Vec<&Notice> = notices.to_vec();
        sorted.sort_by(|a, b| {
            (alert_rank(a), a.display_name(), &a.dedup_key).cmp(&(
                alert_rank(b),
                b.display_name(),
                &b.dedup_key,
            ))
        });
        let counts = counts_by(&sorted, "alert");
        let first = sorted.first().map(|n| &n.body);
        let account_name = first.and_then(|b| b["accountName"].as_str());
        let shown_account = account_name.or(first.and_then(|b| b["account"].as_str()));
        let what = format!("{} {}", sorted.len(), plural(kind, sorted.len()));
        let mut text = String::new();
        let region = first.and_then(|b| b["region"].as_str()).unwrap_or("-");
        let _ = writeln!(
            text,
            "{what} need attention ({}, {region}).",
            shown_account.unwrap_or("-")
        );
        let _ = writeln!(text);
        for (alert, n) in &counts {
            let _ = writeln!(text, "{n:>7}  {alert}");
        }
        let _ = writeln!(text);
        alert_lines(&mut text, &sorted, &counts);
        what_to_do(&mut text, &sorted);
        alert_footer(&mut text, kind, first);
        PeopleMessage {
            subject: alert_subject(&counts, &what, shown_account),
            attributes: alert_attributes(kind, &sorted),
            dedup_key: dedup_key("alert-digest", kind, &sorted),
            jobs: sorted.len(),
            text,
        }
    }
}

/// The notice's alert kind (`None` for a notice that is not an alert).
fn alert_kind(notice: &Notice) -> Option<AlertKind> {
    serde_json::from_value(notice.body["alert"].clone()).ok()
}

/// The most urgent kind first (`AlertKind::ALL`'s order), anything else last.
fn alert_rank(notice: &Notice) -> usize {
    alert_kind(notice)
        .and_then(|kind| AlertKind::ALL.iter().position(|k| *k == kind))
        .unwrap_or(AlertKind::ALL.len())
}

/// `[Bedrock] 300 expiring, 2 stuck: 302 batch inference jobs need attention (prod)`: the
/// counts are the head (never cut); "need attention" goes first when the subject is too long.
fn alert_subject(counts: &[(String, usize)], what: &str, account: Option<&str>) -> String {
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let summary = summary.join(", ");
    let long = format!("{what} need attention");
    let subject = subject::digest_subject(&summary, &long, account);
    match subject.contains(&long) {
        true => subject,
        false => subject::digest_subject(&summary, what, account),
    }
}

/// One line per alert, up to [`MAX_DIGEST_LINES`], then how many more there are.
fn alert_lines(text: &mut String, sorted: &[&Notice], counts: &[(String, usize)]) {
    let width = counts
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    for notice in sorted.iter().take(MAX_DIGEST_LINES) {
        let _ = writeln!(text, "{}", alert_line(notice, width));
    }
    more_lines(text, sorted.len());
}

/// `... and 5 more` past [`MAX_DIGEST_LINES`].
fn more_lines(text: &mut String, total: usize) {
    if let Some(more) = total.checked_sub(MAX_DIGEST_LINES).filter(|n| *n > 0) {
        let _ = writeln!(
            text,
            "... and {more} more (each one's document is on the machine topic)"
        );
    }
}

/// `expiring  nightly-7                          4h 55m  left, still InProgress, 31,250 of 48,000 records`
fn alert_line(notice: &Notice, width: usize) -> String {
    let elapsed = notice.body["elapsedSeconds"].as_i64().unwrap_or_default();
    let line = format!(
        "{:<width$}{:<NAME_COLUMN$} {:>8}  {}",
        field(notice, "alert"),
        name_column(notice),
        duration(elapsed.abs()),
        alert_phrase(notice, elapsed)
    );
    line.trim_end().to_owned()
}

/// What the figure before it means, in a few words.
fn alert_phrase(notice: &Notice, elapsed: i64) -> String {
    let status = field(notice, "status");
    let counts = &notice.body["recordCounts"];
    let records = match (counts["processed"].as_i64(), counts["total"].as_i64()) {
        (Some(p), Some(t)) => format!(", {} of {} records", group(p), group(t)),
        (Some(p), None) => format!(", {} records", group(p)),
        _ => String::new(),
    };
    let median = notice.body["medianSeconds"].as_i64().map(duration);
    match alert_kind(notice) {
        Some(AlertKind::Expiring) if elapsed < 0 => {
            format!("past its expiration time, still {status}{records}")
        }
        Some(AlertKind::Expiring) => format!("left, still {status}{records}"),
        Some(AlertKind::Stuck) => format!("waiting in {status}"),
        Some(AlertKind::Stalled) if !records.is_empty() => format!("without progress{records}"),
        Some(AlertKind::Stalled) => format!("in {status}"),
        Some(AlertKind::Overdue) => format!("running, median {}", median.unwrap_or("-".into())),
        Some(AlertKind::Idle) => "without invocations".to_owned(),
        None => status.to_owned(),
    }
}

/// The suggestion of each kind present (the first job's, for `stalled` with or without counts).
fn what_to_do(text: &mut String, sorted: &[&Notice]) {
    let _ = writeln!(text);
    let _ = writeln!(text, "What to do:");
    let mut told: BTreeSet<&str> = BTreeSet::new();
    for notice in sorted {
        let kind = field(notice, "alert");
        if told.insert(kind) {
            let _ = writeln!(text, "- {kind}: {}", field(notice, "suggestion"));
        }
    }
}

fn alert_footer(text: &mut String, kind: JobKind, first: Option<&serde_json::Value>) {
    let _ = writeln!(text);
    let _ = writeln!(text, "Console:          {}", console(kind, first));
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "-- bedrock-jobwatch alert digest: more alerts in one run than DIGEST_THRESHOLD, so"
    );
    let _ = writeln!(
        text,
        "   they come as one email; every alert's full document still goes to the machine topic."
    );
    let _ = write!(
        text,
        "   Filter alerts in or out with the `type` message attribute."
    );
}

/// What a single alert carries, as lists: `type=alert` (so a filter policy on it matches the
/// digest too), the family, `digest=true`, then the kinds, statuses, regions, account names and
/// kept tags present, and the accounts when they fit (SQS takes 10 attributes with raw delivery).
fn alert_attributes(kind: JobKind, sorted: &[&Notice]) -> Vec<(String, AttributeValue)> {
    let one = |k: &str, v: &str| (k.to_owned(), AttributeValue::One(v.to_owned()));
    let mut out = vec![
        one("type", "alert"),
        one("job_kind", kind.as_str()),
        one("digest", "true"),
    ];
    let mut keys: Vec<&str> = vec!["alert", "status", "region", "account_name"];
    keys.extend(tag_keys(sorted));
    keys.push("account");
    for key in keys {
        if out.len() == MAX_ATTRIBUTES {
            break;
        }
        if let Some(values) = listed(sorted, key) {
            out.push((key.to_owned(), values));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;
    use crate::domain::{Alert, JobArn, JobRecord, JobStatus};
    use crate::notices::{Presentation, Tags};

    /// The alert `kind` of a running batch job `name`, measured at `elapsed` (time left for
    /// `expiring`).
    fn alert(name: &str, kind: AlertKind, elapsed_minutes: i64, tags: &[(&str, &str)]) -> Notice {
        let submitted = Utc.with_ymd_and_hms(2026, 11, 23, 2, 14, 0).unwrap();
        let arn = JobArn::new(format!(
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/{name}"
        ));
        let status = JobStatus::new("InProgress");
        let mut record = JobRecord::new(
            JobKind::BatchInference,
            arn,
            "us-east-1".into(),
            status,
            submitted,
            submitted,
        );
        record.name = Some(name.to_owned());
        let alert = Alert {
            kind,
            elapsed: Duration::minutes(elapsed_minutes),
            threshold: Duration::hours(6),
            median: (kind == AlertKind::Overdue).then(|| Duration::hours(1)),
        };
        let tags: Tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let presentation = Presentation {
            account_name: Some("prod".into()),
            notify_tags: tags.keys().cloned().collect(),
            ..Default::default()
        };
        Notice::alert(&record, &alert, &presentation, &tags)
    }

    fn build(notices: &[Notice]) -> PeopleMessage {
        AlertDigest::build(JobKind::BatchInference, &notices.iter().collect::<Vec<_>>())
    }

    #[test]
    fn the_subject_counts_alerts_by_kind_and_says_how_many_jobs_need_attention() {
        let cases: [(&[(AlertKind, usize)], &str); 3] = [
            (
                &[(AlertKind::Expiring, 300)],
                "[Bedrock] 300 expiring: 300 batch inference jobs need attention (prod)",
            ),
            (
                &[(AlertKind::Stuck, 1), (AlertKind::Expiring, 2)],
                "[Bedrock] 2 expiring, 1 stuck: 3 batch inference jobs need attention (prod)",
            ),
            // Too long with "need attention": the counts stay whole, the phrase goes.
            (
                &[
                    (AlertKind::Overdue, 1001),
                    (AlertKind::Stalled, 1002),
                    (AlertKind::Stuck, 1003),
                    (AlertKind::Expiring, 1004),
                ],
                "[Bedrock] 1004 expiring, 1003 stuck, 1002 stalled, 1001 overdue: 4010 batch inference jobs (prod)",
            ),
        ];
        for (kinds, expected) in cases {
            // given that many alerts of each kind
            let notices: Vec<Notice> = kinds
                .iter()
                .flat_map(|(kind, n)| {
                    (0..*n).map(move |i| alert(&format!("{kind}-{i}"), *kind, 90, &[]))
                })
                .collect();
            // when
            let digest = build(&notices);
            // then
            assert_eq!(digest.subject, expected);
            assert!(digest.subject.len() <= subject::MAX_SUBJECT_BYTES);
            assert_eq!(digest.jobs, notices.len());
        }
    }

    #[test]
    fn lines_are_grouped_by_kind_most_urgent_first_then_by_job() {
        // given alerts of every kind, out of order
        let notices = [
            alert("b-late", AlertKind::Overdue, 200, &[]),
            alert("z-queued", AlertKind::Stuck, 372, &[]),
            alert("a-queued", AlertKind::Stuck, 400, &[]),
            alert("m-slow", AlertKind::Stalled, 135, &[]),
            alert("k-soon", AlertKind::Expiring, 295, &[]),
            alert("c-gone", AlertKind::Expiring, -20, &[]),
        ];
        // when
        let digest = build(&notices);
        // then each line is where its kind and name put it, saying what its figure means
        let lines: Vec<&str> = digest
            .text
            .lines()
            .filter(|l| AlertKind::ALL.iter().any(|k| l.starts_with(k.as_str())))
            .collect();
        let expected = [
            (
                "expiring",
                "c-gone",
                "20m 00s  past its expiration time, still InProgress",
            ),
            ("expiring", "k-soon", "4h 55m  left, still InProgress"),
            ("stuck", "a-queued", "6h 40m  waiting in InProgress"),
            ("stuck", "z-queued", "6h 12m  waiting in InProgress"),
            ("stalled", "m-slow", "2h 15m  in InProgress"),
            ("overdue", "b-late", "3h 20m  running, median 1h 00m"),
        ];
        assert_eq!(lines.len(), expected.len(), "{}", digest.text);
        for (line, (kind, name, end)) in lines.iter().zip(expected) {
            assert!(
                line.starts_with(kind) && line.contains(name) && line.ends_with(end),
                "{line:?} is not {kind} {name} ... {end}"
            );
        }
        assert!(digest
            .text
            .contains("\n      2  expiring\n      2  stuck\n"));
        assert_eq!(
            digest.text.matches("\n- ").count(),
            4,
            "what to do, per kind"
        );
    }

    /// Tags as `(key, value)` pairs.
    type TagList<'a> = &'a [(&'a str, &'a str)];

    #[test]
    fn attributes_match_a_type_alert_filter_and_stay_within_ten() {
        let cases: [(TagList, usize, bool); 3] = [
            // (tags, attribute count, whether the accounts still fit)
            (&[], 8, true),
            (&[("team", "search")], 9, true),
            (
                &[("team", "search"), ("owner", "ana"), ("cost", "x1")],
                10,
                false,
            ),
        ];
        for (tags, count, with_account) in cases {
            // given two alerts of jobs with these tags
            let notices = [
                alert("a", AlertKind::Stuck, 400, tags),
                alert("b", AlertKind::Expiring, 100, tags),
            ];
            // when
            let digest = build(&notices);
            // then
            let attribute = |key: &str| {
                digest
                    .attributes
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            let one = |v: &str| Some(AttributeValue::One(v.to_owned()));
            assert_eq!(attribute("type"), one("alert"));
            assert_eq!(attribute("digest"), one("true"));
            assert_eq!(
                attribute("alert"),
                Some(AttributeValue::Many(vec![
                    "expiring".into(),
                    "stuck".into()
                ]))
            );
            assert_eq!(digest.attributes.len(), count, "{:?}", digest.attributes);
            assert_eq!(attribute("account").is_some(), with_account);
        }
    }

    #[test]
    fn the_same_alerts_in_any_order_make_the_same_digest_and_never_a_jobs_digest_key() {
        // given the same alerts in two orders
        let notices = [
            alert("a", AlertKind::Stuck, 400, &[]),
            alert("b", AlertKind::Expiring, 100, &[]),
        ];
        let reversed = [notices[1].clone(), notices[0].clone()];
        // when
        let (one, other) = (build(&notices), build(&reversed));
        // then
        assert_eq!(one, other);
        assert!(one.dedup_key.starts_with("alert-digest#batch-inference#2#"));
    }

    #[test]
    fn a_job_digest_of_many_long_failures_stays_within_what_sns_takes() {
        // given more failed jobs than a digest lists, each with a long name and message
        let notices: Vec<Notice> = (0..MAX_DIGEST_LINES + 400)
            .map(|i| {
                let name = format!("{}-{i:05}", "n".repeat(56));
                let submitted = Utc.with_ymd_and_hms(2026, 11, 23, 2, 14, 0).unwrap();
                let arn = JobArn::new(format!(
                    "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/{i}"
                ));
                let mut record = JobRecord::new(
                    JobKind::BatchInference,
                    arn,
                    "us-east-1".into(),
                    JobStatus::new("Failed"),
                    submitted,
                    submitted,
                );
                record.name = Some(name);
                record.message = Some("Validation failed: ".repeat(40));
                let status = JobStatus::new("Failed");
                Notice::build(&record, &status, &Presentation::default(), &Tags::new())
            })
            .collect();
        // when
        let all: Vec<&Notice> = notices.iter().collect();
        let digest = Digest::build(JobKind::BatchInference, &all, true);
        // then the first ones are listed, the rest counted, within SNS's 256 KiB
        assert!(
            digest.text.contains("... and 400 more"),
            "{}",
            &digest.text[..300]
        );
        assert!(digest.text.len() < 256 * 1024, "{}", digest.text.len());
        assert_eq!(digest.jobs, MAX_DIGEST_LINES + 400);
    }

    #[test]
    fn past_the_line_limit_the_rest_are_counted() {
        // given more alerts than a digest lists
        let notices: Vec<Notice> = (0..MAX_DIGEST_LINES + 5)
            .map(|i| alert(&format!("job-{i:05}"), AlertKind::Expiring, 100, &[]))
            .collect();
        // when
        let digest = build(&notices);
        // then the first ones are listed, the rest counted, and it stays within SNS's 256 KiB
        let listed = digest
            .text
            .lines()
            .filter(|l| l.starts_with("expiring"))
            .count();
        assert_eq!(listed, MAX_DIGEST_LINES);
        assert!(digest.text.contains("... and 5 more"));
        assert!(digest.text.len() < 256 * 1024);
        assert_eq!(digest.jobs, MAX_DIGEST_LINES + 5);
    }
}
