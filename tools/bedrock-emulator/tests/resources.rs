//! Resources through the real `aws-sdk-bedrock` client: a completed customization job produces
//! the custom model `ListCustomModels` shows, and what a custom model deployment shows of an
//! update (Get: `updateDetails`; List: `Active`, no update status).

use bedrock_emulator::{AutoAdvance, Settings};
use testkit::{eventually, Emulator};

use aws_sdk_bedrock::types::{
    CustomModelDeploymentStatus, CustomModelDeploymentUpdateStatus, ModelStatus,
};

#[tokio::test]
async fn a_completed_customization_job_produces_an_active_custom_model() {
    // given a job that completes on its own
    let fx = Emulator::start_with(Settings {
        auto_advance: true,
        lifecycle: AutoAdvance {
            step: std::time::Duration::from_millis(20),
            outcomes: vec![("Completed".into(), 1)],
        },
        ..Default::default()
    })
    .await;
    let job = fx.create_customization("tune-support").await;

    // when it completes
    let model = eventually(|| async {
        let listed = fx.bedrock.list_custom_models().send().await.unwrap();
        listed
            .model_summaries
            .unwrap_or_default()
            .into_iter()
            .next()
    })
    .await;

    // then the List shows its model, Active, and the job names it
    assert_eq!(model.model_status, Some(ModelStatus::Active));
    assert_eq!(model.model_name, "tune-support-model");
    let got = fx
        .bedrock
        .get_custom_model()
        .model_identifier(&model.model_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.job_arn.as_deref(), Some(job.as_str()));
    let done = fx
        .bedrock
        .get_model_customization_job()
        .job_identifier(&job)
        .send()
        .await
        .unwrap();
    assert_eq!(
        done.output_model_arn.as_deref(),
        Some(model.model_arn.as_str())
    );
}

#[tokio::test]
async fn a_deployment_update_shows_in_get_only() {
    let fx = Emulator::start().await;
    let model = fx.create_custom_model("support-v1").await;
    fx.set_status(&model, "Active").await;
    let deployment = fx.create_deployment("support-endpoint", &model).await;
    fx.set_status(&deployment, "Active").await;

    fx.update_deployment(&deployment, &model).await;

    let got = fx
        .bedrock
        .get_custom_model_deployment()
        .custom_model_deployment_identifier(&deployment)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status, CustomModelDeploymentStatus::Active);
    let update = got.update_details.expect("updateDetails while updating");
    assert_eq!(
        update.update_status,
        CustomModelDeploymentUpdateStatus::Updating
    );
    let listed = fx
        .bedrock
        .list_custom_model_deployments()
        .status_equals(CustomModelDeploymentStatus::Active)
        .send()
        .await
        .unwrap();
    let summaries = listed.model_deployment_summaries.unwrap_or_default();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].status, CustomModelDeploymentStatus::Active);
}
