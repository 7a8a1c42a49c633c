//! Estimated cost of finished jobs end to end, on moto (DynamoDB, SNS, S3) and the Bedrock
//! emulator's AWS Price List stand-in (`GetProducts`, awsJson 1.1, real record shape): the
//! figure in the email, the chat text and the JSON, with its source and date; the shipped file
//! when the Price List is denied or unreachable; nothing, and no failure, without a price.

use std::sync::Arc;

use chrono::Utc;
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::adapters::manifest::ManifestReader;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::handler::{handle, Output};
use jobwatch::metrics::MetricsSink;
use jobwatch::ports::PriceBook;
use jobwatch::{Poller, RunSummary};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use testkit::emf::Emf;
use testkit::Stack;

/// 48 million input and 9.1 million output tokens.
const MANIFEST: &str = r#"{"totalRecordCount": 120000, "processedRecordCount": 120000, "successRecordCount": 120000, "errorRecordCount": 0, "inputTokenCount": 48000000, "outputTokenCount": 9100000}"#;

/// 8 million input and 1 million output tokens: $1.00 + $0.625 at the Price List's Haiku rate.
const SMALL_MANIFEST: &str = r#"{"totalRecordCount": 1000, "processedRecordCount": 1000, "successRecordCount": 1000, "errorRecordCount": 0, "inputTokenCount": 8000000, "outputTokenCount": 1000000}"#;

struct World {
    stack: Stack,
    s3: aws_sdk_s3::Client,
    chat_queue: String,
    chat_topic: String,
}

impl World {
    async fn start() -> Self {
        let stack = Stack::start().await;
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
        let chat_topic = stack.create_topic("chat").await;
        let chat_queue = stack.subscribe_queue(&chat_topic, None).await;
        Self {
            stack,
            s3,
            chat_queue,
            chat_topic,
        }
    }

    /// A batch job (Claude 3 Haiku, us-east-1) that finishes with `manifest` in its output.
    async fn finished_job(&self, name: &str, manifest: &str) -> String {
        let arn = self.stack.create_batch(name).await;
        self.manifest(&arn, manifest).await;
        arn
    }

