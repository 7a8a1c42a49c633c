//! Golden tests of the alert emails, one per alert kind (and both forms of `stalled`), and of the
//! alert digest. The expected texts are reviewable files in `tests/golden/alert-*.txt` and
//! `tests/golden/digest-alerts-*.txt`; regenerate them with `UPDATE_GOLDEN=1 cargo test`.

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobwatch::domain::batch_activity::ModelActivity;
use jobwatch::domain::{
    idle, measure, Alert, AlertInputs, AlertKind, AlertSettings, JobArn, JobKind, JobRecord,
    JobStatus, Observation, PriceOrigin, RecordCounts,
};
use jobwatch::notices::{AlertDigest, AttributeValue, Notice, Presentation, Tags};

fn submitted() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 14, 0).unwrap()
}

/// A realistic open job of `kind` in `status` (fields as the API reports them).
fn job(kind: JobKind, status: &str, processed: Option<i64>) -> JobRecord {
    let (arn, name, model) = match kind {
        JobKind::BatchInference => (
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/k2x9q1w7m3p4",
            "nightly-summaries-2026-11-23",
            "anthropic.claude-3-5-haiku-20241022-v1:0",
        ),
        JobKind::ModelImport => (
            "arn:aws:bedrock:us-east-1:123456789012:model-import-job/7hq2m4x9k1ab",
            "llama-3-8b-legal-import",
            "llama-3-8b-legal",
        ),
        _ => (
            "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0/c9d8e7f6a5b4",
            "support-tone-finetune-v4",
            "amazon.nova-micro-v1:0:128k",
        ),
    };
    let json = serde_json::json!({
        "pk": arn, "kind": kind, "region": "us-east-1", "name": name, "status": status,
        "previous_status": null, "model_id": model, "submit_time": submitted(),
        "version": 3, "first_seen_at": submitted(), "updated_at": submitted(),
    });
    let mut record: JobRecord = serde_json::from_value(json).expect("a record");
    record.pk = JobArn::new(arn);
    record.status = JobStatus::new(status);
    if let Some(processed) = processed {
        record.counts = RecordCounts {
            total: Some(48_000),
            processed: Some(processed),
            ..Default::default()
        };
        record.progress_at = Some(submitted() + Duration::minutes(340));
        // Three counts recorded over the last three hours before it was last seen to move.
        record.observations = [
            (160, processed - 15_000),
            (250, processed - 7_000),
            (340, processed),
        ]
        .map(|(minute, processed)| Observation {
            at: submitted() + Duration::minutes(minute),
            processed,
        })
        .to_vec();
        record.deadline = Some(submitted() + Duration::hours(24));
    }
    record
}

/// The same job moving a tenth as fast: at its rate it ends after its expiration time.
fn slowed(record: &JobRecord) -> JobRecord {
    let mut slow = record.clone();
    let last = slow.counts.processed.unwrap_or_default();
    for observation in &mut slow.observations {
        observation.processed = last - (last - observation.processed) / 10;
    }
    slow
}

/// The stalled job with the evidence CloudWatch gave: 16 750 records pending for the model,
/// no tokens processed in the two hours before the run.
fn confirmed(record: &JobRecord) -> JobRecord {
    let mut stalled = record.clone();
    stalled.model_activity = Some(ModelActivity {
        records_pending: Some(16_750),
        tokens_pending: None,
        input_tokens_per_minute: Some(0),
        output_tokens_per_minute: Some(0),
        window_minutes: 120,
        read_at: submitted() + Duration::minutes(340 + 135),
    });
    stalled
}

/// A customization job in its training stage (validation and data processing completed).
fn in_training() -> JobRecord {
    let mut record = job(JobKind::ModelCustomization, "InProgress", None);
    record.details.insert(
        "statusDetails".into(),
        "validation=Completed, dataProcessing=Completed, training=InProgress".into(),
    );
    record
}

