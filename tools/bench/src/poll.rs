//! `bench poll`: the cost of one steady-state poll against histories of growing size, for each
//! family, ours and (with `--naive`) a naive poller (full listing every run, one GetItem per job).

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::domain::{AlertKind, JobArn, JobKind, JobRecord, Phase};
use jobwatch::ports::JobStore;
use jobwatch::{Budget, Poller};
use serde_json::{json, Value};
use testkit::Stack;

use crate::child::{invoke, invoke_with, mib, n};

/// The same poll with alerts off, on its own table: alerts must not change the Bedrock calls.
const ALERTS_OFF: [(&str, &str); 1] = [("ALERTS", "off")];

pub struct PollArgs {
    pub families: Vec<String>,
    pub histories: Vec<usize>,
    pub open: usize,
    pub transitions: usize,
    pub naive: bool,
}

/// History older than the first run's look-back, open jobs within it; a first (unmeasured) run
/// of each poller; then `transitions` open jobs finish.
async fn prepare(stack: &Stack, family: &str, args: &PollArgs, history: usize) {
    let kind = crate::family(family).expect("a known family");
    let terminal: serde_json::Map<String, serde_json::Value> = kind
        .family()
        .terminal_statuses()
        .map(|s| (s.to_string(), json!(1)))
        .collect();
    stack.control("seed", json!({"kind": family, "count": history, "statuses": terminal, "spreadHours": 17000, "newestHoursAgo": 400, "namePrefix": "history"})).await;
    // Each family's own word for running (`InProgress`, `IN_PROGRESS`).
    let running = kind
        .family()
        .vocabulary
        .iter()
        .find(|(_, phase)| *phase == Phase::Running)
        .map_or("InProgress", |(raw, _)| *raw);
    // Each open job has been processing at its own rate: 10,000 records in 6 to 36 hours (a
    // 24-hour timeout, so some are on track and some are not).
    let progress = json!({"total": 10_000, "hoursToFinish": [6, 36]});
    stack.control("seed", json!({"kind": family, "count": args.open, "statuses": {running: 1}, "spreadHours": 48, "newestHoursAgo": 1, "namePrefix": "open", "progress": progress})).await;
    stack.create_table("ours").await;
    stack.create_table("naive").await;
    stack.create_table("quiet").await;
    let open = stack
        .control_get(&format!("jobs?status={running}&kind={family}"))
        .await;
    let arns = open["jobs"].as_array().cloned().unwrap_or_default();
    if kind == JobKind::DataAutomation {
        // No List: the open invocations are known from their Created events.
        let arns: Vec<&str> = arns.iter().filter_map(|j| j["arn"].as_str()).collect();
        register_by_events(stack, "ours", &arns).await;
        register_by_events(stack, "quiet", &arns).await;
    }
    invoke(stack, "ours", family, "ours", None).expect("first run");
    invoke_with(stack, "quiet", family, "ours", None, &ALERTS_OFF).expect("first quiet run");
    // The next runs send the alerts the seeded open jobs are due (each kind once per job, one
    // kind a run): what is measured after them is the steady state.
    for _ in 0..crate::ALERT_KINDS {
        let run = invoke(stack, "ours", family, "ours", None).expect("a settling run");
        if n(&run, "alerts_sent") == 0 {
            break;
        }
    }
    if args.naive {
        invoke(stack, "naive", family, "naive", None).expect("first naive run");
    }
    for job in arns.iter().take(args.transitions) {
        let status = kind
            .family()
            .terminal_statuses()
            .next()
            .expect("a terminal status");
        stack
            .set_status(job["arn"].as_str().unwrap_or_default(), status.as_str())
            .await;
    }
}

/// What the fast path does with each invocation's Created event: one Get, one conditional write.
async fn register_by_events(stack: &Stack, table: &str, arns: &[&str]) {
    let poller = Poller::new(
        stack.source(JobKind::DataAutomation),
        DynamoJobStore::new(stack.dynamodb.clone(), table),
        stack.notifier(),
        stack.settings(),
    );
    futures::stream::iter(arns)
        .for_each_concurrent(16, |arn| {
            let poller = &poller;
            async move {
                poller
                    .run_one(
                        Utc::now(),
                        "created-event",
                        &JobArn::new(*arn),
                        Budget::default(),
                    )
                    .await
                    .expect("the Created event registers the invocation");
            }
        })
        .await;
}

