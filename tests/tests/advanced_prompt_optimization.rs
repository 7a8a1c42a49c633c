//! Advanced prompt optimization jobs end to end (the emulator, moto): first-run silence, one
//! notification per terminal transition in the family's own words, nothing on non-terminal
//! moves, a history past one page listed once and steady runs that stop at the watermark, and
//! throttling absorbed by the SDK's retries.

use std::sync::Arc;

use aws_sdk_bedrock::types::{
    AdvancedPromptOptimizationInputConfig, AdvancedPromptOptimizationOutputConfig,
    ModelConfiguration,
};
use chrono::{Duration, Utc};
use jobwatch::domain::JobKind;
use jobwatch::PollSettings;
use serde_json::json;
use testkit::{transitions, Notification, Stack};

const KIND: JobKind = JobKind::AdvancedPromptOptimization;

fn settings(stack: &Stack) -> PollSettings {
    PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    }
}

/// A job optimizing prompts for two models, writing to `s3://prompt-bucket/optimized/{name}/`.
async fn create(stack: &Stack, name: &str) -> String {
    let config = |model: &str| {
        ModelConfiguration::builder()
            .model_id(model)
            .build()
            .unwrap()
    };
    stack
        .bedrock
        .create_advanced_prompt_optimization_job()
        .job_name(name)
        .input_config(
            AdvancedPromptOptimizationInputConfig::builder()
                .s3_uri("s3://prompt-bucket/input/prompts.jsonl")
                .build()
                .unwrap(),
        )
        .output_config(
            AdvancedPromptOptimizationOutputConfig::builder()
                .s3_uri(format!("s3://prompt-bucket/optimized/{name}/"))
                .build()
                .unwrap(),
        )
        .model_configurations(config("amazon.nova-lite-v1:0"))
        .model_configurations(config("anthropic.claude-3-haiku-20240307-v1:0"))
        .send()
        .await
        .expect("create advanced prompt optimization job")
        .job_arn
}

#[tokio::test]
async fn each_terminal_transition_is_notified_once_with_the_optimized_prompts_location() {
    // given a job that finished before the first run and four running ones
    let stack = Stack::start().await;
    let old = create(&stack, "old-prompts").await;
    stack.set_status(&old, "Completed").await;
    let mut running = Vec::new();
    for name in ["support", "faq", "triage", "billing"] {
        running.push(create(&stack, name).await);
    }
    let source = Arc::new(stack.source(KIND));
    let run = |at, id: &'static str| {
        let poller = stack.poller_for(source.clone(), settings(&stack));
        async move { poller.run(at, id).await.unwrap() }
    };

    // when the first run sees them: silence, all five recorded
    let t0 = Utc::now();
    let first = run(t0, "run-1").await;
    assert!(first.first_run);
    assert_eq!((first.listed, first.notifications_sent), (5, 0));

    // when one starts stopping (not an end) and two end
    stack.set_status(&running[0], "Stopping").await;
    stack.set_status(&running[1], "Completed").await;
    stack.set_status(&running[2], "PartiallyCompleted").await;
    let second = run(t0 + Duration::minutes(5), "run-2").await;
    // then only the two terminal transitions are notified
    assert_eq!(second.notifications_sent, 2);

    // when the last two end, and a run follows with nothing new
    stack.set_status(&running[0], "Stopped").await;
    stack.set_status(&running[3], "Failed").await;
    let third = run(t0 + Duration::minutes(10), "run-3").await;
    let fourth = run(t0 + Duration::minutes(15), "run-4").await;
    assert_eq!(
        (third.notifications_sent, fourth.notifications_sent),
        (2, 0)
    );

    // then one notification per terminal transition, in the family's own words
    let got = stack.notifications().await;
    let expected = transitions(&[
        (&running[0], "Stopped", "failure"),
        (&running[1], "Completed", "success"),
        (&running[2], "PartiallyCompleted", "partial"),
        (&running[3], "Failed", "failure"),
    ]);
    assert_eq!(Notification::told(&got), expected);
    for n in &got {
        assert_ne!(n.arn(), old);
        assert_eq!(n.attributes["job_kind"], "advanced-prompt-optimization");
        assert_eq!(n.body["jobKind"], "advanced-prompt-optimization");
        let name = n.body["jobName"].as_str().unwrap();
        assert_eq!(
            n.body["outputS3Uri"],
            format!("s3://prompt-bucket/optimized/{name}/"),
            "where the optimized prompts are"
        );
        assert_eq!(
            n.body["inputS3Uri"],
            "s3://prompt-bucket/input/prompts.jsonl"
        );
        assert_eq!(n.attributes["model_id"], "amazon.nova-lite-v1:0");
        let email = n.body["text"].as_str().unwrap();
        assert!(
            email.contains("Optimized output: s3://prompt-bucket/optimized/"),
            "{email}"
        );
        assert!(
            email.contains("amazon.nova-lite-v1:0, anthropic.claude-3-haiku-20240307-v1:0"),
            "{email}"
        );
    }
    let partial = got
        .iter()
        .find(|n| n.status() == "PartiallyCompleted")
        .unwrap();
    assert!(
        partial
            .subject
            .starts_with("[Bedrock] PartiallyCompleted: advanced prompt optimization triage"),
        "{}",
        partial.subject
    );
    assert!(partial.body["message"]
        .as_str()
        .unwrap()
        .contains("could not be scored"));
}

