//! `bench event-latency`: time from a Bedrock state-change event reaching the handler to the
//! notification's publish returning (Get + conditional write + publish + mark sent).

use std::time::{Duration, Instant};

use jobwatch::adapters::batch::BatchInferenceSource;
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::adapters::sns::SnsNotifier;
use jobwatch::handler::{handle, Output};
use jobwatch::{Config, PollSettings, Poller};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

use crate::stand_ins::{sdk_config, Moto, Stand};

pub async fn run(events: usize) -> Result<(), Box<dyn std::error::Error>> {
    let moto = Moto::start().await;
    let stand = Stand::start(&moto, &["events"]).await?;
    let vars = stand.env("events").into_iter().collect();
    let config = Config::from_vars(&vars)?;
    let aws = sdk_config(&stand.moto_endpoint);
    let bedrock = aws_sdk_bedrock::Client::from_conf(
        aws_sdk_bedrock::config::Builder::from(&aws)
            .endpoint_url(stand.emulator.endpoint())
            .build(),
    );
    let poller = Poller::new(
        BatchInferenceSource::new(bedrock),
        DynamoJobStore::new(aws_sdk_dynamodb::Client::new(&aws), &config.table),
        SnsNotifier::new(aws_sdk_sns::Client::new(&aws), &config.topic_arn),
        PollSettings::from(&config),
    );
    let http = reqwest::Client::new();
    let control = |path: String, body: Value| {
        let http = http.clone();
        let url = format!("{}/_emulator/{path}", stand.emulator.endpoint());
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await?
                .error_for_status()?
                .json::<Value>()
                .await
        }
    };
    control("seed".into(), json!({"kind": "batch-inference", "count": events, "statuses": {"InProgress": 1}, "spreadHours": 1})).await?;
    poller.run(chrono::Utc::now(), "baseline").await?;
    let jobs: Value = http
        .get(format!("{}/_emulator/jobs", stand.emulator.endpoint()))
        .send()
        .await?
        .json()
        .await?;
    let mut latencies = Vec::new();
    for job in jobs["jobs"].as_array().into_iter().flatten() {
        let arn = job["arn"].as_str().unwrap_or_default();
        let id = arn.rsplit('/').next().unwrap_or_default().to_owned();
        control(format!("jobs/{id}/status"), json!({"status": "Completed"})).await?;
        let event: Value = http
            .get(format!(
                "{}/_emulator/jobs/{id}/event",
                stand.emulator.endpoint()
            ))
            .send()
            .await?
            .json()
            .await?;
        let started = Instant::now();
        let output = handle(&poller, LambdaEvent::new(event, Context::default())).await?;
        let elapsed = started.elapsed();
        match output {
            Output::Polled(summary) if summary.notifications_sent == 1 => latencies.push(elapsed),
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
