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

#[tokio::test]
async fn a_customization_jobs_stages_show_in_get_and_list_as_the_sdk_reads_them() {
    // given a running customization job
    let fx = Emulator::start().await;
    let arn = fx.create_customization("staged").await;
    let stage = |out: Option<&aws_sdk_bedrock::types::StatusDetails>| {
        let s = out.expect("statusDetails").clone();
        [
            s.validation_details.and_then(|d| d.status),
            s.data_processing_details.and_then(|d| d.status),
            s.training_details.and_then(|d| d.status),
        ]
    };
    use aws_sdk_bedrock::types::JobStatusDetails::{Completed, InProgress, NotStarted};

    // when it is read as it starts
    let started = fx
        .bedrock
        .get_model_customization_job()
        .job_identifier(&arn)
        .send()
        .await
        .unwrap();

    // then it is validating, the other stages not started
    assert_eq!(
        stage(started.status_details()),
        [Some(InProgress), Some(NotStarted), Some(NotStarted)]
    );

    // when training starts (set as the API spells it) and the jobs are listed
    let training = serde_json::json!({
        "validationDetails": {"status": "Completed", "creationTime": "2026-12-01T00:00:00Z", "lastModifiedTime": "2026-12-01T00:10:00Z"},
        "dataProcessingDetails": {"status": "Completed", "creationTime": "2026-12-01T00:10:00Z", "lastModifiedTime": "2026-12-01T00:30:00Z"},
        "trainingDetails": {"status": "InProgress", "creationTime": "2026-12-01T00:30:00Z", "lastModifiedTime": "2026-12-01T00:30:00Z"}
    });
    let encoded = arn.replace('/', "%2F").replace(':', "%3A");
    fx.control(
        &format!("jobs/{encoded}/status"),
        serde_json::json!({"status": "InProgress", "spec": {"statusDetails": training}}),
    )
    .await;
    let listed = fx
        .bedrock
        .list_model_customization_jobs()
        .send()
        .await
        .unwrap();

    // then the summary shows the stage reached
    let summary = listed
        .model_customization_job_summaries()
        .iter()
        .find(|s| s.job_arn() == arn)
        .expect("listed");
    assert_eq!(
        stage(summary.status_details()),
        [Some(Completed), Some(Completed), Some(InProgress)]
    );
}
