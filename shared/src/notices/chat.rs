//! The chat message of a notice: an Amazon Q Developer in chat applications (formerly AWS
//! Chatbot) custom notification, which that service renders in Slack or Microsoft Teams. A raw
//! message on a topic it watches is dropped unless it has this form (schema:
//! `schemas/chat-custom-notification.json`). A job's alert and its end share a thread
//! (`metadata.threadId` = the job ARN). Everything that comes from outside (job names, service
//! messages, tags, model ids) is made plain text first: it cannot open a link, mention a
//! channel or a person, or start a code block.

use serde_json::{json, Value};

use super::subject::one_line;
use super::Notice;
use crate::domain::JobKind;

/// Longest title we send (one line, shown bold at the top).
pub const MAX_TITLE_CHARS: usize = 250;
/// Longest description we send: a screenful, far below what Slack and Teams accept.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Longest job name, service message or tag value quoted in a message.
const MAX_QUOTED_CHARS: usize = 300;

/// `eventType` of a job's status notice and of an alert (custom actions can match on it).
pub const STATE_CHANGE: &str = "BedrockJobStateChange";
pub const ALERT: &str = "BedrockJobAlert";

/// The custom notification for `notice`, built from its v1 document.
pub fn chat_message(notice: &Notice) -> Value {
    let doc = &notice.body;
    let field = |k: &str| doc[k].as_str().unwrap_or_default();
    let alert = field("type") == "alert";
    let name = plain(notice.display_name());
    let family = plain(&field("jobKind").replace('-', " "));
    let title = match alert {
        true => format!("⚠️ Alert {}: {family} job {name}", plain(field("alert"))),
        false => format!(
            "{} {family} job {name}: {}",
            icon(field("outcome")),
            plain(field("status"))
        ),
    };
    let mut keywords = vec![
        plain(field("jobKind")),
        plain(field("status")),
        plain(field("region")),
    ];
    keywords.extend(doc["modelId"].as_str().map(plain));
    json!({
        "version": "1.0",
        "source": "custom",
        "id": notice.dedup_key,
        "content": {
            "textType": "client-markdown",
            "title": cut(&title, MAX_TITLE_CHARS),
            "description": cut(&description(doc, alert), MAX_DESCRIPTION_CHARS),
            "nextSteps": next_steps(doc, alert),
            "keywords": keywords,
        },
        "metadata": {
            "threadId": field("jobArn"),
            "summary": cut(&plain(&notice.subject), MAX_TITLE_CHARS),
            "eventType": if alert { ALERT } else { STATE_CHANGE },
            "relatedResources": [field("jobArn")],
            "additionalContext": {
                "jobKind": field("jobKind"),
                "status": field("status"),
                "outcome": field("outcome"),
            },
        },
    })
}

fn icon(outcome: &str) -> &'static str {
    match outcome {
        "success" => "✅",
        "partial" => "🟡",
        "failure" => "❌",
        _ => "ℹ️",
    }
}

/// What only an alert says: how long, how far (records left or where it stands, the records
/// pending for the model), what to do.
fn alert_facts(doc: &Value) -> [(&'static str, Option<String>); 4] {
    let text = |k: &str| doc[k].as_str().map(plain);
    let pending = doc["batchMetrics"]["recordsPending"].as_i64();
    [
        ("Running for", doc["elapsedSeconds"].as_i64().map(duration)),
        ("Progress", text("progressNote").or_else(|| progress(doc))),
        (
            "Records pending",
            pending.map(|n| format!("{n} for the model, no tokens processed (AWS/Bedrock/Batch)")),
        ),
        ("Suggestion", text("suggestion")),
    ]
}

/// An alert's `progress`: records left and the end they projected.
fn progress(doc: &Value) -> Option<String> {
    let p = &doc["progress"];
    let left = p["remaining"].as_i64()?;
    Some(match p["estimatedEnd"].as_str() {
        Some(end) => format!("{left} records left, estimated end {}", plain(end)),
        None => format!("{left} records left, no end in sight"),
    })
}

/// The facts as a short list; each value plain text.
fn description(doc: &Value, alert: bool) -> String {
    let text = |k: &str| doc[k].as_str().map(plain);
    let mut lines = Vec::new();
    let mut line = |label: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            lines.push(format!("**{label}:** {v}"));
        }
    };
    line("Status", text("status"));
    line("Previous status", text("previousStatus"));
    line("Model", text("modelId"));
    // What the family's email shows besides the common facts (flow alias and version, the
    // library's operation, ...), under the same labels.
    let kind = doc["jobKind"].as_str().and_then(JobKind::from_name_or_key);
    for (key, label) in kind.map_or(&[][..], |k| k.family().details) {
        let value = doc["details"][*key].as_str().map(plain);
        line(label.trim_end_matches(':'), value);
    }
    line("Account", account(doc));
    line("Duration", doc["durationSeconds"].as_i64().map(duration));
    if alert {
        for (label, value) in alert_facts(doc) {
            line(label, value);
        }
    }
    line("Records", records(doc));
    line("Hourly cost", doc["hourlyCost"]["text"].as_str().map(plain));
    let cost = &doc["estimatedCost"];
    line("Estimated cost", cost["text"].as_str().map(plain));
    let over = cost["overThresholdUsd"]
        .as_f64()
        .map(crate::domain::cost::usd);
    line(
        "Cost alert",
        over.map(|usd| plain(&format!("over COST_ALERT_USD ({usd})"))),
    );
    line("Message", text("message"));
    let output = kind.map_or("Output", |k| k.family().output_label.trim_end_matches(':'));
    line(output, text("outputFolder").or(text("outputS3Uri")));
    line("Tags", tags(doc));
    line("Job", text("jobArn"));
    lines.join("\n")
}

