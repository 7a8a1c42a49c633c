//! `bench event-latency`: time from a Bedrock state-change event reaching the handler to the
//! notification's publish returning (Get + conditional write + publish + mark sent).

use std::time::{Duration, Instant};

use jobwatch::handler::{handle, Output};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

use testkit::Stack;

pub async fn run(events: usize) -> Result<(), Box<dyn std::error::Error>> {
    let stack = Stack::start().await;
    let poller = stack.poller();
    stack.control("seed", json!({"kind": "batch-inference", "count": events, "statuses": {"InProgress": 1}, "spreadHours": 1})).await;
    poller.run(chrono::Utc::now(), "baseline").await?;
    // Captured, not printed: the figures below are what this benchmark reports.
    let metrics = jobwatch::metrics::MetricsSink::capture("bench");
    let mut latencies = Vec::new();
    for arn in stack.job_arns().await {
        let id = arn.rsplit('/').next().unwrap_or_default().to_owned();
        stack.set_status(&arn, "Completed").await;
        let event = stack.control_get(&format!("jobs/{id}/event")).await;
        let started = Instant::now();
        let output = handle(
            &poller,
            &metrics,
            LambdaEvent::new(event, Context::default()),
        )
        .await?;
        let elapsed = started.elapsed();
        match output {
            Output::Event(summary) if summary.notifications_sent == 1 => latencies.push(elapsed),
            other => return Err(format!("event not notified: {other:?}").into()),
        }
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    let mean: Duration = latencies.iter().sum::<Duration>() / latencies.len().max(1) as u32;
    println!(
        "event-to-publish latency ({} events, in-process handler, moto + emulator)",
        latencies.len()
    );
    println!(
        "  p50 {:.1?}   p99 {:.1?}   mean {:.1?}",
        pct(0.5),
        pct(0.99),
        mean
    );
    Ok(())
}
