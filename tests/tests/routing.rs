//! Routing notifications end to end on moto + the emulator: owner tags as filterable message
//! attributes, tags that cannot be read, and the two audiences (one JSON document per job for
//! machines, one digest for people when many jobs finish in one run).

use chrono::Utc;
use jobwatch::adapters::families::async_invoke::AsyncInvokeSource;
use jobwatch::adapters::notifier::Sinks;
use jobwatch::notices::Presentation;
use jobwatch::{PollSettings, Poller};
use serde_json::json;
use testkit::Stack;

fn tagged_settings(stack: &Stack) -> PollSettings {
    PollSettings {
        presentation: Presentation {
            account_name: Some("prod".into()),
            notify_tags: vec!["team".into(), "owner".into()],
            ..Default::default()
        },
        ..stack.settings()
    }
}

#[tokio::test]
async fn a_subscriber_filtering_on_a_team_tag_gets_that_teams_jobs_only() {
    // given jobs tagged team=search and team=ads, one untagged, and two filtered subscribers
    let stack = Stack::start().await;
    let search_q = stack
        .subscribe_queue(&stack.topic_arn, Some(json!({"tag.team": ["search"]})))
        .await;
    let ads_q = stack
        .subscribe_queue(&stack.topic_arn, Some(json!({"tag.team": ["ads"]})))
        .await;
    let search = stack
        .create_batch_with_tags("ranker", &[("team", "search"), ("owner", "ana")])
        .await;
    let ads = stack
        .create_batch_with_tags("bidder", &[("team", "ads")])
        .await;
    let untagged = stack.create_batch("orphan").await;
    let poller = stack.poller_with(tagged_settings(&stack));
    poller.run(Utc::now(), "baseline").await.unwrap();
    for arn in [&search, &ads, &untagged] {
        stack.set_status(arn, "Completed").await;
    }

    // when
    let summary = poller.run(Utc::now(), "run-1").await.unwrap();

    // then each team's queue has its job only; everyone is notified, untagged too
    assert_eq!(
        (summary.notifications_sent, summary.tag_reads_failed),
        (3, 0)
    );
    let to_search = stack.notifications_in(&search_q).await;
    assert_eq!(
        to_search.iter().map(|n| n.arn()).collect::<Vec<_>>(),
        [search.as_str()]
    );
    assert_eq!(to_search[0].attributes["tag.team"], "search");
    assert_eq!(to_search[0].attributes["tag.owner"], "ana");
    assert_eq!(
        to_search[0].body["tags"],
        json!({"team": "search", "owner": "ana"})
    );
    assert_eq!(to_search[0].body["accountName"], "prod");
    assert!(
        to_search[0].subject.ends_with("(prod)"),
        "{}",
        to_search[0].subject
    );
    let to_ads = stack.notifications_in(&ads_q).await;
    assert_eq!(
        to_ads.iter().map(|n| n.arn()).collect::<Vec<_>>(),
        [ads.as_str()]
    );
    let everyone = stack.notifications().await;
    assert_eq!(everyone.len(), 3);
    let orphan = everyone.iter().find(|n| n.arn() == untagged).unwrap();
    assert_eq!(orphan.body["tags"], json!({}));
}

#[tokio::test]
async fn tags_that_cannot_be_read_never_block_a_notification() {
    // given a tagged job whose tag read is denied (a role without bedrock:ListTagsForResource)
    let stack = Stack::start().await;
    let arn = stack
        .create_batch_with_tags("denied", &[("team", "search")])
        .await;
    let poller = stack.poller_with(tagged_settings(&stack));
    poller.run(Utc::now(), "baseline").await.unwrap();
    stack.set_status(&arn, "Failed").await;
    stack
        .control(
            "faults",
            json!({"operation": "ListTagsForResource", "error": "AccessDeniedException"}),
        )
        .await;

    // when
    let summary = poller.run(Utc::now(), "run-1").await.unwrap();

    // then it is notified without tags, and the failed read is counted
    assert_eq!(
        (summary.notifications_sent, summary.tag_reads_failed),
        (1, 1)
    );
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["tags"], json!({}));
    assert!(!got[0].attributes.contains_key("tag.team"));
}

#[tokio::test]
async fn fifty_invocations_finishing_in_one_run_give_one_digest_and_fifty_documents() {
    // given a people topic with an email-like subscriber, and a digest threshold of 10
    let stack = Stack::start().await;
    let people_topic = stack.create_topic("people").await;
    let people_q = stack.subscribe_queue(&people_topic, None).await;
    let poller = Poller::new(
        AsyncInvokeSource::new(stack.runtime.clone()).with_tag_reader(stack.bedrock.clone()),
        stack.store(),
        Sinks::new(stack.sns.clone(), &stack.topic_arn).with_people_topic(&people_topic),
        PollSettings {
            digest_threshold: Some(10),
            ..tagged_settings(&stack)
        },
    );
    let mut arns = Vec::new();
    for i in 0..50 {
        let tags = [("team", if i % 2 == 0 { "video" } else { "ads" })];
        arns.push(
            stack
                .start_async_invoke_with_tags(&format!("clip-{i}/"), &tags)
                .await,
        );
    }
    poller.run(Utc::now(), "baseline").await.unwrap();
    for (i, arn) in arns.iter().enumerate() {
        stack
            .set_status(arn, if i % 10 == 0 { "Failed" } else { "Completed" })
            .await;
    }

    // when
    let summary = poller.run(Utc::now(), "run-1").await.unwrap();

    // then machines get 50 schema-valid documents, people one digest
    assert_eq!(summary.notifications_sent, 50);
    assert_eq!((summary.people_messages_sent, summary.digests_sent), (1, 1));
    let documents = stack.notifications().await;
    assert_eq!(documents.len(), 50);
    let digests = stack.envelopes(&people_q).await;
    assert_eq!(digests.len(), 1);
    let subject = digests[0]["Subject"].as_str().unwrap();
    assert!(
        subject.starts_with("[Bedrock] 5 Failed, 45 Completed: 50 async invocations"),
        "{subject}"
    );
    let text = digests[0]["Message"].as_str().unwrap();
    let first_completed = text.find("\nCompleted ").unwrap();
    assert!(
        text.find("\nFailed ").unwrap() < first_completed,
        "failures first"
    );
    for arn in &arns {
        let id = arn.rsplit('/').next().unwrap();
        assert_eq!(text.matches(id).count(), 1, "{id} is listed once");
    }
    let attrs = &digests[0]["MessageAttributes"];
    assert_eq!(attrs["digest"]["Value"], "true");
    assert_eq!(attrs["tag.team"]["Type"], "String.Array");
}