    /// A batch job of `model` (`CreateModelInvocationJob` as the testkit sends it otherwise).
    async fn batch_of_model(&self, name: &str, model: &str) -> String {
        use aws_sdk_bedrock::types::*;
        let input = ModelInvocationJobS3InputDataConfig::builder()
            .s3_uri("s3://input-bucket/records.jsonl")
            .build()
            .unwrap();
        let output = ModelInvocationJobS3OutputDataConfig::builder()
            .s3_uri("s3://output-bucket/out/")
            .build()
            .unwrap();
        let created = self
            .stack
            .bedrock
            .create_model_invocation_job()
            .job_name(name)
            .role_arn("arn:aws:iam::123456789012:role/BedrockBatch")
            .model_id(model)
            .input_data_config(ModelInvocationJobInputDataConfig::S3InputDataConfig(input))
            .output_data_config(ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
                output,
            ))
            .send()
            .await
            .expect("create batch job");
        created.job_arn
    }

    async fn manifest(&self, arn: &str, manifest: &str) {
        let key = format!("out/{}/manifest.json.out", arn.rsplit('/').next().unwrap());
        self.s3
            .put_object()
            .bucket("output-bucket")
            .key(key)
            .body(manifest.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }

    /// Two runs around the job's completion, pricing with `prices`.
    async fn finish(&self, arn: &str, prices: Option<Arc<dyn PriceBook>>) -> RunSummary {
        self.finish_with(arn, prices, None).await
    }

    /// The same, with `COST_ALERT_USD` set to `cost_alert_usd`.
    async fn finish_with(
        &self,
        arn: &str,
        prices: Option<Arc<dyn PriceBook>>,
        cost_alert_usd: Option<f64>,
    ) -> RunSummary {
        let settings = jobwatch::PollSettings {
            cost_alert_usd,
            ..self.stack.settings()
        };
        let mut poller = Poller::new(
            BatchInferenceSource::new(self.stack.bedrock.clone())
                .with_manifests(ManifestReader::new(self.s3.clone())),
            self.stack.store(),
            Sinks::new(self.stack.sns.clone(), &self.stack.topic_arn)
                .with_chat_topic(&self.chat_topic),
            settings,
        );
        if let Some(prices) = prices {
            poller = poller.with_prices(prices);
        }
        poller.run(Utc::now(), "baseline").await.unwrap();
        self.stack.set_status(arn, "Completed").await;
        poller.run(Utc::now(), "finish").await.unwrap()
    }

    /// Two runs through the Lambda handler around the completion of `arns`, with `settings`
    /// and the emulator's Price List: the finishing run's summary and EMF lines.
    async fn finish_metered(
        &self,
        arns: &[&str],
        settings: jobwatch::PollSettings,
    ) -> (RunSummary, Vec<Emf>) {
        let book = self.stack.price_book(&self.stack.emulator.endpoint(), &[]);
        let poller = Poller::new(
            BatchInferenceSource::new(self.stack.bedrock.clone())
                .with_manifests(ManifestReader::new(self.s3.clone())),
            self.stack.store(),
            self.stack.notifier(),
            settings,
        )
        .with_prices(book);
        let sink = MetricsSink::capture("Test/Jobwatch");
        let event = || LambdaEvent::new(json!({}), Context::default());
        handle(&poller, &sink, event()).await.expect("baseline");
        for arn in arns {
            self.stack.set_status(arn, "Completed").await;
        }
        let summary = match handle(&poller, &sink, event()).await.expect("finish") {
            Output::Polled(summary) => *summary,
            other => panic!("expected a poll, got {other:?}"),
        };
        let lines = sink.lines();
        (summary, lines[1..].iter().map(|l| Emf::parse(l)).collect())
    }

    /// `ListTagsForResource` requests the emulator has answered.
    async fn tag_reads(&self) -> u64 {
        let stats = self.stack.control_get("stats").await;
        stats["requests"]["operations"]["ListTagsForResource"]
            .as_u64()
            .unwrap_or(0)
    }

    /// The job's document, its email text and its chat description.
    async fn told(&self) -> (Value, String, String) {
        let got = self.stack.notifications().await;
        assert_eq!(got.len(), 1);
        let body = got[0].body.clone();
        let errors: Vec<String> = testkit::schema()
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "schema-valid: {errors:?}");
        // and as valid to consumers of 1.1 and 1.2, who ignore estimatedCost
        for older in ["1.1", "1.2"] {
            let errors = testkit::errors_for_consumers_of(older, &body);
            assert!(errors.is_empty(), "{errors:?}");
        }
        let text = body["text"].as_str().unwrap().to_owned();
        let chat = self.stack.envelopes(&self.chat_queue).await;
        let chat: Value = serde_json::from_str(chat[0]["Message"].as_str().unwrap()).unwrap();
        let description = chat["content"]["description"].as_str().unwrap().to_owned();
        (body, text, description)
    }
}

/// How the chat text shows a sentence (markdown's parentheses escaped).
fn in_chat(sentence: &str) -> String {
    sentence.replace('(', "\\(").replace(')', "\\)")
}

