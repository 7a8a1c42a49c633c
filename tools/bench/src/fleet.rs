//! `bench fleet`: one steady run over 1, 4 and 12 (account x region) scopes, for one family and
//! for all of them: Bedrock calls, STS calls, DynamoDB requests, wall time and peak RSS. Each
//! measurement runs in a child process (`bench fleet-once`) wired as the Lambda is wired
//! (`Config::from_env`, `jobwatch::wiring::build_fleet`), so its memory is the poller's own.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Barrier;

use aws_config::SdkConfig;
use chrono::Utc;
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::adapters::families::AnySource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::domain::{JobKind, Phase};
use jobwatch::Config;
use serde_json::{json, Value};
use testkit::{unique, Stack};

use crate::child::{mib, n};

/// Member accounts and regions the layouts draw from (the own account comes first).
const MEMBERS: [&str; 2] = ["222222222222", "333333333333"];
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2"];

/// (accounts, regions) giving each scope count: 1 = 1x1, 4 = 2x2, 12 = 3x4.
fn layout(scopes: usize) -> Result<(usize, usize), String> {
    match scopes {
        1 => Ok((1, 1)),
        4 => Ok((2, 2)),
        12 => Ok((3, 4)),
        other => Err(format!("--scopes takes 1, 4 or 12, not {other}")),
    }
}

fn role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/bedrock-jobwatch-reader")
}

pub struct FleetArgs {
    pub scopes: Vec<usize>,
    /// Jobs per family per scope in the history (a tenth of them open).
    pub history: usize,
}

