//! Golden tests of the email and chat texts for every family and terminal status. The expected texts are
//! reviewable files in `tests/golden/`; regenerate them with `UPDATE_GOLDEN=1 cargo test`.

use chrono::{Duration, TimeZone, Utc};
use jobwatch::domain::{
    plan, JobArn, JobKind, JobRecord, JobStatus, NotifyPolicy, ObservedJob, PlanContext,
    RecordCounts, RunId,
};
use jobwatch::notices::{chat_message, Digest, EmailDetail, Notice, Presentation, Tags};

/// What a job of `kind` that ended in `status` really reports: counts and messages that agree
/// with the status (a completed batch has no failed records; a stopped one processed part).
fn record(kind: JobKind, status: &JobStatus) -> JobRecord {
    let end = Utc.with_ymd_and_hms(2026, 11, 23, 14, 5, 9).unwrap();
    let (arn, name, model, input, output) = match kind {
        JobKind::BatchInference => (
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/a1b2c3d4e5f6",
            Some("nightly-summaries"),
            "anthropic.claude-3-haiku-20240307-v1:0",
            Some("s3://acme-batch/input/2026-11-23.jsonl"),
            Some("s3://acme-batch/output/"),
        ),
        JobKind::ModelImport => (
            "arn:aws:bedrock:us-east-1:123456789012:model-import-job/a1b2c3d4e5f6",
            Some("import-llama-3-8b"),
            "llama-3-8b-support",
            Some("s3://acme-models/llama-3-8b/"),
            Some("arn:aws:bedrock:us-east-1:123456789012:imported-model/f6e5d4c3b2a1"),
        ),
        JobKind::AsyncInvoke => (
            "arn:aws:bedrock:us-east-1:123456789012:async-invoke/a1b2c3d4e5f6",
            None,
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:0",
            None,
            Some("s3://acme-videos/launch/"),
        ),
        JobKind::ModelCustomization => (
            "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.titan-text-express-v1/a1b2c3d4e5f6",
            Some("tune-support-bot"),
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1",
            Some("s3://acme-train/support.jsonl"),
            Some("arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1/f6e5d4c3b2a1"),
        ),
        JobKind::KbIngestion => (
            "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KBX7Q2M9PL/data-source/DS4H8N2WQE/ingestion-job/JB9F3K7R2T",
            Some("support-kb / product-manuals"),
            "",
            None,
            Some("arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KBX7Q2M9PL"),
        ),
        JobKind::DataAutomation => (
            "arn:aws:bedrock:us-east-1:123456789012:data-automation-invocation/25010344-03f7-4167-803a-837afdc7ce98",
            None,
            "",
            None,
            Some("s3://acme-bda-output/invoices/25010344-03f7-4167-803a-837afdc7ce98/0/job_metadata.json"),
        ),
        JobKind::ModelEvaluation => (
            "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/a1b2c3d4e5f6",
            Some("support-bot-rag-quality"),
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            None,
            Some("s3://acme-evals/support-bot/"),
        ),
        JobKind::ModelCopy => (
            "arn:aws:bedrock:eu-west-1:123456789012:model-copy-job/a1b2c3d4e5f6",
            Some("support-bot-eu"),
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/f6e5d4c3b2a1",
            None,
            Some("arn:aws:bedrock:eu-west-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/a9b8c7d6e5f4"),
        ),
        JobKind::ProvisionedThroughput => (
            "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/a1b2c3d4e5f6",
            Some("support-bot-pt"),
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/f6e5d4c3b2a1",
            None,
            None,
        ),
        JobKind::CustomModelDeployment => (
            "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/a1b2c3d4e5f6",
            Some("support-bot-on-demand"),
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/f6e5d4c3b2a1",
            None,
            None,
        ),
        JobKind::CustomModel => (
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/a1b2c3d4e5f6",
            Some("llama-3-8b-support"),
            "",
            None,
            None,
        ),
        JobKind::FlowExecution => (
            "arn:aws:bedrock:us-east-1:123456789012:flow/FLX7Q2M9PL/alias/ALS4H8N2WQ/execution/3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
            Some("ticket-triage"),
            "",
            None,
            Some("arn:aws:bedrock:us-east-1:123456789012:flow/FLX7Q2M9PL/alias/ALS4H8N2WQ"),
        ),
        JobKind::LibraryIngestion => (
            "arn:aws:bedrock:us-east-1:123456789012:data-automation-library/6b1f0c2e-4d3a-4f5b-9e8d-7c6b5a4f3e2d/library-ingestion-job/8f14e45f-ceea-467f-a9b2-c1d2e3f4a5b6",
            Some("medical-terms"),
            "",
            None,
            Some("s3://acme-bda/library-ingestion/medical-terms/"),
        ),
        JobKind::AdvancedPromptOptimization => (
            "arn:aws:bedrock:us-east-1:123456789012:advanced-prompt-optimization-job/a1b2c3d4e5f6",
            Some("support-bot-prompts"),
            "amazon.nova-lite-v1:0",
            Some("s3://acme-prompts/input/support-bot.jsonl"),
            Some("s3://acme-prompts/optimized/support-bot/"),
        ),
        JobKind::AutomatedReasoningBuild => (
            "arn:aws:bedrock:us-east-1:123456789012:automated-reasoning-policy/a1b2c3d4e5f6/build-workflow/9f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
            Some("HR leave policy"),
            "",
            None,
            Some("arn:aws:bedrock:us-east-1:123456789012:automated-reasoning-policy/a1b2c3d4e5f6"),
        ),
        JobKind::AgentcoreBatchEvaluation => (
            "arn:aws:bedrock-agentcore:us-east-1:123456789012:batch-evaluate/support_agent_nightly-a1B2c3D4e5",
            Some("support_agent_nightly"),
            "",
            None,
            Some("/aws/bedrock-agentcore/evaluations/results"),
        ),
    };
    let details: Vec<(&str, &str)> = match kind {
        JobKind::ProvisionedThroughput => vec![
            ("modelUnits", "2"),
            ("commitmentDuration", "OneMonth"),
            ("commitmentExpirationTime", "2026-12-23T14:05:09.000Z"),
            (
                "foundationModelArn",
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k",
            ),
            ("lastModifiedTime", "2026-11-23T14:05:09.000Z"),
        ],
        JobKind::CustomModelDeployment => vec![
            (
                "updateModelArn",
                "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/0a9b8c7d6e5f",
            ),
            ("lastUpdatedAt", "2026-11-23T14:05:09.000Z"),
        ],
        JobKind::CustomModel => vec![("customizationType", "IMPORTED")],
        JobKind::FlowExecution => vec![("flowAliasIdentifier", "ALS4H8N2WQ"), ("flowVersion", "3")],
        JobKind::LibraryIngestion => vec![
            ("operationType", "UPSERT"),
            ("entityType", "VOCABULARY"),
            (
                "libraryArn",
                "arn:aws:bedrock:us-east-1:123456789012:data-automation-library/6b1f0c2e-4d3a-4f5b-9e8d-7c6b5a4f3e2d",
            ),
        ],
        JobKind::AdvancedPromptOptimization => vec![(
            "modelIds",
            "amazon.nova-lite-v1:0, anthropic.claude-3-5-haiku-20241022-v1:0",
        )],
        JobKind::AutomatedReasoningBuild => vec![
            ("buildWorkflowType", "INGEST_CONTENT"),
            ("documentName", "hr-leave-policy.pdf"),
        ],
        JobKind::ModelEvaluation => vec![
            ("applicationType", "RagEvaluation"),
            ("knowledgeBaseId", "KB12345678"),
            ("jobType", "Automated"),
            ("evaluationTaskTypes", "QuestionAndAnswer"),
        ],
        // What the adapter reads from GetBatchEvaluation: where the results went, the sessions
        // and each evaluator's average score.
        JobKind::AgentcoreBatchEvaluation => {
            let mut details = vec![
                ("logStreamName", "support_agent_nightly-a1B2c3D4e5"),
                ("resultDestination", "DEDICATED_LOG_GROUP"),
                ("evaluators", "Builtin.Helpfulness, Builtin.GoalSuccessRate"),
            ];
            details.extend(match status.as_str() {
                "COMPLETED" => vec![
                    ("sessions", "48 of 48 completed, 0 failed, 0 ignored"),
                    (
                        "scores",
                        "Builtin.Helpfulness 0.86, Builtin.GoalSuccessRate 0.71",
                    ),
                ],
                "COMPLETED_WITH_ERRORS" => vec![
                    ("sessions", "45 of 48 completed, 3 failed, 0 ignored"),
                    (
                        "scores",
                        "Builtin.Helpfulness 0.84, Builtin.GoalSuccessRate 0.69",
                    ),
                ],
                "STOPPED" => vec![("sessions", "20 of 48 completed, 0 failed, 28 ignored")],
                _ => vec![],
            });
            details
        }
        JobKind::ModelCopy => vec![
            ("sourceModelArn", model),
            ("sourceAccountId", "123456789012"),
            ("targetModelArn", output.unwrap_or_default()),
        ],
        _ => vec![],
    };
    let (message, counts) = outcome_details(kind, status.as_str());
    let observed = ObservedJob {
        kind,
        arn: JobArn::new(arn),
        name: name.map(str::to_owned),
        status: status.clone(),
        model_id: (!model.is_empty()).then(|| model.to_owned()),
        message,
        submit_time: end - Duration::seconds(3 * 3600 + 47 * 60 + 12),
        end_time: Some(end),
        input_s3_uri: input.map(str::to_owned),
        output_s3_uri: output.map(str::to_owned),
        counts,
        deadline: None,
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
            // The family's own word for running (`InProgress`, `IN_PROGRESS`).
            status: running_status(kind),
            end_time: None,
            ..observed.clone()
        },
        &ctx,
    )
    .unwrap()
    .record;
    known.version = 1;
    let mut finished = plan(Some(&known), &observed, &ctx).unwrap().record;
    finished.cost = priced(&finished);
    finished
}

