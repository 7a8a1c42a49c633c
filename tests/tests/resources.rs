//! Resources that become ready, end to end against the emulator and moto: provisioned
//! throughput and custom model deployments settle, re-open when they are updated and are
//! notified once per settling; nothing is sent while they merely stay settled; a deleted one
//! is retired; custom models are told once when they become Active.

use chrono::{Duration, Utc};
use jobwatch::domain::JobKind;
use jobwatch::poller::MAX_MISSING;
use jobwatch::ports::JobSource;
use jobwatch::{PollSettings, RunSummary};
use testkit::{Notification, Stack};

fn settings(stack: &Stack) -> PollSettings {
    PollSettings {
        list_margin: Duration::zero(),
        ..stack.settings()
    }
}

/// One run of a fresh poller over `source` now.
async fn run<S: JobSource>(stack: &Stack, source: S, id: &str) -> RunSummary {
    let poller = stack.poller_for(source, settings(stack));
    poller.run(Utc::now(), id.to_owned()).await.unwrap()
}

fn text(n: &Notification) -> &str {
    n.body["text"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_throughput_is_told_each_time_it_settles_and_never_while_it_stays_in_service() {
    let stack = &Stack::start().await;
    let source = || stack.source(JobKind::ProvisionedThroughput);
    assert!(run(stack, source(), "first").await.first_run);

    // Given a new throughput that becomes InService
    let a = stack.create_throughput("pt-support").await;
    assert_eq!(run(stack, source(), "creating").await.notifications_sent, 0);
    stack.set_status(&a, "InService").await;
    assert_eq!(
        run(stack, source(), "in-service").await.notifications_sent,
        1
    );

    // When it is updated, it is watched again and its next InService is told again
    stack.update_throughput(&a, "pt-support-v2").await;
    let updating = run(stack, source(), "updating").await;
    assert_eq!(updating.notifications_sent, 0, "Updating is not news");
    let record = stack.record(&a).await.unwrap();
    assert_eq!(record.status.as_str(), "Updating");
    assert!(
        record.watch.is_some(),
        "a re-opened resource is watched again"
    );
    stack.set_status(&a, "InService").await;
    assert_eq!(
        run(stack, source(), "in-service-again")
            .await
            .notifications_sent,
        1
    );

    // Then ten runs while it stays InService send nothing, at the same cost each
    let mut calls = Vec::new();
    for i in 0..10 {
        let steady = run(stack, source(), &format!("steady-{i}")).await;
        assert_eq!(steady.notifications_sent, 0);
        calls.push(steady.bedrock_calls);
    }
    assert!(
        calls.iter().all(|c| *c == 1),
        "one unfiltered List answers discovery and the Updating ones: {calls:?}"
    );

    // And a second throughput that fails is told once, with why
    let b = stack.create_throughput("pt-batch").await;
    run(stack, source(), "b-creating").await;
    stack.set_status(&b, "Failed").await;
    assert_eq!(run(stack, source(), "b-failed").await.notifications_sent, 1);
    assert_eq!(run(stack, source(), "quiet").await.notifications_sent, 0);

    let got = stack.notifications().await;
    assert_eq!(
        got.len(),
        3,
        "{:?}",
        got.iter().map(|n| n.status()).collect::<Vec<_>>()
    );
    let (first, second, failed) = (&got[0], &got[1], &got[2]);
    for n in [first, second] {
        assert_eq!((n.arn(), n.status()), (a.as_str(), "InService"));
        assert_eq!(n.body["jobKind"], "provisioned-throughput");
        assert_eq!(n.body["details"]["modelUnits"], "2");
        assert_eq!(n.body["details"]["commitmentDuration"], "OneMonth");
        assert!(
            text(n).contains(&format!("Invoke it with modelId = {a}.")),
            "{}",
            text(n)
        );
        assert!(
            text(n).contains(": 2 model units, commitment OneMonth."),
            "{}",
            text(n)
        );
    }
    assert_eq!(first.body["previousStatus"], "Creating");
    assert_eq!(second.body["previousStatus"], "Updating");
    assert_eq!(second.body["jobName"], "pt-support-v2");
    assert_ne!(
        first.body["dedupKey"], second.body["dedupKey"],
        "two settlings, two keys"
    );
    assert!(second
        .subject
        .starts_with("[Bedrock] InService: provisioned throughput pt-support-v2"));
    assert_eq!((failed.arn(), failed.status()), (b.as_str(), "Failed"));
    assert_eq!(failed.attributes["outcome"], "failure");
    let why = failed.body["message"].as_str().unwrap();
    assert!(why.contains("Insufficient capacity"), "{why}");
    assert!(
        text(failed).contains(why),
        "a failed resource's email says why"
    );
    assert!(
        !text(failed).contains("Invoke it"),
        "a failed one is not ready"
    );
}

#[tokio::test]
async fn a_deployment_is_told_when_active_and_again_when_its_update_completes() {
    let stack = &Stack::start().await;
    let (v1, v2) = (
        stack.create_custom_model("support-v1").await,
        stack.create_custom_model("support-v2").await,
    );
    stack.set_status(&v1, "Active").await;
    stack.set_status(&v2, "Active").await;
    let source = || stack.source(JobKind::CustomModelDeployment);
    assert!(run(stack, source(), "first").await.first_run);

    // Given a deployment that becomes Active
    let d = stack.create_deployment("support-endpoint", &v1).await;
    assert_eq!(run(stack, source(), "creating").await.notifications_sent, 0);
    stack.set_status(&d, "Active").await;
    assert_eq!(run(stack, source(), "active").await.notifications_sent, 1);
    assert_eq!(
        run(stack, source(), "still-active")
            .await
            .notifications_sent,
        0
    );

    // When it is updated to another model, the update is watched and told when it completes
    stack.update_deployment(&d, &v2).await;
    assert_eq!(run(stack, source(), "updating").await.notifications_sent, 0);
    assert_eq!(stack.record(&d).await.unwrap().status.as_str(), "Updating");
    stack.set_status(&d, "UpdateCompleted").await;
    assert_eq!(run(stack, source(), "updated").await.notifications_sent, 1);
    for i in 0..3 {
        assert_eq!(
            run(stack, source(), &format!("steady-{i}"))
                .await
                .notifications_sent,
            0
        );
    }

    let got = stack.notifications().await;
    let statuses: Vec<&str> = got.iter().map(Notification::status).collect();
    assert_eq!(statuses, ["Active", "UpdateCompleted"]);
    assert!(got.iter().all(|n| n.arn() == d));
    assert_eq!(got[0].body["modelId"], v1.as_str());
    assert_eq!(got[1].body["modelId"], v2.as_str());
    assert_eq!(got[1].body["details"]["updateModelArn"], v2.as_str());
    assert_eq!(got[1].body["previousStatus"], "Updating");
    assert!(text(&got[1]).contains(&format!("Invoke it on demand with modelId = {d}.")));
}

#[tokio::test]
async fn a_steady_run_gets_the_deployments_being_updated_not_every_active_one() {
    let stack = &Stack::start().await;
    let (v1, v2) = (
        stack.create_custom_model("fleet-v1").await,
        stack.create_custom_model("fleet-v2").await,
    );
    stack.set_status(&v1, "Active").await;
    stack.set_status(&v2, "Active").await;
    let source = || stack.source(JobKind::CustomModelDeployment);
    assert!(run(stack, source(), "first").await.first_run);

    // Given twelve Active deployments, three of them being updated
    let mut deployments = Vec::new();
    for i in 0..12 {
        let d = stack.create_deployment(&format!("endpoint-{i}"), &v1).await;
        stack.set_status(&d, "Active").await;
        deployments.push(d);
    }
    assert_eq!(run(stack, source(), "active").await.notifications_sent, 12);
    for d in &deployments[..3] {
        stack.update_deployment(d, &v2).await;
    }
    run(stack, source(), "updating").await;

    // When the next run finds nothing new
    let steady = run(stack, source(), "steady").await;

    // Then it Gets the three open ones, not every Active deployment a List page returns
    assert_eq!(steady.notifications_sent, 0);
    assert_eq!(
        steady.bedrock_calls, 4,
        "one unfiltered List (discovery and the changed Active ones) + a Get per deployment being updated"
    );
}

#[tokio::test]
async fn a_deleted_resource_is_retired_and_a_custom_model_is_told_once_when_active() {
    let stack = &Stack::start().await;
    let throughputs = || stack.source(JobKind::ProvisionedThroughput);
    run(stack, throughputs(), "first").await;
    let gone = stack.create_throughput("pt-short-lived").await;
    run(stack, throughputs(), "creating").await;
    stack
        .bedrock
        .delete_provisioned_model_throughput()
        .provisioned_model_id(&gone)
        .send()
        .await
        .unwrap();
    let mut retired = 0;
    for i in 0..MAX_MISSING {
        retired += run(stack, throughputs(), &format!("missing-{i}"))
            .await
            .retired;
    }
    assert_eq!(retired, 1);
    let record = stack.record(&gone).await.unwrap();
    assert!(record.retired && record.watch.is_none());

    let models = || stack.source(JobKind::CustomModel);
    run(stack, models(), "models-first").await;
    let model = stack.create_custom_model("support-v3").await;
    run(stack, models(), "model-creating").await;
    stack.set_status(&model, "Active").await;
    assert_eq!(
        run(stack, models(), "model-active")
            .await
            .notifications_sent,
        1
    );
    assert_eq!(
        run(stack, models(), "model-quiet").await.notifications_sent,
        0
    );

    let got = stack.notifications().await;
    assert_eq!(got.len(), 1, "nothing for the deleted throughput");
    assert_eq!((got[0].arn(), got[0].status()), (model.as_str(), "Active"));
    assert_eq!(got[0].body["jobKind"], "custom-model");
    assert_eq!(got[0].body["details"]["customizationType"], "IMPORTED");
    assert!(text(&got[0]).contains("CreateCustomModelDeployment"));
}
