//! `bench poll`: the cost of one steady-state poll against histories of growing size, for our
//! poller and for a naive one (full listing every run, one GetItem per job), side by side.
//!
//! Each measured run happens in a child process (`bench run-once`), as a Lambda would run it, so
//! its peak resident memory is the function's, not the emulator's.

use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};

use crate::stand_ins::{Moto, Stand};

pub struct PollArgs {
    pub histories: Vec<usize>,
    pub open: usize,
    pub transitions: usize,
    pub naive: bool,
}

/// One measured run, as the child reports it plus what the emulator counted.
#[derive(Debug, Default, Clone)]
struct Measured {
    bedrock_calls: u64,
    dynamodb_requests: u64,
    dynamodb_capacity: f64,
    sns_publishes: u64,
    wall_ms: f64,
    peak_rss_kib: u64,
}

fn child(mode: &str, stand: &Stand, table: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .args(["run-once", "--mode", mode])
        .envs(stand.env(table))
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "run-once {mode} failed: {}",
            String::from_utf8_lossy(&out.stdout)
        )
        .into());
    }
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    Ok(serde_json::from_str(&last)?)
}

async fn bedrock_calls(stand: &Stand) -> Result<u64, Box<dyn std::error::Error>> {
    let stats: Value = reqwest::get(format!("{}/_emulator/stats", stand.emulator.endpoint()))
        .await?
        .json()
        .await?;
    Ok(stats["requests"]["total"].as_u64().unwrap_or(0))
}

async fn measure(
    mode: &str,
    stand: &Stand,
    table: &str,
) -> Result<Measured, Box<dyn std::error::Error>> {
    let before = bedrock_calls(stand).await?;
    let report = child(mode, stand, table)?;
    let after = bedrock_calls(stand).await?;
    Ok(Measured {
        bedrock_calls: after - before,
        dynamodb_requests: report["dynamodb_requests"].as_u64().unwrap_or(0),
        dynamodb_capacity: report["dynamodb_capacity"].as_f64().unwrap_or(0.0),
        sns_publishes: report["notifications_sent"].as_u64().unwrap_or(0),
        wall_ms: report["wall_ms"].as_f64().unwrap_or(0.0),
        peak_rss_kib: report["peak_rss_kib"].as_u64().unwrap_or(0),
    })
}

async fn control(
    stand: &Stand,
    path: &str,
    body: Value,
) -> Result<Value, Box<dyn std::error::Error>> {
    let client = reqwest::Client::new();
    Ok(client
        .post(format!("{}/_emulator/{path}", stand.emulator.endpoint()))
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// History older than the first run's look-back, open jobs within it; a first (unmeasured) run
/// of each poller; then `transitions` open jobs finish.
async fn prepare(
    stand: &Stand,
    args: &PollArgs,
    history: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    control(stand, "seed", json!({"kind": "batch-inference", "count": history, "statuses": {"Completed": 8, "Failed": 1, "Expired": 1}, "spreadHours": 17000, "newestHoursAgo": 400, "namePrefix": "history"})).await?;
    control(stand, "seed", json!({"kind": "batch-inference", "count": args.open, "statuses": {"InProgress": 1}, "spreadHours": 48, "newestHoursAgo": 1, "namePrefix": "open"})).await?;
    child("ours", stand, "ours")?;
    if args.naive {
        child("naive", stand, "naive")?;
    }
    let jobs: Value = reqwest::get(format!(
        "{}/_emulator/jobs?status=InProgress",
        stand.emulator.endpoint()
    ))
    .await?
    .json()
    .await?;
    let open: Vec<String> = jobs["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|j| j["arn"].as_str().map(str::to_owned))
        .collect();
    for arn in open.iter().take(args.transitions) {
        let id = arn.rsplit('/').next().unwrap_or_default();
        control(
            stand,
            &format!("jobs/{id}/status"),
            json!({"status": "Completed"}),
        )
        .await?;
    }
    Ok(())
}

pub async fn run(args: PollArgs) -> Result<(), Box<dyn std::error::Error>> {
    let moto = Moto::start().await;
    let mut rows = Vec::new();
    for &history in &args.histories {
        let stand = Stand::start(&moto, &["ours", "naive"]).await?;
        let started = Instant::now();
        prepare(&stand, &args, history).await?;
        eprintln!(
            "bench: history {history}: prepared in {:.1?}",
            started.elapsed()
        );
        let ours = measure("ours", &stand, "ours").await?;
        let naive = if args.naive {
            Some(measure("naive", &stand, "naive").await?)
        } else {
            None
        };
        rows.push((history, ours, naive));
        stand.teardown(&["ours", "naive"]).await;
    }
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("steady-state poll: {} open jobs, {} transitions, {build} build, moto + bedrock-emulator on this machine", args.open, args.transitions);
    println!(
        "{:>8} {:>6} | {:>8} {:>8} {:>8} {:>5} {:>9} {:>8} | {:>8} {:>8} {:>9} | {:>7}",
        "history",
        "poller",
        "bedrock",
        "dynamodb",
        "ddb CU",
        "sns",
        "wall ms",
        "rss MiB",
        "naive bd",
        "naive dd",
        "naive ms",
        "bd x"
    );
    for (history, ours, naive) in rows {
        let (nb, nd, nm, ratio) = match &naive {
            Some(n) => (
                n.bedrock_calls.to_string(),
                n.dynamodb_requests.to_string(),
                format!("{:.0}", n.wall_ms),
                format!(
                    "{:.0}x",
                    n.bedrock_calls as f64 / ours.bedrock_calls.max(1) as f64
                ),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{history:>8} {:>6} | {:>8} {:>8} {:>8.1} {:>5} {:>9.0} {:>8.1} | {nb:>8} {nd:>8} {nm:>9} | {ratio:>7}",
            "ours", ours.bedrock_calls, ours.dynamodb_requests, ours.dynamodb_capacity, ours.sns_publishes, ours.wall_ms, ours.peak_rss_kib as f64 / 1024.0
        );
    }
    Ok(())
}
