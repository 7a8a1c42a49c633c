//! `show <arn>`: the job's item as stored, and every notification published for it.

use jobwatch::domain::{Basis, JobArn, JobRecord};

use crate::error::CliError;
use crate::ops::Ops;
use crate::text::{or_dash, table, time};

pub async fn run(ops: &Ops, arn: &JobArn, json: bool) -> Result<(), CliError> {
    let record = ops.record(arn).await?;
    if json {
        let doc = serde_json::json!({ "item": record, "progress": record.estimate(), "progressNote": jobwatch::notices::progress_note(&record), "notifications": record.notifications });
        println!("{doc:#}");
    } else {
        println!("{}", render(&record));
    }
    Ok(())
}

/// `400 of 1000 records, 240/hour (observed)`, or `-` without counts.
fn progress(r: &JobRecord) -> String {
    let Some(processed) = r.counts.processed else {
        return jobwatch::notices::progress_note(r).unwrap_or_else(|| "-".into());
    };
    let of = r.counts.total.map_or(String::new(), |t| format!(" of {t}"));
    let rate = r.estimate().map_or(String::new(), |e| {
        let basis = match e.basis {
            Basis::Observed => "observed",
            Basis::SinceSubmit => "since submission",
        };
        format!(", {:.0}/hour ({basis})", e.records_per_hour)
    });
    format!("{processed}{of} records{rate}")
}

fn render(r: &JobRecord) -> String {
    let t = |v: Option<chrono::DateTime<chrono::Utc>>| or_dash(v.map(time));
    let s = |v: Option<String>| or_dash(v);
    let eta = s(r.estimate().and_then(|e| e.end).map(time));
    let fields = [
        ("job", r.pk.to_string()),
        ("family", r.kind.to_string()),
        ("name", s(r.name.clone())),
        ("status", format!("{} ({})", r.status, r.phase())),
        (
            "previous status",
            s(r.previous_status.as_ref().map(|p| p.to_string())),
        ),
        ("submitted", time(r.submit_time)),
        ("ended", t(r.end_time)),
        ("message", s(r.message.clone())),
        ("progress", progress(r)),
        ("estimated end", eta),
        ("expires", t(r.deadline)),
        (
            "pending_status",
            s(r.pending_status.as_ref().map(|p| p.to_string())),
        ),
        (
            "lease_owner",
            s(r.lease_owner.as_ref().map(|o| o.to_string())),
        ),
        ("lease_until", t(r.lease_until)),
        (
            "notified_status",
            s(r.notified_status.as_ref().map(|p| p.to_string())),
        ),
        ("notified_at", t(r.notified_at)),
        ("watch", s(r.watch.as_ref().map(|w| w.to_string()))),
        ("missing_count", r.missing_count.to_string()),
        ("retired", r.retired.to_string()),
        ("version", r.version.to_string()),
        ("expires_at", t(r.expires_at)),
    ];
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k:<width$}  {v}"))
        .collect();
    out.push(String::new());
    out.push(history(r));
    out.join("\n")
}

/// The notifications published for the job, oldest first.
fn history(r: &JobRecord) -> String {
    let mut out = Vec::new();
    if r.notifications.is_empty() {
        out.push("No notification published for this job.".into());
    } else {
        let rows: Vec<Vec<String>> = r
            .notifications
            .iter()
            .map(|n| {
                let how = if n.resend { "re-send" } else { "transition" };
                vec![time(n.at), n.status.to_string(), how.to_owned()]
            })
            .collect();
        out.push("Notifications".into());
        out.push(table(&["PUBLISHED", "STATUS", "KIND"], &rows));
    }
    out.join("\n")
}