/// What the poller's pricing phase puts on a finished batch job with tokens: a Price List price
/// for a partial one, the shipped file's (the Price List denied) for a completed one.
fn priced(record: &JobRecord) -> Option<jobwatch::domain::CostEstimate> {
    use jobwatch::domain::{cost::batch_cost, PriceOrigin, TokenPrice};
    let partial = record.status.as_str() == "Completed";
    let price = TokenPrice {
        input_per_million: 0.25,
        output_per_million: 1.25,
        origin: if partial {
            PriceOrigin::Shipped
        } else {
            PriceOrigin::PriceList
        },
        as_of: if partial { "2025-07-20" } else { "2026-11-20" }.into(),
        fallback: partial.then(|| "AWS Price List not readable (AccessDeniedException)".into()),
    };
    batch_cost(&record.counts, &price, &record.region)
}

/// Record counts (batch: 50,000 records) and the service message for an ending.
fn outcome_details(kind: JobKind, status: &str) -> (Option<String>, RecordCounts) {
    let batch = |processed, success, error, tokens: Option<(i64, i64)>| RecordCounts {
        total: Some(50_000),
        processed: Some(processed),
        success: Some(success),
        error: Some(error),
        input_tokens: tokens.map(|t| t.0),
        output_tokens: tokens.map(|t| t.1),
    };
    let message = |m: &str| Some(m.to_owned());
    match (kind, status) {
        (JobKind::BatchInference, "Completed") => {
            (None, batch(50_000, 50_000, 0, Some((12_500_000, 3_400_000))))
        }
        (JobKind::BatchInference, "PartiallyCompleted") => {
            (None, batch(50_000, 49_120, 880, Some((12_280_000, 3_340_000))))
        }
        (JobKind::BatchInference, "Failed") => (
            message("Validation failed: 3 records exceed the model's context length."),
            RecordCounts::default(),
        ),
        (JobKind::BatchInference, "Stopped") => (None, batch(21_400, 21_390, 10, None)),
        (JobKind::BatchInference, "Expired") => (
            message("Job expired: it did not complete within the timeout duration."),
            batch(38_000, 37_950, 50, None),
        ),
        (JobKind::ModelImport, "Failed") => (
            message("The model files could not be read: config.json is missing from s3://acme-models/llama-3-8b/."),
            RecordCounts::default(),
        ),
        (JobKind::AsyncInvoke, "Failed") => (
            message("The video could not be generated: the prompt was blocked by the content filter."),
            RecordCounts::default(),
        ),
        (JobKind::ModelCustomization, "Failed") => (
            message("Training data validation failed: line 12 of s3://acme-train/support.jsonl is not valid JSON."),
            RecordCounts::default(),
        ),
        (JobKind::ModelEvaluation, "Failed") => (
            message("The evaluator model could not be invoked: access denied to anthropic.claude-3-5-sonnet-20240620-v1:0 for the job's role."),
            RecordCounts::default(),
        ),
        (JobKind::ModelCopy, "Failed") => (
            message("The custom model could not be copied: the target Region eu-west-1 does not support the base model."),
            RecordCounts::default(),
        ),
        (JobKind::ProvisionedThroughput, "Failed") => (
            message("Insufficient capacity for the requested model units in this region. Try fewer model units or another region."),
            RecordCounts::default(),
        ),
        (JobKind::CustomModelDeployment, "Failed" | "UpdateFailed") => (
            message("The deployment could not be created: the custom model's artifacts could not be loaded."),
            RecordCounts::default(),
        ),
        (JobKind::CustomModel, "Failed") => (
            message("The model weights could not be read: config.json is missing from the S3 location."),
            RecordCounts::default(),
        ),
        // What the kb-ingestion adapter makes of the job's statistics and failure reasons.
        (JobKind::KbIngestion, "COMPLETE") => (
            message("Documents: 1204 scanned, 1150 indexed (1000 new, 150 modified), 4 deleted, 12 failed, 38 skipped"),
            RecordCounts::default(),
        ),
        (JobKind::KbIngestion, "STOPPED") => (
            message("Documents: 1204 scanned, 610 indexed (600 new, 10 modified), 0 deleted, 0 failed, 0 skipped"),
            RecordCounts::default(),
        ),
        (JobKind::KbIngestion, "FAILED") => (
            message("Documents: 1204 scanned, 0 indexed (0 new, 0 modified), 0 deleted, 1204 failed, 0 skipped. Failure reasons: The knowledge base role is not authorized to perform s3:GetObject on the data source bucket."),
            RecordCounts::default(),
        ),
        (JobKind::AgentcoreBatchEvaluation, "FAILED") => (
            message("No agent sessions were found in the log groups for the requested time range."),
            RecordCounts::default(),
        ),
        (JobKind::AgentcoreBatchEvaluation, "COMPLETED_WITH_ERRORS") => (
            message("3 sessions could not be evaluated: the evaluator model timed out."),
            RecordCounts::default(),
        ),
        (JobKind::DataAutomation, "ClientError") => (
            message("ClientError: The input file is not a supported document format."),
            RecordCounts::default(),
        ),
        (JobKind::DataAutomation, "ServiceError") => (
            message("ServiceError: An internal error occurred. Retry the invocation."),
            RecordCounts::default(),
        ),
        // What the flow-execution adapter makes of GetFlowExecution's `errors`.
        (JobKind::FlowExecution, "Failed") => (
            message("ClassifyTicket: The model returned a ValidationException: input is too long for the requested model."),
            RecordCounts::default(),
        ),
        (JobKind::FlowExecution, "TimedOut") => (
            message("ExecutionTimedOut: The flow execution did not finish within 24 hours."),
            RecordCounts::default(),
        ),
        // What the library-ingestion adapter makes of the Get's `errorType` and `errorMessage`.
        (JobKind::LibraryIngestion, "COMPLETED_WITH_ERRORS") => (
            message("PartialIngestion: 3 of 120 vocabulary entities were not ingested: phrase exceeds 256 characters."),
            RecordCounts::default(),
        ),
        (JobKind::LibraryIngestion, "FAILED") => (
            message("ValidationError: The input file is not a valid vocabulary manifest (line 1: expected a JSON object)."),
            RecordCounts::default(),
        ),
        (JobKind::AdvancedPromptOptimization, "Failed") => (
            message("The input file could not be read: the service role is not authorized to perform s3:GetObject on s3://acme-prompts/input/support-bot.jsonl."),
            RecordCounts::default(),
        ),
        (JobKind::AdvancedPromptOptimization, "PartiallyCompleted") => (
            message("3 of 40 evaluation samples could not be scored: the model's response exceeded maxTokens."),
            RecordCounts::default(),
        ),
        // What the automated-reasoning-build adapter makes of the build assets.
        (JobKind::AutomatedReasoningBuild, "COMPLETED") => (
            message("Quality report: 42 rules, 18 variables, 4 types; 2 conflicting rules (R7, R9); 1 unused variables (is_contractor)"),
            RecordCounts::default(),
        ),
        (JobKind::AutomatedReasoningBuild, "FAILED") => (
            message("Build log errors: The source document could not be translated into a policy: no rules could be extracted from it."),
            RecordCounts::default(),
        ),
        _ => (None, RecordCounts::default()),
    }
}

