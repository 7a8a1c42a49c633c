//! Golden tests of the email text for every family and terminal status. The expected texts are
//! reviewable files in `tests/golden/`; regenerate them with `UPDATE_GOLDEN=1 cargo test`.

use chrono::{Duration, TimeZone, Utc};
use jobwatch::domain::{
    plan, JobArn, JobKind, JobRecord, JobStatus, Notice, NotifyPolicy, ObservedJob, PlanContext,
    RecordCounts, RunId,
};

fn record(kind: JobKind, status: &JobStatus) -> JobRecord {
    let end = Utc.with_ymd_and_hms(2026, 11, 23, 14, 5, 9).unwrap();
    let (arn, name, model, input, output, counts) = match kind {
        JobKind::BatchInference => (
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/a1b2c3d4e5f6",
            Some("nightly-summaries"),
            "anthropic.claude-3-haiku-20240307-v1:0",
            Some("s3://acme-batch/input/2026-11-23.jsonl"),
            Some("s3://acme-batch/output/"),
            RecordCounts { total: Some(50_000), processed: Some(50_000), success: Some(49_120), error: Some(880), input_tokens: Some(12_500_000), output_tokens: Some(3_400_000) },
        ),
        JobKind::ModelImport => (
            "arn:aws:bedrock:us-east-1:123456789012:model-import-job/a1b2c3d4e5f6",
            Some("import-llama-3-8b"),
            "llama-3-8b-support",
            Some("s3://acme-models/llama-3-8b/"),
            Some("arn:aws:bedrock:us-east-1:123456789012:imported-model/f6e5d4c3b2a1"),
            RecordCounts::default(),
        ),
        JobKind::AsyncInvoke => (
            "arn:aws:bedrock:us-east-1:123456789012:async-invoke/a1b2c3d4e5f6",
            None,
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:0",
            None,
            Some("s3://acme-videos/launch/"),
            RecordCounts::default(),
        ),
        JobKind::ModelCustomization => (
            "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.titan-text-express-v1/a1b2c3d4e5f6",
            Some("tune-support-bot"),
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1",
            Some("s3://acme-train/support.jsonl"),
            Some("arn:aws:bedrock:us-east-1:123456789012:custom-model/tune-support-bot-model/a1b2c3d4e5f6"),
            RecordCounts::default(),
        ),
        JobKind::ModelEvaluation => (
            "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/a1b2c3d4e5f6",
            Some("support-bot-rag-quality"),
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            None,
            Some("s3://acme-evals/support-bot/"),
            RecordCounts::default(),
        ),
        JobKind::ModelCopy => (
            "arn:aws:bedrock:eu-west-1:123456789012:model-copy-job/a1b2c3d4e5f6",
            Some("support-bot-eu"),
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/f6e5d4c3b2a1",
            None,
            Some("arn:aws:bedrock:eu-west-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/a9b8c7d6e5f4"),
            RecordCounts::default(),
        ),
    };
    let details: Vec<(&str, &str)> = match kind {
        JobKind::ModelEvaluation => vec![
            ("applicationType", "RagEvaluation"),
            ("knowledgeBaseId", "KB12345678"),
            ("jobType", "Automated"),
            ("evaluationTaskTypes", "QuestionAndAnswer"),
        ],
        JobKind::ModelCopy => vec![
            ("sourceModelArn", model),
            ("sourceAccountId", "123456789012"),
            ("targetModelArn", output.unwrap_or_default()),
        ],
        _ => vec![],
    };
    let message = match status.as_str() {
        "Failed" => {
            Some("Validation failed: 3 records exceed the model's context length.".to_owned())
        }
        "Expired" => {
            Some("Job expired: it did not complete within the timeout duration.".to_owned())
        }
        "PartiallyCompleted" => Some("880 records failed; see the output manifest.".to_owned()),
        _ => None,
    };
    let observed = ObservedJob {
        kind,
        arn: JobArn::new(arn),
        name: name.map(str::to_owned),
        status: status.clone(),
        model_id: Some(model.to_owned()),
        message,
        submit_time: end - Duration::seconds(3 * 3600 + 47 * 60 + 12),
        end_time: Some(end),
        input_s3_uri: input.map(str::to_owned),
        output_s3_uri: output.map(str::to_owned),
        counts,
        details: details
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    };
    let policy = NotifyPolicy::default();
    let ctx = PlanContext {
        now: end,
        history_before: None,
        policy: &policy,
        region: "us-east-1",
        retention: Duration::days(1),
        run_id: &RunId::new("golden"),
        lease: Duration::minutes(5),
    };
    let mut known = plan(
        None,
        &ObservedJob {
            status: JobStatus::new("InProgress"),
            end_time: None,
            ..observed.clone()
        },
        &ctx,
    )
    .unwrap()
    .record;
    known.version = 1;
    plan(Some(&known), &observed, &ctx).unwrap().record
}

#[test]
fn email_text_matches_the_reviewed_golden_files() {
    // Every terminal status of every family, from the family's own vocabulary.
    let cases: Vec<(JobKind, Vec<JobStatus>)> = JobKind::ALL
        .into_iter()
        .map(|kind| (kind, kind.family().terminal_statuses().collect()))
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for (kind, statuses) in &cases {
        for status in statuses {
            let notice = Notice::new(&record(*kind, status), status);
            let text = format!("Subject: {}\n\n{}\n", notice.subject, notice.email);
            let file = dir.join(format!("{kind}-{status}.txt"));
            if update {
                std::fs::write(&file, &text).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&file)
                .unwrap_or_else(|_| panic!("missing {}", file.display()));
            if expected != text {
                mismatches.push(format!(
                    "{}:\n--- expected\n{expected}\n--- got\n{text}",
                    file.display()
                ));
            }
            assert_eq!(
                notice.body["text"], notice.email,
                "the JSON carries the same text"
            );
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
