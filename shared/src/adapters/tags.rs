//! A job's resource tags, read with the `bedrock` control plane's `ListTagsForResource`, whose
//! `resourceARN` accepts the ARNs of every family we watch (batch, import, customization jobs and
//! `async-invoke/…` invocations, per the botocore model). Read only for jobs about to be
//! notified; the caller never lets a failure here block a notification.

use aws_sdk_bedrock::Client;

use super::sdk::{bedrock_error, Calls};
use crate::domain::JobArn;
use crate::error::Error;
use crate::notices::Tags;

/// `ListTagsForResource` on one job.
pub async fn list_tags(client: &Client, calls: &Calls, arn: &JobArn) -> Result<Tags, Error> {
    calls.add(1);
    let out = client
        .list_tags_for_resource()
        .resource_arn(arn.as_str())
        .send()
        .await
        .map_err(bedrock_error("ListTagsForResource"))?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect())
}
