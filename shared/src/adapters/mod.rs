//! Adapters: the ports implemented on the AWS SDKs. SDK types stop here.

/// Runs a List request's paginator to the end (or to `filter.max_pages`), mapping each page's
/// summaries with `$jobs`; counts the calls. One body for every job family's List operation.
macro_rules! list_pages {
    ($request:expr, $filter:expr, $operation:literal, |$page:ident| $jobs:expr $(,)?) => {{
        let mut pages = $request.into_paginator().send();
        let mut listing = Listing::default();
        while let Some(page) = pages.next().await {
            listing.calls += 1;
            let $page = page.map_err(bedrock_error($operation))?;
            listing.jobs.extend($jobs);
            if listing.at_cap($filter) {
                listing.complete = $page.next_token().is_none();
                break;
            }
        }
        Ok(listing)
    }};
}

pub mod async_invoke;
pub mod batch;
pub mod customization;
pub mod dynamodb;
pub mod manifest;
pub mod model_import;
pub mod sns;

use aws_sdk_bedrock::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};

use crate::domain::ObservedJob;
use crate::error::{sdk_retryable, sdk_source, Error};

/// SDK timestamp to domain timestamp.
pub fn from_smithy(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

/// Domain timestamp to SDK timestamp.
pub fn to_smithy(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs_and_nanos(t.timestamp(), t.timestamp_subsec_nanos())
}

/// Maps a Bedrock SDK error, keeping its code, message and retryability.
fn bedrock_error<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |e| Error::Bedrock {
        operation,
        retryable: sdk_retryable(&e),
        source: sdk_source(e),
    }
}

/// A Get result: `Ok(None)` when the job does not exist (`ResourceNotFoundException`, modelled
/// for bedrock, unmodelled but sent by bedrock-runtime).
fn found<T, E, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
    observe: impl FnOnce(T) -> ObservedJob,
) -> Result<Option<ObservedJob>, Error>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(observe(output))),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(bedrock_error(operation)(e)),
    }
}
