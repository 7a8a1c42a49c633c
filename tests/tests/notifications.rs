//! Notifications as subscribers see them: schema-valid, filterable per subscriber, FIFO-ready.

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use chrono::Utc;
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::Poller;
use serde_json::json;
use testkit::{schema, Stack};

async fn queue_arn(stack: &Stack, url: &str) -> String {
    stack
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

async fn drain(stack: &Stack, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let got = stack
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return all;
        }
        for m in &got {
            stack
                .sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        all.extend(got);
    }
}

#[test]
fn the_schema_rejects_what_it_should() {
    let valid = json!({
        "schema": "bedrock-jobwatch/notification/v1",
        "dedupKey": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef#Failed",
        "jobKind": "batch-inference",
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef",
        "jobId": "abcdefabcdef", "region": "us-east-1", "status": "Failed", "outcome": "failure",
        "submitTime": "2026-11-23T12:00:00Z", "messageTruncated": false, "text": "x"
    });
    assert!(schema().is_valid(&valid));
    for (field, bad) in [
        ("status", json!(null)),
        ("outcome", json!("meh")),
        ("jobKind", json!("training")),
        ("submitTime", json!("yesterday")),
        ("jobId", json!("not-a-batch-id")),
        ("schemaVersion", json!("2.0")),
    ] {
        let mut doc = valid.clone();
        doc[field] = bad;
        assert!(!schema().is_valid(&doc), "{field} should be rejected");
    }
}

#[test]
fn the_copies_of_earlier_schemas_still_check_what_they_checked() {
    // given a document a consumer of 1.1 accepts
    let valid = json!({
        "schema": "bedrock-jobwatch/notification/v1", "schemaVersion": "1.1",
        "dedupKey": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef#Failed",
        "jobKind": "batch-inference",
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef",
        "jobId": "abcdefabcdef", "region": "us-east-1", "status": "Failed", "outcome": "failure",
        "submitTime": "2026-11-23T12:00:00Z", "messageTruncated": false, "text": "x"
    });
    for version in ["1.1", "1.2"] {
        assert!(testkit::errors_for_consumers_of(version, &valid).is_empty());
        // then what they did not know as a value is still refused (a family added since)
        let mut doc = valid.clone();
        doc["jobKind"] = json!("flow-execution");
        assert!(!testkit::errors_for_consumers_of(version, &doc).is_empty());
    }
}

#[test]
fn the_schema_can_grow_a_document_with_unknown_fields_validates() {
    // given a v1 document from a later minor version, with fields this schema does not know
    let mut doc = json!({
        "schema": "bedrock-jobwatch/notification/v1", "schemaVersion": "1.7",
        "dedupKey": "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefabcdef#Completed",
        "jobKind": "async-invoke",
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefabcdef",
        "jobId": "abcdefabcdef", "region": "us-east-1", "status": "Completed", "outcome": "success",
        "submitTime": "2026-11-23T12:00:00Z", "messageTruncated": false, "text": "x",
        "tags": {"team": "video"}, "recordCounts": {"total": 1, "cachedTokens": 5}
    });
    doc["alerts"] = json!([{"kind": "slow", "seconds": 3600}]);

    // then it validates: consumers ignore what they do not know
    let errors: Vec<String> = schema().iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test]
async fn a_filtered_subscription_receives_only_what_it_asked_for() {
    // given a second subscriber that wants failures only
    let stack = Stack::start().await;
    let failures_url = stack
        .sqs
        .create_queue()
        .queue_name("failures-only")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = queue_arn(&stack, &failures_url).await;
    stack
        .sns
        .subscribe()
        .topic_arn(&stack.topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("FilterPolicy", json!({"outcome": ["failure"]}).to_string())
        .send()
        .await
        .unwrap();
    let ok = stack.create_batch("fine").await;
    let bad = stack.create_batch("broken").await;
    let partial = stack.create_batch("halfway").await;
    stack.poller().run(Utc::now(), "baseline").await.unwrap();
    stack.set_status(&ok, "Completed").await;
    stack.set_status(&bad, "Failed").await;
    stack.set_status(&partial, "PartiallyCompleted").await;

    // when
    stack.poller().run(Utc::now(), "run-1").await.unwrap();

    // then the unfiltered subscriber has all three, the filtered one only the failure
    assert_eq!(stack.notifications().await.len(), 3);
    let filtered = drain(&stack, &failures_url).await;
    assert_eq!(filtered.len(), 1);
    let envelope: serde_json::Value = serde_json::from_str(filtered[0].body().unwrap()).unwrap();
    let body: serde_json::Value =
        serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body["jobArn"], bad);
}

