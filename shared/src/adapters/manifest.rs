//! Reads a batch job's output manifest (`{output s3Uri}/{job id}/manifest.json.out`) for record
//! and token counts. Best effort: a missing, unreadable or malformed manifest never blocks a
//! notification; it is logged and the notification goes out without those counts.

use aws_sdk_s3::Client;
use serde::Deserialize;

use crate::domain::{ObservedJob, RecordCounts};

/// The manifest Bedrock writes next to a batch job's output.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    total_record_count: Option<i64>,
    processed_record_count: Option<i64>,
    success_record_count: Option<i64>,
    error_record_count: Option<i64>,
    input_token_count: Option<i64>,
    output_token_count: Option<i64>,
}

/// Largest manifest read (they are a few hundred bytes).
const MAX_MANIFEST_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct ManifestReader {
    client: Client,
}

/// `s3://bucket/prefix/` + job id -> (bucket, `prefix/{id}/manifest.json.out`).
pub fn manifest_location(output_s3_uri: &str, job_id: &str) -> Option<(String, String)> {
    let rest = output_s3_uri.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    let prefix = prefix.trim_end_matches('/');
    let key = if prefix.is_empty() {
        format!("{job_id}/manifest.json.out")
    } else {
        format!("{prefix}/{job_id}/manifest.json.out")
    };
    Some((bucket.to_owned(), key))
}

impl ManifestReader {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Fills missing record counts and token totals of a finished batch job from its manifest.
    pub async fn enrich(&self, job: &mut ObservedJob) {
        let Some((bucket, key)) = job
            .output_s3_uri
            .as_deref()
            .and_then(|uri| manifest_location(uri, job.arn.id()))
        else {
            return;
        };
        let object = match self
            .client
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) => {
                let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
                    .unwrap_or("unknown")
                    .to_owned();
                tracing::warn!(job_arn = %job.arn, bucket, key, code, "output manifest not readable; notifying without it");
                return;
            }
        };
        let bytes = match object.body.collect().await {
            Ok(data) => data.into_bytes(),
            Err(e) => {
                tracing::warn!(job_arn = %job.arn, error = %e, "output manifest download failed");
                return;
            }
        };
        if bytes.len() > MAX_MANIFEST_BYTES {
            tracing::warn!(job_arn = %job.arn, size = bytes.len(), "output manifest too large; ignored");
            return;
        }
        match serde_json::from_slice::<Manifest>(&bytes) {
            Ok(m) => {
                let c = &mut job.counts;
                let api = c.clone();
                *c = RecordCounts {
                    total: api.total.or(m.total_record_count),
                    processed: api.processed.or(m.processed_record_count),
                    success: api.success.or(m.success_record_count),
                    error: api.error.or(m.error_record_count),
                    input_tokens: api.input_tokens.or(m.input_token_count),
                    output_tokens: api.output_tokens.or(m.output_token_count),
                };
            }
            Err(e) => {
                tracing::warn!(job_arn = %job.arn, error = %e, "output manifest malformed; ignored")
            }
        }
    }
}
