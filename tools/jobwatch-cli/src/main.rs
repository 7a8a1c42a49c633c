//! `jobwatch-cli`: what bedrock-jobwatch is watching, one job's history, re-sends, backfills and
//! test notifications. It reads the functions' own configuration (`JOBS_TABLE`,
//! `NOTIFY_TOPIC_ARN`, `AWS_REGION`, the SDK's `AWS_ENDPOINT_URL_*`) and works through the
//! library's ports and adapters, so every write it makes is the pollers' conditional write.
//! Exit codes: 0 done, 1 failed (AWS, or a state that refuses the command), 2 bad input.

mod backfill;
mod cli;
mod error;
mod health;
mod ops;
mod renotify;
mod show;
mod sinks;
mod status;
mod test_notify;
mod text;

use std::process::ExitCode;

use clap::Parser;

use cli::{Args, Task};
use error::CliError;
use ops::Ops;

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jobwatch-cli: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

async fn run(args: Args) -> Result<(), CliError> {
    // Input is checked before any configuration or network is touched.
    let command = args.command.validated(chrono::Utc::now())?;
    let ops = Ops::from_env().await?;
    match command {
        Task::Status { json } => status::run(&ops, json).await,
        Task::Show { arn, json } => show::run(&ops, &arn, json).await,
        Task::Renotify { arn } => renotify::run(&ops, &arn).await,
        Task::Backfill { since, kinds } => backfill::run(&ops, since, &kinds).await,
        Task::TestNotify { status } => test_notify::run(&ops, &status).await,
    }
}