pub async fn run(args: PollArgs) -> Result<(), Box<dyn std::error::Error>> {
    print_header(&args);
    let mut expiring = Vec::new();
    for family in &args.families {
        for &history in &args.histories {
            let stack = Stack::start().await;
            prepare(&stack, family, &args, history).await;
            let ours = invoke(&stack, "ours", family, "ours", None)?;
            let quiet = invoke_with(&stack, "quiet", family, "ours", None, &ALERTS_OFF)?;
            let naive = match args.naive {
                true => Some(invoke(&stack, "naive", family, "naive", None)?),
                false => None,
            };
            print_row(family, history, &ours, &quiet, naive.as_ref());
            expiring.push((
                family.clone(),
                history,
                expiring_alerts(&stack, family).await,
            ));
        }
    }
    print_expiring(&expiring, args.open);
    Ok(())
}

/// How many `expiring` alerts the open jobs got while settling (each job at most one), and
/// how many of them were already past their `jobExpirationTime`.
#[derive(Debug, Default, Clone, Copy)]
struct Expiring {
    alerted: usize,
    past_deadline: usize,
    open: usize,
}

async fn expiring_alerts(stack: &Stack, family: &str) -> Expiring {
    let kind = crate::family(family).expect("a known family");
    let store = DynamoJobStore::new(stack.dynamodb.clone(), "ours");
    let pages: Vec<Vec<JobRecord>> = store
        .watched_family(kind)
        .try_collect()
        .await
        .unwrap_or_default();
    let now = Utc::now();
    let open: Vec<JobRecord> = pages
        .concat()
        .into_iter()
        .filter(JobRecord::is_open)
        .collect();
    let alerted: Vec<&JobRecord> = open
        .iter()
        .filter(|r| r.alerts_sent.contains(&AlertKind::Expiring))
        .collect();
    Expiring {
        alerted: alerted.len(),
        past_deadline: alerted
            .iter()
            .filter(|r| r.deadline.is_some_and(|d| d < now))
            .count(),
        open: open.len(),
    }
}

/// The `expiring` figure per family and history (issue 34 measured 313 of 500 before jobs'
/// progress counted).
fn print_expiring(rows: &[(String, usize, Expiring)], open: usize) {
    println!();
    println!("expiring alerts while settling ({open} open jobs submitted 1-48 h ago, 24 h timeout, each taking 6-36 h):");
    for (family, history, e) in rows {
        println!(
            "{family:<20} {history:>8} | {} expiring of {} open, {} of them already past their expiration time",
            e.alerted, e.open, e.past_deadline
        );
    }
}

/// What is measured, and the table's column headings.
fn print_header(args: &PollArgs) {
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "steady-state poll: {} open jobs, {} transitions, {build} build, moto + bedrock-emulator on this machine",
        args.open, args.transitions
    );
    println!(
        "{:<20} {:>8} | {:>7} {:>8} {:>7} {:>5} {:>8} {:>6} {:>7} {:>6} {:>6} {:>7} {:>5} | {:>8} {:>8} {:>8}",
        "family",
        "history",
        "bedrock",
        "dynamodb",
        "ddb CU",
        "sns",
        "wall ms",
        "cpu ms",
        "rss MiB",
        "alerts",
        "bd off",
        "pricing",
        "cw",
        "naive bd",
        "naive ms",
        "naive x"
    );
}

/// One family and history size: our poll, its Bedrock calls with alerts off (`bd off`: the
/// idle check, on only with alerts, must not change them), the CloudWatch calls the idle
/// and stall checks add (`cw`), and the naive poll's calls, time and ratio to ours (`-` without
/// `--naive`).
fn print_row(family: &str, history: usize, ours: &Value, quiet: &Value, naive: Option<&Value>) {
    let (nb, nm, x) = naive.map_or(("-".into(), "-".into(), "-".into()), |r| {
        let ratio = n(r, "bedrock_calls") as f64 / n(ours, "bedrock_calls").max(1) as f64;
        (
            n(r, "bedrock_calls").to_string(),
            format!("{:.0}", r["wall_ms"].as_f64().unwrap_or(0.0)),
            format!("{ratio:.0}x"),
        )
    });
    println!(
        "{family:<20} {history:>8} | {:>7} {:>8} {:>7.1} {:>5} {:>8.0} {:>6} {:>7.1} {:>6} {:>6} {:>7} {:>5} | {nb:>8} {nm:>8} {x:>8}",
        n(ours, "bedrock_calls"),
        n(ours, "store_calls"),
        ours["dynamodb_capacity"].as_f64().unwrap_or(0.0),
        n(ours, "notifications_sent"),
        ours["wall_ms"].as_f64().unwrap_or(0.0),
        n(ours, "cpu_ms"),
        mib(ours),
        n(ours, "alerts_sent"),
        n(quiet, "bedrock_calls"),
        n(ours, "pricing_calls"),
        n(ours, "metric_calls") + n(ours, "batch_metrics_calls"),
    );
}
