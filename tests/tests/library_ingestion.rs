//! Data Automation library ingestion jobs end to end (bedrock-data-automation on the emulator,
//! moto): two libraries, first-run silence, one notification per terminal transition in the
//! family's own words (the partial success included), nothing for jobs still in progress,
//! listings past one page and past one library that stop at the watermark, and throttling
//! absorbed.

use std::sync::Arc;

use aws_sdk_bedrockdataautomation::types::{
    EntityType, InputConfiguration, LibraryIngestionJobOperationType, OutputConfiguration, S3Object,
};
use chrono::{Duration, Utc};
use jobwatch::domain::JobKind;
use jobwatch::PollSettings;
use serde_json::json;
use testkit::{transitions, Notification, Stack};

fn settings(stack: &Stack) -> PollSettings {
    PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    }
}

fn client(stack: &Stack) -> aws_sdk_bedrockdataautomation::Client {
    let config = aws_sdk_bedrockdataautomation::config::Builder::from(&stack.base)
        .endpoint_url(stack.endpoint())
        .build();
    aws_sdk_bedrockdataautomation::Client::from_conf(config)
}

/// `CreateDataAutomationLibrary`; returns its ARN.
async fn library(stack: &Stack, name: &str) -> String {
    client(stack)
        .create_data_automation_library()
        .library_name(name)
        .send()
        .await
        .expect("CreateDataAutomationLibrary")
        .library_arn()
        .expect("an ARN")
        .to_owned()
}

/// `InvokeDataAutomationLibraryIngestionJob`; returns the identity the poller gives the job
/// (`{library ARN}/library-ingestion-job/{id}`).
async fn ingest(stack: &Stack, library: &str) -> String {
    let source = S3Object::builder()
        .s3_uri("s3://acme-vocabulary/terms.jsonl")
        .build()
        .expect("s3 object");
    let job = client(stack)
        .invoke_data_automation_library_ingestion_job()
        .library_arn(library)
        .input_configuration(InputConfiguration::builder().s3_object(source).build())
        .entity_type(EntityType::Vocabulary)
        .operation_type(LibraryIngestionJobOperationType::Upsert)
        .output_configuration(
            OutputConfiguration::builder()
                .s3_uri("s3://acme-vocabulary/results/")
                .build()
                .expect("output"),
        )
        .send()
        .await
        .expect("InvokeDataAutomationLibraryIngestionJob");
    let id = job.job_arn().expect("an ARN").rsplit('/').next().unwrap();
    format!("{library}/library-ingestion-job/{id}")
}

#[tokio::test]
async fn two_libraries_are_notified_once_per_terminal_transition_in_their_own_words() {
    // given two libraries: per library a job that ended before the first run and two running
    let stack = Stack::start().await;
    let mut running = Vec::new();
    let mut finished_before = Vec::new();
    for name in ["medical-terms", "product-names"] {
        let lib = library(&stack, name).await;
        let old = ingest(&stack, &lib).await;
        stack.set_status(&old, "COMPLETED").await;
        finished_before.push(old);
        running.push(ingest(&stack, &lib).await);
        running.push(ingest(&stack, &lib).await);
    }
    let source = Arc::new(stack.source(JobKind::LibraryIngestion));
    let run = |at, id: &'static str| {
        let poller = stack.poller_for(source.clone(), settings(&stack));
        async move { poller.run(at, id).await.unwrap() }
    };

    // when the first run sees them: silence, all six recorded
    let t0 = Utc::now();
    let first = run(t0, "run-1").await;
    assert!(first.first_run);
    assert_eq!((first.listed, first.notifications_sent), (6, 0));

    // when three end (completed, with errors, failed) and one stays in progress
    stack.set_status(&running[0], "COMPLETED").await;
    stack.set_status(&running[1], "COMPLETED_WITH_ERRORS").await;
    stack.set_status(&running[2], "FAILED").await;
    stack.set_status(&running[3], "IN_PROGRESS").await;
    let second = run(t0 + Duration::minutes(5), "run-2").await;
    let third = run(t0 + Duration::minutes(10), "run-3").await;

    // then each terminal transition is told once, nothing for the one in progress
    assert_eq!(
        (second.notifications_sent, third.notifications_sent),
        (3, 0)
    );
    let got = stack.notifications().await;
    let expected = transitions(&[
        (&running[0], "COMPLETED", "success"),
        (&running[1], "COMPLETED_WITH_ERRORS", "partial"),
        (&running[2], "FAILED", "failure"),
    ]);
    assert_eq!(Notification::told(&got), expected);
    for n in &got {
        assert!(!finished_before.contains(&n.arn().to_owned()));
        assert_eq!(n.attributes["job_kind"], "library-ingestion");
        let name = n.body["jobName"].as_str().unwrap();
        assert!(["medical-terms", "product-names"].contains(&name), "{name}");
        assert_eq!(n.body["outputS3Uri"], "s3://acme-vocabulary/results/");
        assert_eq!(n.body["details"]["operationType"], "UPSERT");
    }
    let partial = got
        .iter()
        .find(|n| n.status() == "COMPLETED_WITH_ERRORS")
        .unwrap();
    assert!(partial.body["message"]
        .as_str()
        .unwrap()
        .contains("not ingested"));
}

