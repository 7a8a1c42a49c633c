//! Adapters: the ports implemented on the AWS SDKs. SDK types stop here.

/// One List operation of a job family, as a stream of pages: applies the `ListFilter` (time
/// filter member, status enum, oldest-first sort) to `$request`, runs the SDK paginator with
/// pages of 1000, maps each page's summaries with `$jobs` and counts each call on `$calls`. One
/// body for every family's List operation; only the member names differ.
macro_rules! list_pages {
    (
        $calls:expr, $request:expr, $filter:expr,
        after: $after:ident, status: $status:ty, sort: ($by:expr, $ascending:expr),
        $operation:literal, |$page:ident| $jobs:expr $(,)?
    ) => {{
        let filter: &$crate::ports::ListFilter = $filter;
        let request = $request
            .max_results(1000)
            .$after(filter.submitted_after.map($crate::adapters::sdk::to_smithy))
            .set_status_equals(filter.status.as_ref().map(|s| <$status>::from(s.as_str())))
            // Oldest first only when asked: the default order is the API's own (newest first).
            .set_sort_by(filter.oldest_first.then_some($by))
            .set_sort_order(filter.oldest_first.then_some($ascending));
        $crate::adapters::sdk::pages(request.into_paginator().send(), $calls.clone(), |page| {
            let $page = page.map_err($crate::adapters::sdk::bedrock_error($operation))?;
            Ok($jobs.collect())
        })
    }};
}

pub mod assume_role;
pub mod batch_metrics;
pub mod chat_topic;
pub mod cloudwatch;
pub mod dynamodb;
pub mod eventbridge;
pub mod families;
pub mod manifest;
pub mod notifier;
pub mod organizations;
pub mod people_topic;
pub mod pricing;
pub mod sdk;
pub mod sns_publish;
pub mod sqs;
pub mod step_functions;
pub mod tags;
pub mod topic;
pub mod waits;
