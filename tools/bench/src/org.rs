//! `bench org`: an organisation on moto (Organizations, SQS), Bedrock and STS on the emulator,
//! the table in memory (moto answers a few hundred DynamoDB requests a second: 17 000 scopes a
//! period would measure moto). Each period: the dispatcher queues one work item per account on
//! the moto queue, and up to `--workers` worker invocations at once take batches of 10 from it,
//! as the event source mapping would (returned items become visible again). The first period
//! fills the table (first runs); the next ones are the steady state, every scope quiet.
//! Peak RSS per worker: one worker invocation of 10 accounts in a child process (`bench
//! org-worker`), wired as the Lambda is (`Config::from_env`).

use std::cell::Cell;
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{Duration, Utc};
use jobwatch::adapters::organizations::OrganizationsDirectory;
use jobwatch::adapters::sqs::SqsWorkQueue;
use jobwatch::domain::RunId;
use jobwatch::org::{RegistryStore, WorkItem};
use jobwatch::poller::Budget;
use jobwatch::ports::JobStore;
use jobwatch::testing::{MemoryJobStore, RecordingNotifier};
use jobwatch::wiring::SdkAccountFleets;
use jobwatch::work::{self, Worker};
use jobwatch::Config;
use testkit::{Stack, DEFAULT_ACCOUNT};

/// 17 Bedrock regions of the `aws` partition.
pub const REGIONS: &str = "us-east-1,us-east-2,us-west-1,us-west-2,ap-northeast-1,ap-northeast-2,ap-northeast-3,ap-south-1,ap-southeast-1,ap-southeast-2,ca-central-1,eu-central-1,eu-north-1,eu-west-1,eu-west-2,eu-west-3,sa-east-1";

const PERIOD: Duration = Duration::minutes(5);

pub struct OrgArgs {
    pub accounts: usize,
    /// `batch-inference`, ... or `all`.
    pub families: String,
    pub workers: usize,
    pub periods: usize,
}

fn families_var(families: &str) -> String {
    match families {
        "all" => String::new(),
        one => one.to_owned(),
    }
}

fn vars(stack: &Stack, families: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = stack
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    for (k, v) in [
        ("REGIONS", REGIONS.to_owned()),
        ("ORG_UNITS", "all".to_owned()),
        ("WATCHED_FAMILIES", families_var(families)),
        ("QUIET_REFRESH_HOURS", "24".to_owned()),
        ("SCOPE_CONCURRENCY", "4".to_owned()),
        ("AWS_ENDPOINT_URL_STS", stack.emulator.endpoint()),
    ] {
        vars.push((k.to_owned(), v));
    }
    vars
}

/// The organisation: `n` accounts under the root (moto), created 16 at a time.
async fn organisation(
    stack: &Stack,
    n: usize,
) -> Result<OrganizationsDirectory, Box<dyn std::error::Error>> {
    let client = aws_sdk_organizations::Client::new(&testkit::sdk_config(&stack.moto.endpoint));
    client
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await?;
    let creates: Vec<_> = (0..n)
        .map(|i| {
            let client = client.clone();
            async move {
                client
                    .create_account()
                    .email(format!("a{i}@example.com"))
                    .account_name(format!("a{i}"))
                    .send()
                    .await
            }
        })
        .collect();
    use futures::StreamExt;
    let made: Vec<_> = futures::stream::iter(creates)
        .buffer_unordered(16)
        .collect()
        .await;
    for result in made {
        result?;
    }
    Ok(OrganizationsDirectory::new(client))
}

/// One period's figures.
#[derive(Default)]
struct Period {
    scopes: usize,
    items: usize,
    returned: usize,
    invocations: usize,
    peak: usize,
    bedrock: u64,
    sts: u64,
    table_reads: u64,
    table_writes: u64,
    sqs: u64,
    wall_ms: u128,
}

