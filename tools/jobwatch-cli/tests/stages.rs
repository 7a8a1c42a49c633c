//! Progress of jobs without record counts, as an operator and an alert see it, end to end on
//! moto and the emulator: a customization job's stage (`statusDetails`) and a knowledge-base
//! ingestion job's document statistics, each said without an estimated end (no total).

use std::process::Output;
use std::sync::Arc;

use chrono::{Duration, Utc};
use jobwatch::domain::{AlertSettings, JobKind};
use jobwatch::PollSettings;
use serde_json::{json, Value};
use testkit::Stack;

async fn cli(stack: &Stack, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_jobwatch-cli"))
        .env_clear()
        .envs(stack.env())
        .args(args)
        .output()
        .await
        .expect("jobwatch-cli runs")
}

fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {err}", out.status.code());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("--json prints one JSON document")
}

fn alerting(stack: &Stack) -> PollSettings {
    PollSettings {
        alerts: AlertSettings::default(),
        ..stack.settings()
    }
}

/// Sets members of the job as the API spells them, the status staying `status`.
async fn set_members(stack: &Stack, arn: &str, status: &str, spec: Value) {
    let encoded = arn.replace('/', "%2F").replace(':', "%3A");
    let body = json!({"status": status, "spec": spec});
    stack.control(&format!("jobs/{encoded}/status"), body).await;
}

fn stage(status: &str) -> Value {
    json!({"status": status, "creationTime": "2026-12-01T00:00:00Z", "lastModifiedTime": "2026-12-01T01:00:00Z"})
}

#[tokio::test]
async fn a_customization_job_in_training_shows_its_stage_and_no_end_in_show_status_and_its_alert() {
    // given a running customization job, seen validating, then in training
    let stack = Stack::start().await;
    let arn = stack.create_customization("staged").await;
    let source = Arc::new(stack.source(JobKind::ModelCustomization));
    let run = |minutes: i64| {
        let poller = stack.poller_for(source.clone(), alerting(&stack));
        let at = Utc::now() + Duration::minutes(minutes);
        async move { poller.run(at, format!("run-{minutes}")).await.unwrap() }
    };
    run(0).await;
    let training = json!({
        "validationDetails": stage("Completed"),
        "dataProcessingDetails": stage("Completed"),
        "trainingDetails": stage("InProgress"),
    });
    set_members(
        &stack,
        &arn,
        "InProgress",
        json!({"statusDetails": training}),
    )
    .await;

    // when a run sees it 40 minutes later, an operator looks, and a run comes after the
    // family's 72 hours of running
    let staged = run(40).await;
    let show = ok(&cli(&stack, &["show", &arn]).await);
    let doc = json_of(&cli(&stack, &["show", &arn, "--json"]).await);
    let status = ok(&cli(&stack, &["status"]).await);
    let alerted = run(73 * 60).await;

    // then the stage is written once (no Bedrock call more: the List carries it) and shown,
    // with no estimated end
    assert_eq!(staged.transitions, 0);
    let note = "training in progress (stage 3 of 3; validation, data processing completed); no estimated end: the stages take unequal times";
    let line = show.lines().find(|l| l.starts_with("progress")).unwrap();
    assert!(line.ends_with(note), "{show}");
    assert_eq!(doc["progressNote"], note);
    assert_eq!(
        doc["item"]["details"]["statusDetails"],
        "validation=Completed, dataProcessing=Completed, training=InProgress"
    );
    assert!(doc["progress"].is_null());
    assert!(status.contains("training 3/3"), "{status}");
    // and the stalled alert says where it stands
    assert_eq!(alerted.alerts_sent, 1);
    let got = stack.notifications().await;
    let body = &got[0].body;
    assert_eq!(body["alert"], "stalled");
    assert_eq!(body["progressNote"], note);
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("Progress:         {note}")),
        "{text}"
    );
}

#[tokio::test]
async fn a_running_ingestion_job_shows_its_documents_and_no_end() {
    // given a running ingestion job whose statistics tick
    let stack = Stack::start().await;
    let kb = stack.create_knowledge_base("handbook").await;
    let ds = stack.create_data_source(&kb, "pdfs").await;
    let id = stack.start_ingestion_job(&kb, &ds, "resync").await;
    let arn = format!("arn:aws:bedrock:us-east-1:123456789012:knowledge-base/{kb}/data-source/{ds}/ingestion-job/{id}");
    let source = Arc::new(stack.source(JobKind::KbIngestion));
    let run = |minutes: i64| {
        let poller = stack.poller_for(source.clone(), stack.settings());
        let at = Utc::now() + Duration::minutes(minutes);
        async move { poller.run(at, format!("run-{minutes}")).await.unwrap() }
    };
    stack.set_status(&arn, "IN_PROGRESS").await;
    run(0).await;
    let statistics = |scanned: i64, indexed: i64| {
        json!({"statistics": {
            "numberOfDocumentsScanned": scanned, "numberOfMetadataDocumentsScanned": 0,
            "numberOfNewDocumentsIndexed": indexed, "numberOfModifiedDocumentsIndexed": 0,
            "numberOfMetadataDocumentsModified": 0, "numberOfDocumentsDeleted": 0,
            "numberOfDocumentsFailed": 2, "numberOfDocumentsSkipped": 0}})
    };

    // when runs see it at 400 then 1,200 documents, five minutes and an hour on
    set_members(&stack, &arn, "IN_PROGRESS", statistics(500, 400)).await;
    run(5).await;
    let early = json_of(&cli(&stack, &["show", &arn, "--json"]).await);
    set_members(&stack, &arn, "IN_PROGRESS", statistics(1300, 1200)).await;
    run(60).await;
    let doc = json_of(&cli(&stack, &["show", &arn, "--json"]).await);

    // then a tick within a quarter of the stall threshold is not written, the next one is,
    // and the documents are said with no estimated end
    assert!(early["progressNote"].is_null(), "{early}");
    assert_eq!(
        doc["progressNote"],
        "1,200 documents indexed, 2 failed, 0 skipped, 0 deleted of 1,300 scanned so far; no estimated end: the total is known only when the scan ends"
    );
    assert!(doc["progress"].is_null());
}
