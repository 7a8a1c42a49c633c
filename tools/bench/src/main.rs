//! Benchmarks that print figures (never timed assertions): `cargo run --release -p bench -- poll`,
//! `first-run`, `event-latency`, `cold-start`, `emulator`, `fleet`, `burst`. What they measured:
//! docs/performance.md.

use std::time::{Duration, Instant};

use aws_sdk_bedrock::config::retry::RetryConfig;
use aws_sdk_bedrock::config::{BehaviorVersion, Credentials, Region};
use clap::{Parser, Subcommand};
use jobwatch::domain::JobKind;

/// Alert kinds: a job can be sent each once, one kind per run.
pub const ALERT_KINDS: usize = jobwatch::domain::AlertKind::ALL.len();

mod burst;
mod child;
mod cold_start;
mod event_latency;
mod first_run;
mod fleet;
mod org;
mod poll;
mod run_once;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One steady-state poll against histories of growing size, ours and (with --naive) a naive one.
    Poll {
        /// Families (comma-separated), or `all`.
        #[arg(long, value_delimiter = ',', default_values_t = [String::from("batch-inference")])]
        family: Vec<String>,
        /// History sizes (comma-separated).
        #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 10_000, 100_000])]
        history: Vec<usize>,
        /// Open jobs known to the table.
        #[arg(long, default_value_t = 500)]
        open: usize,
        /// Open jobs that finish before the measured run.
        #[arg(long, default_value_t = 10)]
        transitions: usize,
        /// Also measure the naive baseline (full listing, one GetItem per job).
        #[arg(long)]
        naive: bool,
    },
    /// A first deployment into a large account: invocations (each its own process and budget)
    /// until the backlog is recorded.
    FirstRun(first_run::FirstRunArgs),
    /// Event-to-publish latency of the fast path.
    EventLatency {
        #[arg(long, default_value_t = 200)]
        events: usize,
    },
    /// One steady run over 1, 4 and 12 (account x region) scopes, one family and all of them.
    Fleet {
        /// Scope counts (comma-separated): 1, 4 and/or 12.
        #[arg(long, value_delimiter = ',', default_values_t = [1usize, 4, 12])]
        scopes: Vec<usize>,
        /// Jobs per family per scope in the history (a tenth open).
        #[arg(long, default_value_t = 100)]
        history: usize,
    },
    /// An organisation fanned out over workers: 1,000 accounts x 17 regions (one family), or
    /// 100 accounts x 17 regions x every family (`--accounts 100 --families all`).
    Org {
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        #[arg(long, default_value = "batch-inference")]
        families: String,
        /// Worker invocations at once (the mapping's MaximumConcurrency).
        #[arg(long, default_value_t = 50)]
        workers: usize,
        /// Periods: the first fills the table, the others are steady.
        #[arg(long, default_value_t = 3)]
        periods: usize,
    },
    /// Internal: one worker invocation of 10 accounts in this process (the parent measures it).
    #[command(hide = true)]
    OrgWorker,
    /// Internal: one family set's fleet runs in this process (the parent measures it).
    #[command(hide = true)]
    FleetOnce {
        #[arg(long)]
        families: String,
    },
    /// Jobs finishing at once: notifications per second and calls per notification, one at a
    /// time vs batched and concurrent (moto).
    Burst {
        /// Burst sizes (comma-separated).
        #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 10_000])]
        jobs: Vec<usize>,
    },
    /// Process start to first handled event of each release bootstrap (`cargo lambda build --release`).
    ColdStart,
    /// Internal: one poll in this process (the parent measures it).
    #[command(hide = true)]
    RunOnce(run_once::RunOnce),
    /// List and Get latency of the emulator with a large history.
    Emulator {
        /// Jobs to seed.
        #[arg(long, default_value_t = 100_000)]
        jobs: usize,
        /// Get calls to time.
        #[arg(long, default_value_t = 1000)]
        gets: usize,
    },
}