pub async fn run(args: OrgArgs) -> Result<(), Box<dyn std::error::Error>> {
    let stack = Stack::start().await;
    let started = Instant::now();
    let (config, table, watched) = set_up(&stack, &args).await?;
    let (queue_url, queue) = work_queue(&stack).await?;
    let fleets = SdkAccountFleets {
        base: stack.poller_sdk(),
        config: config.clone(),
        store: table.clone(),
        notifier: Arc::new(RecordingNotifier::default()),
    };
    let worker = Worker {
        fleets: &fleets,
        schedule: &*table,
        period: PERIOD,
        alarm_after: config.fanout.alarm_after,
    };
    let family_count = config.watched.len();
    print_header(&args, watched, family_count, started.elapsed());
    let start = Utc::now();
    let mut last = Period::default();
    for p in 0..args.periods {
        let now = start + PERIOD * p as i32;
        last = period(
            &worker,
            &table,
            &stack,
            &queue,
            &queue_url,
            now,
            args.workers,
        )
        .await?;
        print_period(p, &last);
    }
    let rss = worker_rss(&stack, &args.families)?;
    println!("peak RSS of one worker invocation (10 accounts, child process): {rss:.1} MiB");
    print_steady(&last);
    cost_model(&last, family_count);
    Ok(())
}

/// The organisation on moto, the functions' configuration, and the table holding the registry
/// the refresh writes; returns the configuration, the table and how many accounts are watched.
async fn set_up(
    stack: &Stack,
    args: &OrgArgs,
) -> Result<(Config, Arc<MemoryJobStore>, usize), Box<dyn std::error::Error>> {
    let directory = organisation(stack, args.accounts).await?;
    let env: std::collections::HashMap<String, String> =
        vars(stack, &args.families).into_iter().collect();
    let config = Config::from_vars(&env)?;
    let table = Arc::new(MemoryJobStore::default());
    let selection = config.fanout.org.clone().ok_or("no selection")?;
    let refreshed = work::refresh(
        &directory,
        &*table,
        &selection,
        Some(DEFAULT_ACCOUNT),
        Utc::now(),
    )
    .await?;
    Ok((config, table, refreshed.watched))
}

/// The work queue on moto: its URL and the dispatcher's handle on it.
async fn work_queue(stack: &Stack) -> Result<(String, SqsWorkQueue), Box<dyn std::error::Error>> {
    // The template's visibility timeout (6x the worker's timeout): moto's default 30 s would
    // redeliver items still being worked.
    let queue_url = stack
        .sqs
        .create_queue()
        .queue_name(testkit::unique("work"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "1800",
        )
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    let queue = SqsWorkQueue::new(stack.sqs.clone(), &queue_url);
    Ok((queue_url, queue))
}

/// What is measured, and the periods table's column headings.
fn print_header(args: &OrgArgs, watched: usize, families: usize, set_up_time: std::time::Duration) {
    println!(
        "bench org: {} accounts ({} watched) x 17 regions x {} family(ies), set up in {:.1?}; \
         at most {} worker invocations at once, batches of 10; table in memory",
        args.accounts, watched, families, set_up_time, args.workers
    );
    println!(
        "{:>6} {:>8} {:>6} {:>11} {:>5} {:>8} {:>5} {:>11} {:>12} {:>5} {:>8}",
        "period",
        "scopes",
        "items",
        "invocations",
        "peak",
        "Bedrock",
        "STS",
        "table reads",
        "table writes",
        "SQS",
        "wall"
    );
}

/// One period's row of the periods table.
fn print_period(p: usize, last: &Period) {
    println!(
        "{:>6} {:>8} {:>6} {:>11} {:>5} {:>8} {:>5} {:>11} {:>12} {:>5} {:>7.1}s",
        p,
        last.scopes,
        last.items,
        last.invocations,
        last.peak,
        last.bedrock,
        last.sts,
        last.table_reads,
        last.table_writes,
        last.sqs,
        last.wall_ms as f64 / 1000.0
    );
    if last.returned > 0 {
        println!(
            "       {} items returned (redelivered within the period)",
            last.returned
        );
    }
}

/// The last (steady) period's calls and writes per scope.
fn print_steady(last: &Period) {
    let per_scope_writes = last.table_writes as f64 / last.scopes.max(1) as f64;
    let per_scope_bedrock = last.bedrock as f64 / last.scopes.max(1) as f64;
    println!(
        "steady period per scope: {per_scope_bedrock:.2} Bedrock calls, {per_scope_writes:.3} table writes \
         (the account's lease and clocks, shared by its {} scopes)",
        last.scopes / last.items.max(1)
    );
}

/// One period: dispatch, then workers until the queue is empty.
async fn period(
    worker: &Worker<'_>,
    table: &MemoryJobStore,
    stack: &Stack,
    queue: &SqsWorkQueue,
    queue_url: &str,
    now: chrono::DateTime<Utc>,
    workers: usize,
) -> Result<Period, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let (calls, writes, sqs) = (table.calls(), table.writes(), queue.calls());
    let registry = table.registry().await?.unwrap_or_default();
    let run = RunId::new(format!("dispatch-{}", now.timestamp()));
    work::dispatch_once(&registry, table, queue, now, &run, PERIOD, 1_000_000).await?;
    let active = Cell::new(0usize);
    let peak = Cell::new(0usize);
    let sqs_calls = Cell::new(0u64);
    let invocations = (0..workers)
        .map(|w| invoke_until_empty(worker, stack, queue_url, now, w, &active, &peak, &sqs_calls));
    let results = futures::future::join_all(invocations).await;
    let mut out = Period {
        peak: peak.get(),
        ..Default::default()
    };
    for reports in results {
        for report in reports? {
            out.invocations += 1;
            out.returned += report.returned.len();
            for item in report.items {
                out.items += 1;
                out.scopes += item.scopes_polled;
                out.bedrock += item.bedrock_calls;
                out.sts += item.sts_calls;
            }
        }
    }
    out.table_writes = table.writes() - writes;
    out.table_reads = table.calls() - calls - out.table_writes;
    out.sqs = queue.calls() - sqs + sqs_calls.get();
    out.wall_ms = started.elapsed().as_millis();
    Ok(out)
}

