//! Model customization (fine-tuning) jobs through the real `aws-sdk-bedrock` client.

use testkit::Emulator;

use aws_sdk_bedrock::operation::stop_model_customization_job::StopModelCustomizationJobError;
use aws_sdk_bedrock::types::{FineTuningJobStatus, ModelCustomizationJobStatus};

#[tokio::test]
async fn customization_jobs_create_get_list_and_stop() {
    // given
    let fx = Emulator::start().await;
    let arn = fx.create_customization("tune-a").await;
    fx.create_customization("tune-b").await;

    // when
    let by_name = fx
        .bedrock
        .get_model_customization_job()
        .job_identifier("tune-a")
        .send()
        .await
        .unwrap();
    let by_arn = fx
        .bedrock
        .get_model_customization_job()
        .job_identifier(&arn)
        .send()
        .await
        .unwrap();
    fx.bedrock
        .stop_model_customization_job()
        .job_identifier(&arn)
        .send()
        .await
        .unwrap();
    let stopping = fx
        .bedrock
        .list_model_customization_jobs()
        .status_equals(FineTuningJobStatus::Stopping)
        .send()
        .await
        .unwrap();

    // then
    assert!(
        arn.contains(":model-customization-job/amazon.titan-text-express-v1/"),
        "{arn}"
    );
    assert_eq!(by_name.job_arn, by_arn.job_arn);
    assert_eq!(by_arn.status, Some(ModelCustomizationJobStatus::InProgress));
    assert_eq!(
        by_arn.base_model_arn,
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"
    );
    assert_eq!(by_arn.output_model_name, "tune-a-model");
    assert_eq!(
        by_arn.training_data_config.unwrap().s3_uri.as_deref(),
        Some("s3://training-bucket/train.jsonl")
    );
    let summaries = stopping
        .model_customization_job_summaries
        .unwrap_or_default();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].job_arn, arn);
    let again = fx
        .bedrock
        .stop_model_customization_job()
        .job_identifier(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        again.into_service_error(),
        StopModelCustomizationJobError::ConflictException(_)
    ));
}
