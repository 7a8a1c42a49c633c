//! The plain-text email variant of a notice: what a person needs to act, in reading order.

use std::fmt::Write;

use super::presentation::{EmailDetail, Tags};
use crate::domain::{JobRecord, JobStatus, Outcome, Phase, RecordCounts};

pub(super) fn duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m"),
    }
}

/// 12500000 -> 12,500,000.
pub(super) fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// The first line's verdict, true to the counts: a "success" with failed records says so.
fn headline(phase: Phase, counts: &RecordCounts) -> &'static str {
    let some_failed = counts.error.is_some_and(|e| e > 0);
    match (phase.outcome(), phase) {
        (Outcome::Success, _) if some_failed => "finished, but some records failed",
        (Outcome::Success, _) => "finished successfully",
        (Outcome::Partial, _) => "finished, but some records failed",
        (Outcome::Failure, Phase::Expired) => "expired before it could finish",
        (Outcome::Failure, Phase::Stopped) => "was stopped",
        (Outcome::Failure, _) => "failed",
        (Outcome::Progress, _) => "changed status",
    }
}

/// What the email of one job shows (the display values are already bounded).
pub struct View<'a> {
    pub record: &'a JobRecord,
    pub status: &'a JobStatus,
    pub name: &'a str,
    pub message: Option<&'a str>,
    pub account_name: Option<&'a str>,
    pub tags: &'a Tags,
    pub detail: EmailDetail,
}

/// Renders the email body.
pub fn render(view: &View<'_>) -> String {
    let mut out = String::new();
    let (record, family) = (view.record, view.record.kind.family());
    let phase = family.phase(view.status);
    match family.ready {
        Some(_) => resource_headline(&mut out, view),
        None => {
            let _ = writeln!(
                out,
                "{} \"{}\" {}.",
                family.label,
                view.name,
                headline(phase, &record.counts)
            );
        }
    }
    let _ = writeln!(out);
    timing(&mut out, record, view.status);
    if let Some(model) = &record.model_id {
        let _ = writeln!(out, "Model:            {model}");
    }
    for (key, label) in family.details {
        if let Some(value) = record.details.get(*key) {
            let _ = writeln!(out, "{label:<18}{value}");
        }
    }
    // A resource that failed says why whatever the detail: it is what the owner acts on.
    let says_why = view.detail == EmailDetail::Full
        || (family.ready.is_some() && phase.outcome() == Outcome::Failure);
    if let (Some(message), true) = (view.message, says_why) {
        let _ = writeln!(out, "Message:          {message}");
    }
    counts(&mut out, &record.counts);
    if let Some(cost) = &record.cost {
        let _ = writeln!(out, "Estimated cost:   {}", cost.describe());
        if let Some(alert) = cost.alert_line() {
            let _ = writeln!(out, "Cost alert:       {alert}");
        }
    }
    if !view.tags.is_empty() {
        let tags: Vec<String> = view.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "Tags:             {}", tags.join(", "));
    }
    if view.detail == EmailDetail::Full {
        locations(&mut out, record, phase);
    }
    identity(&mut out, view, phase);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "-- bedrock-jobwatch. Filter what you receive with a subscription filter policy on"
    );
    let _ = write!(
        out,
        "   job_kind, status, outcome, model_id, region, account_name or tag.<key>."
    );
    out
}

