//! Runs one poll in a child process (`bench run-once`), as a Lambda invocation would, so that
//! its peak resident memory is the function's own, not the emulator's or moto's.

use std::process::{Command, Stdio};

use serde_json::Value;
use testkit::Stack;

/// One invocation of `family`'s poller over `table`; its report (the run summary plus wall
/// time, peak RSS and consumed capacity).
pub fn invoke(
    stack: &Stack,
    table: &str,
    family: &str,
    mode: &str,
    budget_ms: Option<u64>,
) -> Result<Value, Box<dyn std::error::Error>> {
    invoke_with(stack, table, family, mode, budget_ms, &[])
}

/// [`invoke`] with more environment (e.g. `ALERTS=off`).
pub fn invoke_with(
    stack: &Stack,
    table: &str,
    family: &str,
    mode: &str,
    budget_ms: Option<u64>,
    env: &[(&str, &str)],
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["run-once", "--family", family, "--mode", mode])
        .envs(stack.env_for(table))
        .envs(env.iter().copied())
        .env("GET_CONCURRENCY", "16")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit());
    if let Some(ms) = budget_ms {
        command.args(["--budget-ms", &ms.to_string()]);
    }
    let out = command.output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("run-once {family} {mode} failed: {stdout}").into());
    }
    let last = stdout.lines().last().unwrap_or_default();
    Ok(serde_json::from_str(last)?)
}

/// A figure of a report (0 when absent).
pub fn n(report: &Value, key: &str) -> u64 {
    report[key].as_u64().unwrap_or(0)
}

pub fn mib(report: &Value) -> f64 {
    n(report, "peak_rss_kib") as f64 / 1024.0
}
