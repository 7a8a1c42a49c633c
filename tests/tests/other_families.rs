//! Model import jobs and async invocations on the same core, end to end: exactly one notification
//! per terminal transition, nothing for jobs already finished at the first run, open jobs
//! reconciled by Get, and the family in every message.

use chrono::{Duration, Utc};
use jobwatch::domain::JobKind;
use jobwatch::ports::JobSource;
use jobwatch::PollSettings;
use testkit::Stack;

/// Runs the family's lifecycle: first run (one finished job silent), then two transitions, then
/// a run that reconciles an open job outside the listing window with Get.
async fn lifecycle<S, C, F>(
    stack: &Stack,
    source: impl Fn() -> S,
    create: C,
) -> Vec<testkit::Notification>
where
    S: JobSource,
    C: Fn(usize) -> F,
    F: std::future::Future<Output = String>,
{
    let settings = PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    };
    let old = create(0).await;
    let a = create(1).await;
    let b = create(2).await;
    stack.set_status(&old, "Completed").await;

    // first run: the finished job is recorded silently
    let t0 = Utc::now();
    let first = stack
        .poller_for(source(), settings.clone())
        .run(t0, "run-1")
        .await
        .unwrap();
    assert!(first.first_run);
    assert_eq!((first.listed, first.notifications_sent), (3, 0));

    // both open jobs end; neither is in the next listing window, so Get finds them
    stack.set_status(&a, "Completed").await;
    stack.set_status(&b, "Failed").await;
    let second = stack
        .poller_for(source(), settings.clone())
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();
    assert_eq!(
        (second.listed, second.fetched, second.notifications_sent),
        (0, 2, 2)
    );
    let third = stack
        .poller_for(source(), settings)
        .run(t0 + Duration::minutes(10), "run-3")
        .await
        .unwrap();
    assert_eq!(third.notifications_sent, 0);

    let mut got = stack.notifications().await;
    got.sort_by_key(|n| n.status().to_owned());
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].arn(), got[0].status()), (a.as_str(), "Completed"));
    assert_eq!((got[1].arn(), got[1].status()), (b.as_str(), "Failed"));
    assert!(got.iter().all(|n| n.arn() != old));
    got
}

#[tokio::test]
async fn model_import_jobs_are_notified_once_per_terminal_transition() {
    let stack = &Stack::start().await;
    let got = lifecycle(
        stack,
        || stack.source(JobKind::ModelImport),
        |i| async move { stack.create_import(&format!("import-{i}")).await },
    )
    .await;
    for n in &got {
        assert_eq!(n.attributes["job_kind"], "model-import");
        assert_eq!(n.body["jobKind"], "model-import");
        assert!(n.body["jobName"].as_str().unwrap().starts_with("import-"));
        assert!(
            n.subject
                .starts_with(&format!("[Bedrock] {}: model import import-", n.status())),
            "{}",
            n.subject
        );
        assert_eq!(n.body["inputS3Uri"], "s3://model-bucket/weights/");
    }
}

#[tokio::test]
async fn async_invocations_are_notified_once_with_their_output_location() {
    let stack = &Stack::start().await;
    let got = lifecycle(
        stack,
        || stack.source(JobKind::AsyncInvoke),
        |i| async move { stack.start_async_invoke(&format!("run-{i}")).await },
    )
    .await;
    for n in &got {
        assert_eq!(n.attributes["job_kind"], "async-invoke");
        assert_eq!(
            n.attributes["model_id"],
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:0"
        );
        assert!(n.body["outputS3Uri"]
            .as_str()
            .unwrap()
            .starts_with("s3://video-bucket/run-"));
    }
}

#[tokio::test]
async fn customization_jobs_are_notified_once_with_their_base_model() {
    let stack = &Stack::start().await;
    let got = lifecycle(
        stack,
        || stack.source(JobKind::ModelCustomization),
        |i| async move { stack.create_customization(&format!("tune-{i}")).await },
    )
    .await;
    for n in &got {
        assert_eq!(n.attributes["job_kind"], "model-customization");
        assert!(
            n.arn()
                .contains(":model-customization-job/amazon.titan-text-express-v1/"),
            "{}",
            n.arn()
        );
        assert_eq!(
            n.attributes["model_id"],
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"
        );
        assert_eq!(n.body["inputS3Uri"], "s3://training-bucket/train.jsonl");
    }
}

#[tokio::test]
async fn families_share_one_table_without_interfering() {
    // given one job of each family, all known and open
    let stack = Stack::start().await;
    let batch = stack.create_batch("shared-table").await;
    let import = stack.create_import("shared-table").await;
    let invoke = stack.start_async_invoke("shared").await;
    let now = Utc::now();
    stack.poller().run(now, "b-1").await.unwrap();
    stack
        .poller_for(stack.source(JobKind::ModelImport), stack.settings())
        .run(now, "i-1")
        .await
        .unwrap();
    stack
        .poller_for(stack.source(JobKind::AsyncInvoke), stack.settings())
        .run(now, "a-1")
        .await
        .unwrap();

    // when only the import job ends and every poller runs again
    stack.set_status(&import, "Completed").await;
    let later = now + Duration::minutes(5);
    let b = stack.poller().run(later, "b-2").await.unwrap();
    let i = stack
        .poller_for(stack.source(JobKind::ModelImport), stack.settings())
        .run(later, "i-2")
        .await
        .unwrap();
    let a = stack
        .poller_for(stack.source(JobKind::AsyncInvoke), stack.settings())
        .run(later, "a-2")
        .await
        .unwrap();

    // then each poller watched only its own family, and only the import was notified
    assert_eq!((b.watched, i.watched, a.watched), (1, 1, 1));
    assert_eq!(
        (
            b.notifications_sent,
            i.notifications_sent,
            a.notifications_sent
        ),
        (0, 1, 0)
    );
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].arn(), import);
    assert!(stack
        .record(&batch)
        .await
        .unwrap()
        .watch
        .unwrap()
        .as_str()
        .starts_with("batch-inference#"));
    assert!(stack
        .record(&invoke)
        .await
        .unwrap()
        .watch
        .unwrap()
        .as_str()
        .starts_with("async-invoke#"));
}