#[tokio::test]
async fn fifo_topics_get_a_group_per_job_and_a_stable_deduplication_id() {
    // given a FIFO topic with a FIFO queue subscribed
    let stack = &Stack::start().await;
    let topic = stack
        .sns
        .create_topic()
        .name("jobwatch.fifo")
        .attributes("FifoTopic", "true")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let url = stack
        .sqs
        .create_queue()
        .queue_name("inbox.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = queue_arn(stack, &url).await;
    stack
        .sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .unwrap();
    let job = stack.create_batch("fifo-job").await;
    let poller = Poller::new(
        BatchInferenceSource::new(stack.bedrock.clone()),
        stack.store(),
        Sinks::new(stack.sns.clone(), &topic),
        stack.settings(),
    );
    poller.run(Utc::now(), "baseline").await.unwrap();
    stack.set_status(&job, "Completed").await;

    // when
    let summary = poller.run(Utc::now(), "run-1").await.unwrap();

    // then
    assert_eq!(summary.notifications_sent, 1);
    let got = drain(stack, &url).await;
    assert_eq!(got.len(), 1);
    let attrs = got[0].attributes().unwrap();
    assert_eq!(attrs[&MessageSystemAttributeName::MessageGroupId], job);
    assert_eq!(
        attrs[&MessageSystemAttributeName::MessageDeduplicationId],
        format!("{job}#Completed")
    );
}

#[tokio::test]
async fn batch_counts_and_tokens_come_from_the_output_manifest_when_the_api_lacks_them() {
    use jobwatch::adapters::manifest::ManifestReader;
    // given three finished jobs: a good manifest, a malformed one, none at all
    let stack = &Stack::start().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&testkit::sdk_config(&stack.moto.endpoint))
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("output-bucket")
        .send()
        .await
        .unwrap();
    let good = stack.create_batch("with-manifest").await;
    let bad = stack.create_batch("bad-manifest").await;
    let none = stack.create_batch("no-manifest").await;
    let put = |arn: &str, body: &'static str| {
        let key = format!("out/{}/manifest.json.out", arn.rsplit('/').next().unwrap());
        s3.put_object()
            .bucket("output-bucket")
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
    };
    put(&good, r#"{"totalRecordCount": 120, "processedRecordCount": 120, "successRecordCount": 117, "errorRecordCount": 3, "inputTokenCount": 48000, "outputTokenCount": 9100}"#).await.unwrap();
    put(&bad, "{not json").await.unwrap();
    let poller = Poller::new(
        BatchInferenceSource::new(stack.bedrock.clone())
            .with_manifests(ManifestReader::new(s3.clone())),
        stack.store(),
        Sinks::new(stack.sns.clone(), &stack.topic_arn),
        stack.settings(),
    );
    poller.run(Utc::now(), "baseline").await.unwrap();
    for arn in [&good, &bad, &none] {
        stack.set_status(arn, "Completed").await;
    }

    // when
    let summary = poller.run(Utc::now(), "run-1").await.unwrap();

    // then every job is notified; only the good manifest adds counts
    assert_eq!((summary.notifications_sent, summary.failures), (3, 0));
    let got = stack.notifications().await;
    let by = |arn: &str| got.iter().find(|n| n.arn() == arn).unwrap().body.clone();
    let counts = &by(&good)["recordCounts"];
    assert_eq!(
        (counts["total"].as_i64(), counts["error"].as_i64()),
        (Some(120), Some(3))
    );
    assert_eq!(
        (
            counts["inputTokens"].as_i64(),
            counts["outputTokens"].as_i64()
        ),
        (Some(48000), Some(9100))
    );
    assert!(by(&good)["text"]
        .as_str()
        .unwrap()
        .contains("48,000 input, 9,100 output"));
    assert!(by(&bad)["recordCounts"].is_null());
    assert!(by(&none)["recordCounts"].is_null());
}