/// Compares `text` with the golden file `name` (or writes it with `UPDATE_GOLDEN=1`).
fn check_golden(name: &str, text: &str, mismatches: &mut Vec<String>) {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&file, text).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&file).unwrap_or_else(|_| panic!("missing {}", file.display()));
    if expected != text {
        mismatches.push(format!(
            "{}:\n--- expected\n{expected}\n--- got\n{text}",
            file.display()
        ));
    }
}

fn prod() -> Presentation {
    Presentation {
        account_name: Some("prod".into()),
        email_detail: EmailDetail::Full,
        notify_tags: vec!["team".into(), "owner".into()],
    }
}

fn team_tags() -> Tags {
    [("team", "search"), ("owner", "ana")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn minimal_detail_leaves_failure_messages_and_locations_out_of_the_email_only() {
    // given a failed batch job and an organisation that must not email S3 locations
    let status = JobStatus::new("Expired");
    let minimal = Presentation {
        email_detail: EmailDetail::Minimal,
        ..prod()
    };
    let record = record(JobKind::BatchInference, &status);

    // when
    let notice = Notice::build(&record, &status, &minimal, &team_tags());

    // then the email has neither, the JSON keeps both
    let mut mismatches = Vec::new();
    let text = format!("Subject: {}\n\n{}\n", notice.subject, notice.email);
    check_golden(
        "batch-inference-Expired-minimal.txt",
        &text,
        &mut mismatches,
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(!notice.email.contains("s3://") && !notice.email.contains("timeout duration"));
    assert!(notice.body["message"]
        .as_str()
        .unwrap()
        .contains("timeout duration"));
    assert_eq!(
        notice.body["outputFolder"],
        "s3://acme-batch/output/a1b2c3d4e5f6/"
    );
}

#[test]
fn a_digest_counts_by_outcome_then_lists_failures_first() {
    // given six async invocations of one run, two of them failed
    let presentation = prod();
    let notices: Vec<Notice> = (0..6)
        .map(|i| {
            let status = JobStatus::new(if i % 3 == 1 { "Failed" } else { "Completed" });
            let mut record = record(JobKind::AsyncInvoke, &status);
            let id = format!("a1b2c3d4e5f{i}");
            record.pk = JobArn::new(format!(
                "arn:aws:bedrock:us-east-1:123456789012:async-invoke/{id}"
            ));
            record.end_time = record.end_time.map(|e| e + Duration::seconds(i * 41));
            Notice::build(&record, &status, &presentation, &team_tags())
        })
        .collect();

    // when
    let digest = Digest::build(
        JobKind::AsyncInvoke,
        &notices.iter().collect::<Vec<_>>(),
        true,
    );

    // then
    let mut mismatches = Vec::new();
    let text = format!("Subject: {}\n\n{}\n", digest.subject, digest.text);
    check_golden("digest-async-invoke.txt", &text, &mut mismatches);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(digest.jobs, 6);
    assert!(digest
        .subject
        .starts_with("[Bedrock] 2 Failed, 4 Completed: 6 async invocations"));
}

fn running_status(kind: JobKind) -> JobStatus {
    let vocabulary = kind.family().vocabulary;
    let running = vocabulary
        .iter()
        .find(|(_, phase)| *phase == jobwatch::domain::Phase::Running);
    JobStatus::new(running.map_or("InProgress", |(raw, _)| *raw))
}

/// What a chat channel shows of a custom notification: title, description, next steps.
fn chat_text(message: &serde_json::Value) -> String {
    let content = &message["content"];
    let steps: Vec<String> = content["nextSteps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(|s| format!("- {s}")))
        .collect();
    format!(
        "{}\n\n{}\n\n{}\n",
        content["title"].as_str().unwrap_or_default(),
        content["description"].as_str().unwrap_or_default(),
        steps.join("\n")
    )
}

#[test]
fn email_and_chat_texts_match_the_reviewed_golden_files() {
    // Every terminal status of every family, from the family's own vocabulary: the email and
    // the chat text (Amazon Q Developer custom notification) of the same notice.
    let cases: Vec<(JobKind, Vec<JobStatus>)> = JobKind::ALL
        .into_iter()
        .map(|kind| (kind, kind.family().terminal_statuses().collect()))
        .collect();
    let mut mismatches = Vec::new();
    for (kind, statuses) in &cases {
        for status in statuses {
            let notice = Notice::build(&record(*kind, status), status, &prod(), &team_tags());
            let text = format!("Subject: {}\n\n{}\n", notice.subject, notice.email);
            check_golden(&format!("{kind}-{status}.txt"), &text, &mut mismatches);
            let chat = chat_text(&chat_message(&notice));
            check_golden(&format!("chat/{kind}-{status}.md"), &chat, &mut mismatches);
            assert_eq!(
                notice.body["text"], notice.email,
                "the JSON carries the same text"
            );
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
