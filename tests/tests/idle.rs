//! Idle provisioned throughput on moto's CloudWatch (query protocol, `aws-sdk-cloudwatch` 1.99):
//! `Invocations` put for one throughput's ARN, none for another; one `GetMetricData` call answers
//! for both, and the idle rule alerts for the unused one only, not twice within a day, and not
//! once it is invoked.

use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use chrono::{Duration, DurationRound, Utc};
use jobwatch::adapters::cloudwatch::CloudWatchInvocations;
use jobwatch::domain::idle::{idle_due, IdleInputs, IdleSettings};
use jobwatch::ports::InvocationMetrics;
use testkit::Stack;

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
