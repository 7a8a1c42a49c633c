//! Batch inference operations driven through the real `aws-sdk-bedrock` client.

use testkit::{eventually, Emulator};

use aws_sdk_bedrock::types::{ModelInvocationJobStatus, SortOrder};
use aws_smithy_types::DateTime;
use serde_json::json;

#[tokio::test]
async fn created_job_is_readable_by_arn_and_by_id_with_every_field() {
    // given
    let fx = Emulator::start().await;
    let arn = fx.create_batch("nightly-eval-1").await;
    let id = arn.rsplit('/').next().unwrap();
    assert!(arn.starts_with("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/"));
    assert_eq!(id.len(), 12);
    fx.control(
        &format!("jobs/{id}/status"),
        json!({"status": "Completed", "counts": {"totalRecordCount": 10, "processedRecordCount": 10, "successRecordCount": 9, "errorRecordCount": 1}}),
    )
    .await;

    // when
    let by_arn = fx.get_batch(&arn).await.unwrap();
    let by_id = fx.get_batch(id).await.unwrap();

    // then
    assert_eq!(by_arn.job_arn, by_id.job_arn);
    assert_eq!(by_arn.job_name.as_deref(), Some("nightly-eval-1"));
    assert_eq!(by_arn.status, Some(ModelInvocationJobStatus::Completed));
    assert_eq!(by_arn.total_record_count, Some(10));
    assert_eq!(by_arn.processed_record_count, Some(10));
    assert_eq!(by_arn.success_record_count, Some(9));
    assert_eq!(by_arn.error_record_count, Some(1));
    assert_eq!(by_arn.timeout_duration_in_hours, Some(48));
    assert!(by_arn.end_time.is_some());
    assert!(by_arn.job_expiration_time.unwrap() > by_arn.submit_time);
    let input = by_arn.input_data_config.unwrap();
    assert_eq!(
        input.as_s3_input_data_config().unwrap().s3_uri,
        "s3://input-bucket/records.jsonl"
    );
    let output = by_arn.output_data_config.unwrap();
    assert_eq!(
        output.as_s3_output_data_config().unwrap().s3_uri,
        "s3://output-bucket/out/"
    );
}

#[tokio::test]
async fn listing_paginates_across_more_than_two_full_pages() {
    // given 2500 jobs
    let fx = Emulator::start().await;
    fx.control(
        "seed",
        json!({"kind": "batch-inference", "count": 2500, "spreadHours": 48}),
    )
    .await;

    // when
    let pages: Vec<_> = fx
        .bedrock
        .list_model_invocation_jobs()
        .max_results(1000)
        .sort_order(SortOrder::Ascending)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();

    // then: three pages, every job once, in ascending submit order
    assert_eq!(pages.len(), 3);
    let jobs: Vec<_> = pages
        .into_iter()
        .flat_map(|p| p.invocation_job_summaries.unwrap_or_default())
        .collect();
    assert_eq!(jobs.len(), 2500);
    let mut arns: Vec<_> = jobs.iter().map(|j| j.job_arn.clone()).collect();
    arns.sort();
    arns.dedup();
    assert_eq!(arns.len(), 2500);
    assert!(jobs
        .windows(2)
        .all(|w| w[0].submit_time <= w[1].submit_time));
}

#[tokio::test]
async fn listing_filters_by_time_status_and_name_and_sorts_both_ways() {
    // given
    let fx = Emulator::start().await;
    let before_all =
        DateTime::from(std::time::SystemTime::now() - std::time::Duration::from_secs(1));
    let a = fx.create_batch("alpha-report").await;
    let b = fx.create_batch("beta-report").await;
    let c = fx.create_batch("gamma-summary").await;
    fx.set_status(&b, "InProgress").await;
    let old = fx
        .control(
            "seed",
            json!({"kind": "batch-inference", "count": 5, "spreadHours": 10, "newestHoursAgo": 24}),
        )
        .await;
    assert_eq!(old["created"], 5);

    let list = |req: aws_sdk_bedrock::operation::list_model_invocation_jobs::builders::ListModelInvocationJobsFluentBuilder| async move {
        req.send().await.unwrap().invocation_job_summaries.unwrap_or_default().into_iter().map(|j| j.job_arn).collect::<Vec<_>>()
    };

    // then
    let recent = list(
        fx.bedrock
            .list_model_invocation_jobs()
            .submit_time_after(before_all),
    )
    .await;
    assert_eq!(
        recent,
        vec![c.clone(), b.clone(), a.clone()],
        "default order is newest first"
    );
    let ascending = list(
        fx.bedrock
            .list_model_invocation_jobs()
            .submit_time_after(before_all)
            .sort_order(SortOrder::Ascending),
    )
    .await;
    assert_eq!(ascending, vec![a.clone(), b.clone(), c.clone()]);
    let old_only = list(
        fx.bedrock
            .list_model_invocation_jobs()
            .submit_time_before(before_all),
    )
    .await;
    assert_eq!(old_only.len(), 5);
    let in_progress = list(
        fx.bedrock
            .list_model_invocation_jobs()
            .status_equals(ModelInvocationJobStatus::InProgress),
    )
    .await;
    assert_eq!(in_progress, vec![b.clone()]);
    let reports = list(
        fx.bedrock
            .list_model_invocation_jobs()
            .name_contains("report"),
    )
    .await;
    assert_eq!(reports, vec![b, a]);
}

