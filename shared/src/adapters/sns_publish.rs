//! Publishing to an SNS topic, for the three topic sinks (machine, chat, people): `PublishBatch`
//! with up to 10 messages and 256 KiB per call, a result per message (`Successful`/`Failed` by
//! entry id); batches go out with bounded concurrency. Sequential single `Publish` calls remain
//! for comparison (`bench burst`). Also the message attributes and FIFO ids they share.

use std::collections::HashMap;

use aws_sdk_sns::operation::publish_batch::PublishBatchOutput;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use aws_sdk_sns::Client;
use futures::{stream, StreamExt};

use super::sdk::{sdk_retryable, sdk_source};
use crate::error::Error;
use crate::notices::{AttributeValue, Notice};
use crate::ports::{Batching, Delivery};

/// `PublishBatch` takes at most 10 entries.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// ... and at most 256 KiB of messages and attributes in all.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// One message to publish, SDK types already built.
#[derive(Debug, Clone)]
pub struct Message {
    pub body: String,
    pub subject: Option<String>,
    /// `json`: one variant per protocol.
    pub structure: Option<&'static str>,
    pub attributes: HashMap<String, MessageAttributeValue>,
    /// FIFO topics: (group id, deduplication id).
    pub fifo: Option<(String, String)>,
}

impl Message {
    /// What SNS counts towards the batch's 256 KiB.
    fn size(&self) -> usize {
        let attributes: usize = self
            .attributes
            .iter()
            .map(|(k, v)| k.len() + v.string_value().map_or(0, str::len) + 16)
            .sum();
        self.body.len() + self.subject.as_ref().map_or(0, String::len) + attributes
    }

    fn entry(&self, id: usize) -> Result<PublishBatchRequestEntry, Error> {
        let mut entry = PublishBatchRequestEntry::builder()
            .id(id.to_string())
            .message(&self.body)
            .set_subject(self.subject.clone())
            .set_message_structure(self.structure.map(str::to_owned))
            .set_message_attributes(Some(self.attributes.clone()));
        if let Some((group, dedup)) = &self.fifo {
            entry = entry
                .message_group_id(group)
                .message_deduplication_id(dedup);
        }
        entry.build().map_err(|e| Error::Notify {
            retryable: false,
            source: Box::new(e),
        })
    }
}

/// How a topic is published to: batched and concurrent, or one message at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publishing {
    pub batched: bool,
    /// Calls in flight at once.
    pub concurrency: usize,
}

impl Default for Publishing {
    fn default() -> Self {
        Self {
            batched: true,
            concurrency: 4,
        }
    }
}

/// What the poller's batching asks of a topic: 10 entries per call, or one at a time.
impl From<Batching> for Publishing {
    fn from(batching: Batching) -> Self {
        Self {
            batched: batching.size > 1,
            concurrency: batching.concurrency,
        }
    }
}

/// Publishes `messages` to `topic`; a result per message, in order.
pub async fn publish_all(
    client: &Client,
    topic: &str,
    messages: Vec<Result<Message, Error>>,
    how: Publishing,
) -> Delivery {
    let chunks = match how.batched {
        true => chunks(&messages),
        false => (0..messages.len()).map(|i| vec![i]).collect(),
    };
    let messages = &messages;
    let done: Vec<Done> = stream::iter(chunks)
        .map(|at| async move {
            let (results, calls) = match how.batched {
                true => publish_batch(client, topic, messages, &at).await,
                false => (vec![publish_one(client, topic, &messages[at[0]]).await], 1),
            };
            Done { at, results, calls }
        })
        .buffer_unordered(how.concurrency.max(1))
        .collect()
        .await;
    let mut results: Vec<Option<Result<String, Error>>> =
        (0..messages.len()).map(|_| None).collect();
    let mut delivery = Delivery::default();
    for done in done {
        delivery.calls += done.calls;
        for (i, outcome) in done.at.into_iter().zip(done.results) {
            results[i] = Some(outcome);
        }
    }
    delivery.results = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(notify_error(true, "no result for the message"))))
        .collect();
    delivery
}

/// What one call did: the indexes of its messages, a result each, the calls made.
struct Done {
    at: Vec<usize>,
    results: Vec<Result<String, Error>>,
    calls: usize,
}

