//! `bedrock-emulator`: serves the emulated Bedrock APIs until Ctrl-C.

use std::time::Duration;

use bedrock_emulator::{AutoAdvance, Settings};
use clap::Parser;

/// Local emulator of the Amazon Bedrock job APIs (bedrock and bedrock-runtime, restJson1).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port; 0 picks a free one. The first stdout line is always `listening on http://HOST:PORT`.
    #[arg(long, default_value_t = 4010)]
    port: u16,
    /// Region of requests that name none (unsigned ones); signed requests use their SigV4 region.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Account of requests whose access key names none (see the README: access keys and accounts).
    #[arg(long, default_value = "123456789012")]
    account: String,
    /// Jobs move through their states on their own and end in a random outcome.
    #[arg(long)]
    auto_advance: bool,
    /// Milliseconds a job spends in each intermediate state when advancing on its own.
    #[arg(long, default_value_t = 2000)]
    step_ms: u64,
    /// Outcome mix for --auto-advance, as STATUS=WEIGHT pairs.
    #[arg(
        long,
        default_value = "Completed=70,Failed=15,PartiallyCompleted=5,Expired=5,Stopped=5",
        value_parser = parse_outcomes
    )]
    outcomes: Outcomes,
    /// Seed of the random generator (ids, outcomes, counts).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Keep jobs across restarts: loaded at start (if present), written on Ctrl-C / SIGTERM.
    #[arg(long)]
    state_file: Option<std::path::PathBuf>,
}

/// Waits for Ctrl-C or SIGTERM.
async fn shutdown_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

/// A whole outcome mix (one flag value), so clap does not take it for a repeated flag.
#[derive(Debug, Clone)]
struct Outcomes(Vec<(String, u32)>);

fn parse_outcomes(spec: &str) -> Result<Outcomes, String> {
    AutoAdvance::parse_outcomes(spec).map(Outcomes)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let settings = Settings {
        region: cli.region,
        account: cli.account,
        seed: cli.seed,
        auto_advance: cli.auto_advance,
        lifecycle: AutoAdvance {
            step: Duration::from_millis(cli.step_ms.max(1)),
            outcomes: cli.outcomes.0,
        },
    };
    let listener = tokio::net::TcpListener::bind((cli.host.as_str(), cli.port)).await?;
    let running = bedrock_emulator::spawn(listener, settings)?;
    if let Some(path) = &cli.state_file {
        if path.exists() {
            let jobs = bedrock_emulator::state_file::load(path)?;
            eprintln!(
                "bedrock-emulator: loaded {} jobs from {}",
                jobs.len(),
                path.display()
            );
            running
                .app
                .insert_jobs(jobs, bedrock_emulator::families::names_identify)
                .await;
        }
    }
    println!("listening on {}", running.endpoint());
    shutdown_signal().await?;
    if let Some(path) = &cli.state_file {
        let jobs = running.app.all_jobs().await;
        bedrock_emulator::state_file::save(path, &jobs)?;
        eprintln!(
            "bedrock-emulator: saved {} jobs to {}",
            jobs.len(),
            path.display()
        );
    }
    Ok(())
}