#[tokio::test]
async fn a_status_the_sdk_does_not_know_surfaces_as_unknown() {
    // given
    let fx = Emulator::start().await;
    let arn = fx.create_batch("future-status").await;
    fx.set_status(&arn, "Hibernating").await;

    // when
    let job = fx.get_batch(&arn).await.unwrap();

    // then
    let status = job.status.unwrap();
    #[allow(deprecated)] // matching `Unknown` is exactly what this test is about
    let is_unknown = matches!(status, ModelInvocationJobStatus::Unknown(_));
    assert!(is_unknown, "{status:?}");
    assert!(!ModelInvocationJobStatus::values().contains(&status.as_str()));
    assert_eq!(status.as_str(), "Hibernating");
}

#[tokio::test]
async fn stopping_moves_through_stopping_to_stopped() {
    // given
    let fx = Emulator::start_with_step(50).await;
    let arn = fx.create_batch("to-stop").await;

    // when
    fx.bedrock
        .stop_model_invocation_job()
        .job_identifier(&arn)
        .send()
        .await
        .unwrap();
    let first = fx.get_batch(&arn).await.unwrap();

    // then
    assert_eq!(first.status, Some(ModelInvocationJobStatus::Stopping));
    let stopped = eventually(|| async {
        let job = fx.get_batch(&arn).await.unwrap();
        (job.status == Some(ModelInvocationJobStatus::Stopped)).then_some(job)
    })
    .await;
    assert!(stopped.end_time.is_some());
}

#[tokio::test]
async fn the_outcome_tag_drives_a_job_through_every_batch_state() {
    // given
    let fx = Emulator::start_with_step(30).await;

    // when
    let arn = fx.create_batch_tagged("tagged", Some("Expired")).await;

    // then: it visits the intermediate states in order and ends Expired with counts
    let mut seen: Vec<ModelInvocationJobStatus> = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let job = loop {
        let job = fx.get_batch(&arn).await.unwrap();
        let status = job.status.clone().unwrap();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == ModelInvocationJobStatus::Expired {
            break job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never expired: {seen:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    assert!(job.total_record_count.is_some());
    assert!(job.message.is_some());
    let order = [
        "Submitted",
        "Validating",
        "Scheduled",
        "InProgress",
        "Expired",
    ];
    let positions: Vec<_> = seen
        .iter()
        .map(|s| order.iter().position(|o| *o == s.as_str()).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
}

#[tokio::test]
async fn a_repeated_client_request_token_returns_the_same_job() {
    // given
    let fx = Emulator::start().await;
    let create = || {
        fx.bedrock
            .create_model_invocation_job()
            .job_name("idempotent")
            .client_request_token("token-123")
            .role_arn("arn:aws:iam::123456789012:role/r")
            .model_id("amazon.nova-lite-v1:0")
            .input_data_config(
                aws_sdk_bedrock::types::ModelInvocationJobInputDataConfig::S3InputDataConfig(
                    aws_sdk_bedrock::types::ModelInvocationJobS3InputDataConfig::builder()
                        .s3_uri("s3://in-bucket/a.jsonl")
                        .build()
                        .unwrap(),
                ),
            )
            .output_data_config(
                aws_sdk_bedrock::types::ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
                    aws_sdk_bedrock::types::ModelInvocationJobS3OutputDataConfig::builder()
                        .s3_uri("s3://out-bucket/")
                        .build()
                        .unwrap(),
                ),
            )
            .send()
    };

    // when
    let first = create().await.unwrap().job_arn;
    let second = create().await.unwrap().job_arn;

    // then
    assert_eq!(first, second);
    let all = fx
        .bedrock
        .list_model_invocation_jobs()
        .send()
        .await
        .unwrap();
    assert_eq!(all.invocation_job_summaries.unwrap().len(), 1);
}