#[tokio::test]
async fn a_history_past_one_page_is_listed_once_and_steady_runs_stop_at_the_watermark() {
    // given 1500 finished jobs of history (two pages) and one running job
    let stack = Stack::start().await;
    stack
        .control(
            "seed",
            json!({"kind": "advanced-prompt-optimization", "count": 1500, "spreadHours": 100,
                   "newestHoursAgo": 1}),
        )
        .await;
    let open = create(&stack, "nightly").await;
    let source = Arc::new(stack.source(KIND));
    let poller = stack.poller_for(source.clone(), settings(&stack));

    // when the first run lists it all
    let t0 = Utc::now();
    let first = poller.run(t0, "run-1").await.unwrap();
    assert_eq!((first.listed, first.notifications_sent), (1501, 0));
    assert_eq!(
        stack.calls_of("ListAdvancedPromptOptimizationJobs").await,
        2
    );

    // when the running job finishes and a steady run follows
    stack.set_status(&open, "Completed").await;
    let lists = stack.calls_of("ListAdvancedPromptOptimizationJobs").await;
    let second = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then it is notified, and the run read one List page and one Get, whatever the history
    assert_eq!(second.notifications_sent, 1);
    assert_eq!(
        stack.calls_of("ListAdvancedPromptOptimizationJobs").await - lists,
        1
    );
    assert_eq!(second.bedrock_calls, 2);
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].arn(), open);
    assert_eq!(
        got[0].body["outputS3Uri"],
        "s3://prompt-bucket/optimized/nightly/"
    );
}

#[tokio::test]
async fn throttled_listings_and_gets_are_absorbed_by_sdk_retries() {
    // given a running job recorded by a first run
    let stack = Stack::start().await;
    let job = create(&stack, "retried").await;
    let poller = stack.poller_for(stack.source(KIND), settings(&stack));
    let t0 = Utc::now();
    poller.run(t0, "run-1").await.unwrap();

    // when it finishes and the List and the Get are each throttled twice
    stack.set_status(&job, "Completed").await;
    stack
        .throttle(
            &[
                "ListAdvancedPromptOptimizationJobs",
                "GetAdvancedPromptOptimizationJob",
            ],
            2,
        )
        .await;
    let summary = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then the run is whole and the job notified once
    assert!(summary.discovery_ok, "{summary:?}");
    assert_eq!(summary.notifications_sent, 1);
    let stats = stack.control_get("stats").await;
    assert_eq!(
        stats["requests"]["faults"]["ListAdvancedPromptOptimizationJobs"],
        2
    );
    assert_eq!(
        stats["requests"]["faults"]["GetAdvancedPromptOptimizationJob"],
        2
    );
    assert_eq!(stack.notifications().await.len(), 1);
}