/// `prod (us-east-1)`: the account's name (or id) and the region.
fn account(doc: &Value) -> Option<String> {
    let text = |k: &str| doc[k].as_str().map(plain);
    let account = text("accountName").or(text("account"))?;
    Some(match text("region") {
        Some(region) => format!("{account} ({region})"),
        None => account,
    })
}

/// `processed 50000, success 49120, ...`: the record counts the job reported.
fn records(doc: &Value) -> Option<String> {
    let counts = doc["recordCounts"].as_object()?;
    let counts: Vec<String> = ["processed", "success", "error", "total"]
        .iter()
        .filter_map(|k| counts.get(*k)?.as_i64().map(|n| format!("{k} {n}")))
        .collect();
    (!counts.is_empty()).then(|| counts.join(", "))
}

/// `owner=ana, team=search`: the tags the notice carries.
fn tags(doc: &Value) -> Option<String> {
    let tags = doc["tags"].as_object().filter(|t| !t.is_empty())?;
    let tags: Vec<String> = tags
        .iter()
        .map(|(k, v)| format!("{}={}", plain(k), plain(v.as_str().unwrap_or_default())))
        .collect();
    Some(tags.join(", "))
}

fn next_steps(doc: &Value, alert: bool) -> Vec<String> {
    let mut steps = Vec::new();
    if let Some(url) = doc["consoleUrl"].as_str().filter(|u| safe_url(u)) {
        steps.push(format!("[Open it in the Amazon Bedrock console]({url})"));
    }
    match (alert, doc["outcome"].as_str()) {
        (true, _) => {
            steps.push("Follow the suggestion above before the job runs out of time".into())
        }
        (false, Some("failure" | "partial")) => {
            steps.push("Read the message and the output location for the failed records".into())
        }
        _ => {}
    }
    steps
}

/// Our own console links only: https, and nothing that could end the link early.
fn safe_url(url: &str) -> bool {
    url.starts_with("https://")
        && url
            .chars()
            .all(|c| c.is_ascii_graphic() && !"()[]<>`\"'\\|".contains(c))
}

fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match (s / 3600, (s % 3600) / 60) {
        (0, m) => format!("{m} min"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Makes outside text inert in chat markdown, whatever renders it: one line; the characters
/// that open markdown constructs backslash-escaped (CommonMark: links, emphasis, code, headings,
/// tables); `<` and `>` replaced by look-alikes (Slack's `<!channel>`, `<@U123>` and
/// `<url|text>` need them); a word joiner after `@` (no `@here` mention) and inside `://` and
/// `www.` (no bare link); bounded.
pub fn plain(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in one_line(raw).chars().take(MAX_QUOTED_CHARS) {
        match c {
            '<' => out.push('‹'),
            '>' => out.push('›'),
            '@' => out.push_str("@\u{2060}"),
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '(' | ')' | '#' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.replace("://", ":\u{2060}//")
        .replace("www.", "www\u{2060}.")
}

/// At most `max` characters, marked when cut.
fn cut(s: &str, max: usize) -> String {
    match s.chars().count() > max {
        true => format!("{}…", s.chars().take(max - 1).collect::<String>()),
        false => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{JobArn, JobKind, JobStatus};

    fn notice(name: &str, message: &str) -> Notice {
        let arn = JobArn::new("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123");
        let now = chrono::Utc::now();
        let mut record = crate::notices::test_record(arn, &JobStatus::new("Failed"), now);
        record.kind = JobKind::BatchInference;
        record.name = Some(name.into());
        record.message = Some(message.into());
        Notice::new(&record, &JobStatus::new("Failed"))
    }

    /// Everything a reader sees (title, description, summary, keywords, next steps).
    fn shown(message: &Value) -> String {
        let content = &message["content"];
        let mut text = vec![
            content["title"].as_str().unwrap().to_owned(),
            content["description"].as_str().unwrap().to_owned(),
            message["metadata"]["summary"].as_str().unwrap().to_owned(),
        ];
        for list in ["keywords", "nextSteps"] {
            for s in content[list].as_array().unwrap() {
                text.push(s.as_str().unwrap().to_owned());
            }
        }
        text.join("\n")
    }

    #[test]
    fn a_job_name_cannot_mention_a_channel_or_open_a_link() {
        // Given a job named to mention everyone and link elsewhere, with a message to match
        let hostile = "<!channel> [click](http://evil) @here <@U123> `rm` **x**";
        let message = chat_message(&notice(hostile, "see <http://evil|here>\nnext line"));
        let shown = shown(&message);
        // Then no Slack control sequence, markdown link, bare URL or mention survives
        for bad in [
            "<!channel>",
            "<@U123>",
            "](http:",
            "http://evil",
            "@here",
            "<http",
            "`rm`",
            "**x**",
        ] {
            assert!(!shown.contains(bad), "{bad:?} in {shown}");
        }
        // and the only link is ours, the console's
        assert_eq!(shown.matches("](").count(), 1);
        assert!(shown.contains("](https://us-east-1.console.aws.amazon.com/"));
        // and the name is still readable
        assert!(shown.contains("‹!channel› \\[click\\]\\(http:\u{2060}//evil\\)"));
    }

    #[test]
    fn a_long_name_and_newlines_keep_the_message_within_its_bounds() {
        // Given a 1 KB name with line breaks
        let long = "line\n".repeat(200);
        let message = chat_message(&notice(&long, &"m".repeat(5000)));
        // Then the title is one bounded line and the description bounded
        let title = message["content"]["title"].as_str().unwrap();
        assert!(!title.contains('\n') && title.chars().count() <= MAX_TITLE_CHARS);
        let description = message["content"]["description"].as_str().unwrap();
        assert!(description.chars().count() <= MAX_DESCRIPTION_CHARS);
    }

    #[test]
    fn a_stalled_alert_says_the_records_left_and_the_records_pending_for_the_model() {
        // Given the JSON of a stalled alert confirmed by the batch metrics
        let doc = serde_json::json!({
            "type": "alert", "alert": "stalled", "status": "InProgress",
            "progress": {"remaining": 600, "estimatedEnd": "2026-12-01T03:50:00Z"},
            "batchMetrics": {"recordsPending": 600, "windowMinutes": 120},
        });

        // When it is described for chat
        let text = description(&doc, true);

        // Then both figures are there
        assert!(
            text.contains("**Progress:** 600 records left, estimated end 2026-12-01T03:50:00Z"),
            "{text}"
        );
        assert!(
            text.contains("**Records pending:** 600 for the model"),
            "{text}"
        );
    }

    #[test]
    fn the_message_threads_by_job_and_says_what_happened() {
        let message = chat_message(&notice("nightly", "boom"));
        let arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123";
        assert_eq!(message["version"], "1.0");
        assert_eq!(message["source"], "custom");
        assert_eq!(message["content"]["textType"], "client-markdown");
        assert_eq!(message["metadata"]["threadId"], arn);
        assert_eq!(message["metadata"]["relatedResources"][0], arn);
        assert_eq!(message["metadata"]["eventType"], STATE_CHANGE);
        assert!(message["content"]["title"]
            .as_str()
            .unwrap()
            .contains("nightly"));
        assert!(message["content"]["description"]
            .as_str()
            .unwrap()
            .contains("**Message:** boom"));
    }

    #[test]
    fn a_throughput_ready_says_what_it_costs_per_hour_and_nothing_without_a_price() {
        use crate::domain::{PriceOrigin, UnitHourPrice};
        let arn = JobArn::new("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p1");
        let in_service = JobStatus::new("InService");
        let mut record = crate::notices::test_record(arn, &in_service, chrono::Utc::now());
        record.kind = JobKind::ProvisionedThroughput;
        let unpriced = chat_message(&Notice::new(&record, &in_service));
        assert!(!shown(&unpriced).contains("Hourly cost"));
        let price = UnitHourPrice {
            usd: 55.0,
            origin: PriceOrigin::Shipped,
            as_of: "2026-12-06".into(),
            fallback: None,
        };
        record.hourly_cost = Some(crate::domain::idle::hourly_estimate(2, &price, "OneMonth"));
        let priced = shown(&chat_message(&Notice::new(&record, &in_service)));
        assert!(
            priced.contains("**Hourly cost:** It costs about $110.00 per hour while it exists \\(estimate; price file shipped with bedrock-jobwatch, dated 2026-12-06"),
            "{priced}"
        );
    }
}