/// A provisioned throughput in service since `submitted()`, 2 model units on a one-month
/// commitment, with its hourly cost when `priced`.
fn throughput(priced: bool) -> JobRecord {
    let arn = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p7k2m9x4q1w3";
    let json = serde_json::json!({
        "pk": arn, "kind": JobKind::ProvisionedThroughput, "region": "us-east-1",
        "name": "support-bot-pt", "status": "InService", "previous_status": "Creating",
        "model_id": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        "submit_time": submitted(), "version": 3, "first_seen_at": submitted(),
        "updated_at": submitted(),
    });
    let mut record: JobRecord = serde_json::from_value(json).expect("a record");
    record.pk = JobArn::new(arn);
    record.hourly_cost =
        priced.then(|| idle::hourly_cost(2, 21.18, "OneMonth", PriceOrigin::Shipped, "2026-12-01"));
    record
}

/// The idle alert for `record`, idle since it went into service `hours` ago.
fn idle_email(record: &JobRecord, hours: i64) -> Notice {
    let alert = Alert {
        kind: AlertKind::Idle,
        elapsed: Duration::hours(hours),
        threshold: idle::IdleSettings::default().after,
        median: None,
    };
    Notice::alert(record, &alert, &Presentation::default(), &Tags::new())
}

fn alert_email(
    record: &JobRecord,
    kind: AlertKind,
    after: Duration,
    median: Option<Duration>,
) -> Notice {
    let settings = AlertSettings::default();
    let inputs = AlertInputs {
        now: submitted() + after,
        settings: &settings,
        fresh_counts: Some(&record.counts),
        median,
        activity: None,
    };
    let alert = measure(kind, record, &inputs).expect("the measure applies");
    Notice::alert(record, &alert, &Presentation::default(), &Tags::new())
}

