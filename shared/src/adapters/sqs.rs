//! `WorkQueue` on an SQS queue: `GetQueueAttributes` for the backlog, `SendMessageBatch` (10
//! entries a call, a few calls in flight) for the work items.

use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;
use futures::{stream, StreamExt};

use super::sdk::{sdk_retryable, sdk_source, Calls};
use crate::error::Error;
use crate::org::WorkItem;
use crate::ports::BoxFuture;
use crate::work::WorkQueue;

/// Batches in flight at once.
const SEND_CONCURRENCY: usize = 8;

#[derive(Debug, Clone)]
pub struct SqsWorkQueue {
    client: Client,
    url: String,
    calls: Calls,
}

impl SqsWorkQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
            calls: Calls::default(),
        }
    }

    /// SQS calls so far.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    async fn send_batch(&self, batch: &[WorkItem]) -> Result<usize, Error> {
        let mut request = self.client.send_message_batch().queue_url(&self.url);
        for (i, item) in batch.iter().enumerate() {
            let body = serde_json::to_string(item).map_err(|e| Error::Queue {
                operation: "SendMessageBatch",
                retryable: false,
                source: Box::new(e),
            })?;
            let entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .build()
                .map_err(|e| queue_error("SendMessageBatch", false, Box::new(e)))?;
            request = request.entries(entry);
        }
        self.calls.add(1);
        let out = request.send().await.map_err(|e| {
            let retryable = sdk_retryable(&e);
            queue_error("SendMessageBatch", retryable, sdk_source(e))
        })?;
        // Entries SQS refused are left for the next period (the dispatcher records only what
        // was queued).
        for failed in &out.failed {
            tracing::warn!(id = failed.id, code = failed.code, "work item not queued");
        }
        Ok(out.successful.len())
    }
}

fn queue_error(operation: &'static str, retryable: bool, source: crate::error::BoxError) -> Error {
    Error::Queue {
        operation,
        retryable,
        source,
    }
}

impl WorkQueue for SqsWorkQueue {
    fn backlog(&self) -> BoxFuture<'_, Result<usize, Error>> {
        Box::pin(async move {
            self.calls.add(1);
            let out = self
                .client
                .get_queue_attributes()
                .queue_url(&self.url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .map_err(|e| {
                    let retryable = sdk_retryable(&e);
                    queue_error("GetQueueAttributes", retryable, sdk_source(e))
                })?;
            let attributes = out.attributes.unwrap_or_default();
            let count = |name: QueueAttributeName| {
                attributes
                    .get(&name)
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0)
            };
            Ok(count(QueueAttributeName::ApproximateNumberOfMessages)
                + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
        })
    }

    fn send<'a>(&'a self, items: &'a [WorkItem]) -> BoxFuture<'a, Result<usize, Error>> {
        Box::pin(async move {
            let batches: Vec<_> = items.chunks(10).map(|b| self.send_batch(b)).collect();
            let sent: Vec<Result<usize, Error>> = stream::iter(batches)
                .buffered(SEND_CONCURRENCY)
                .collect()
                .await;
            let mut total = 0;
            for batch in sent {
                total += batch?;
            }
            Ok(total)
        })
    }
}
