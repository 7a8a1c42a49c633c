//! Model evaluation jobs and model copy jobs end to end against the emulator and moto: silence
//! on the first run, one notification per terminal transition, nothing for moves that do not
//! finish a job, listings past one page, throttling absorbed, and what each message names.

use chrono::{Duration, Utc};
use jobwatch::domain::JobKind;
use jobwatch::ports::JobSource;
use jobwatch::PollSettings;
use serde_json::json;
use testkit::{Notification, Stack};

fn settings(stack: &Stack) -> PollSettings {
    PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    }
}

/// First run silent over a finished job; then a non-terminal move sends nothing; then each
/// terminal transition is notified once, and a further run sends nothing again.
async fn lifecycle<S: JobSource>(
    stack: &Stack,
    source: impl Fn() -> S,
    arns: [String; 3],
    moving: Option<&str>,
) -> Vec<Notification> {
    let [old, a, b] = arns;
    stack.set_status(&old, "Completed").await;
    let t0 = Utc::now();
    let run = |at, id: &'static str| {
        let poller = stack.poller_for(source(), settings(stack));
        async move { poller.run(at, id).await.unwrap() }
    };
    let first = run(t0, "run-1").await;
    assert!(first.first_run);
    assert_eq!((first.listed, first.notifications_sent), (3, 0));

    if let Some(status) = moving {
        stack.set_status(&a, status).await;
        let moved = run(t0 + Duration::minutes(5), "run-2").await;
        assert_eq!(moved.notifications_sent, 0, "{status} is not the end");
    }
    stack.set_status(&a, "Completed").await;
    stack.set_status(&b, "Failed").await;
    let ended = run(t0 + Duration::minutes(10), "run-3").await;
    assert_eq!(ended.notifications_sent, 2);
    let again = run(t0 + Duration::minutes(15), "run-4").await;
    assert_eq!(again.notifications_sent, 0);

    let mut got = stack.notifications().await;
    got.sort_by_key(|n| n.status().to_owned());
    assert_eq!(got.len(), 2, "one per terminal transition");
    assert_eq!((got[0].arn(), got[0].status()), (a.as_str(), "Completed"));
    assert_eq!((got[1].arn(), got[1].status()), (b.as_str(), "Failed"));
    got
}

#[tokio::test]
async fn evaluation_jobs_are_notified_once_per_terminal_transition_with_their_evaluation_type() {
    let stack = &Stack::start().await;
    let arns = [
        stack.create_evaluation("eval-old", false).await,
        stack.create_evaluation("eval-rag", true).await,
        stack.create_evaluation("eval-model", false).await,
    ];
    let got = lifecycle(
        stack,
        || stack.source(JobKind::ModelEvaluation),
        arns,
        Some("Stopping"),
    )
    .await;
    let rag = &got[0];
    assert_eq!(rag.attributes["job_kind"], "model-evaluation");
    assert_eq!(rag.body["jobKind"], "model-evaluation");
    assert_eq!(rag.body["details"]["applicationType"], "RagEvaluation");
    assert_eq!(rag.body["details"]["knowledgeBaseId"], "KB12345678");
    assert_eq!(rag.body["details"]["jobType"], "Automated");
    assert_eq!(rag.body["outputS3Uri"], "s3://eval-bucket/results/");
    assert!(rag
        .subject
        .starts_with("[Bedrock] Completed: model evaluation eval-rag"));
    assert!(rag.body["text"]
        .as_str()
        .unwrap()
        .contains("Evaluation:       RagEvaluation"));
    let model = &got[1];
    assert_eq!(model.body["details"]["applicationType"], "ModelEvaluation");
    assert_eq!(model.attributes["model_id"], "amazon.nova-lite-v1:0");
    assert_eq!(model.attributes["outcome"], "failure");
}

#[tokio::test]
async fn model_copy_jobs_are_notified_once_naming_source_and_target_model() {
    let stack = &Stack::start().await;
    let arns = [
        stack.create_model_copy("copy-old").await,
        stack.create_model_copy("copy-eu").await,
        stack.create_model_copy("copy-ap").await,
    ];
    // InProgress is the only open status: forcing it again is not a transition.
    let got = lifecycle(
        stack,
        || stack.source(JobKind::ModelCopy),
        arns,
        Some("InProgress"),
    )
    .await;
    let done = &got[0];
    assert_eq!(done.body["jobKind"], "model-copy");
    assert_eq!(done.body["jobName"], "copy-eu");
    let source = "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghijkl";
    assert_eq!(done.body["details"]["sourceModelArn"], source);
    assert_eq!(done.attributes["model_id"], source);
    let target = done.body["details"]["targetModelArn"].as_str().unwrap();
    assert!(
        target.starts_with("arn:aws:bedrock:us-east-1:123456789012:custom-model/"),
        "{target}"
    );
    assert_eq!(done.body["outputS3Uri"], target);
    let text = done.body["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("Copied to:        {target}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("Model:            {source}")),
        "{text}"
    );
}

#[tokio::test]
async fn a_deleting_evaluation_is_not_a_finish() {
    // given a known open evaluation, when it is seen in Deleting (BatchDeleteEvaluationJob)
    let stack = &Stack::start().await;
    let arn = stack.create_evaluation("eval-deleted", false).await;
    let poller = || stack.poller_for(stack.source(JobKind::ModelEvaluation), settings(stack));
    let t0 = Utc::now();
    poller().run(t0, "run-1").await.unwrap();
    stack.set_status(&arn, "Deleting").await;
    let summary = poller()
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();
    // then nothing is sent and the job stays watched
    assert_eq!(summary.notifications_sent, 0);
    assert!(stack.record(&arn).await.unwrap().watch.is_some());
}

