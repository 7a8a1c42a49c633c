//! What every adapter shares at the SDK edge: error mapping (service codes, retryability, the
//! cause kept), timestamps, and call counting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use chrono::{DateTime, Utc};
use futures::Stream;

use crate::domain::ObservedJob;
use crate::error::{BoxError, Error, ServiceFault};

/// API calls made through one adapter (shared by its clones). Counted where the call is sent,
/// so the poller's summary reports calls as they were made, not as it expects them.
#[derive(Debug, Clone, Default)]
pub struct Calls(Arc<AtomicU64>);

impl Calls {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Turns an SDK paginator into a stream of mapped pages, counting each call. The stream ends
/// after the first error (the caller decides what a partial listing means).
pub fn pages<O, E, T>(
    paginator: PaginationStream<Result<O, E>>,
    calls: Calls,
    map: impl Fn(Result<O, E>) -> Result<Vec<T>, Error> + Send + Sync + 'static,
) -> impl Stream<Item = Result<Vec<T>, Error>> + Send
where
    O: Send + 'static,
    E: Send + 'static,
    T: Send + 'static,
{
    let map = std::sync::Arc::new(map);
    futures::stream::unfold(Some(paginator), move |state| {
        let page = state.map(|mut p| async move { (p.next().await, p) });
        let (calls, map) = (calls.clone(), map.clone());
        async move {
            let (page, paginator) = page?.await;
            let page = page?;
            calls.add(1);
            let mapped = map(page);
            let more = mapped.is_ok().then_some(paginator);
            Some((mapped, more))
        }
    })
}

/// Service codes worth retrying on a later run.
fn retryable_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        ServiceFault::THROTTLING.contains(&c)
            || matches!(
                c,
                "InternalServerException"
                    | "InternalServerError"
                    | "InternalError"
                    | "InternalFailure"
                    | "ServiceUnavailable"
                    | "ServiceUnavailableException"
            )
    })
}

/// Classifies any SDK error: transport failures, timeouts and throttling/5xx codes are retryable.
pub fn sdk_retryable<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => retryable_code(service.err().code()),
        _ => false,
    }
}

/// Wraps an SDK error as a source, keeping its service code and message in the chain.
pub fn sdk_source<E, R>(err: SdkError<E, R>) -> BoxError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let fault = match err.code() {
        Some(code) => ServiceFault::new(Some(code), err.message().unwrap_or("no message")),
        None => ServiceFault::new(
            None,
            aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
        ),
    };
    Box::new(fault)
}

/// Maps a Bedrock SDK error, keeping its code, message and retryability.
pub fn bedrock_error<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> Error
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
pub fn found<T, E, R>(
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

/// SDK timestamp to domain timestamp.
pub fn from_smithy(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

/// Domain timestamp to SDK timestamp.
pub fn to_smithy(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs_and_nanos(t.timestamp(), t.timestamp_subsec_nanos())
}