#[tokio::test]
async fn a_finished_batch_job_shows_its_cost_from_the_price_list_with_source_and_date() {
    // given a Claude 3 Haiku batch job whose manifest says 48M input and 9.1M output tokens,
    // and the Price List (batch rows $0.000125 / $0.000625 per 1K tokens, published 2026-11-20)
    let world = World::start().await;
    let arn = world.finished_job("priced", MANIFEST).await;
    let book = world
        .stack
        .price_book(&world.stack.emulator.endpoint(), &[]);

    // when it finishes
    let summary = world.finish(&arn, Some(book.clone())).await;

    // then email, chat and JSON say ≈ $11.69 (6.00 + 5.6875), an estimate from the Price List
    let (body, text, chat) = world.told().await;
    let sentence =
        "≈ $11.69 (estimate; AWS Price List, published 2026-11-20, batch rate for us-east-1)";
    assert!(
        text.contains(&format!("Estimated cost:   {sentence}")),
        "{text}"
    );
    assert!(
        chat.contains(&format!("**Estimated cost:** {}", in_chat(sentence))),
        "{chat}"
    );
    let cost = &body["estimatedCost"];
    assert_eq!(cost["usd"], 11.6875);
    assert_eq!(
        (cost["source"].as_str(), cost["asOf"].as_str()),
        (Some("priceList"), Some("2026-11-20"))
    );
    assert_eq!(
        (cost["estimate"].as_bool(), cost["currency"].as_str()),
        (Some(true), Some("USD"))
    );
    assert_eq!(body["schemaVersion"], "1.3");
    // and the prices are cached: the whole region's catalogue took one GetProducts page
    assert_eq!(summary.pricing_calls, 1);
    // and the run's EstimatedCostUsd metric adds it to the family's spend
    assert_eq!(summary.estimated_cost_micro_usd, 11_687_500);
    let metrics = jobwatch::metrics::values(&summary, jobwatch::metrics::RunKind::Poll);
    let spend = metrics
        .iter()
        .find(|(name, _, _)| *name == "EstimatedCostUsd");
    assert_eq!(spend.map(|(_, _, v)| v.clone()), Some(json!(11.6875)));
    let record = world.stack.record(&arn).await.unwrap();
    assert_eq!(record.cost.unwrap().micro_usd, 11_687_500);
}

#[tokio::test]
async fn a_job_whose_estimate_passes_cost_alert_usd_says_so_once_in_its_notice() {
    // given COST_ALERT_USD = 10 and a job estimated at $11.69
    let world = World::start().await;
    let arn = world.finished_job("over", MANIFEST).await;
    let book = world
        .stack
        .price_book(&world.stack.emulator.endpoint(), &[]);

    // when it finishes
    world.finish_with(&arn, Some(book), Some(10.0)).await;

    // then its one notice says it passed the threshold, in the email, chat and JSON
    let (body, text, chat) = world.told().await;
    assert!(
        text.contains("Cost alert:       over COST_ALERT_USD ($10.00)"),
        "{text}"
    );
    assert!(
        chat.contains("**Cost alert:**") && chat.contains("$10.00"),
        "{chat}"
    );
    assert_eq!(body["estimatedCost"]["overThresholdUsd"], 10.0);

    // and under a threshold of $20 a job says nothing of it
    let world = World::start().await;
    let arn = world.finished_job("under", MANIFEST).await;
    let book = world
        .stack
        .price_book(&world.stack.emulator.endpoint(), &[]);
    world.finish_with(&arn, Some(book), Some(20.0)).await;
    let (body, text, chat) = world.told().await;
    assert!(
        !text.contains("Cost alert") && !chat.contains("Cost alert"),
        "{text}"
    );
    assert!(body["estimatedCost"]["overThresholdUsd"].is_null());
    assert_eq!(body["estimatedCost"]["usd"], 11.6875);
}

#[tokio::test]
async fn a_warm_run_reads_cached_prices_and_calls_no_price_list() {
    // given prices cached in the table by an earlier process
    let world = World::start().await;
    let first = world.finished_job("first", MANIFEST).await;
    let endpoint = world.stack.emulator.endpoint();
    world
        .finish(&first, Some(world.stack.price_book(&endpoint, &[])))
        .await;

    // when a new process (a cold start with an empty memory) prices the next job
    let next = world.finished_job("next", MANIFEST).await;
    let book = world.stack.price_book(&endpoint, &[]);
    let summary = world.finish(&next, Some(book.clone())).await;

    // then no Price List call, the same published price
    assert_eq!((summary.pricing_calls, book.calls()), (0, 0));
    let cost = world.stack.record(&next).await.unwrap().cost.unwrap();
    assert_eq!(
        (cost.micro_usd, cost.as_of.as_str()),
        (11_687_500, "2026-11-20")
    );
}

