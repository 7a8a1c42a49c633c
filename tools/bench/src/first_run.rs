//! `bench first-run --history N [--budget-secs 120]`: a first deployment into an account whose
//! look-back holds N jobs. Each invocation runs in its own process with the given budget, as
//! Lambda would run it every schedule period, until the backlog is done (the watermark is set);
//! prints one row per invocation.

use serde_json::json;
use testkit::Stack;

use crate::child::{invoke, mib, n};

/// `bench first-run`'s options.
#[derive(clap::Args)]
pub struct FirstRunArgs {
    #[arg(long, default_value = "batch-inference")]
    pub family: String,
    /// Jobs in the look-back.
    #[arg(long, default_value_t = 100_000)]
    pub history: usize,
    /// Share of them still open.
    #[arg(long, default_value_t = 0.1)]
    pub open_share: f64,
    /// Each invocation's budget (the function timeout less the margin).
    #[arg(long, default_value_t = 115)]
    pub budget_secs: u64,
    #[arg(long, default_value_t = 30)]
    pub max_invocations: usize,
}

pub async fn run(args: FirstRunArgs) -> Result<(), Box<dyn std::error::Error>> {
    let stack = Stack::start().await;
    let open = seed(&stack, &args).await?;
    print_header(&args, open);
    let (mut invocations, mut listed, mut peak) = (0, 0, 0.0_f64);
    loop {
        invocations += 1;
        let report = invoke(
            &stack,
            &stack.table,
            &args.family,
            "ours",
            Some(args.budget_secs * 1000),
        )?;
        listed += n(&report, "listed");
        peak = peak.max(mib(&report));
        let finished = !report["watermark"].is_null();
        print_row(invocations, &report, finished);
        if finished || invocations >= args.max_invocations {
            break;
        }
    }
    println!("backlog done in {invocations} invocation(s); {listed} jobs listed in all; peak RSS {peak:.1} MiB");
    Ok(())
}

/// The look-back's jobs, finished and (`--open-share` of them) open: how many are open.
async fn seed(stack: &Stack, args: &FirstRunArgs) -> Result<usize, Box<dyn std::error::Error>> {
    let open = (args.history as f64 * args.open_share).round() as usize;
    let kind = crate::family(&args.family)?;
    let done = kind
        .family()
        .terminal_statuses()
        .next()
        .map(|s| s.to_string())
        .unwrap_or_default();
    // All of it inside the 14-day look-back, as with heavy async-invoke or batch users.
    stack.control("seed", json!({"kind": args.family, "count": args.history - open, "statuses": {done: 1}, "spreadHours": 300, "newestHoursAgo": 2, "namePrefix": "history"})).await;
    stack.control("seed", json!({"kind": args.family, "count": open, "statuses": {"InProgress": 1}, "spreadHours": 300, "newestHoursAgo": 2, "namePrefix": "open"})).await;
    Ok(open)
}

/// What is measured, and the table's column headings.
fn print_header(args: &FirstRunArgs, open: usize) {
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "first run: {} {} jobs in the look-back ({open} open), {}s budget per invocation, {build} build",
        args.history, args.family, args.budget_secs
    );
    println!(
        "{:>4} | {:>7} {:>11} {:>7} {:>8} {:>8} {:>7} {:>7} | {:>25} {:>9}",
        "inv",
        "listed",
        "transitions",
        "bedrock",
        "dynamodb",
        "wall s",
        "cpu s",
        "rss MiB",
        "checkpoint",
        "watermark"
    );
}

/// One invocation's row.
fn print_row(invocations: usize, report: &serde_json::Value, finished: bool) {
    println!(
        "{invocations:>4} | {:>7} {:>11} {:>7} {:>8} {:>8.1} {:>7.1} {:>7.1} | {:>25} {:>9}",
        n(report, "listed"),
        n(report, "transitions"),
        n(report, "bedrock_calls"),
        n(report, "store_calls"),
        report["wall_ms"].as_f64().unwrap_or(0.0) / 1000.0,
        n(report, "cpu_ms") as f64 / 1000.0,
        mib(report),
        report["checkpoint"].as_str().unwrap_or("-"),
        if finished { "set" } else { "-" },
    );
}
