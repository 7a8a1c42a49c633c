//! bedrock-agent ingestion jobs and bedrock-data-automation-runtime invocations on the emulator,
//! through the Rust SDKs and the AWS CLI.

use std::process::Command;

use aws_sdk_bedrockagent::error::ProvideErrorMetadata;
use aws_sdk_bedrockagent::types::{
    IngestionJobFilter, IngestionJobFilterAttribute, IngestionJobFilterOperator,
    IngestionJobSortBy, IngestionJobSortByAttribute, IngestionJobStatus, SortOrder,
};
use serde_json::{json, Value};
use testkit::Emulator;

fn sort(attribute: IngestionJobSortByAttribute, order: SortOrder) -> IngestionJobSortBy {
    IngestionJobSortBy::builder()
        .attribute(attribute)
        .order(order)
        .build()
        .unwrap()
}

/// Every page of `ListIngestionJobs` with these options: (status, startedAt) per job, pages.
async fn list_all(
    emu: &Emulator,
    kb: &str,
    ds: &str,
    sort_by: IngestionJobSortBy,
    status: Option<&str>,
) -> (Vec<(String, aws_smithy_types::DateTime)>, usize) {
    let filter = status.map(|s| {
        vec![IngestionJobFilter::builder()
            .attribute(IngestionJobFilterAttribute::Status)
            .operator(IngestionJobFilterOperator::Eq)
            .values(s)
            .build()
            .unwrap()]
    });
    let mut pages = emu
        .agent
        .list_ingestion_jobs()
        .knowledge_base_id(kb)
        .data_source_id(ds)
        .max_results(1000)
        .sort_by(sort_by)
        .set_filters(filter)
        .into_paginator()
        .send();
    let (mut jobs, mut count) = (Vec::new(), 0);
    while let Some(page) = pages.next().await {
        count += 1;
        jobs.extend(
            page.unwrap()
                .ingestion_job_summaries()
                .iter()
                .map(|j| (j.status().as_str().to_owned(), *j.started_at())),
        );
    }
    (jobs, count)
}

#[tokio::test]
async fn ingestion_jobs_are_listed_per_data_source_sorted_filtered_and_paged() {
    // given two data sources, one with 2500 jobs of history and one with a single job
    let emu = Emulator::start().await;
    let kb = emu.create_knowledge_base("docs").await;
    let (ds, other) = (
        emu.create_data_source(&kb, "handbook").await,
        emu.create_data_source(&kb, "wiki").await,
    );
    emu.control(
        "seed",
        json!({"kind": "kb-ingestion", "count": 2500, "statuses": {"COMPLETE": 3, "FAILED": 1},
               "knowledgeBaseId": kb, "dataSourceId": ds}),
    )
    .await;
    emu.start_ingestion_job(&kb, &other, "nightly").await;

    // when listed newest first in pages of 1000
    let newest_first = sort(
        IngestionJobSortByAttribute::StartedAt,
        SortOrder::Descending,
    );
    let (jobs, pages) = list_all(&emu, &kb, &ds, newest_first, None).await;

    // then every job of that data source comes once, newest first, over three pages
    assert_eq!((jobs.len(), pages), (2500, 3));
    assert!(jobs.windows(2).all(|w| w[0].1 >= w[1].1));
    let oldest_first = sort(IngestionJobSortByAttribute::StartedAt, SortOrder::Ascending);
    let (ascending, _) = list_all(&emu, &kb, &ds, oldest_first, None).await;
    assert_eq!(ascending.into_iter().rev().collect::<Vec<_>>(), jobs);

    // and a status filter keeps only that status; sorting by status groups them
    let newest_first = sort(
        IngestionJobSortByAttribute::StartedAt,
        SortOrder::Descending,
    );
    let (failed, _) = list_all(&emu, &kb, &ds, newest_first, Some("FAILED")).await;
    assert!(!failed.is_empty() && failed.iter().all(|(s, _)| s == "FAILED"));
    assert_eq!(
        failed.len(),
        jobs.iter().filter(|(s, _)| s == "FAILED").count()
    );
    let by_status = sort(IngestionJobSortByAttribute::Status, SortOrder::Ascending);
    let (grouped, _) = list_all(&emu, &kb, &ds, by_status, None).await;
    assert!(grouped.windows(2).all(|w| w[0].0 <= w[1].0));
    let (single, _) = list_all(
        &emu,
        &kb,
        &other,
        sort(
            IngestionJobSortByAttribute::StartedAt,
            SortOrder::Descending,
        ),
        None,
    )
    .await;
    assert_eq!(single.len(), 1);
}

