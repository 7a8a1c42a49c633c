//! Idle provisioned throughput on moto's CloudWatch (query protocol, `aws-sdk-cloudwatch` 1.99):
//! `Invocations` put for one throughput's ARN, none for another; one `GetMetricData` call answers
//! for both, and the idle rule alerts for the unused one only, not twice within a day, and not
//! once it is invoked. End to end: the provisioned-throughput poller (the emulator, the Price
//! List stand-in, moto's DynamoDB, SNS to SQS and CloudWatch) sends one `idle` alert naming the
//! hourly cost, none the same day, none once invoked, never for the used one.

use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use chrono::{Duration, DurationRound, Utc};
use jobwatch::adapters::cloudwatch::CloudWatchInvocations;
use jobwatch::adapters::families::provisioned_throughput::ProvisionedThroughputSource;
use jobwatch::domain::idle::{idle_due, IdleInputs, IdleSettings};
use jobwatch::ports::InvocationMetrics;
use jobwatch::{PollSettings, RunSummary};
use testkit::{Notification, Stack};

const USED: &str = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/used0000001";
const UNUSED: &str = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/unused00001";

fn client(stack: &Stack) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&testkit::sdk_config(&stack.moto.endpoint))
}

/// What Bedrock publishes when `arn` is invoked `count` times at `at`.
async fn invoked(
    cw: &aws_sdk_cloudwatch::Client,
    arn: &str,
    at: chrono::DateTime<Utc>,
    count: f64,
) {
    let datum = MetricDatum::builder()
        .metric_name("Invocations")
        .dimensions(Dimension::builder().name("ModelId").value(arn).build())
        .timestamp(AwsDateTime::from_secs(at.timestamp()))
        .value(count)
        .build();
    cw.put_metric_data()
        .namespace("AWS/Bedrock")
        .metric_data(datum)
        .send()
        .await
        .expect("moto stores the datum");
}

#[tokio::test]
async fn an_unused_throughput_is_idle_once_a_used_one_is_not() {
    // Given two throughputs in service for 30 hours, one invoked 2 hours ago
    let stack = Stack::start().await;
    let cw = client(&stack);
    let now = Utc::now();
    invoked(&cw, USED, now - Duration::hours(2), 3.0).await;
    let metrics = CloudWatchInvocations::new(client(&stack));
    let arns = [USED.to_owned(), UNUSED.to_owned()];

    // When the last invocations over two days are read
    let last = metrics
        .last_invocations(&arns, now, Duration::hours(48))
        .await
        .expect("GetMetricData answers on moto");

    // Then one call answered for both: the used one dated to its hour, none for the other
    assert_eq!(metrics.calls(), 1);
    let hour = (now - Duration::hours(2))
        .duration_trunc(Duration::hours(1))
        .unwrap();
    let used_at = last[USED].expect("the invocation is seen");
    assert!(
        used_at >= hour - Duration::hours(1) && used_at <= now,
        "{used_at} near {hour}"
    );
    assert_eq!(last[UNUSED], None);

    // And the idle rule alerts for the unused one only
    let settings = IdleSettings::default();
    let judge = |arn: &str, last_alert| {
        idle_due(
            &IdleInputs {
                in_service_since: now - Duration::hours(30),
                last_invocation: last[arn],
                last_alert,
                now,
            },
            &settings,
        )
    };
    assert_eq!(judge(USED, None), None);
    let idle = judge(UNUSED, None).expect("idle for 30h");
    assert_eq!(idle.idle_for, Duration::hours(30));
    // not twice within a day
    assert_eq!(judge(UNUSED, Some(now - Duration::hours(5))), None);

    // When the unused one is invoked, then it is no longer idle
    invoked(&cw, UNUSED, now - Duration::minutes(10), 1.0).await;
    let last = metrics
        .last_invocations(&arns, now, Duration::hours(48))
        .await
        .unwrap();
    assert!(last[UNUSED].is_some());
    let after = IdleInputs {
        in_service_since: now - Duration::hours(30),
        last_invocation: last[UNUSED],
        last_alert: Some(now - Duration::hours(25)),
        now,
    };
    assert_eq!(idle_due(&after, &settings), None);
    assert_eq!(metrics.calls(), 2);
}

/// The throughputs' base model: the stand-in has its unit-hour rows ($55.00 for one month).
const NOVA_2_LITE: &str = "amazon.nova-2-lite-v1:0";

