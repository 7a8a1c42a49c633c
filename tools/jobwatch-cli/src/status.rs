//! `status`: per family, the last run, the open jobs (age, phase) and the pending notices, as the
//! table has them (the scope's item and the watch index: never the whole history). Open jobs
//! and pending notices are every scope's (one Query of the family; the ARN names the account
//! and region); the last run and the watermark are the function's own region's, and with several
//! scopes (`REGIONS`, `ACCOUNTS`) each scope's last run is listed too.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use jobwatch::domain::{Estimate, JobKind, JobRecord, Scope};
use jobwatch::ports::{JobStore, ScopeState};
use serde::Serialize;

use crate::error::CliError;
use crate::ops::Ops;
use crate::text::{age, or_dash, table, time};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Family {
    family: JobKind,
    last_run: Option<Run>,
    watermark: Option<DateTime<Utc>>,
    /// Every (account, region) scope's last run, when the functions watch more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes: Vec<ScopeRun>,
    open: Vec<Open>,
    pending: Vec<Pending>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScopeRun {
    /// `self/us-east-1` or `222222222222/eu-west-1`.
    scope: String,
    last_run: Option<Run>,
    watermark: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    at: DateTime<Utc>,
    run_id: String,
    ok: bool,
    age_seconds: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Open {
    arn: String,
    name: Option<String>,
    status: String,
    phase: String,
    submit_time: DateTime<Utc>,
    age_seconds: i64,
    /// Processed and total records, when the family reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    processed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<i64>,
    /// Rate and estimated end (docs/notifications/cost-and-progress.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<Estimate>,
    /// Where a job without record counts stands (customization stages, ingestion documents),
    /// and that it has no estimated end.
    #[serde(skip_serializing_if = "Option::is_none")]
    progress_note: Option<String>,
    #[serde(skip)]
    progress_cell: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Pending {
    arn: String,
    status: String,
    lease_owner: Option<String>,
    lease_until: Option<DateTime<Utc>>,
}

pub async fn run(ops: &Ops, json: bool) -> Result<(), CliError> {
    let now = Utc::now();
    let mut families = Vec::new();
    for kind in JobKind::ALL {
        let scope = ops.scope(kind);
        let state = ops.store.scope_state(&scope).await?;
        let watched: Vec<Vec<JobRecord>> = ops.store.watched_family(kind).try_collect().await?;
        let mut family = family(kind, state, watched.concat(), now);
        family.scopes = scope_runs(ops, kind, now).await?;
        families.push(family);
    }
    let health = crate::health::read(ops).await?;
    if json {
        let doc = serde_json::json!({
            "region": ops.config.poll.region,
            "table": ops.config.table,
            "at": now,
            "families": families,
            "health": health,
        });
        println!("{doc:#}");
    } else {
        let mut text = render(ops, &families, now);
        text.push_str(&crate::health::render(&health, now).unwrap_or_default());
        println!("{text}");
    }
    Ok(())
}

/// Each scope's last run and watermark, when the family has more than one scope.
async fn scope_runs(
    ops: &Ops,
    kind: JobKind,
    now: DateTime<Utc>,
) -> Result<Vec<ScopeRun>, CliError> {
    let targets = ops.config.targets.targets(kind, &ops.config.poll.region);
    if targets.len() < 2 {
        return Ok(Vec::new());
    }
    let mut runs = Vec::new();
    for target in targets {
        let scope = Scope::of(kind, target.account.id(), &target.region);
        let state = ops.store.scope_state(&scope).await?;
        runs.push(ScopeRun {
            scope: target.to_string(),
            last_run: state.last_run.map(|run| Run::of(run, now)),
            watermark: state.watermark,
        });
    }
    Ok(runs)
}

impl Run {
    fn of(run: jobwatch::ports::LastRun, now: DateTime<Utc>) -> Self {
        Run {
            age_seconds: (now - run.at).num_seconds(),
            at: run.at,
            run_id: run.run_id.to_string(),
            ok: run.ok,
        }
    }
}

fn family(kind: JobKind, state: ScopeState, watched: Vec<JobRecord>, now: DateTime<Utc>) -> Family {
    let mut open: Vec<Open> = watched
        .iter()
        .filter(|r| r.is_open() && !r.retired)
        .map(|r| Open {
            arn: r.pk.to_string(),
            name: r.name.clone(),
            status: r.status.to_string(),
            phase: r.phase().to_string(),
            submit_time: r.submit_time,
            age_seconds: (now - r.submit_time).num_seconds(),
            processed: r.counts.processed,
            total: r.counts.total,
            progress: r.estimate(),
            progress_note: jobwatch::notices::progress_note(r),
            progress_cell: jobwatch::notices::progress_cell(r),
        })
        .collect();
    open.sort_by_key(|o| std::cmp::Reverse(o.age_seconds));
    let pending = watched
        .iter()
        .filter_map(|r| {
            Some(Pending {
                status: r.pending_status.as_ref()?.to_string(),
                arn: r.pk.to_string(),
                lease_owner: r.lease_owner.as_ref().map(|o| o.to_string()),
                lease_until: r.lease_until,
            })
        })
        .collect();
    Family {
        family: kind,
        last_run: state.last_run.map(|run| Run::of(run, now)),
        watermark: state.watermark,
        scopes: Vec::new(),
        open,
        pending,
    }
}

/// LAST RUN and RESULT cells.
fn run_cells(run: Option<&Run>) -> [String; 2] {
    [
        or_dash(run.map(|r| format!("{} ({} ago)", time(r.at), age(r.age_seconds)))),
        or_dash(run.map(|r| if r.ok { "ok" } else { "FAILED" }.to_owned())),
    ]
}

/// Each scope's last run, for the families that have several scopes.
fn scopes_table(families: &[Family]) -> Option<String> {
    let rows: Vec<Vec<String>> = families
        .iter()
        .flat_map(|f| f.scopes.iter().map(move |s| (f.family, s)))
        .map(|(kind, s)| {
            let [last, result] = run_cells(s.last_run.as_ref());
            vec![kind.to_string(), s.scope.clone(), last, result]
        })
        .collect();
    (!rows.is_empty()).then(|| table(&["FAMILY", "SCOPE", "LAST RUN", "RESULT"], &rows))
}

fn render(ops: &Ops, families: &[Family], now: DateTime<Utc>) -> String {
    let mut out = format!(
        "bedrock-jobwatch in {} (table {}) at {}\n\n{}",
        ops.config.poll.region,
        ops.config.table,
        time(now),
        summary_table(families)
    );
    if let Some(scopes) = scopes_table(families) {
        out.push_str("\n\nScopes (each account and region)\n");
        out.push_str(&scopes);
    }
    if let Some(open) = open_table(families) {
        out.push_str("\n\nOpen jobs\n");
        out.push_str(&open);
    }
    if let Some(pending) = pending_table(families) {
        out.push_str("\n\nPending notices (published by the next run; see docs/operations/troubleshooting.md)\n");
        out.push_str(&pending);
    }
    out
}

/// One row per family: its last run, how many jobs are open (and the oldest's age), how many
/// notices are pending.
fn summary_table(families: &[Family]) -> String {
    let summary: Vec<Vec<String>> = families
        .iter()
        .map(|f| {
            let [last, result] = run_cells(f.last_run.as_ref());
            vec![
                f.family.to_string(),
                last,
                result,
                f.open.len().to_string(),
                or_dash(f.open.first().map(|o| age(o.age_seconds))),
                f.pending.len().to_string(),
            ]
        })
        .collect();
    table(
        &["FAMILY", "LAST RUN", "RESULT", "OPEN", "OLDEST", "PENDING"],
        &summary,
    )
}

/// Every family's open jobs, oldest first within a family; `None` when there are none.
fn open_table(families: &[Family]) -> Option<String> {
    let open: Vec<Vec<String>> = families
        .iter()
        .flat_map(|f| f.open.iter().map(move |o| (f.family, o)))
        .map(|(kind, o)| {
            vec![
                kind.to_string(),
                o.arn.clone(),
                or_dash(o.name.clone()),
                o.status.clone(),
                o.phase.clone(),
                age(o.age_seconds),
                progress_cell(o),
                or_dash(o.progress.and_then(|e| e.end).map(time)),
            ]
        })
        .collect();
    let header = [
        "FAMILY", "JOB", "NAME", "STATUS", "PHASE", "AGE", "PROGRESS", "ETA",
    ];
    (!open.is_empty()).then(|| table(&header, &open))
}

/// `400/1000 (240/h)`: processed of total and the rate, as far as they are known.
fn progress_cell(o: &Open) -> String {
    let Some(processed) = o.processed else {
        return or_dash(o.progress_cell.clone());
    };
    let of = o.total.map_or(String::new(), |t| format!("/{t}"));
    let rate = o
        .progress
        .map_or(String::new(), |e| format!(" ({:.0}/h)", e.records_per_hour));
    format!("{processed}{of}{rate}")
}

/// Every family's pending notices; `None` when there are none.
fn pending_table(families: &[Family]) -> Option<String> {
    let pending: Vec<Vec<String>> = families
        .iter()
        .flat_map(|f| f.pending.iter().map(move |p| (f.family, p)))
        .map(|(kind, p)| {
            vec![
                kind.to_string(),
                p.arn.clone(),
                p.status.clone(),
                or_dash(p.lease_until.map(time)),
            ]
        })
        .collect();
    (!pending.is_empty()).then(|| table(&["FAMILY", "JOB", "STATUS", "LEASED UNTIL"], &pending))
}