#[tokio::test]
async fn with_the_price_list_denied_the_shipped_file_is_used_and_says_so() {
    // given the Price List answering AccessDeniedException (no pricing:GetProducts)
    let world = World::start().await;
    let denied = json!({"operation": "GetProducts", "error": "AccessDeniedException"});
    world.stack.control("faults", denied).await;
    let arn = world.finished_job("denied", MANIFEST).await;
    let book = world
        .stack
        .price_book(&world.stack.emulator.endpoint(), &[]);

    // when it finishes
    let summary = world.finish(&arn, Some(book)).await;

    // then the shipped file's figure, dated, saying why
    assert_eq!((summary.notifications_sent, summary.failures), (1, 0));
    let (body, text, chat) = world.told().await;
    let sentence = "≈ $11.69 (estimate; price file shipped with bedrock-jobwatch, dated 2025-07-20, batch rate for us-east-1; AWS Price List not readable (AccessDeniedException))";
    assert!(text.contains(sentence), "{text}");
    assert!(chat.contains(&in_chat(sentence)), "{chat}");
    assert_eq!(body["estimatedCost"]["source"], "shipped");
}

#[tokio::test]
async fn with_the_price_list_unreachable_the_shipped_file_is_used() {
    // given no Price List endpoint answering at all
    let world = World::start().await;
    let arn = world.finished_job("unreachable", MANIFEST).await;
    let book = world.stack.price_book("http://127.0.0.1:1", &[]);

    // when it finishes
    world.finish(&arn, Some(book)).await;

    // then the shipped file's figure, saying the Price List was not readable
    let (body, _, _) = world.told().await;
    assert_eq!(body["estimatedCost"]["source"], "shipped");
    let text = body["estimatedCost"]["text"].as_str().unwrap();
    assert!(text.contains("AWS Price List not readable"), "{text}");
}

#[tokio::test]
async fn without_any_price_there_is_no_cost_line_and_nothing_fails() {
    // given a job of a model the shipped file does not price, and no Price List answering
    let world = World::start().await;
    let arn = world
        .batch_of_model("unpriced", "mistral.mistral-large-2407-v1:0")
        .await;
    world.manifest(&arn, MANIFEST).await;
    let book = world.stack.price_book("http://127.0.0.1:1", &[]);

    // when it finishes
    let summary = world.finish(&arn, Some(book)).await;

    // then it is notified as usual, with its tokens and without any cost
    assert_eq!((summary.notifications_sent, summary.failures), (1, 0));
    let (body, text, chat) = world.told().await;
    assert!(body["estimatedCost"].is_null());
    assert_eq!(body["recordCounts"]["inputTokens"], 48_000_000);
    assert!(!text.contains("Estimated cost") && !chat.contains("Estimated cost"));
}

#[tokio::test]
async fn an_override_comes_before_the_price_list() {
    // given PRICE_OVERRIDES for the job's model ($1 / $2 per million tokens)
    let world = World::start().await;
    let arn = world.finished_job("overridden", MANIFEST).await;
    let model = "anthropic.claude-3-haiku-20240307-v1:0";
    let book = world
        .stack
        .price_book(&world.stack.emulator.endpoint(), &[(model, 1.0, 2.0)]);

    // when it finishes
    let summary = world.finish(&arn, Some(book)).await;

    // then 48 + 18.2 dollars, from the setting, and no Price List call
    let (body, _, _) = world.told().await;
    assert_eq!(body["estimatedCost"]["usd"], 66.2);
    assert_eq!(body["estimatedCost"]["source"], "override");
    assert_eq!(summary.pricing_calls, 0);
}

/// `EstimatedCostUsd` by `Owner` in the per-owner lines, and each line's dimension sets.
fn spend_by_owner(lines: &[Emf]) -> Vec<(String, f64)> {
    lines
        .iter()
        .filter_map(|emf| {
            let owner = emf.dimensions.get("Owner")?;
            let sets = &emf.document["_aws"]["CloudWatchMetrics"][0]["Dimensions"];
            assert_eq!(sets, &json!([["JobKind", "Owner"], ["Owner"]]));
            assert_eq!(emf.dimensions["JobKind"], "batch-inference");
            Some((owner.clone(), emf.values["EstimatedCostUsd"].as_f64()?))
        })
        .collect()
}

/// The run's own line: the family total, under `[JobKind]` only.
fn family_spend(lines: &[Emf]) -> f64 {
    let run = lines
        .iter()
        .find(|emf| emf.values.contains_key("Polls"))
        .expect("the run's line");
    assert!(!run.dimensions.contains_key("Owner"));
    run.values["EstimatedCostUsd"].as_f64().unwrap()
}

