//! The EventBridge event of a notice: source `bedrock-jobwatch`, detail-type `Bedrock Job State
//! Change` or `Bedrock Job Alert`, detail = the v1 notification document, the job ARN as its
//! resource. An entry is at most 256 KB (`PutEvents`): an oversized document is trimmed (the
//! email text cut, family details dropped), never refused.

use serde_json::Value;

use super::Notice;

pub const EVENT_SOURCE: &str = "bedrock-jobwatch";
pub const STATE_CHANGE: &str = "Bedrock Job State Change";
pub const ALERT: &str = "Bedrock Job Alert";

/// `PutEvents` counts an entry's size as its detail, detail-type, source and resources in
/// UTF-8; 256 KB in all. What we keep for detail leaves room for the rest.
pub const MAX_DETAIL_BYTES: usize = 256 * 1024 - 4 * 1024;
/// What the trimmed `text` keeps.
const TRIMMED_TEXT_CHARS: usize = 4096;

/// One `PutEvents` entry, SDK-free.
#[derive(Debug, Clone, PartialEq)]
pub struct BusEvent {
    pub detail_type: &'static str,
    pub detail: String,
    pub resources: Vec<String>,
}

impl BusEvent {
    /// What `PutEvents` counts: the detail, detail-type, source and resources in UTF-8.
    pub fn size(&self) -> usize {
        self.detail.len()
            + self.detail_type.len()
            + EVENT_SOURCE.len()
            + self.resources.iter().map(String::len).sum::<usize>()
    }

    pub fn of(notice: &Notice) -> Self {
        let detail_type = match notice.body["type"].as_str() {
            Some("alert") => ALERT,
            _ => STATE_CHANGE,
        };
        let resources = notice.body["jobArn"]
            .as_str()
            .map(|arn| vec![arn.to_owned()])
            .unwrap_or_default();
        Self {
            detail_type,
            detail: detail_within(&notice.body, MAX_DETAIL_BYTES),
            resources,
        }
    }
}

/// The document as JSON of at most `max` bytes: whole when it fits; else without `details`,
/// with `text` and `message` cut (`messageTruncated` set); else only the fields that identify
/// the job and what happened (`detailTrimmed` says so in the last two cases).
pub fn detail_within(body: &Value, max: usize) -> String {
    let whole = body.to_string();
    if whole.len() <= max {
        return whole;
    }
    let mut trimmed = body.clone();
    if let Some(doc) = trimmed.as_object_mut() {
        doc.remove("details");
        doc.insert("detailTrimmed".into(), Value::Bool(true));
        for (key, keep) in [("text", TRIMMED_TEXT_CHARS), ("message", 1024)] {
            if let Some(s) = doc.get(key).and_then(Value::as_str) {
                let cut: String = s.chars().take(keep).collect();
                doc.insert(key.into(), Value::String(cut));
            }
        }
        doc.insert("messageTruncated".into(), Value::Bool(true));
    }
    let cut = trimmed.to_string();
    if cut.len() <= max {
        return cut;
    }
    let essentials = [
        "schema",
        "schemaVersion",
        "type",
        "alert",
        "dedupKey",
        "jobKind",
        "jobArn",
        "jobId",
        "region",
        "account",
        "status",
        "previousStatus",
        "outcome",
        "submitTime",
        "endTime",
        "messageTruncated",
        "detailTrimmed",
    ];
    let mut minimal: serde_json::Map<String, Value> = essentials
        .iter()
        .filter_map(|k| Some((k.to_string(), trimmed.get(*k)?.clone())))
        .collect();
    minimal.insert("text".into(), Value::String(String::new()));
    Value::Object(minimal).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_that_fits_goes_whole() {
        let doc = json!({"jobArn": "arn:x", "text": "hello"});
        assert_eq!(detail_within(&doc, 1024), doc.to_string());
    }

    #[test]
    fn an_oversized_document_is_trimmed_below_the_limit_and_says_so() {
        // Given a document with 300 KB of details and a long text
        let doc = json!({
            "schema": "bedrock-jobwatch/notification/v1", "jobArn": "arn:x", "status": "Failed",
            "text": "t".repeat(20_000), "message": "m".repeat(3000),
            "details": {"blob": "d".repeat(300_000)},
        });
        // Then it fits, keeps what identifies the job, and is marked trimmed
        let detail = detail_within(&doc, MAX_DETAIL_BYTES);
        assert!(detail.len() <= MAX_DETAIL_BYTES);
        let trimmed: Value = serde_json::from_str(&detail).unwrap();
        assert_eq!(
            (trimmed["jobArn"].as_str(), trimmed["status"].as_str()),
            (Some("arn:x"), Some("Failed"))
        );
        assert_eq!(trimmed["detailTrimmed"], true);
        assert!(trimmed.get("details").is_none());
        // and when even that is too big, only the essentials remain
        let tiny = detail_within(&doc, 2_000);
        assert!(tiny.len() <= 2_000, "{}", tiny.len());
        assert_eq!(
            serde_json::from_str::<Value>(&tiny).unwrap()["jobArn"],
            "arn:x"
        );
    }
}