#[tokio::test]
async fn listings_past_one_page_are_read_whole_for_both_families() {
    let stack = &Stack::start().await;
    for kind in ["model-evaluation", "model-copy"] {
        stack
            .control(
                "seed",
                json!({"kind": kind, "count": 1500, "spreadHours": 100, "newestHoursAgo": 1}),
            )
            .await;
    }
    let open_eval = stack.create_evaluation("eval-after-history", false).await;
    let open_copy = stack.create_model_copy("copy-after-history").await;
    let t0 = Utc::now();
    let eval = stack
        .poller_for(stack.source(JobKind::ModelEvaluation), stack.settings())
        .run(t0, "e-1")
        .await
        .unwrap();
    let copy = stack
        .poller_for(stack.source(JobKind::ModelCopy), stack.settings())
        .run(t0, "c-1")
        .await
        .unwrap();
    for (family, s) in [("evaluation", &eval), ("copy", &copy)] {
        assert_eq!(s.listed, 1501, "{family}");
        assert!(
            s.bedrock_calls >= 2,
            "{family}: {} calls for two pages",
            s.bedrock_calls
        );
        assert_eq!(s.notifications_sent, 0, "{family}: history is silent");
    }
    stack.set_status(&open_eval, "Completed").await;
    stack.set_status(&open_copy, "Completed").await;
    let later = t0 + Duration::minutes(5);
    let eval = stack
        .poller_for(stack.source(JobKind::ModelEvaluation), stack.settings())
        .run(later, "e-2")
        .await
        .unwrap();
    let copy = stack
        .poller_for(stack.source(JobKind::ModelCopy), stack.settings())
        .run(later, "c-2")
        .await
        .unwrap();
    assert_eq!((eval.notifications_sent, copy.notifications_sent), (1, 1));
    let mut arns: Vec<String> = stack
        .notifications()
        .await
        .iter()
        .map(|n| n.arn().to_owned())
        .collect();
    arns.sort();
    let mut expected = vec![open_eval, open_copy];
    expected.sort();
    assert_eq!(arns, expected);
}

#[tokio::test]
async fn throttled_lists_of_both_families_are_absorbed_by_sdk_retries() {
    let stack = &Stack::start().await;
    let eval = stack.create_evaluation("eval-throttled", false).await;
    let copy = stack.create_model_copy("copy-throttled").await;
    let t0 = Utc::now();
    stack
        .poller_for(stack.source(JobKind::ModelEvaluation), settings(stack))
        .run(t0, "e-1")
        .await
        .unwrap();
    stack
        .poller_for(stack.source(JobKind::ModelCopy), settings(stack))
        .run(t0, "c-1")
        .await
        .unwrap();
    stack.set_status(&eval, "Completed").await;
    stack.set_status(&copy, "Failed").await;
    for operation in [
        "ListEvaluationJobs",
        "GetEvaluationJob",
        "ListModelCopyJobs",
        "GetModelCopyJob",
    ] {
        stack
            .control(
                "faults",
                json!({"operation": operation, "error": "ThrottlingException", "count": 2}),
            )
            .await;
    }
    let later = t0 + Duration::minutes(5);
    let e = stack
        .poller_for(stack.source(JobKind::ModelEvaluation), settings(stack))
        .run(later, "e-2")
        .await
        .unwrap();
    let c = stack
        .poller_for(stack.source(JobKind::ModelCopy), settings(stack))
        .run(later, "c-2")
        .await
        .unwrap();
    assert!(e.discovery_ok && c.discovery_ok);
    assert_eq!((e.notifications_sent, c.notifications_sent), (1, 1));
    let stats = stack.control_get("stats").await;
    let faults = &stats["requests"]["faults"];
    let hit = [
        "ListEvaluationJobs",
        "GetEvaluationJob",
        "ListModelCopyJobs",
        "GetModelCopyJob",
    ]
    .iter()
    .map(|op| faults[op].as_u64().unwrap_or(0))
    .sum::<u64>();
    assert!(hit >= 4, "throttled calls were made and retried: {faults}");
    assert_eq!(stack.notifications().await.len(), 2);
}

#[tokio::test]
async fn an_evaluation_first_seen_finished_is_notified_with_what_only_its_get_reports() {
    // given a first run, then an evaluation that starts and fails between two runs
    let stack = &Stack::start().await;
    let poller = || stack.poller_for(stack.source(JobKind::ModelEvaluation), settings(stack));
    let t0 = Utc::now();
    poller().run(t0, "run-1").await.unwrap();
    let arn = stack.create_evaluation("eval-quick-fail", false).await;
    stack
        .control(
            &format!("jobs/{arn}/status"),
            json!({"status": "Failed", "message": "The dataset has no valid records."}),
        )
        .await;

    // when the next run lists it already failed
    let summary = poller().run(Utc::now(), "run-2").await.unwrap();

    // then its notice carries the failure message and the results location from a Get
    assert_eq!((summary.listed, summary.notifications_sent), (1, 1));
    let got = stack.notifications().await;
    assert_eq!(got[0].body["message"], "The dataset has no valid records.");
    assert_eq!(got[0].body["outputS3Uri"], "s3://eval-bucket/results/");
    assert!(got[0].body["endTime"].is_string());
}