/// A throughput of 2 model units of Nova 2 Lite, committed for a month, `InService`.
async fn in_service(stack: &Stack, name: &str) -> String {
    let arn = stack
        .emulator
        .bedrock
        .create_provisioned_model_throughput()
        .provisioned_model_name(name)
        .model_id(NOVA_2_LITE)
        .model_units(2)
        .commitment_duration(aws_sdk_bedrock::types::CommitmentDuration::OneMonth)
        .send()
        .await
        .expect("create provisioned throughput")
        .provisioned_model_arn;
    stack.set_status(&arn, "InService").await;
    arn
}

/// One run of the throughput poller at `now` (hours after the test began), as the Lambda wires
/// it: CloudWatch on moto, the Price List stand-in on the emulator.
async fn poll(stack: &Stack, at: chrono::DateTime<Utc>, id: &str) -> RunSummary {
    let source = ProvisionedThroughputSource::new(stack.emulator.bedrock.clone())
        .with_metrics(client(stack));
    let settings = PollSettings {
        list_margin: Duration::zero(),
        alerts: jobwatch::domain::AlertSettings::default(),
        ..stack.settings()
    };
    let book = stack.price_book(&stack.emulator.endpoint(), &[]);
    let poller = stack.poller_for(source, settings).with_prices(book);
    poller.run(at, id.to_owned()).await.expect("the run")
}

fn idle_alerts(got: &[Notification]) -> Vec<&Notification> {
    got.iter().filter(|n| n.body["alert"] == "idle").collect()
}

#[tokio::test]
async fn an_unused_throughput_gets_one_idle_alert_a_day_with_its_hourly_cost_until_it_is_used() {
    // Given a first run, then two throughputs in service, one of them used an hour before the
    // next run (a day and an hour later), the other never
    let stack = Stack::start().await;
    let cw = client(&stack);
    let t0 = Utc::now();
    assert!(poll(&stack, t0, "first").await.first_run);
    let used = in_service(&stack, "pt-used").await;
    let unused = in_service(&stack, "pt-unused").await;
    let ready = poll(&stack, t0 + Duration::minutes(1), "ready").await;
    assert_eq!(ready.notifications_sent, 2);
    assert_eq!(
        ready.metric_calls, 0,
        "not idle yet: CloudWatch is not asked"
    );
    invoked(&cw, &used, t0 + Duration::hours(24), 5.0).await;

    // When two overlapping runs poll a day and an hour later
    let (a, b) = tokio::join!(
        poll(&stack, t0 + Duration::hours(25), "day-1a"),
        poll(&stack, t0 + Duration::hours(25), "day-1b")
    );

    // Then one idle alert between them, for the unused one, naming its hourly cost; each run
    // made one GetMetricData call and the one List call of every steady run
    assert_eq!(a.alerts_sent + b.alerts_sent, 1, "{a:?} {b:?}");
    assert_eq!((a.metric_calls, b.metric_calls), (1, 1));
    assert_eq!(
        (a.bedrock_calls, b.bedrock_calls),
        (1, 1),
        "the idle check adds no Bedrock call"
    );
    let got = stack.notifications().await;
    let ready_text = got
        .iter()
        .find(|n| n.arn() == used && n.status() == "InService" && n.body["type"] == "terminal")
        .map(|n| n.body["text"].as_str().unwrap().to_owned())
        .expect("the ready notice");
    assert!(
        ready_text.contains("It costs about $110.00 per hour while it exists (estimate; AWS Price List, published 2026-11-20, per hour: 2 model units x $55.00 per unit-hour, OneMonth commitment)."),
        "{ready_text}"
    );
    let alerts = idle_alerts(&got);
    assert_eq!(alerts.len(), 1);
    let alert = alerts[0];
    assert_eq!(alert.arn(), unused);
    assert_eq!(alert.body["hourlyCost"]["usd"], 110.0);
    assert_eq!(alert.body["hourlyCost"]["source"], "priceList");
    assert_eq!(alert.body["schemaVersion"], "1.3");
    let text = alert.body["text"].as_str().unwrap();
    // In service a few seconds after t0: idle for just under 25 hours.
    assert!(
        text.contains("\"pt-unused\" has had no invocations for 24h 5")
            && text.contains("(alert after 24h 00m)."),
        "{text}"
    );
    assert!(
        text.contains("It costs ≈ $110.00 (estimate; AWS Price List, published 2026-11-20"),
        "{text}"
    );
    let errors: Vec<String> = testkit::schema()
        .iter_errors(&alert.body)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // A consumer of 1.2 (which named the idle kind) ignores hourlyCost and the key's suffix.
    let errors = testkit::errors_for_consumers_of("1.2", &alert.body);
    assert!(errors.is_empty(), "{errors:?}");
    let key = alert.body["dedupKey"].as_str().unwrap();
    assert!(key.starts_with(&format!("{unused}#idle#")), "{key}");
    let record = stack.record(&unused).await.unwrap();
    assert!(
        record.pending_alert.is_none() && record.watch.is_none(),
        "sent, unwatched"
    );

    // When it runs again the same day, then nothing more is sent
    let again = poll(&stack, t0 + Duration::hours(30), "day-1-again").await;
    assert_eq!(again.alerts_sent, 0);
    assert!(idle_alerts(&stack.notifications().await).is_empty());

    // When the unused one is invoked, then a day after its alert it is not told again, and the
    // used one (invoked again) never is
    invoked(&cw, &unused, t0 + Duration::hours(40), 1.0).await;
    invoked(&cw, &used, t0 + Duration::hours(45), 1.0).await;
    let next = poll(&stack, t0 + Duration::hours(50), "day-2").await;
    assert_eq!((next.alerts_sent, next.metric_calls), (0, 1));
    assert!(idle_alerts(&stack.notifications().await).is_empty());

    // And without a use, a day after that it is told again, with its own dedup key
    let later = poll(&stack, t0 + Duration::hours(66), "day-3").await;
    assert_eq!(later.alerts_sent, 1);
    let got = stack.notifications().await;
    let alerts = idle_alerts(&got);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].arn(), unused);
    assert_ne!(alerts[0].body["dedupKey"].as_str(), Some(key));
}