#[tokio::test]
async fn histories_past_one_page_and_one_library_cost_one_page_per_library_when_steady() {
    // given a library with 1500 ended jobs (two pages), one running, and a second library
    let stack = Stack::start().await;
    library(&stack, "other-terms").await;
    stack
        .control(
            "seed",
            json!({"kind": "library-ingestion", "count": 1500, "statuses": {"COMPLETED": 1},
                   "spreadHours": 100, "newestHoursAgo": 1}),
        )
        .await;
    let seeded =
        "arn:aws:bedrock:us-east-1:123456789012:data-automation-library/seeded0library0001";
    let open = ingest(&stack, seeded).await;
    let source = Arc::new(stack.source(JobKind::LibraryIngestion));
    let poller = stack.poller_for(source.clone(), settings(&stack));

    // when the first run lists it all
    let t0 = Utc::now();
    let first = poller.run(t0, "run-1").await.unwrap();
    assert_eq!((first.listed, first.notifications_sent), (1501, 0));
    let operation = "ListDataAutomationLibraryIngestionJobs";
    assert_eq!(stack.calls_of(operation).await, 2 + 1);

    // when the running job completes and a steady run follows
    stack.set_status(&open, "COMPLETED").await;
    let lists = stack.calls_of(operation).await;
    let second = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then it is told once; the run read one page of libraries, one page per library and one
    // Get, whatever the history
    assert_eq!(second.notifications_sent, 1);
    assert_eq!(stack.calls_of(operation).await - lists, 2);
    assert_eq!(second.bedrock_calls, 1 + 2 + 1);
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].arn(), open);
    assert_eq!(got[0].body["jobName"], "seeded-library");
}

#[tokio::test]
async fn throttled_listings_and_gets_are_absorbed_by_sdk_retries() {
    // given a running job recorded by a first run
    let stack = Stack::start().await;
    let lib = library(&stack, "docs").await;
    let job = ingest(&stack, &lib).await;
    let poller = stack.poller_for(stack.source(JobKind::LibraryIngestion), settings(&stack));
    let t0 = Utc::now();
    poller.run(t0, "run-1").await.unwrap();

    // when it fails and every operation the poller calls is throttled twice
    stack.set_status(&job, "FAILED").await;
    stack
        .throttle(
            &[
                "ListDataAutomationLibraries",
                "ListDataAutomationLibraryIngestionJobs",
                "GetDataAutomationLibraryIngestionJob",
            ],
            2,
        )
        .await;
    let summary = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then the run is whole and the job told once, with the service's error
    assert!(summary.discovery_ok);
    assert_eq!(summary.notifications_sent, 1);
    let stats = stack.control_get("stats").await;
    assert_eq!(
        stats["requests"]["faults"]["ListDataAutomationLibraries"],
        2
    );
    assert_eq!(
        stats["requests"]["faults"]["GetDataAutomationLibraryIngestionJob"],
        2
    );
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert!(got[0].body["message"]
        .as_str()
        .unwrap()
        .starts_with("ValidationError: "));
}