/// The family named on the command line.
pub fn family(name: &str) -> Result<JobKind, String> {
    JobKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .ok_or_else(|| format!("unknown family {name:?}"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn emulator(jobs: usize, gets: usize) -> Result<(), Box<dyn std::error::Error>> {
    let emu = bedrock_emulator::start(bedrock_emulator::Settings::default()).await?;
    let http = reqwest::Client::new();
    let started = Instant::now();
    seed_emulator(&http, &emu.endpoint(), jobs).await?;
    let seed_time = started.elapsed();
    let client = bedrock_client(&emu.endpoint());

    let started = Instant::now();
    let mut listing = list_all(&client, gets).await?;
    let list_time = started.elapsed();
    assert_eq!(
        listing.listed, jobs,
        "the listing must return every seeded job"
    );

    let mut get_times = time_gets(&client, &listing.arns).await?;
    listing.page_times.sort();
    get_times.sort();
    println!("bedrock-emulator benchmark ({jobs} batch jobs, release build, one process)");
    println!("  seed                 {:>10.1?}", seed_time);
    println!(
        "  full listing         {:>10.1?}  {} pages of <= 1000, {} jobs",
        list_time,
        listing.page_times.len(),
        listing.listed
    );
    println!(
        "  list page  p50 / p99 {:>10.1?} / {:.1?}",
        percentile(&listing.page_times, 0.5),
        percentile(&listing.page_times, 0.99)
    );
    println!(
        "  get        p50 / p99 {:>10.1?} / {:.1?}  ({} calls)",
        percentile(&get_times, 0.5),
        percentile(&get_times, 0.99),
        get_times.len()
    );
    Ok(())
}

/// `jobs` batch jobs, one in ten in progress.
async fn seed_emulator(
    http: &reqwest::Client,
    endpoint: &str,
    jobs: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    http.post(format!("{endpoint}/_emulator/seed"))
        .json(&serde_json::json!({"kind": "batch-inference", "count": jobs, "statuses": {"Completed": 9, "InProgress": 1}}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// A Bedrock client of the emulator: static credentials, retries off.
fn bedrock_client(endpoint: &str) -> aws_sdk_bedrock::Client {
    aws_sdk_bedrock::Client::from_conf(
        aws_sdk_bedrock::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("x", "x", None, None, "static"))
            .endpoint_url(endpoint)
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

/// What the full listing returned: how many jobs, each page's latency, the first ARNs.
struct Listing {
    listed: usize,
    page_times: Vec<Duration>,
    arns: Vec<String>,
}

/// Every batch job, in pages of 1000, keeping the first `keep` ARNs.
async fn list_all(
    client: &aws_sdk_bedrock::Client,
    keep: usize,
) -> Result<Listing, Box<dyn std::error::Error>> {
    let mut pages = client
        .list_model_invocation_jobs()
        .max_results(1000)
        .into_paginator()
        .send();
    let (mut listed, mut page_times, mut arns) = (0usize, Vec::new(), Vec::new());
    let mut last = Instant::now();
    while let Some(page) = pages.next().await {
        let page = page?;
        page_times.push(last.elapsed());
        last = Instant::now();
        for job in page.invocation_job_summaries() {
            listed += 1;
            if arns.len() < keep {
                arns.push(job.job_arn().to_owned());
            }
        }
    }
    Ok(Listing {
        listed,
        page_times,
        arns,
    })
}

/// Each Get's latency, one at a time.
async fn time_gets(
    client: &aws_sdk_bedrock::Client,
    arns: &[String],
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let mut get_times = Vec::with_capacity(arns.len());
    for arn in arns {
        let t = Instant::now();
        client
            .get_model_invocation_job()
            .job_identifier(arn)
            .send()
            .await?;
        get_times.push(t.elapsed());
    }
    Ok(get_times)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Emulator { jobs, gets } => emulator(jobs, gets).await,
        Command::Poll {
            family,
            history,
            open,
            transitions,
            naive,
        } => {
            let families = match family.as_slice() {
                [all] if all == "all" => JobKind::ALL.iter().map(|k| k.to_string()).collect(),
                _ => family,
            };
            poll::run(poll::PollArgs {
                families,
                histories: history,
                open,
                transitions,
                naive,
            })
            .await
        }
        Command::FirstRun(args) => first_run::run(args).await,
        Command::RunOnce(args) => run_once::run(args).await,
        Command::ColdStart => cold_start::run().await,
        Command::Fleet { scopes, history } => {
            fleet::run(fleet::FleetArgs { scopes, history }).await
        }
        Command::FleetOnce { families } => fleet::once(&families).await,
        Command::Org {
            accounts,
            families,
            workers,
            periods,
        } => {
            org::run(org::OrgArgs {
                accounts,
                families,
                workers,
                periods,
            })
            .await
        }
        Command::OrgWorker => org::worker_once().await,
        Command::Burst { jobs } => burst::run(&jobs).await,
        Command::EventLatency { events } => event_latency::run(events).await,
    }
}
