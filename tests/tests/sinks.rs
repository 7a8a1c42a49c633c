//! The three sinks end to end on moto + the emulator: the notification topic (JSON and email),
//! the chat topic (Amazon Q Developer custom notifications, checked against the schema the
//! repository keeps), an EventBridge bus whose rule feeds an SQS queue, and a people topic. Each
//! sink gets each notice once; a sink that fails is retried alone and delays only itself.

use chrono::Utc;
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::adapters::eventbridge::EventBus;
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::domain::Sink;
use jobwatch::Poller;
use serde_json::{json, Value};
use testkit::Stack;

const HOSTILE: &str = "<!channel> [click](http://evil)";

/// The stack, a chat topic with a queue on it, and a poller delivering to the three sinks.
struct ThreeSinks {
    stack: Stack,
    chat_queue: String,
    poller: Poller<BatchInferenceSource, DynamoJobStore, Sinks>,
}

impl ThreeSinks {
    async fn start(bus: &str) -> (Stack, String, Sinks) {
        let stack = Stack::start().await;
        let chat_topic = stack.create_topic("chat").await;
        let chat_queue = stack.subscribe_queue(&chat_topic, None).await;
        let notifier = stack
            .notifier()
            .with_chat_topic(&chat_topic)
            .with_event_bus(EventBus::new(stack.events(), bus));
        (stack, chat_queue, notifier)
    }

    async fn new(bus: &str) -> Self {
        let (stack, chat_queue, notifier) = Self::start(bus).await;
        let source = BatchInferenceSource::new(stack.bedrock.clone());
        let poller = Poller::new(source, stack.store(), notifier, stack.settings());
        Self {
            stack,
            chat_queue,
            poller,
        }
    }

    /// One open batch job with a hostile name, recorded by a first run, then completed.
    async fn complete_hostile_job(&self) -> String {
        let seed = json!({"kind": "batch-inference", "count": 1, "statuses": {"InProgress": 1},
            "spreadHours": 1, "newestHoursAgo": 1, "namePrefix": HOSTILE});
        self.stack.control("seed", seed).await;
        self.poller.run(Utc::now(), "baseline").await.unwrap();
        let jobs = self.stack.control_get("jobs").await;
        let arn = jobs["jobs"][0]["arn"].as_str().unwrap().to_owned();
        self.stack.set_status(&arn, "Completed").await;
        arn
    }

    /// The chat messages on the chat topic's queue, each valid against the chat schema.
    async fn chat_messages(&self) -> Vec<Value> {
        let envelopes = self.stack.envelopes(&self.chat_queue).await;
        envelopes
            .iter()
            .map(|e| {
                let message: Value = serde_json::from_str(e["Message"].as_str().unwrap()).unwrap();
                let errors = testkit::chat_errors(&message);
                assert!(errors.is_empty(), "{errors:?} in {message:#}");
                message
            })
            .collect()
    }
}

/// The events a bus queue received, with each detail valid against the v1 schema.
async fn events(stack: &Stack, queue_url: &str) -> Vec<Value> {
    let events = stack.bodies(queue_url).await;
    for event in &events {
        let errors: Vec<String> = testkit::schema()
            .iter_errors(&event["detail"])
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
    events
}

#[tokio::test]
async fn a_completion_reaches_the_topic_the_chat_topic_and_the_bus_once_each() {
    // given a bus whose rule feeds a queue, and a job named to inject a mention and a link
    let bus_name = testkit::unique("jobs-bus");
    let sinks = ThreeSinks::new(&bus_name).await;
    let bus = sinks.stack.bus_to_queue(&bus_name).await;
    let arn = sinks.complete_hostile_job().await;

    // when two runs go by
    let first = sinks.poller.run(Utc::now(), "run-1").await.unwrap();
    let second = sinks.poller.run(Utc::now(), "run-2").await.unwrap();

    // then the first delivered everywhere in batched calls, the second nothing
    assert_eq!(
        (first.notifications_sent, second.notifications_sent),
        (1, 0)
    );
    assert_eq!(first.sns_calls, 3, "one call per sink");
    let documents = sinks.stack.notifications().await;
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0].arn(), arn);
    // and the chat channel gets one custom notification, threaded by job, in plain text
    let chat = sinks.chat_messages().await;
    assert_eq!(chat.len(), 1);
    assert_eq!(chat[0]["metadata"]["threadId"], arn.as_str());
    let shown = format!(
        "{}\n{}",
        chat[0]["content"]["title"], chat[0]["content"]["description"]
    );
    for bad in ["<!channel>", "[click](", "http://evil"] {
        assert!(!shown.contains(bad), "{bad} in {shown}");
    }
    assert!(shown.contains("‹!channel› \\\\[click\\\\]"), "{shown}");
    // and the bus one event, the v1 document as its detail
    let on_bus = events(&sinks.stack, &bus.queue_url).await;
    assert_eq!(on_bus.len(), 1);
    assert_eq!(on_bus[0]["source"], "bedrock-jobwatch");
    assert_eq!(on_bus[0]["detail-type"], "Bedrock Job State Change");
    assert_eq!(on_bus[0]["detail"]["jobArn"], arn.as_str());
    assert_eq!(on_bus[0]["detail"]["outcome"], "success");
    assert_eq!(on_bus[0]["resources"], json!([arn]));
}

