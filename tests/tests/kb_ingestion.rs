//! Knowledge-base ingestion jobs end to end (bedrock-agent on the emulator, moto): two knowledge
//! bases with two data sources each, first-run silence, one notification per terminal
//! transition, nothing on non-terminal moves, listings past one page that stop at the
//! watermark, and throttling absorbed.

use jobwatch::domain::JobKind;
use std::sync::Arc;

use chrono::{Duration, Utc};
use jobwatch::PollSettings;
use serde_json::json;
use testkit::{transitions, Notification, Stack};

/// The identity the poller gives an ingestion job (its knowledge base's ARN + the path).
fn job_arn(kb: &str, ds: &str, job: &str) -> String {
    format!("arn:aws:bedrock:us-east-1:123456789012:knowledge-base/{kb}/data-source/{ds}/ingestion-job/{job}")
}

fn settings(stack: &Stack) -> PollSettings {
    PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    }
}

#[tokio::test]
async fn two_knowledge_bases_with_two_data_sources_each_are_notified_once_per_terminal_transition()
{
    // given two knowledge bases with two data sources each: per data source a job that finished
    // before the first run and one that is running
    let stack = Stack::start().await;
    let mut running = Vec::new();
    let mut finished_before = Vec::new();
    for kb_name in ["handbook", "support"] {
        let kb = stack.create_knowledge_base(kb_name).await;
        for ds_name in ["pdfs", "wiki"] {
            let ds = stack.create_data_source(&kb, ds_name).await;
            let old = stack.start_ingestion_job(&kb, &ds, "initial sync").await;
            let arn = job_arn(&kb, &ds, &old);
            stack.set_status(&arn, "COMPLETE").await;
            finished_before.push(arn);
            let job = stack.start_ingestion_job(&kb, &ds, "resync").await;
            running.push(job_arn(&kb, &ds, &job));
        }
    }
    let source = Arc::new(stack.source(JobKind::KbIngestion));
    let run = |at, id: &'static str| {
        let poller = stack.poller_for(source.clone(), settings(&stack));
        async move { poller.run(at, id).await.unwrap() }
    };

    // when the first run sees them: silence, all eight recorded
    let t0 = Utc::now();
    let first = run(t0, "run-1").await;
    assert!(first.first_run);
    assert_eq!((first.listed, first.notifications_sent), (8, 0));

    // when one job moves on without finishing, two finish, one starts stopping
    stack.set_status(&running[0], "IN_PROGRESS").await;
    stack.set_status(&running[1], "COMPLETE").await;
    stack.set_status(&running[2], "FAILED").await;
    stack.set_status(&running[3], "STOPPING").await;
    let second = run(t0 + Duration::minutes(5), "run-2").await;
    // then only the two terminal transitions are notified
    assert_eq!(second.notifications_sent, 2);

    // when the last two end, and a run follows with nothing new
    stack.set_status(&running[0], "COMPLETE").await;
    stack.set_status(&running[3], "STOPPED").await;
    let third = run(t0 + Duration::minutes(10), "run-3").await;
    let fourth = run(t0 + Duration::minutes(15), "run-4").await;
    assert_eq!(
        (third.notifications_sent, fourth.notifications_sent),
        (2, 0)
    );

    // then exactly one notification per terminal transition, none for the old jobs
    let got = stack.notifications().await;
    let expected = transitions(&[
        (&running[0], "COMPLETE", "success"),
        (&running[1], "COMPLETE", "success"),
        (&running[2], "FAILED", "failure"),
        (&running[3], "STOPPED", "failure"),
    ]);
    assert_eq!(Notification::told(&got), expected);
    for n in &got {
        assert!(!finished_before.contains(&n.arn().to_owned()));
        assert_eq!(n.attributes["job_kind"], "kb-ingestion");
        assert_eq!(n.attributes["status"], n.status());
        let name = n.body["jobName"].as_str().unwrap();
        assert!(
            name.ends_with(" / pdfs") || name.ends_with(" / wiki"),
            "{name}"
        );
        let message = n.body["message"].as_str().unwrap();
        assert!(message.starts_with("Documents: "), "{message}");
        assert!(n.body["durationSeconds"].is_number());
        assert!(n.body["outputS3Uri"]
            .as_str()
            .unwrap()
            .contains(":knowledge-base/"));
    }
    let failed = got.iter().find(|n| n.status() == "FAILED").unwrap();
    assert!(failed.body["message"]
        .as_str()
        .unwrap()
        .contains("Failure reasons: "));
    assert!(failed
        .subject
        .starts_with("[Bedrock] FAILED: knowledge base ingestion "));
}