/// One "worker concurrency slot": invocations, one batch each, until the queue is empty.
#[allow(clippy::too_many_arguments)]
async fn invoke_until_empty(
    worker: &Worker<'_>,
    stack: &Stack,
    queue_url: &str,
    now: chrono::DateTime<Utc>,
    slot: usize,
    active: &Cell<usize>,
    peak: &Cell<usize>,
    sqs_calls: &Cell<u64>,
) -> Result<Vec<work::BatchReport>, Box<dyn std::error::Error>> {
    let mut reports = Vec::new();
    for invocation in 0.. {
        sqs_calls.set(sqs_calls.get() + 1);
        let messages = receive_batch(stack, queue_url).await?;
        if messages.is_empty() {
            break;
        }
        let event = sqs_event(&messages);
        active.set(active.get() + 1);
        peak.set(peak.get().max(active.get()));
        let id = format!("slot{slot}-{invocation}");
        let (response, report) =
            work::handle_batch(worker, event, now, &id, &Budget::default()).await;
        active.set(active.get() - 1);
        let done = finished(&messages, &response)?;
        // The event source mapping deletes a batch's finished messages in one call.
        sqs_calls.set(sqs_calls.get() + 1);
        stack
            .sqs
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(done))
            .send()
            .await?;
        reports.push(report);
    }
    Ok(reports)
}

/// Up to 10 messages from the queue, as the event source mapping takes them.
async fn receive_batch(
    stack: &Stack,
    queue_url: &str,
) -> Result<Vec<aws_sdk_sqs::types::Message>, Box<dyn std::error::Error>> {
    let received = stack
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await?;
    Ok(received.messages.unwrap_or_default())
}

/// The worker's event for the received messages.
fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    let records = messages
        .iter()
        .map(|m| SqsMessage {
            message_id: m.message_id.clone(),
            body: m.body.clone(),
            ..Default::default()
        })
        .collect();
    SqsEvent { records }
}

/// Delete entries for the messages the worker finished (those it did not return).
fn finished(
    messages: &[aws_sdk_sqs::types::Message],
    response: &SqsBatchResponse,
) -> Result<Vec<aws_sdk_sqs::types::DeleteMessageBatchRequestEntry>, Box<dyn std::error::Error>> {
    let returned: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    let done = messages
        .iter()
        .filter(|m| !returned.contains(&m.message_id.clone().unwrap_or_default()))
        .enumerate()
        .map(|(i, m)| {
            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                .build()
        })
        .collect::<Result<_, _>>()?;
    Ok(done)
}

/// One worker invocation of 10 accounts in a child process: its peak RSS in MiB.
fn worker_rss(stack: &Stack, families: &str) -> Result<f64, Box<dyn std::error::Error>> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["org-worker"])
        .envs(vars(stack, families))
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("org-worker failed: {stdout}").into());
    }
    let report: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default())?;
    Ok(crate::child::mib(&report))
}

