//! Adapters: the ports implemented on the AWS SDKs. SDK types stop here.

/// Streams a List request's pages through the SDK paginator, mapping each page's summaries with
/// `$jobs` and counting each call on `$calls`. The stream ends after the first error. One body
/// for every job family's List operation.
macro_rules! list_pages {
    ($calls:expr, $request:expr, $operation:literal, |$page:ident| $jobs:expr $(,)?) => {{
        let calls = $calls.clone();
        let pages = $request.into_paginator().send();
        futures::stream::unfold(Some(pages), move |state| {
            let calls = calls.clone();
            async move {
                let mut pages = state?;
                let page = pages.next().await?;
                calls.add(1);
                match page {
                    Ok($page) => Some((Ok($jobs.collect()), Some(pages))),
                    Err(e) => Some((
                        Err($crate::adapters::sdk::bedrock_error($operation)(e)),
                        None,
                    )),
                }
            }
        })
    }};
}

pub mod async_invoke;
pub mod batch;
pub mod customization;
pub mod dynamodb;
pub mod manifest;
pub mod model_import;
pub mod sdk;
pub mod sns;