#[tokio::test]
async fn a_bus_failing_for_two_runs_gets_the_event_once_afterwards_and_sns_is_not_repeated() {
    // given a bus that does not exist yet: moto refuses its events
    let bus_name = testkit::unique("late-bus");
    let sinks = ThreeSinks::new(&bus_name).await;
    let arn = sinks.complete_hostile_job().await;

    // when two runs fail on the bus
    for run in ["run-1", "run-2"] {
        let summary = sinks.poller.run(Utc::now(), run).await.unwrap();
        assert_eq!(
            (summary.notifications_sent, summary.notifications_pending),
            (0, 1),
            "{run}"
        );
    }
    // then the item remembers that both topics have it
    let record = sinks.stack.record(&arn).await.unwrap();
    let delivered = record.delivered.expect("the delivered sinks are recorded");
    assert_eq!(delivered.sinks, [Sink::Topic, Sink::Chat].into());

    // when the bus exists and the next run goes
    let bus = sinks.stack.bus_to_queue(&bus_name).await;
    let third = sinks.poller.run(Utc::now(), "run-3").await.unwrap();
    let fourth = sinks.poller.run(Utc::now(), "run-4").await.unwrap();

    // then the event arrived once, and SNS had the notice once, never again
    assert_eq!(
        (third.notifications_sent, fourth.notifications_sent),
        (1, 0)
    );
    assert_eq!(third.sns_calls, 1, "only the bus was called");
    assert_eq!(events(&sinks.stack, &bus.queue_url).await.len(), 1);
    assert_eq!(sinks.stack.notifications().await.len(), 1);
    assert_eq!(sinks.chat_messages().await.len(), 1);
    let record = sinks.stack.record(&arn).await.unwrap();
    assert_eq!((record.pending_status, record.delivered), (None, None));
}

#[tokio::test]
async fn with_the_bus_missing_people_are_emailed_in_the_same_run_and_the_bus_gets_it_once_later() {
    // given a bus that does not exist yet and a people topic with an email-like subscriber
    let bus_name = testkit::unique("missing-bus");
    let (stack, chat_queue, notifier) = ThreeSinks::start(&bus_name).await;
    let people_topic = stack.create_topic("people").await;
    let people_queue = stack.subscribe_queue(&people_topic, None).await;
    let poller = Poller::new(
        BatchInferenceSource::new(stack.bedrock.clone()),
        stack.store(),
        notifier.with_people_topic(&people_topic),
        stack.settings(),
    );
    let sinks = ThreeSinks {
        stack,
        chat_queue,
        poller,
    };
    let arn = sinks.complete_hostile_job().await;

    // when a run goes with the bus missing
    let first = sinks.poller.run(Utc::now(), "run-1").await.unwrap();

    // then people have their email from that run; the notice waits for the bus alone
    let counted = |s: &jobwatch::RunSummary| {
        (
            s.notifications_sent,
            s.notifications_pending,
            s.people_messages_sent,
        )
    };
    assert_eq!(counted(&first), (0, 1, 1));
    let emails = sinks.stack.envelopes(&people_queue).await;
    assert_eq!(emails.len(), 1);
    assert!(emails[0]["Subject"]
        .as_str()
        .unwrap()
        .starts_with("[Bedrock] Completed: batch inference"));
    let record = sinks.stack.record(&arn).await.unwrap();
    let delivered = record.delivered.expect("the delivered sinks are recorded");
    assert_eq!(
        delivered.sinks,
        [Sink::Topic, Sink::Chat, Sink::People].into()
    );

    // when the bus exists and two more runs go
    let bus = sinks.stack.bus_to_queue(&bus_name).await;
    let second = sinks.poller.run(Utc::now(), "run-2").await.unwrap();
    let third = sinks.poller.run(Utc::now(), "run-3").await.unwrap();

    // then the bus got the event once, and the topic, chat and people never again
    assert_eq!(counted(&second), (1, 0, 0));
    assert_eq!(second.sns_calls, 1, "only the bus was called");
    assert_eq!(counted(&third), (0, 0, 0));
    let on_bus = events(&sinks.stack, &bus.queue_url).await;
    assert_eq!(on_bus.len(), 1);
    assert_eq!(on_bus[0]["detail"]["jobArn"], arn.as_str());
    assert_eq!(sinks.stack.notifications().await.len(), 1);
    assert_eq!(sinks.chat_messages().await.len(), 1);
    assert!(sinks.stack.envelopes(&people_queue).await.is_empty());
    let record = sinks.stack.record(&arn).await.unwrap();
    assert_eq!((record.pending_status, record.delivered), (None, None));
}