/// A resource's first line says what it is now and, once it is ready, what that makes
/// possible: `Provisioned throughput "x" for model y is InService: 2 model units, commitment
/// OneMonth. Invoke it with modelId = {arn}.`
fn resource_headline(out: &mut String, view: &View<'_>) {
    let (record, family) = (view.record, view.record.kind.family());
    let _ = write!(out, "{} \"{}\"", family.label, view.name);
    // An imported model is its own base: "for model" would name itself.
    if let Some(model) = record
        .model_id
        .as_ref()
        .filter(|m| *m != record.pk.as_str())
    {
        let _ = write!(out, " for model {model}");
    }
    let _ = write!(out, " is {}", view.status);
    let mut facts = Vec::new();
    if let Some(units) = record.details.get("modelUnits") {
        facts.push(format!("{units} model units"));
    }
    if let Some(commitment) = record.details.get("commitmentDuration") {
        facts.push(format!("commitment {commitment}"));
    }
    if !facts.is_empty() {
        let _ = write!(out, ": {}", facts.join(", "));
    }
    let _ = writeln!(out, ".");
    let ready = family.phase(view.status).outcome() == Outcome::Success;
    if let (Some(hint), true) = (family.ready, ready) {
        let _ = writeln!(out, "{}.", hint.replace("{arn}", record.pk.as_str()));
    }
    // Said only with a price: no figure is better than a guessed one.
    if let Some(cost) = record.ready_hourly_cost(family.phase(view.status)) {
        let _ = writeln!(out, "{}", crate::domain::idle::ready_sentence(cost));
    }
}

/// Status (and the one before it), then how long the job took or when it was submitted.
fn timing(out: &mut String, record: &JobRecord, status: &JobStatus) {
    let previous = record
        .previous_status
        .as_ref()
        .map_or("(first seen finished)", JobStatus::as_str);
    let _ = writeln!(out, "Status:           {status} (was {previous})");
    let submitted = record.submit_time.format("%Y-%m-%d %H:%M UTC");
    match record.end_time {
        Some(end) => {
            let secs = (end - record.submit_time).num_seconds().max(0);
            let _ = writeln!(
                out,
                "Duration:         {} (submitted {submitted}, ended {})",
                duration(secs),
                end.format("%Y-%m-%d %H:%M UTC")
            );
        }
        None => {
            let _ = writeln!(out, "Submitted:        {submitted}");
        }
    }
}

/// Record and token counts, where the job reports them.
fn counts(out: &mut String, c: &RecordCounts) {
    if let Some(total) = c.total {
        let success = c.success.unwrap_or(0);
        let rate = if total > 0 {
            100.0 * success as f64 / total as f64
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "Records:          {} of {} succeeded ({rate:.1}%), {} failed, {} processed",
            group(success),
            group(total),
            group(c.error.unwrap_or(0)),
            group(c.processed.unwrap_or(0))
        );
    }
    if c.input_tokens.is_some() || c.output_tokens.is_some() {
        let _ = writeln!(
            out,
            "Tokens:           {} input, {} output",
            c.input_tokens.map_or("?".into(), group),
            c.output_tokens.map_or("?".into(), group)
        );
    }
}

/// The data locations (`EMAIL_DETAIL=full` only): input, the job's own output folder (or the
/// output location), the manifest.
fn locations(out: &mut String, record: &JobRecord, phase: Phase) {
    if let Some(input) = &record.input_s3_uri {
        let _ = writeln!(out, "Input:            {input}");
    }
    let folder = super::locations::output_folder(record);
    if let Some(output) = folder
        .as_deref()
        .or(super::locations::output_location(record))
    {
        let _ = writeln!(out, "{:<18}{output}", record.kind.family().output_label);
    }
    if let Some(manifest) = super::locations::manifest_uri(record, phase) {
        let _ = writeln!(out, "Manifest:         {manifest}");
    }
}

/// Which job it is, what it produced, where it runs, and where to look at it.
fn identity(out: &mut String, view: &View<'_>, phase: Phase) {
    let record = view.record;
    if let Some(result) = super::locations::result(record, phase) {
        let _ = writeln!(out, "{:<18}{result}", record.kind.family().output_label);
    }
    let _ = writeln!(out, "Job ARN:          {}", record.pk);
    let account = record.pk.account().unwrap_or("-");
    let account = match view.account_name {
        Some(name) => format!("{name} ({account})"),
        None => account.to_owned(),
    };
    let _ = writeln!(out, "Account / region: {account} / {}", record.region);
    let _ = writeln!(
        out,
        "Console:          {}",
        super::locations::console_url(record, phase)
    );
}
