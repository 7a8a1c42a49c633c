//! Every error type surfaces as the SDK's typed error.

use testkit::Emulator;

use aws_sdk_bedrock::operation::create_model_invocation_job::CreateModelInvocationJobError;
use aws_sdk_bedrock::operation::get_model_invocation_job::GetModelInvocationJobError;
use aws_sdk_bedrock::operation::list_model_invocation_jobs::ListModelInvocationJobsError;
use aws_sdk_bedrock::operation::stop_model_invocation_job::StopModelInvocationJobError;
use aws_sdk_bedrock::types::*;
use serde_json::json;

#[tokio::test]
async fn a_missing_job_is_resource_not_found() {
    let fx = Emulator::start().await;
    let err = fx.get_batch("abcdefabcdef").await.unwrap_err();
    assert!(matches!(
        err.into_service_error(),
        GetModelInvocationJobError::ResourceNotFoundException(_)
    ));
}

#[tokio::test]
async fn a_malformed_identifier_is_a_validation_error() {
    let fx = Emulator::start().await;
    let err = fx.get_batch("not an id").await.unwrap_err();
    assert!(matches!(
        err.into_service_error(),
        GetModelInvocationJobError::ValidationException(_)
    ));
}

#[tokio::test]
async fn max_results_out_of_range_is_a_validation_error() {
    let fx = Emulator::start().await;
    for bad in [0, 1001] {
        let err = fx
            .bedrock
            .list_model_invocation_jobs()
            .max_results(bad)
            .send()
            .await
            .unwrap_err();
        let err = err.into_service_error();
        assert!(
            matches!(err, ListModelInvocationJobsError::ValidationException(_)),
            "{bad}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_forged_pagination_token_is_a_validation_error() {
    let fx = Emulator::start().await;
    let err = fx
        .bedrock
        .list_model_invocation_jobs()
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.into_service_error(),
        ListModelInvocationJobsError::ValidationException(_)
    ));
}

#[tokio::test]
async fn timeout_outside_24_to_168_hours_and_bad_names_are_validation_errors() {
    let fx = Emulator::start().await;
    let request = |name: &str, hours: i32| {
        fx.bedrock
            .create_model_invocation_job()
            .job_name(name)
            .role_arn("arn:aws:iam::123456789012:role/r")
            .model_id("amazon.nova-lite-v1:0")
            .input_data_config(ModelInvocationJobInputDataConfig::S3InputDataConfig(
                ModelInvocationJobS3InputDataConfig::builder()
                    .s3_uri("s3://in-bucket/a.jsonl")
                    .build()
                    .unwrap(),
            ))
            .output_data_config(ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
                ModelInvocationJobS3OutputDataConfig::builder()
                    .s3_uri("s3://out-bucket/")
                    .build()
                    .unwrap(),
            ))
            .timeout_duration_in_hours(hours)
            .send()
    };
    for (name, hours) in [
        ("ok-name", 12),
        ("ok-name", 169),
        ("bad name", 24),
        ("-leading", 24),
    ] {
        let err = request(name, hours).await.unwrap_err().into_service_error();
        assert!(
            matches!(err, CreateModelInvocationJobError::ValidationException(_)),
            "{name} {hours}: {err:?}"
        );
    }
    assert!(request("ok-name", 24).await.is_ok());
}

#[tokio::test]
async fn stopping_a_finished_job_is_a_conflict() {
    let fx = Emulator::start().await;
    let arn = fx.create_batch("done").await;
    fx.set_status(&arn, "Completed").await;
    let err = fx
        .bedrock
        .stop_model_invocation_job()
        .job_identifier(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.into_service_error(),
        StopModelInvocationJobError::ConflictException(_)
    ));
}

#[tokio::test]
async fn injected_throttling_and_server_errors_surface_typed_then_clear() {
    // given two failures of each kind on Get
    let fx = Emulator::start().await;
    let arn = fx.create_batch("faulty").await;
    fx.control(
        "faults",
        json!({"operation": "GetModelInvocationJob", "error": "ThrottlingException", "count": 1}),
    )
    .await;
    fx.control(
        "faults",
        json!({"rules": [{"operation": "*", "error": "InternalServerException", "count": 1}]}),
    )
    .await;

    // when / then: the rules fire in order of their counts, then the call succeeds
    let get = || {
        fx.bedrock
            .get_model_invocation_job()
            .job_identifier(&arn)
            .send()
    };
    let first = get().await.unwrap_err().into_service_error();
    assert!(
        matches!(first, GetModelInvocationJobError::ThrottlingException(_)),
        "{first:?}"
    );
    let second = get().await.unwrap_err().into_service_error();
    assert!(
        matches!(
            second,
            GetModelInvocationJobError::InternalServerException(_)
        ),
        "{second:?}"
    );
    assert!(get().await.is_ok());
    let stats = fx.control_get("stats").await;
    assert_eq!(stats["requests"]["operations"]["GetModelInvocationJob"], 3);
    assert_eq!(stats["requests"]["faults"]["GetModelInvocationJob"], 2);
}

#[tokio::test]
async fn cleared_faults_stop_firing() {
    let fx = Emulator::start().await;
    fx.control(
        "faults",
        json!({"operation": "ListModelInvocationJobs", "error": "ThrottlingException"}),
    )
    .await;
    assert!(fx
        .bedrock
        .list_model_invocation_jobs()
        .send()
        .await
        .is_err());
    fx.clear_faults().await;
    assert!(fx.bedrock.list_model_invocation_jobs().send().await.is_ok());
}
