//! `JobSource` for custom models on the `bedrock` control-plane API (`CreateCustomModel`, or
//! the model a customization or import produced): `Creating`, then `Active` or `Failed`.

use aws_sdk_bedrock::types::{ModelStatus, SortModelsBy, SortOrder};
use aws_sdk_bedrock::Client;
use futures::Stream;

use crate::adapters::sdk::{bedrock_error, found, from_smithy, pages, to_smithy, Calls};
use crate::domain::{Details, JobArn, JobKind, JobStatus, ObservedJob};
use crate::error::Error;
use crate::ports::{JobSource, ListFilter, Page};

/// Custom models (`ListCustomModels`, `GetCustomModel`).
#[derive(Debug, Clone)]
pub struct CustomModelSource {
    client: Client,
    calls: Calls,
}

impl CustomModelSource {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            calls: Calls::default(),
        }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, _config: &crate::config::Config) -> Self {
        Self::new(Client::new(sdk))
    }
}

#[allow(clippy::too_many_arguments)]
fn observed(
    arn: &str,
    name: &str,
    status: Option<&ModelStatus>,
    base: Option<&str>,
    message: Option<&str>,
    created: &aws_smithy_types::DateTime,
    details: Details,
) -> ObservedJob {
    ObservedJob {
        name: Some(name.to_owned()),
        model_id: base.map(str::to_owned),
        message: message.map(str::to_owned),
        details,
        ..ObservedJob::new(
            JobKind::CustomModel,
            JobArn::new(arn),
            // A model created before `modelStatus` existed reports none: it is in use, Active.
            JobStatus::new(status.map_or("Active", ModelStatus::as_str)),
            from_smithy(created),
        )
    }
}

impl JobSource for CustomModelSource {
    fn kind(&self) -> JobKind {
        JobKind::CustomModel
    }

    /// `ListCustomModels` filters on `modelStatus` (not `statusEquals`), so it does not share
    /// the other families' `list_pages!`; otherwise the same: pages of 1000, oldest first
    /// when asked.
    fn list(&self, filter: &ListFilter) -> impl Stream<Item = Page<ObservedJob>> + Send + '_ {
        let request = self
            .client
            .list_custom_models()
            .max_results(1000)
            .set_creation_time_after(filter.submitted_after.map(to_smithy))
            .set_model_status(
                filter
                    .status
                    .as_ref()
                    .map(|s| ModelStatus::from(s.as_str())),
            )
            .set_sort_by(filter.oldest_first.then_some(SortModelsBy::CreationTime))
            .set_sort_order(filter.oldest_first.then_some(SortOrder::Ascending));
        pages(
            request.into_paginator().send(),
            self.calls.clone(),
            |page| {
                let page = page.map_err(bedrock_error("ListCustomModels"))?;
                Ok(page
                    .model_summaries()
                    .iter()
                    .map(|m| {
                        let mut details = Details::new();
                        if let Some(t) = m.customization_type() {
                            details.insert("customizationType".into(), t.as_str().to_owned());
                        }
                        observed(
                            m.model_arn(),
                            m.model_name(),
                            m.model_status(),
                            Some(m.base_model_arn()),
                            None,
                            m.creation_time(),
                            details,
                        )
                    })
                    .collect())
            },
        )
    }

    async fn get(&self, arn: &JobArn) -> Result<Option<ObservedJob>, Error> {
        self.calls.add(1);
        let result = self
            .client
            .get_custom_model()
            .model_identifier(arn.as_str())
            .send()
            .await;
        found("GetCustomModel", result, |m| {
            let mut details = Details::new();
            if let Some(t) = m.customization_type() {
                details.insert("customizationType".into(), t.as_str().to_owned());
            }
            if let Some(job) = m.job_arn() {
                details.insert("jobArn".into(), job.to_owned());
            }
            observed(
                m.model_arn(),
                m.model_name(),
                m.model_status(),
                m.base_model_arn(),
                m.failure_message(),
                m.creation_time(),
                details,
            )
        })
    }

    fn calls(&self) -> u64 {
        self.calls.get()
    }
}