#[tokio::test]
async fn a_history_past_one_page_is_listed_once_and_steady_runs_stop_at_the_watermark() {
    // given a data source with 1500 finished jobs of history (two pages) and one running job
    let stack = Stack::start().await;
    let kb = stack.create_knowledge_base("archive").await;
    let ds = stack.create_data_source(&kb, "scans").await;
    stack
        .control(
            "seed",
            json!({"kind": "kb-ingestion", "count": 1500, "spreadHours": 100,
                   "newestHoursAgo": 1, "knowledgeBaseId": kb, "dataSourceId": ds}),
        )
        .await;
    let open = stack.start_ingestion_job(&kb, &ds, "resync").await;
    let source = Arc::new(stack.source(JobKind::KbIngestion));
    let poller = stack.poller_for(source.clone(), settings(&stack));

    // when the first run lists it all
    let t0 = Utc::now();
    let first = poller.run(t0, "run-1").await.unwrap();
    assert_eq!((first.listed, first.notifications_sent), (1501, 0));
    assert_eq!(stack.calls_of("ListIngestionJobs").await, 2);

    // when the running job finishes and a steady run follows
    stack
        .set_status(&job_arn(&kb, &ds, &open), "COMPLETE")
        .await;
    let (lists, gets) = (
        stack.calls_of("ListIngestionJobs").await,
        stack.calls_of("GetKnowledgeBase").await,
    );
    let second = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then it is notified, and the run read one page of the data source, whatever the history:
    // one ListKnowledgeBases, one ListDataSources, one ListIngestionJobs page, one Get
    assert_eq!(second.notifications_sent, 1);
    assert_eq!(stack.calls_of("ListIngestionJobs").await - lists, 1);
    assert_eq!(
        stack.calls_of("GetKnowledgeBase").await - gets,
        0,
        "the ARN is cached"
    );
    assert_eq!(second.bedrock_calls, 4);
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].arn(), job_arn(&kb, &ds, &open));
}

#[tokio::test]
async fn throttled_listings_and_gets_are_absorbed_by_sdk_retries() {
    // given a running job recorded by a first run
    let stack = Stack::start().await;
    let kb = stack.create_knowledge_base("docs").await;
    let ds = stack.create_data_source(&kb, "pdfs").await;
    let job = stack.start_ingestion_job(&kb, &ds, "resync").await;
    let poller = stack.poller_for(stack.source(JobKind::KbIngestion), settings(&stack));
    let t0 = Utc::now();
    poller.run(t0, "run-1").await.unwrap();

    // when it finishes and every bedrock-agent operation is throttled twice
    stack.set_status(&job_arn(&kb, &ds, &job), "COMPLETE").await;
    stack
        .throttle(
            &[
                "ListKnowledgeBases",
                "ListDataSources",
                "ListIngestionJobs",
                "GetIngestionJob",
            ],
            2,
        )
        .await;
    let summary = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then the run is whole and the job notified once
    assert!(summary.discovery_ok);
    assert_eq!(summary.notifications_sent, 1);
    let stats = stack.control_get("stats").await;
    assert_eq!(stats["requests"]["faults"]["ListKnowledgeBases"], 2);
    assert_eq!(stack.notifications().await.len(), 1);
}
