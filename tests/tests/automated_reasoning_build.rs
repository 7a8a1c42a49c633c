//! Automated Reasoning policy build workflows end to end (the emulator, moto): two policies,
//! first-run silence, one notification per terminal transition in the family's own words
//! (COMPLETED, FAILED, CANCELLED), nothing on non-terminal moves, a history past one page of one
//! policy and past one policy listed once, steady runs bounded by the policies, and throttling
//! absorbed by the SDK's retries.

use std::sync::Arc;

use aws_sdk_bedrock::primitives::Blob;
use aws_sdk_bedrock::types::{
    AutomatedReasoningPolicyBuildDocumentContentType as ContentType,
    AutomatedReasoningPolicyBuildWorkflowDocument as Document,
    AutomatedReasoningPolicyBuildWorkflowSource as Source,
    AutomatedReasoningPolicyBuildWorkflowType as BuildType,
    AutomatedReasoningPolicyWorkflowTypeContent as Content,
};
use chrono::{Duration, Utc};
use jobwatch::domain::JobKind;
use jobwatch::PollSettings;
use serde_json::json;
use testkit::{transitions, Notification, Stack};

const KIND: JobKind = JobKind::AutomatedReasoningBuild;

fn settings(stack: &Stack) -> PollSettings {
    PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    }
}

async fn create_policy(stack: &Stack, name: &str) -> String {
    stack
        .bedrock
        .create_automated_reasoning_policy()
        .name(name)
        .send()
        .await
        .expect("create policy")
        .policy_arn
}

/// A build of the policy from `hr-leave.txt`; its identity as the poller names it.
async fn start_build(stack: &Stack, policy: &str) -> String {
    let document = Document::builder()
        .document(Blob::new("Full-time employees get 20 days of leave."))
        .document_content_type(ContentType::Text)
        .document_name("hr-leave.txt")
        .build()
        .unwrap();
    let source = Source::builder()
        .workflow_content(Content::Documents(vec![document]))
        .build();
    let id = stack
        .bedrock
        .start_automated_reasoning_policy_build_workflow()
        .policy_arn(policy)
        .build_workflow_type(BuildType::IngestContent)
        .source_content(source)
        .send()
        .await
        .expect("start build workflow")
        .build_workflow_id;
    format!("{policy}/build-workflow/{id}")
}

#[tokio::test]
async fn two_policies_builds_are_notified_once_per_terminal_transition_with_their_assets() {
    // given two policies, each with a build that finished before the first run and two running
    let stack = Stack::start().await;
    let mut running = Vec::new();
    let mut finished_before = Vec::new();
    for name in ["HR leave policy", "travel-expenses"] {
        let policy = create_policy(&stack, name).await;
        let old = start_build(&stack, &policy).await;
        stack.set_status(&old, "COMPLETED").await;
        finished_before.push(old);
        running.push(start_build(&stack, &policy).await);
        running.push(start_build(&stack, &policy).await);
    }
    let source = Arc::new(stack.source(KIND));
    let run = |at, id: &'static str| {
        let poller = stack.poller_for(source.clone(), settings(&stack));
        async move { poller.run(at, id).await.unwrap() }
    };

    // when the first run sees them: silence, all six recorded
    let t0 = Utc::now();
    let first = run(t0, "run-1").await;
    assert!(first.first_run);
    assert_eq!((first.listed, first.notifications_sent), (6, 0));

    // when one moves on without finishing, two finish, one is being cancelled
    stack.set_status(&running[0], "BUILDING").await;
    stack.set_status(&running[1], "COMPLETED").await;
    stack.set_status(&running[2], "FAILED").await;
    stack.set_status(&running[3], "CANCEL_REQUESTED").await;
    let second = run(t0 + Duration::minutes(5), "run-2").await;
    // then only the two terminal transitions are notified
    assert_eq!(second.notifications_sent, 2);

    // when the last two end, and a run follows with nothing new
    stack.set_status(&running[0], "COMPLETED").await;
    stack.set_status(&running[3], "CANCELLED").await;
    let third = run(t0 + Duration::minutes(10), "run-3").await;
    let fourth = run(t0 + Duration::minutes(15), "run-4").await;
    assert_eq!(
        (third.notifications_sent, fourth.notifications_sent),
        (2, 0)
    );

    // then exactly one notification per terminal transition, none for the old builds
    let got = stack.notifications().await;
    let expected = transitions(&[
        (&running[0], "COMPLETED", "success"),
        (&running[1], "COMPLETED", "success"),
        (&running[2], "FAILED", "failure"),
        (&running[3], "CANCELLED", "failure"),
    ]);
    assert_eq!(Notification::told(&got), expected);
    for n in &got {
        assert!(!finished_before.contains(&n.arn().to_owned()));
        assert_eq!(n.attributes["job_kind"], "automated-reasoning-build");
        let policy = n.arn().split("/build-workflow/").next().unwrap();
        assert_eq!(n.body["outputS3Uri"], policy, "the policy it built");
        let name = n.body["jobName"].as_str().unwrap();
        assert!(
            ["HR leave policy", "travel-expenses"].contains(&name),
            "{name}"
        );
        assert_eq!(n.body["details"]["buildWorkflowType"], "INGEST_CONTENT");
        assert_eq!(n.body["details"]["documentName"], "hr-leave.txt");
    }
    let completed = got.iter().find(|n| n.status() == "COMPLETED").unwrap();
    let report = completed.body["message"].as_str().unwrap();
    assert!(report.starts_with("Quality report: "), "{report}");
    assert!(report.contains("2 conflicting rules (R7, R9)"), "{report}");
    let failed = got.iter().find(|n| n.status() == "FAILED").unwrap();
    let errors = failed.body["message"].as_str().unwrap();
    assert!(errors.starts_with("Build log errors: "), "{errors}");
    assert!(
        failed
            .subject
            .starts_with("[Bedrock] FAILED: automated reasoning policy build "),
        "{}",
        failed.subject
    );
}