pub async fn run(args: FleetArgs) -> Result<(), Box<dyn std::error::Error>> {
    let stack = Stack::start().await;
    let started = Instant::now();
    for account in std::iter::once(testkit::DEFAULT_ACCOUNT).chain(MEMBERS) {
        for region in REGIONS {
            for kind in JobKind::ALL {
                seed(&stack, kind, account, region, args.history).await?;
            }
        }
    }
    let seeded = started.elapsed();
    println!(
        "bench fleet: {} jobs per family per scope ({} open), seeded in {seeded:.1?}; one steady \
         run after a first run filled the table; STS calls: cold process / warm",
        args.history,
        args.history / 10
    );
    println!(
        "{:>6} {:>16} {:>13} {:>9} {:>15} {:>10} {:>9} {:>8}",
        "scopes",
        "families",
        "Bedrock calls",
        "STS",
        "DynamoDB reqs",
        "wall",
        "peak RSS",
        "failures"
    );
    for &scopes in &args.scopes {
        let (accounts, regions) = layout(scopes)?;
        for families in ["batch-inference", "all"] {
            let table = unique("fleet");
            stack.create_table(&table).await;
            let env = environment(&stack, &table, accounts, regions);
            invoke(&env, families)?; // the first run fills the table
            let report = invoke(&env, families)?;
            println!(
                "{:>6} {:>16} {:>13} {:>9} {:>15} {:>8.0}ms {:>5.1}MiB {:>8}",
                scopes,
                families,
                n(&report, "bedrock_calls"),
                format!("{} / {}", n(&report, "sts_cold"), n(&report, "sts_warm")),
                n(&report, "store_calls"),
                report["wall_ms"].as_f64().unwrap_or(0.0),
                mib(&report),
                n(&report, "failures"),
            );
            if families == "all" {
                println!(
                    "{:>6} {}",
                    "",
                    report["per_family"].as_str().unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

async fn seed(
    stack: &Stack,
    kind: JobKind,
    account: &str,
    region: &str,
    count: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    // Each family's own words for finished and open (`Completed`, `IN_PROGRESS`, and for a
    // resource with no running phase its pending one, `Creating`).
    let words = |phase: Phase| {
        kind.family()
            .vocabulary
            .iter()
            .find(|(_, p)| *p == phase)
            .map(|(raw, _)| *raw)
    };
    let open = words(Phase::Running).or_else(|| words(Phase::Pending));
    let (Some(done), Some(running)) = (words(Phase::Succeeded), open) else {
        return Err(format!("{kind}: no word for finished or running").into());
    };
    // Within the first run's look-back (14 days), so the table knows every job.
    let body = json!({
        "kind": kind, "count": count, "account": account, "region": region,
        "statuses": {done: 9, running: 1}, "spreadHours": 300.0,
    });
    reqwest::Client::new()
        .post(format!("{}/_emulator/seed", stack.emulator.endpoint()))
        .json(&body)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// The function's environment for `accounts` x `regions` scopes.
fn environment(
    stack: &Stack,
    table: &str,
    accounts: usize,
    regions: usize,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = stack
        .env_for(table)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let mut listed = vec!["self".to_owned()];
    listed.extend(MEMBERS.iter().take(accounts - 1).map(|a| role(a)));
    env.extend([
        ("AWS_ENDPOINT_URL_STS".into(), stack.emulator.endpoint()),
        ("REGIONS".into(), REGIONS[..regions].join(",")),
        ("ACCOUNTS".into(), listed.join(",")),
        ("SCOPE_CONCURRENCY".into(), "4".into()),
        ("ALERTS".into(), "off".into()),
        ("RUST_LOG".into(), "error".into()),
    ]);
    env
}

fn invoke(env: &[(String, String)], families: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let out = Command::new(std::env::current_exe()?)
        .args(["fleet-once", "--families", families])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stderr(Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("fleet-once {families} failed: {stdout}").into());
    }
    Ok(serde_json::from_str(
        stdout.lines().last().unwrap_or_default(),
    )?)
}

/// `bench fleet-once --families F`: each family's fleet, built from the environment as its
/// Lambda builds it, runs twice: in this fresh process (the roles are assumed), then warm (cached
/// credentials). The families run side by side, as their functions do; the warm runs start
/// together and the wall time is theirs. Prints the warm runs' figures, summed.
pub async fn once(families: &str) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let sdk = jobwatch::cold_start::sdk_config().await;
    let kinds: Vec<JobKind> = match families {
        "all" => JobKind::ALL.to_vec(),
        name => vec![crate::family(name)?],
    };
    let together = Arc::new(tokio::sync::Barrier::new(kinds.len()));
    let runs = kinds
        .iter()
        .map(|kind| family(*kind, &sdk, &config, together.clone()));
    let reports = futures::future::join_all(runs).await;
    let mut total = json!({"bedrock_calls": 0, "store_calls": 0, "sts_cold": 0, "sts_warm": 0,
        "failures": 0});
    let (mut first_start, mut last_end) = (None::<Instant>, None::<Instant>);
    let mut per_family = Vec::new();
    for (kind, report) in kinds.iter().zip(reports) {
        let (report, start, end) = report?;
        for key in [
            "bedrock_calls",
            "store_calls",
            "sts_cold",
            "sts_warm",
            "failures",
        ] {
            total[key] = json!(n(&total, key) + n(&report, key));
        }
        let ms = (end - start).as_secs_f64() * 1000.0;
        let calls = n(&report, "bedrock_calls");
        per_family.push(format!("{kind} {ms:.0}ms/{calls}"));
        first_start = Some(first_start.map_or(start, |s| s.min(start)));
        last_end = Some(last_end.map_or(end, |e| e.max(end)));
        if n(&report, "failures") > 0 {
            eprintln!("{kind}: {}", report["errors"]);
        }
    }
    let wall = match (first_start, last_end) {
        (Some(start), Some(end)) => (end - start).as_secs_f64() * 1000.0,
        _ => 0.0,
    };
    total["wall_ms"] = json!(wall);
    total["per_family"] = json!(per_family.join(", "));
    total["peak_rss_kib"] = json!(crate::run_once::peak_rss_kib());
    println!("{total}");
    Ok(())
}

type Measured = Result<(Value, Instant, Instant), Box<dyn std::error::Error>>;

async fn family(
    kind: JobKind,
    sdk: &SdkConfig,
    config: &Config,
    together: Arc<Barrier>,
) -> Measured {
    let m = Measure {
        kind,
        sdk,
        config,
        together,
    };
    m.run().await
}

/// One family's part of `fleet-once`.
struct Measure<'a> {
    kind: JobKind,
    sdk: &'a SdkConfig,
    config: &'a Config,
    /// The warm runs of every family start together.
    together: Arc<Barrier>,
}

impl Measure<'_> {
    async fn run(self) -> Measured {
        let (kind, sdk, config) = (self.kind, self.sdk, self.config);
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let notifier = Sinks::new(aws_sdk_sns::Client::new(sdk), &config.sinks.topic_arn);
        let fleet = jobwatch::wiring::build_fleet(
            sdk,
            &config.targets,
            kind,
            &config.poll,
            |scope| AnySource::new(kind, scope, config),
            || DynamoJobStore::new(dynamodb.clone(), &config.table),
            Arc::new(notifier),
        )
        .await;
        let cold = fleet.run(Utc::now(), "cold").await;
        let sts_cold = fleet.credential_calls();
        // Wait even after a failure: the other families would wait for this one forever.
        self.together.wait().await;
        let cold = cold?;
        let started = Instant::now();
        let warm = fleet.run(Utc::now(), "warm").await?;
        let ended = Instant::now();
        let report = json!({
            "bedrock_calls": warm.bedrock_calls,
            "store_calls": warm.store_calls,
            "sts_cold": sts_cold,
            "sts_warm": fleet.credential_calls() - sts_cold,
            "failures": cold.failures + warm.failures,
            "errors": [cold.errors, warm.errors],
        });
        Ok((report, started, ended))
    }
}