#[test]
fn alert_emails_match_the_reviewed_golden_files() {
    let batch_running = job(JobKind::BatchInference, "InProgress", Some(31_250));
    let cases = [
        (
            "alert-stuck",
            alert_email(
                &job(JobKind::BatchInference, "Scheduled", None),
                AlertKind::Stuck,
                Duration::minutes(6 * 60 + 12),
                None,
            ),
        ),
        (
            "alert-stalled",
            alert_email(
                &batch_running,
                AlertKind::Stalled,
                Duration::minutes(340 + 135),
                None,
            ),
        ),
        (
            "alert-stalled-running",
            alert_email(
                &job(JobKind::ModelImport, "InProgress", None),
                AlertKind::Stalled,
                Duration::minutes(6 * 60 + 40),
                None,
            ),
        ),
        (
            "alert-expiring",
            alert_email(
                &slowed(&batch_running),
                AlertKind::Expiring,
                Duration::minutes(19 * 60 + 5),
                None,
            ),
        ),
        (
            "alert-overdue",
            alert_email(
                &job(JobKind::ModelCustomization, "InProgress", None),
                AlertKind::Overdue,
                Duration::minutes(11 * 60 + 20),
                Some(Duration::minutes(3 * 60 + 30)),
            ),
        ),
    ];
    let cases = cases.into_iter().chain([
        (
            "alert-stalled-metrics",
            alert_email(
                &confirmed(&batch_running),
                AlertKind::Stalled,
                Duration::minutes(340 + 135),
                None,
            ),
        ),
        (
            "alert-stalled-stage",
            alert_email(
                &in_training(),
                AlertKind::Stalled,
                Duration::hours(72) + Duration::minutes(20),
                None,
            ),
        ),
        ("alert-idle", idle_email(&throughput(true), 26)),
        ("alert-idle-unpriced", idle_email(&throughput(false), 26)),
    ]);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for (name, notice) in &cases.collect::<Vec<_>>() {
        let text = format!("Subject: {}\n\n{}\n", notice.subject, notice.email);
        let file = dir.join(format!("{name}.txt"));
        if update {
            std::fs::write(&file, &text).unwrap();
            continue;
        }
        let expected =
            std::fs::read_to_string(&file).unwrap_or_else(|_| panic!("missing {}", file.display()));
        if expected != text {
            mismatches.push(format!(
                "{}:\n--- expected\n{expected}\n--- got\n{text}",
                file.display()
            ));
        }
        assert_eq!(notice.body["type"], "alert");
        assert_eq!(
            notice.body["text"], notice.email,
            "the JSON carries the same text"
        );
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// A batch job like `job`'s, the `n`th of a run, named `name`.
fn batch(n: usize, name: &str, status: &str, processed: Option<i64>) -> JobRecord {
    let mut record = job(JobKind::BatchInference, status, processed);
    let id = format!("k2x9q1w7m3p{n}");
    record.pk = JobArn::new(format!(
        "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/{id}"
    ));
    record.name = Some(name.to_owned());
    record
}

#[test]
fn an_alert_digest_counts_by_kind_then_lists_jobs_by_kind_most_urgent_first() {
    // given six alerts of one run in a `prod` account: expiring, stuck and stalled jobs
    let prod = Presentation {
        account_name: Some("prod".into()),
        ..Default::default()
    };
    let settings = AlertSettings::default();
    let cases = [
        (
            "nightly-summaries-2026-11-23",
            "InProgress",
            Some(31_250),
            AlertKind::Expiring,
            19 * 60 + 5,
        ),
        (
            "weekly-embeddings",
            "InProgress",
            Some(2_400),
            AlertKind::Expiring,
            25 * 60,
        ),
        (
            "claims-triage-eu",
            "InProgress",
            Some(47_100),
            AlertKind::Expiring,
            18 * 60 + 40,
        ),
        (
            "held-behind-quota",
            "Scheduled",
            None,
            AlertKind::Stuck,
            6 * 60 + 12,
        ),
        (
            "backfill-2025",
            "Submitted",
            None,
            AlertKind::Stuck,
            9 * 60 + 3,
        ),
        (
            "support-transcripts",
            "InProgress",
            Some(31_250),
            AlertKind::Stalled,
            340 + 135,
        ),
    ];
    let notices: Vec<Notice> = cases
        .iter()
        .enumerate()
        .map(|(n, (name, status, processed, kind, after))| {
            let record = batch(n, name, status, *processed);
            let inputs = AlertInputs {
                now: submitted() + Duration::minutes(*after),
                settings: &settings,
                fresh_counts: Some(&record.counts),
                median: None,
                activity: None,
            };
            let alert = measure(*kind, &record, &inputs).expect("the measure applies");
            Notice::alert(&record, &alert, &prod, &Tags::new())
        })
        .collect();

    // when
    let digest = AlertDigest::build(JobKind::BatchInference, &notices.iter().collect::<Vec<_>>());

    // then
    let text = format!("Subject: {}\n\n{}\n", digest.subject, digest.text);
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/digest-alerts-batch-inference.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&file, &text).unwrap();
    }
    let expected =
        std::fs::read_to_string(&file).unwrap_or_else(|_| panic!("missing {}", file.display()));
    assert_eq!(text, expected, "{}", file.display());
    assert_eq!(digest.jobs, 6);
    assert!(digest
        .attributes
        .contains(&("type".to_owned(), AttributeValue::One("alert".to_owned()))));
}

#[test]
fn only_the_stalled_alert_carries_the_stall_evidence() {
    // given a batch job whose stall CloudWatch confirmed, still running later
    let stalled = confirmed(&job(JobKind::BatchInference, "InProgress", Some(31_250)));

    // when it is alerted stalled, then overdue
    let stall = alert_email(&stalled, AlertKind::Stalled, Duration::minutes(475), None);
    let late = Duration::minutes(40);
    let overdue = alert_email(&stalled, AlertKind::Overdue, Duration::hours(9), Some(late));

    // then the stalled alert names the records pending (JSON, email, chat); the overdue one,
    // sent after it, does not repeat figures read back then
    assert_eq!(stall.body["batchMetrics"]["recordsPending"], 16_750);
    assert!(stall.email.contains("Batch metrics:"), "{}", stall.email);
    assert!(overdue.body["batchMetrics"].is_null(), "{:#}", overdue.body);
    assert!(
        !overdue.email.contains("Batch metrics:"),
        "{}",
        overdue.email
    );
    let chat = jobwatch::notices::chat::chat_message(&overdue);
    let said = chat["content"]["description"].as_str().unwrap();
    assert!(!said.contains("pending"), "{said}");
}