#[tokio::test]
async fn a_history_past_one_page_and_one_policy_is_listed_once_and_steady_runs_stay_bounded() {
    // given a policy with 250 finished builds (three pages of 100) and another with one running
    let stack = Stack::start().await;
    stack
        .control(
            "seed",
            json!({"kind": "automated-reasoning-build", "count": 250, "spreadHours": 100,
                   "newestHoursAgo": 1}),
        )
        .await;
    let policy = create_policy(&stack, "travel-expenses").await;
    let open = start_build(&stack, &policy).await;
    let source = Arc::new(stack.source(KIND));
    let poller = stack.poller_for(source.clone(), settings(&stack));

    // when the first run lists it all
    let t0 = Utc::now();
    let first = poller.run(t0, "run-1").await.unwrap();
    assert_eq!((first.listed, first.notifications_sent), (251, 0));
    let operation = "ListAutomatedReasoningPolicyBuildWorkflows";
    assert_eq!(stack.calls_of(operation).await, 4, "3 pages + 1 page");
    assert_eq!(stack.calls_of("ListAutomatedReasoningPolicies").await, 1);

    // when the running build completes and a steady run follows
    stack.set_status(&open, "COMPLETED").await;
    let lists = stack.calls_of(operation).await;
    let second = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then it is notified, and the run read one page per policy, whatever the history: one
    // ListAutomatedReasoningPolicies, two workflow pages, one Get, one quality report
    assert_eq!(second.notifications_sent, 1);
    assert_eq!(stack.calls_of(operation).await - lists, 2);
    assert_eq!(second.bedrock_calls, 5);
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].arn(), open);
    assert_eq!(got[0].body["jobName"], "travel-expenses");
}

#[tokio::test]
async fn throttled_listings_and_gets_are_absorbed_by_sdk_retries() {
    // given a running build recorded by a first run
    let stack = Stack::start().await;
    let policy = create_policy(&stack, "retried").await;
    let build = start_build(&stack, &policy).await;
    let poller = stack.poller_for(stack.source(KIND), settings(&stack));
    let t0 = Utc::now();
    poller.run(t0, "run-1").await.unwrap();

    // when it completes and every operation the poller calls is throttled twice
    stack.set_status(&build, "COMPLETED").await;
    let operations = [
        "ListAutomatedReasoningPolicies",
        "ListAutomatedReasoningPolicyBuildWorkflows",
        "GetAutomatedReasoningPolicyBuildWorkflow",
        "GetAutomatedReasoningPolicyBuildWorkflowResultAssets",
    ];
    stack.throttle(&operations, 2).await;
    let summary = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then the run is whole and the build notified once, with its quality report
    assert!(summary.discovery_ok, "{summary:?}");
    assert_eq!(summary.notifications_sent, 1);
    let stats = stack.control_get("stats").await;
    for operation in operations {
        assert_eq!(stats["requests"]["faults"][operation], 2, "{operation}");
    }
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert!(got[0].body["message"]
        .as_str()
        .unwrap()
        .starts_with("Quality report: "));
}