/// Groups message indexes into batches of at most 10 entries and 256 KiB; a message that
/// could not be built goes alone (it fails without a call).
fn chunks(messages: &[Result<Message, Error>]) -> Vec<Vec<usize>> {
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let (mut current, mut bytes) = (Vec::new(), 0);
    for (i, message) in messages.iter().enumerate() {
        let size = message.as_ref().map_or(0, Message::size);
        if !current.is_empty()
            && (current.len() == MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES)
        {
            chunks.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(i);
        bytes += size;
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// One `Publish` call for one message (batches off, and the single-notice path).
pub async fn publish_one(
    client: &Client,
    topic: &str,
    message: &Result<Message, Error>,
) -> Result<String, Error> {
    let message = message.as_ref().map_err(clone_error)?;
    let mut request = client
        .publish()
        .topic_arn(topic)
        .message(&message.body)
        .set_subject(message.subject.clone())
        .set_message_structure(message.structure.map(str::to_owned))
        .set_message_attributes(Some(message.attributes.clone()));
    if let Some((group, dedup)) = &message.fifo {
        request = request
            .message_group_id(group)
            .message_deduplication_id(dedup);
    }
    let out = request.send().await.map_err(|e| Error::Notify {
        retryable: sdk_retryable(&e),
        source: sdk_source(e),
    })?;
    Ok(out.message_id.unwrap_or_default())
}

/// One `PublishBatch` call for the messages at `chunk`: a result each (and the calls made).
async fn publish_batch(
    client: &Client,
    topic: &str,
    messages: &[Result<Message, Error>],
    chunk: &[usize],
) -> (Vec<Result<String, Error>>, usize) {
    let entries: Vec<Result<PublishBatchRequestEntry, Error>> = chunk
        .iter()
        .enumerate()
        .map(|(id, i)| messages[*i].as_ref().map_err(clone_error)?.entry(id))
        .collect();
    let valid: Vec<PublishBatchRequestEntry> = entries
        .iter()
        .filter_map(|e| e.as_ref().ok().cloned())
        .collect();
    if valid.is_empty() {
        return (
            entries
                .into_iter()
                .map(|e| e.map(|_| String::new()))
                .collect(),
            0,
        );
    }
    let out = client
        .publish_batch()
        .topic_arn(topic)
        .set_publish_batch_request_entries(Some(valid))
        .send()
        .await;
    let results = match out {
        Ok(out) => per_entry(entries, out),
        Err(e) => {
            let retryable = sdk_retryable(&e);
            let text = sdk_source(e).to_string();
            entries
                .into_iter()
                .map(|entry| entry.and_then(|_| Err(notify_error(retryable, &text))))
                .collect()
        }
    };
    (results, 1)
}

/// Each entry's result in the call's answer, matched by entry id (its index in the batch);
/// an entry that could not be built keeps its own error.
fn per_entry(
    entries: Vec<Result<PublishBatchRequestEntry, Error>>,
    out: PublishBatchOutput,
) -> Vec<Result<String, Error>> {
    let ok: HashMap<String, String> = out
        .successful
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| Some((s.id?, s.message_id.unwrap_or_default())))
        .collect();
    let failed: HashMap<String, (bool, String)> = out
        .failed
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let text = format!("{}: {}", f.code, f.message.unwrap_or_default());
            (f.id, (!f.sender_fault, text))
        })
        .collect();
    entries
        .into_iter()
        .enumerate()
        .map(|(id, entry)| {
            entry?;
            let id = id.to_string();
            match (ok.get(&id), failed.get(&id)) {
                (Some(message_id), _) => Ok(message_id.clone()),
                (None, Some((retryable, text))) => Err(notify_error(*retryable, text)),
                (None, None) => Err(notify_error(
                    true,
                    "PublishBatch returned no result for the entry",
                )),
            }
        })
        .collect()
}

/// An SNS message attribute: `String`, or `String.Array` (a filter policy matches any element).
pub fn attribute(value: &AttributeValue) -> Result<MessageAttributeValue, Error> {
    let builder = match value {
        AttributeValue::One(v) => MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v),
        AttributeValue::Many(vs) => MessageAttributeValue::builder()
            .data_type("String.Array")
            .string_value(serde_json::to_string(vs).unwrap_or_default()),
    };
    builder.build().map_err(|e| Error::Notify {
        retryable: false,
        source: Box::new(e),
    })
}

/// The notice's attributes (`job_kind`, `status`, ...) as SNS message attributes, so that a
/// subscription filter can pick, say, failures only.
pub fn notice_attributes(notice: &Notice) -> Result<HashMap<String, MessageAttributeValue>, Error> {
    notice
        .attributes
        .iter()
        .map(|(name, value)| {
            Ok((
                name.clone(),
                attribute(&AttributeValue::One(value.clone()))?,
            ))
        })
        .collect()
}

/// FIFO deduplication ids are at most 128 characters: long keys are hashed (FNV-1a, stable).
pub fn deduplication_id(key: &str) -> String {
    if key.len() <= 128 {
        return key.to_owned();
    }
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{hash:016x}", &key[..100])
}

/// FIFO: the job is the group (its messages stay in order), the dedup key the deduplication id.
pub fn fifo_ids(notice: &Notice) -> (String, String) {
    let group = notice.body["jobArn"].as_str().unwrap_or("bedrock-jobwatch");
    (group.to_owned(), deduplication_id(&notice.dedup_key))
}

/// Whether `topic` is a FIFO topic (its messages need a group and a deduplication id).
pub fn is_fifo(topic: &str) -> bool {
    topic.ends_with(".fifo")
}

fn notify_error(retryable: bool, text: &str) -> Error {
    Error::Notify {
        retryable,
        source: text.to_owned().into(),
    }
}

/// Errors are not `Clone`: the copy keeps the retryability and the text.
fn clone_error(e: &Error) -> Error {
    notify_error(e.is_retryable(), &e.chain())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(bytes: usize) -> Result<Message, Error> {
        Ok(Message {
            body: "x".repeat(bytes),
            subject: None,
            structure: None,
            attributes: HashMap::new(),
            fifo: None,
        })
    }

    #[test]
    fn batches_keep_to_ten_entries_and_256_kib() {
        let sizes = |messages: Vec<Result<Message, Error>>| -> Vec<usize> {
            chunks(&messages).iter().map(Vec::len).collect()
        };
        assert_eq!(sizes((0..25).map(|_| message(1000)).collect()), [10, 10, 5]);
        // 100 KiB each: two fit, a third would pass 256 KiB
        assert_eq!(sizes((0..3).map(|_| message(100 * 1024)).collect()), [2, 1]);
        // a message that could not be built still has its place (it fails without a call)
        let mixed = vec![
            message(10),
            Err(notify_error(false, "bad attribute")),
            message(10),
        ];
        assert_eq!(sizes(mixed), [3]);
    }
}