/// `bench org-worker`: one batch of 10 accounts' work items, as a worker invocation, with the
/// functions' configuration; prints its figures and peak RSS.
pub async fn worker_once() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let sdk = jobwatch::cold_start::sdk_config().await;
    let table = Arc::new(MemoryJobStore::default());
    let fleets = SdkAccountFleets {
        base: sdk,
        config: config.clone(),
        store: table.clone(),
        notifier: Arc::new(RecordingNotifier::default()),
    };
    let worker = Worker {
        fleets: &fleets,
        schedule: &*table,
        period: PERIOD,
        alarm_after: 3,
    };
    let now = Utc::now();
    let records = (0..10)
        .map(|i| {
            let account = format!("{:012}", 700_000_000_000u64 + i);
            let item = WorkItem {
                role: format!("arn:aws:iam::{account}:role/bedrock-jobwatch-reader"),
                account,
                queued_at: now,
            };
            SqsMessage {
                message_id: Some(format!("m{i}")),
                body: serde_json::to_string(&item).ok(),
                ..Default::default()
            }
        })
        .collect();
    let event = SqsEvent { records };
    let (_, report) =
        work::handle_batch(&worker, event, now, "org-worker", &Budget::default()).await;
    let scopes: usize = report.items.iter().map(|i| i.scopes_polled).sum();
    let line = serde_json::json!({
        "scopes": scopes,
        "items": report.items.len(),
        "peak_rss_kib": crate::run_once::peak_rss_kib(),
    });
    println!("{line}");
    Ok(())
}

/// Monthly cost at the default schedule (every 5 minutes), from the steady period's figures,
/// with the assumptions printed beside it.
fn cost_model(p: &Period, families: usize) {
    let periods_per_month = 30.0 * 24.0 * 12.0;
    // Assumed latencies on AWS (not measured here): a List call 150 ms (other regions included),
    // a DynamoDB request 8 ms; SCOPE_CONCURRENCY 4 per family, families at once.
    let (list_ms, table_ms, concurrency) = (150.0, 8.0, 4.0);
    let scopes_per_item = p.scopes as f64 / p.items.max(1) as f64;
    let per_scope_ms = list_ms + 2.0 * table_ms;
    let rounds = (scopes_per_item / families.max(1) as f64 / concurrency).ceil();
    let item_seconds = rounds * per_scope_ms / 1000.0 + 0.3; // + AssumeRole and the 2 writes
    let gb_seconds = p.items as f64 * item_seconds * 0.25 * periods_per_month; // 256 MB
                                                                               // Prices (us-east-1, arm64, on-demand, read December 2026 from the public price pages as
                                                                               // remembered here: CHECK before relying on them).
    let lambda =
        gb_seconds * 0.0000133334 + (p.invocations as f64 + 2.0) * periods_per_month * 0.20 / 1e6;
    let sqs = (p.sqs as f64 * periods_per_month + 650_000.0) * 0.40 / 1e6; // + the mapping's long polls
    let reads = p.table_reads as f64 * periods_per_month * 0.125 / 1e6;
    // Clocks items: about 100 bytes a scope, so 1 write unit per KB of the account's item.
    let item_kb = (scopes_per_item * 100.0 / 1024.0).ceil().max(1.0);
    let writes = p.items as f64 * (1.0 + item_kb) * periods_per_month * 0.625 / 1e6;
    let peak_workers = (p.items as f64 * item_seconds / 300.0).ceil();
    println!("monthly cost model, every 5 minutes (8 640 periods):");
    println!("  assumed: List 150 ms, DynamoDB 8 ms, SCOPE_CONCURRENCY 4, 256 MB arm64 workers;");
    println!("  prices: Lambda $0.0000133334/GB-s + $0.20/M requests, SQS $0.40/M requests, DynamoDB on-demand $0.125/M read units, $0.625/M write units; Bedrock List/Get and STS: no charge");
    println!("  per work item {item_seconds:.1} s -> {peak_workers} workers busy on average within a period (cap 50)");
    println!(
        "  Lambda ${lambda:.0}, SQS ${sqs:.2}, DynamoDB reads ${reads:.0}, writes ${writes:.0}: total ${:.0}/month",
        lambda + sqs + reads + writes
    );
}