/// A stand-in for EventBridge that accepts every `PutEvents` entry but those at `refused`
/// (by position in the request), as a bus does under partial failure (`FailedEntryCount`).
async fn partly_failing_bus(refused: Vec<usize>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let refused = refused.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 65536];
                // Headers, then as many body bytes as Content-Length says.
                let body = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break body.to_owned();
                    }
                };
                let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let count = request["Entries"].as_array().map_or(0, Vec::len);
                let entries: Vec<Value> = (0..count)
                    .map(|i| match refused.contains(&i) {
                        true => {
                            json!({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
                        }
                        false => json!({"EventId": format!("event-{i}")}),
                    })
                    .collect();
                let failed = entries
                    .iter()
                    .filter(|e| e.get("ErrorCode").is_some())
                    .count();
                let body = json!({"FailedEntryCount": failed, "Entries": entries}).to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_put_events_partial_failure_fails_only_the_refused_entries() {
    // given a bus that refuses the second entry of each request
    use jobwatch::domain::{JobArn, JobStatus};
    use jobwatch::notices::Notice;
    let url = partly_failing_bus(vec![1]).await;
    let client = aws_sdk_eventbridge::Client::new(&testkit::sdk_config(&url));
    let bus = EventBus::new(client, "jobs");
    let notices: Vec<Notice> = (0..3)
        .map(|i| {
            let arn = JobArn::new(format!(
                "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/job{i}"
            ));
            let record =
                jobwatch::notices::test_record(arn, &JobStatus::new("Completed"), Utc::now());
            Notice::new(&record, &JobStatus::new("Completed"))
        })
        .collect();

    // when three notices are put in one request
    let delivery = bus.put(&notices, 4).await;

    // then one call, and only the refused entry failed (it is retried alone)
    assert_eq!(delivery.calls, 1);
    let ok: Vec<bool> = delivery.results.iter().map(Result::is_ok).collect();
    assert_eq!(ok, [true, false, true]);
    let error = delivery.results[1].as_ref().unwrap_err();
    assert!(
        error.is_retryable() && error.chain().contains("InternalFailure"),
        "{}",
        error.chain()
    );
}

#[test]
fn an_alert_and_the_end_of_the_same_job_share_a_chat_thread_and_both_fit_the_schema() {
    // given a job with a 1 KB hostile name, its `stuck` alert and its failure
    use jobwatch::domain::{Alert, AlertKind, JobArn, JobStatus};
    use jobwatch::notices::{chat_message, Notice, Presentation, Tags};
    let arn = JobArn::new("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123");
    let mut record = jobwatch::notices::test_record(arn, &JobStatus::new("Failed"), Utc::now());
    record.name = Some(format!("{HOSTILE} @here <@U123> `x`\n").repeat(20));
    record.message = Some("bad input: [see](https://evil.example) <!here>".into());
    let mut tags = Tags::new();
    tags.insert("team".into(), "<!channel>".into());
    let alert = Alert {
        kind: AlertKind::Stuck,
        elapsed: chrono::Duration::hours(7),
        threshold: chrono::Duration::hours(6),
        median: None,
    };
    let presentation = Presentation::default();
    let notices = [
        Notice::alert(&record, &alert, &presentation, &tags),
        Notice::build(&record, &JobStatus::new("Failed"), &presentation, &tags),
    ];

    // when both are rendered for chat
    let messages: Vec<Value> = notices.iter().map(chat_message).collect();

    // then both are valid custom notifications, in the job's thread, typed apart, inert
    for message in &messages {
        assert_eq!(testkit::chat_errors(message), Vec::<String>::new());
        assert_eq!(message["metadata"]["threadId"], record.pk.as_str());
        let text = message.to_string();
        for bad in [
            "<!channel>",
            "<!here>",
            "<@U123>",
            "](https://evil",
            "[click](http",
        ] {
            assert!(!text.contains(bad), "{bad} in {text}");
        }
    }
    let types: Vec<&str> = messages
        .iter()
        .map(|m| m["metadata"]["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["BedrockJobAlert", "BedrockJobStateChange"]);
    // and the schema does refuse what the service would drop
    let mut wrong = messages[1].clone();
    wrong["source"] = json!("bedrock-jobwatch");
    wrong["content"]["extra"] = json!(1);
    assert_eq!(testkit::chat_errors(&wrong).len(), 2);
}