#[tokio::test]
async fn cost_is_reported_per_owner_tag_value_with_untagged_jobs_counted_not_dropped() {
    // given COST_OWNER_TAG=owner (and NOTIFY_TAGS=owner), jobs of owners ana ($11.69) and ben
    // ($1.625), and one without the tag ($11.69)
    let world = World::start().await;
    let ana = world
        .stack
        .create_batch_with_tags("ana-job", &[("owner", "ana"), ("team", "search")])
        .await;
    world.manifest(&ana, MANIFEST).await;
    let ben = world
        .stack
        .create_batch_with_tags("ben-job", &[("owner", "ben")])
        .await;
    world.manifest(&ben, SMALL_MANIFEST).await;
    let orphan = world.finished_job("orphan", MANIFEST).await;
    let settings = jobwatch::PollSettings {
        cost_owners: jobwatch::poller::CostOwners::new(Some("owner".into())),
        presentation: jobwatch::notices::Presentation {
            notify_tags: vec!["owner".into()],
            ..Default::default()
        },
        ..world.stack.settings()
    };

    // when they finish in one run
    let (summary, lines) = world.finish_metered(&[&ana, &ben, &orphan], settings).await;

    // then one EMF line per owner, under [JobKind, Owner] and [Owner], with each one's sum
    assert_eq!(
        spend_by_owner(&lines),
        [
            ("ana".to_owned(), 11.6875),
            ("ben".to_owned(), 1.625),
            ("untagged".to_owned(), 11.6875)
        ]
    );
    // and the family's line keeps the total, owners summing to it
    assert_eq!(family_spend(&lines), 25.0);
    assert_eq!(summary.estimated_cost_micro_usd, 25_000_000);
    // and the tags were read once per job: the notices reused the owner's read
    assert_eq!(world.tag_reads().await, 3);
    let got = world.stack.notifications().await;
    let ana_notice = got.iter().find(|n| n.arn() == ana).unwrap();
    assert_eq!(ana_notice.body["tags"], json!({"owner": "ana"}));
    assert_eq!(summary.notifications_sent, 3);
}

#[tokio::test]
async fn a_job_whose_tags_cannot_be_read_counts_under_unknown_and_is_still_notified() {
    // given COST_OWNER_TAG=owner, a tagged job, and tag reads denied
    let world = World::start().await;
    let arn = world
        .stack
        .create_batch_with_tags("denied", &[("owner", "ana")])
        .await;
    world.manifest(&arn, MANIFEST).await;
    let denied = json!({"operation": "ListTagsForResource", "error": "AccessDeniedException"});
    world.stack.control("faults", denied).await;
    let settings = jobwatch::PollSettings {
        cost_owners: jobwatch::poller::CostOwners::new(Some("owner".into())),
        ..world.stack.settings()
    };

    // when it finishes
    let (summary, lines) = world.finish_metered(&[&arn], settings).await;

    // then its cost is under owner "unknown", the failed read counted, the notice sent
    assert_eq!(spend_by_owner(&lines), [("unknown".to_owned(), 11.6875)]);
    assert_eq!(
        (
            summary.tag_reads_failed,
            summary.notifications_sent,
            summary.failures
        ),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn without_cost_owner_tag_there_is_no_owner_dimension_and_no_tag_read() {
    // given a job tagged with an owner, and COST_OWNER_TAG unset (the default)
    let world = World::start().await;
    let arn = world
        .stack
        .create_batch_with_tags("plain", &[("owner", "ana")])
        .await;
    world.manifest(&arn, MANIFEST).await;

    // when it finishes
    let (summary, lines) = world.finish_metered(&[&arn], world.stack.settings()).await;

    // then the run's one line carries the family's spend, nothing per owner, no tag read
    assert_eq!(lines.len(), 1, "one line, no owner lines");
    assert_eq!(family_spend(&lines), 11.6875);
    assert!(summary.cost_by_owner.is_empty());
    assert_eq!(world.tag_reads().await, 0);
}
