//! The plain-text email variant of a notice: what a person needs to act, in reading order.

use std::fmt::Write;

use super::{Family, JobRecord, JobStatus, Outcome, Phase, RecordCounts};

/// Console page of a job family (the console has no stable deep link for every job).
fn console_url(family: &Family, region: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/bedrock/home?region={region}#/{}",
        family.console_page
    )
}

fn duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m"),
    }
}

/// 12500000 -> 12,500,000.
fn group(n: i64) -> String {
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

fn headline(phase: Phase) -> &'static str {
    match (phase.outcome(), phase) {
        (Outcome::Success, _) => "finished successfully",
        (Outcome::Partial, _) => "finished, but some records failed",
        (Outcome::Failure, Phase::Expired) => "expired before it could finish",
        (Outcome::Failure, Phase::Stopped) => "was stopped",
        (Outcome::Failure, _) => "failed",
        (Outcome::Progress, _) => "changed status",
    }
}

/// Renders the email body. `name` and `message` are the (already bounded) display values.
pub fn render(record: &JobRecord, status: &JobStatus, name: &str, message: Option<&str>) -> String {
    let mut out = String::new();
    let family = record.kind.family();
    let _ = writeln!(
        out,
        "{} \"{}\" {}.",
        family.label,
        name,
        headline(family.phase(status))
    );
    let _ = writeln!(out);
    timing(&mut out, record, status);
    if let Some(model) = &record.model_id {
        let _ = writeln!(out, "Model:            {model}");
    }
    for (key, label) in family.details {
        if let Some(value) = record.details.get(*key) {
            let _ = writeln!(out, "{label:<18}{value}");
        }
    }
    if let Some(message) = message {
        let _ = writeln!(out, "Message:          {message}");
    }
    counts(&mut out, &record.counts);
    locations(&mut out, record, family);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "-- bedrock-jobwatch. Filter what you receive with a subscription filter policy on"
    );
    let _ = write!(out, "   job_kind, status, outcome, model_id or region.");
    out
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

/// Where the input and output are, which job it is, and where to look at it.
fn locations(out: &mut String, record: &JobRecord, family: &Family) {
    if let Some(input) = &record.input_s3_uri {
        let _ = writeln!(out, "Input:            {input}");
    }
    if let Some(output) = &record.output_s3_uri {
        let _ = writeln!(out, "{:<18}{output}", family.output_label);
    }
    let _ = writeln!(out, "Job ARN:          {}", record.pk);
    let _ = writeln!(
        out,
        "Account / region: {} / {}",
        record.pk.account().unwrap_or("-"),
        record.region
    );
    let _ = writeln!(
        out,
        "Console:          {}",
        console_url(family, &record.region)
    );
}