#[tokio::test]
async fn an_idle_alert_whose_publish_failed_is_sent_by_the_next_run_with_the_same_key() {
    // Given an unused throughput in service for a day, and a run whose topic is gone
    let stack = Stack::start().await;
    let t0 = Utc::now();
    assert!(poll(&stack, t0, "first").await.first_run);
    let unused = in_service(&stack, "pt-unused").await;
    poll(&stack, t0 + Duration::minutes(1), "ready").await;
    stack.notifications().await;
    let settings = PollSettings {
        list_margin: Duration::zero(),
        alerts: jobwatch::domain::AlertSettings::default(),
        ..stack.settings()
    };
    let gone = jobwatch::adapters::notifier::Sinks::new(
        stack.sns.clone(),
        "arn:aws:sns:us-east-1:123456789012:no-such-topic",
    );
    let source = ProvisionedThroughputSource::new(stack.emulator.bedrock.clone())
        .with_metrics(client(&stack));
    let failing = jobwatch::Poller::new(source, stack.store(), gone, settings);

    // When that run finds it idle
    let failed = failing
        .run(t0 + Duration::hours(25), "day-1-failed".to_owned())
        .await
        .unwrap();

    // Then nothing is sent and the alert stays pending on the item, watched
    assert_eq!(failed.alerts_sent, 0);
    let record = stack.record(&unused).await.unwrap();
    assert_eq!(
        record.pending_alert,
        Some(jobwatch::domain::AlertKind::Idle)
    );
    assert!(record.watch.is_some(), "watched until sent");
    let held_on = record.idle.expect("the stretch and day are on the item");

    // When the next run (after the lease) polls with the topic back
    let next = poll(
        &stack,
        t0 + Duration::hours(25) + Duration::minutes(30),
        "day-1-retry",
    )
    .await;

    // Then the alert goes out once, with the key of the day it was held
    assert_eq!(next.alerts_sent, 1);
    let got = stack.notifications().await;
    let alerts = idle_alerts(&got);
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].body["dedupKey"].as_str().unwrap(),
        format!("{unused}#idle#{}", held_on.key())
    );
    let record = stack.record(&unused).await.unwrap();
    assert!(record.pending_alert.is_none() && record.watch.is_none());
    assert_eq!(
        poll(&stack, t0 + Duration::hours(27), "day-1-later")
            .await
            .alerts_sent,
        0
    );
}
