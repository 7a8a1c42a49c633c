//! Model import (bedrock) and asynchronous invocation (bedrock-runtime) operations.

use testkit::{eventually, Emulator};

use aws_sdk_bedrock::operation::create_model_import_job::CreateModelImportJobError;
use aws_sdk_bedrock::operation::get_model_import_job::GetModelImportJobError;
use aws_sdk_bedrock::types::{ModelDataSource, ModelImportJobStatus, S3DataSource, SortOrder};
use aws_sdk_bedrockruntime::types::AsyncInvokeStatus;
use serde_json::json;

#[tokio::test]
async fn import_jobs_are_found_by_arn_and_name_and_listed() {
    // given
    let fx = Emulator::start().await;
    let arn = fx.try_create_import("import-one").await.unwrap();
    fx.try_create_import("import-two").await.unwrap();
    fx.set_status(&arn, "Failed").await;

    // when
    let by_arn = fx
        .bedrock
        .get_model_import_job()
        .job_identifier(&arn)
        .send()
        .await
        .unwrap();
    let by_name = fx
        .bedrock
        .get_model_import_job()
        .job_identifier("import-one")
        .send()
        .await
        .unwrap();
    let failed = fx
        .bedrock
        .list_model_import_jobs()
        .status_equals(ModelImportJobStatus::Failed)
        .send()
        .await
        .unwrap();
    let all = fx
        .bedrock
        .list_model_import_jobs()
        .sort_order(SortOrder::Ascending)
        .send()
        .await
        .unwrap();

    // then
    assert!(arn.contains(":model-import-job/"));
    assert_eq!(by_arn.job_arn, by_name.job_arn);
    assert_eq!(by_arn.status, Some(ModelImportJobStatus::Failed));
    assert!(by_arn.end_time.is_some());
    assert_eq!(
        by_arn.imported_model_name.as_deref(),
        Some("import-one-model")
    );
    let failed = failed.model_import_job_summaries.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].job_arn, arn);
    let names: Vec<_> = all
        .model_import_job_summaries
        .unwrap()
        .into_iter()
        .map(|j| j.job_name)
        .collect();
    assert_eq!(names, ["import-one", "import-two"]);
}

#[tokio::test]
async fn import_job_names_are_unique_and_unknown_names_are_not_found() {
    let fx = Emulator::start().await;
    fx.try_create_import("dup").await.unwrap();
    let err = fx
        .try_create_import("dup")
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, CreateModelImportJobError::ConflictException(_)),
        "{err:?}"
    );
    let err = fx
        .bedrock
        .get_model_import_job()
        .job_identifier("nope")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.into_service_error(),
        GetModelImportJobError::ResourceNotFoundException(_)
    ));
}

#[tokio::test]
async fn a_completed_import_names_its_imported_model() {
    let fx = Emulator::start_with_step(20).await;
    let arn = fx
        .bedrock
        .create_model_import_job()
        .job_name("auto")
        .imported_model_name("auto-model")
        .role_arn("arn:aws:iam::123456789012:role/ImportRole")
        .model_data_source(ModelDataSource::S3DataSource(
            S3DataSource::builder()
                .s3_uri("s3://model-bucket/m/")
                .build()
                .unwrap(),
        ))
        .job_tags(
            aws_sdk_bedrock::types::Tag::builder()
                .key("emulator:outcome")
                .value("Completed")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .job_arn;
    let job = eventually(|| async {
        let job = fx
            .bedrock
            .get_model_import_job()
            .job_identifier(&arn)
            .send()
            .await
            .unwrap();
        (job.status == Some(ModelImportJobStatus::Completed)).then_some(job)
    })
    .await;
    assert!(job.imported_model_arn.unwrap().contains(":imported-model/"));
}

#[tokio::test]
async fn async_invokes_start_get_and_list_through_the_runtime_client() {
    // given
    let fx = Emulator::start().await;
    let first = fx.start_async_invoke("out").await;
    let second = fx.start_async_invoke("out").await;
    fx.control(
        &format!("jobs/{}/status", first.rsplit('/').next().unwrap()),
        json!({"status": "Failed", "message": "Content filtered"}),
    )
    .await;

    // when
    let got = fx
        .runtime
        .get_async_invoke()
        .invocation_arn(&first)
        .send()
        .await
        .unwrap();
    let in_progress = fx
        .runtime
        .list_async_invokes()
        .status_equals(AsyncInvokeStatus::InProgress)
        .send()
        .await
        .unwrap();
    let paged: Vec<_> = fx
        .runtime
        .list_async_invokes()
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();

    // then
    assert!(first.contains(":async-invoke/"));
    assert_eq!(got.status, AsyncInvokeStatus::Failed);
    assert_eq!(got.failure_message.as_deref(), Some("Content filtered"));
    assert_eq!(
        got.model_arn,
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:0"
    );
    let out = got.output_data_config.unwrap();
    assert_eq!(
        out.as_s3_output_data_config().unwrap().s3_uri,
        "s3://video-bucket/out"
    );
    let open: Vec<_> = in_progress
        .async_invoke_summaries
        .unwrap()
        .into_iter()
        .map(|s| s.invocation_arn)
        .collect();
    assert_eq!(open, vec![second.clone()]);
    let arns: Vec<_> = paged.into_iter().map(|s| s.invocation_arn).collect();
    assert_eq!(arns, vec![second, first]);
}

#[tokio::test]
async fn an_unknown_invocation_is_an_error_with_its_code() {
    let fx = Emulator::start().await;
    let err = fx
        .runtime
        .get_async_invoke()
        .invocation_arn("arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefabcdef")
        .send()
        .await
        .unwrap_err();
    use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
    assert_eq!(
        err.into_service_error().code(),
        Some("ResourceNotFoundException")
    );
}
