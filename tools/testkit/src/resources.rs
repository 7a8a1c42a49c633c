//! Resources that settle and re-open (provisioned throughput, custom models and their
//! deployments): creating, updating and deleting them on the emulator, and their sources.

use aws_sdk_bedrock::types::CommitmentDuration;

use crate::Emulator;

/// The foundation model the test throughputs are bought for.
pub const THROUGHPUT_MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0:200k";

impl Emulator {
    /// A throughput of 2 model units, committed for a month; returns its ARN.
    pub async fn create_throughput(&self, name: &str) -> String {
        self.bedrock
            .create_provisioned_model_throughput()
            .provisioned_model_name(name)
            .model_id(THROUGHPUT_MODEL)
            .model_units(2)
            .commitment_duration(CommitmentDuration::OneMonth)
            .send()
            .await
            .expect("create provisioned throughput")
            .provisioned_model_arn
    }

    /// `UpdateProvisionedModelThroughput` (a new name): the throughput is `Updating`.
    pub async fn update_throughput(&self, arn: &str, new_name: &str) {
        self.bedrock
            .update_provisioned_model_throughput()
            .provisioned_model_id(arn)
            .desired_provisioned_model_name(new_name)
            .send()
            .await
            .expect("update provisioned throughput");
    }

    /// A custom model from imported weights, `Creating`; returns its ARN.
    pub async fn create_custom_model(&self, name: &str) -> String {
        let source = aws_sdk_bedrock::types::ModelDataSource::S3DataSource(
            aws_sdk_bedrock::types::S3DataSource::builder()
                .s3_uri(format!("s3://acme-models/{name}/"))
                .build()
                .unwrap(),
        );
        self.bedrock
            .create_custom_model()
            .model_name(name)
            .model_source_config(source)
            .role_arn("arn:aws:iam::123456789012:role/BedrockImport")
            .send()
            .await
            .expect("create custom model")
            .model_arn
    }

    /// An on-demand deployment of an `Active` custom model; returns its ARN.
    pub async fn create_deployment(&self, name: &str, model_arn: &str) -> String {
        self.bedrock
            .create_custom_model_deployment()
            .model_deployment_name(name)
            .model_arn(model_arn)
            .send()
            .await
            .expect("create custom model deployment")
            .custom_model_deployment_arn
    }

    /// `UpdateCustomModelDeployment` to another `Active` model: the update is `Updating`.
    pub async fn update_deployment(&self, arn: &str, model_arn: &str) {
        self.bedrock
            .update_custom_model_deployment()
            .custom_model_deployment_identifier(arn)
            .model_arn(model_arn)
            .send()
            .await
            .expect("update custom model deployment");
    }
}
