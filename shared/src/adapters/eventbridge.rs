//! The event bus sink: `PutEvents` with up to 10 entries per call (concurrent calls, bounded);
//! an entry the bus refused (`FailedEntryCount`, an `ErrorCode` in its result) fails alone, so
//! the poller retries just that notice on the bus (next run at the latest).

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use futures::future::BoxFuture;
use futures::{stream, FutureExt, StreamExt};

use super::sdk::{sdk_retryable, sdk_source};
use crate::domain::Sink;
use crate::error::Error;
use crate::notices::bus_event::{BusEvent, EVENT_SOURCE};
use crate::notices::Notice;
use crate::ports::{Batching, Channel, Delivery};

/// `PutEvents` takes at most 10 entries...
pub const MAX_ENTRIES: usize = 10;
/// ... of at most 256 KB in all (each entry is kept below it: `BusEvent`).
const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// A bus to put events on: `default` or a named bus (name or ARN).
#[derive(Debug, Clone)]
pub struct EventBus {
    client: Client,
    bus: String,
}

impl EventBus {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    /// Puts an event per notice, `concurrency` calls at a time; a result per notice, in order.
    pub async fn put(&self, notices: &[Notice], concurrency: usize) -> Delivery {
        let events: Vec<BusEvent> = notices.iter().map(BusEvent::of).collect();
        let chunks: Vec<(usize, Vec<BusEvent>)> = chunks(events).into_iter().enumerate().collect();
        let mut done: Vec<(usize, Vec<Result<String, Error>>)> = stream::iter(chunks)
            .map(|(n, chunk)| async move { (n, self.put_chunk(&chunk).await) })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        done.sort_by_key(|(n, _)| *n);
        Delivery {
            calls: done.len(),
            results: done.into_iter().flat_map(|(_, r)| r).collect(),
        }
    }

    async fn put_chunk(&self, events: &[BusEvent]) -> Vec<Result<String, Error>> {
        let entries = events
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(EVENT_SOURCE)
                    .detail_type(e.detail_type)
                    .detail(&e.detail)
                    .set_resources(Some(e.resources.clone()))
                    .build()
            })
            .collect();
        let out = match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let retryable = sdk_retryable(&e);
                let text = sdk_source(e).to_string();
                return events
                    .iter()
                    .map(|_| Err(bus_error(retryable, &text)))
                    .collect();
            }
        };
        let mut results = out.entries.unwrap_or_default().into_iter();
        events
            .iter()
            .map(|_| match results.next() {
                Some(r) if r.error_code.is_none() => Ok(r.event_id.unwrap_or_default()),
                Some(r) => Err(bus_error(
                    true,
                    &format!(
                        "{}: {}",
                        r.error_code.unwrap_or_default(),
                        r.error_message.unwrap_or_default()
                    ),
                )),
                None => Err(bus_error(
                    true,
                    "PutEvents returned no result for the entry",
                )),
            })
            .collect()
    }
}

impl Channel for EventBus {
    fn sink(&self) -> Sink {
        Sink::Bus
    }

    fn deliver<'a>(&'a self, notices: &'a [Notice], batching: Batching) -> BoxFuture<'a, Delivery> {
        self.put(notices, batching.concurrency).boxed()
    }
}

/// Consecutive events in requests of at most 10 entries and 256 KB.
fn chunks(events: Vec<BusEvent>) -> Vec<Vec<BusEvent>> {
    let mut chunks: Vec<Vec<BusEvent>> = Vec::new();
    let mut bytes = 0;
    for event in events {
        let size = event.size();
        match chunks.last_mut() {
            Some(chunk) if chunk.len() < MAX_ENTRIES && bytes + size <= MAX_REQUEST_BYTES => {
                chunk.push(event);
                bytes += size;
            }
            _ => {
                chunks.push(vec![event]);
                bytes = size;
            }
        }
    }
    chunks
}

fn bus_error(retryable: bool, text: &str) -> Error {
    Error::Notify {
        retryable,
        source: format!("PutEvents: {text}").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(bytes: usize) -> BusEvent {
        BusEvent {
            detail_type: "Bedrock Job State Change",
            detail: "x".repeat(bytes),
            resources: vec![],
        }
    }

    #[test]
    fn requests_keep_to_ten_entries_and_256_kb() {
        let sizes =
            |events: Vec<BusEvent>| -> Vec<usize> { chunks(events).iter().map(Vec::len).collect() };
        assert_eq!(sizes((0..23).map(|_| event(100)).collect()), [10, 10, 3]);
        // 100 KB each: two fit, a third would pass 256 KB
        assert_eq!(
            sizes((0..5).map(|_| event(100 * 1024)).collect()),
            [2, 2, 1]
        );
        assert!(chunks(Vec::new()).is_empty());
    }
}