#[tokio::test]
async fn an_ingestion_job_advances_to_its_outcome_and_a_running_one_can_be_stopped() {
    // given jobs that advance every 30 ms
    let emu = Emulator::start_with_step(30).await;
    let kb = emu.create_knowledge_base("docs").await;
    let ds = emu.create_data_source(&kb, "handbook").await;
    let failing = emu
        .start_ingestion_job(&kb, &ds, "resync emulator:outcome=FAILED")
        .await;
    let stopped = emu.start_ingestion_job(&kb, &ds, "resync").await;

    // when one is stopped and the other runs to its end
    let stop = emu
        .agent
        .stop_ingestion_job()
        .knowledge_base_id(&kb)
        .data_source_id(&ds)
        .ingestion_job_id(&stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stop.ingestion_job().unwrap().status(),
        &IngestionJobStatus::Stopping
    );
    let get = |id: String| {
        let emu = &emu;
        let (kb, ds) = (kb.clone(), ds.clone());
        async move {
            emu.agent
                .get_ingestion_job()
                .knowledge_base_id(kb)
                .data_source_id(ds)
                .ingestion_job_id(id)
                .send()
                .await
        }
    };
    let mut failed = None;
    for _ in 0..200 {
        let job = get(failing.clone()).await.unwrap();
        let job = job.ingestion_job().unwrap().clone();
        if job.status() == &IngestionJobStatus::Failed {
            failed = Some(job);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // then it failed with its statistics and a reason, the other one stopped
    let failed = failed.expect("the job fails within 2 s");
    assert!(failed.statistics().unwrap().number_of_documents_failed() > 0);
    assert_eq!(failed.failure_reasons().len(), 1);
    let stopped_job = get(stopped.clone()).await.unwrap();
    assert_eq!(
        stopped_job.ingestion_job().unwrap().status(),
        &IngestionJobStatus::Stopped
    );
    // and stopping a finished job, or getting an unknown one, is refused as the service does
    let again = emu
        .agent
        .stop_ingestion_job()
        .knowledge_base_id(&kb)
        .data_source_id(&ds)
        .ingestion_job_id(&stopped)
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("ConflictException"));
    let unknown = get("ZZZZZZZZZZ".into()).await.unwrap_err();
    assert_eq!(unknown.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn a_data_automation_invocation_reports_its_result_and_its_events() {
    // given an invocation planned to succeed, advancing every 30 ms
    let emu = Emulator::start_with_step(30).await;
    let arn = emu
        .invoke_data_automation("invoice.pdf", Some("Success"))
        .await;
    assert!(arn.starts_with("arn:aws:bedrock:us-east-1:123456789012:data-automation-invocation/"));
    let created = emu.event_of(&arn).await;
    assert_eq!(
        created["detail-type"],
        "Bedrock Data Automation Job Created"
    );

    // when it finishes
    let mut done = None;
    for _ in 0..200 {
        let out = emu
            .data_automation
            .get_data_automation_status()
            .invocation_arn(&arn)
            .send()
            .await
            .unwrap();
        if out.status().map(|s| s.as_str()) == Some("Success") {
            done = Some(out);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // then its output and times are reported, and its event has the documented shape
    let done = done.expect("the invocation succeeds within 2 s");
    let id = arn.rsplit('/').next().unwrap();
    assert_eq!(
        done.output_configuration().unwrap().s3_uri(),
        format!("s3://documents-out/bda/{id}/0/job_metadata.json")
    );
    assert!(done.job_completion_time() >= done.job_submission_time());
    let event = emu.event_of(&arn).await;
    assert_eq!(
        event["detail-type"],
        "Bedrock Data Automation Job Succeeded"
    );
    assert_eq!(event["source"], "aws.bedrock");
    assert_eq!(event["resources"], json!([]));
    assert_eq!(event["detail"]["job_id"], id);
    assert_eq!(event["detail"]["job_status"], "SUCCESS");
    assert_eq!(
        event["detail"]["input_s3_object"]["s3_bucket"],
        "documents-in"
    );

    // and an unknown invocation is ResourceNotFoundException (awsJson `__type`)
    let missing = emu
        .data_automation
        .get_data_automation_status()
        .invocation_arn(format!("{arn}0"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
}

/// Runs `aws` against the emulator and parses its JSON output.
fn aws(endpoint: &str, args: &[&str]) -> Value {
    let out = Command::new("aws")
        .args([
            "--endpoint-url",
            endpoint,
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_PAGER", "")
        .output()
        .expect("the AWS CLI runs (scripts/install-tools.sh installs it)");
    assert!(
        out.status.success(),
        "aws {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the CLI prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_creates_gets_and_lists_both_families() {
    let emu = Emulator::start().await;
    let endpoint = emu.endpoint();
    tokio::task::spawn_blocking(move || {
        // knowledge base, data source, ingestion job
        let kb = aws(&endpoint, &["bedrock-agent", "create-knowledge-base", "--name", "docs",
            "--role-arn", "arn:aws:iam::123456789012:role/KnowledgeBaseRole",
            "--knowledge-base-configuration",
            r#"{"type":"VECTOR","vectorKnowledgeBaseConfiguration":{"embeddingModelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"}}"#]);
        let kb_id = kb["knowledgeBase"]["knowledgeBaseId"].as_str().unwrap().to_owned();
        let ds = aws(&endpoint, &["bedrock-agent", "create-data-source", "--knowledge-base-id", &kb_id,
            "--name", "handbook", "--data-source-configuration",
            r#"{"type":"S3","s3Configuration":{"bucketArn":"arn:aws:s3:::handbook"}}"#]);
        let ds_id = ds["dataSource"]["dataSourceId"].as_str().unwrap().to_owned();
        let started = aws(&endpoint, &["bedrock-agent", "start-ingestion-job",
            "--knowledge-base-id", &kb_id, "--data-source-id", &ds_id]);
        let job_id = started["ingestionJob"]["ingestionJobId"].as_str().unwrap().to_owned();
        assert_eq!(started["ingestionJob"]["status"], "STARTING");
        let got = aws(&endpoint, &["bedrock-agent", "get-ingestion-job", "--knowledge-base-id", &kb_id,
            "--data-source-id", &ds_id, "--ingestion-job-id", &job_id]);
        assert_eq!(got["ingestionJob"]["ingestionJobId"], job_id.as_str());
        let listed = aws(&endpoint, &["bedrock-agent", "list-ingestion-jobs", "--knowledge-base-id", &kb_id,
            "--data-source-id", &ds_id, "--sort-by", "attribute=STARTED_AT,order=DESCENDING",
            "--filters", "attribute=STATUS,operator=EQ,values=STARTING"]);
        assert_eq!(listed["ingestionJobSummaries"][0]["ingestionJobId"], job_id.as_str());
        let bases = aws(&endpoint, &["bedrock-agent", "list-knowledge-bases"]);
        assert_eq!(bases["knowledgeBaseSummaries"][0]["knowledgeBaseId"], kb_id.as_str());
        let sources = aws(&endpoint, &["bedrock-agent", "list-data-sources", "--knowledge-base-id", &kb_id]);
        assert_eq!(sources["dataSourceSummaries"][0]["dataSourceId"], ds_id.as_str());
        aws(&endpoint, &["bedrock-agent", "get-knowledge-base", "--knowledge-base-id", &kb_id]);
        let stopped = aws(&endpoint, &["bedrock-agent", "stop-ingestion-job", "--knowledge-base-id", &kb_id,
            "--data-source-id", &ds_id, "--ingestion-job-id", &job_id]);
        assert_eq!(stopped["ingestionJob"]["status"], "STOPPING");

        // Data Automation invocation
        let invoked = aws(&endpoint, &["bedrock-data-automation-runtime", "invoke-data-automation-async",
            "--input-configuration", "s3Uri=s3://documents-in/invoice.pdf",
            "--output-configuration", "s3Uri=s3://documents-out/bda",
            "--data-automation-profile-arn",
            "arn:aws:bedrock:us-east-1:123456789012:data-automation-profile/us.data-automation-v1"]);
        let arn = invoked["invocationArn"].as_str().unwrap().to_owned();
        let status = aws(&endpoint, &["bedrock-data-automation-runtime", "get-data-automation-status",
            "--invocation-arn", &arn]);
        assert_eq!(status["status"], "Created");
        assert!(status["jobSubmissionTime"].is_string());
    })
    .await
    .unwrap();
}
