//! Flow executions end to end (bedrock-agent flows and bedrock-agent-runtime executions on the
//! emulator, moto): two flows with an alias each, first-run silence, one notification per
//! terminal transition in the family's own words, nothing for executions still running,
//! listings past one page of executions and one page of flows that stop at the watermark, and
//! throttling absorbed.

use std::sync::Arc;

use aws_sdk_bedrockagent::types::FlowAliasRoutingConfigurationListItem;
use aws_sdk_bedrockagentruntime::types::{FlowInput, FlowInputContent};
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

fn runtime(stack: &Stack) -> aws_sdk_bedrockagentruntime::Client {
    let config = aws_sdk_bedrockagentruntime::config::Builder::from(&stack.base)
        .endpoint_url(stack.endpoint())
        .build();
    aws_sdk_bedrockagentruntime::Client::from_conf(config)
}

/// A flow (`CreateFlow`) with a `live` alias on version 1 (`CreateFlowAlias`): (flow, alias).
async fn flow_with_alias(stack: &Stack, name: &str) -> (String, String) {
    let flow = stack
        .agent
        .create_flow()
        .name(name)
        .execution_role_arn("arn:aws:iam::123456789012:role/FlowRole")
        .send()
        .await
        .expect("CreateFlow");
    let routing = FlowAliasRoutingConfigurationListItem::builder()
        .flow_version("1")
        .build();
    let alias = stack
        .agent
        .create_flow_alias()
        .flow_identifier(flow.id())
        .name("live")
        .routing_configuration(routing)
        .send()
        .await
        .expect("CreateFlowAlias");
    (flow.id().to_owned(), alias.id().to_owned())
}

/// `StartFlowExecution`; returns the execution ARN.
async fn start(stack: &Stack, (flow, alias): &(String, String)) -> String {
    let input = FlowInput::builder()
        .node_name("FlowInputNode")
        .node_output_name("document")
        .content(FlowInputContent::Document(
            aws_smithy_types::Document::String("summarise the ticket".into()),
        ))
        .build()
        .expect("input");
    runtime(stack)
        .start_flow_execution()
        .flow_identifier(flow)
        .flow_alias_identifier(alias)
        .inputs(input)
        .send()
        .await
        .expect("StartFlowExecution")
        .execution_arn()
        .expect("an ARN")
        .to_owned()
}

#[tokio::test]
async fn two_flows_are_notified_once_per_terminal_transition_in_their_own_words() {
    // given two flows with an alias each: per flow an execution that ended before the first
    // run and two running
    let stack = Stack::start().await;
    let mut running = Vec::new();
    let mut finished_before = Vec::new();
    for name in ["ticket-triage", "invoice-review"] {
        let place = flow_with_alias(&stack, name).await;
        let old = start(&stack, &place).await;
        stack.set_status(&old, "Succeeded").await;
        finished_before.push(old);
        running.push(start(&stack, &place).await);
        running.push(start(&stack, &place).await);
    }
    let source = Arc::new(stack.source(JobKind::FlowExecution));
    let run = |at, id: &'static str| {
        let poller = stack.poller_for(source.clone(), settings(&stack));
        async move { poller.run(at, id).await.unwrap() }
    };

    // when the first run sees them: silence, all six recorded
    let t0 = Utc::now();
    let first = run(t0, "run-1").await;
    assert!(first.first_run);
    assert_eq!((first.listed, first.notifications_sent), (6, 0));

    // when three end (succeeded, failed, timed out), one is stopped and one keeps running
    stack.set_status(&running[0], "Succeeded").await;
    stack.set_status(&running[1], "Failed").await;
    stack.set_status(&running[2], "TimedOut").await;
    let place = running[3].split("/execution/").next().unwrap();
    let (flow, alias) = (
        place
            .split("flow/")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap(),
        place.rsplit('/').next().unwrap(),
    );
    let stopped = runtime(&stack)
        .stop_flow_execution()
        .flow_identifier(flow)
        .flow_alias_identifier(alias)
        .execution_identifier(running[3].rsplit('/').next().unwrap())
        .send()
        .await
        .expect("StopFlowExecution");
    assert_eq!(stopped.status().as_str(), "Aborted");
    let second = run(t0 + Duration::minutes(5), "run-2").await;
    let third = run(t0 + Duration::minutes(10), "run-3").await;

    // then each terminal transition is told once, and nothing for the running one
    assert_eq!(
        (second.notifications_sent, third.notifications_sent),
        (4, 0)
    );
    let got = stack.notifications().await;
    let expected = transitions(&[
        (&running[0], "Succeeded", "success"),
        (&running[1], "Failed", "failure"),
        (&running[2], "TimedOut", "failure"),
        (&running[3], "Aborted", "failure"),
    ]);
    assert_eq!(Notification::told(&got), expected);
    for n in &got {
        assert!(!finished_before.contains(&n.arn().to_owned()));
        assert_eq!(n.attributes["job_kind"], "flow-execution");
        let name = n.body["jobName"].as_str().unwrap();
        assert!(
            ["ticket-triage", "invoice-review"].contains(&name),
            "{name}"
        );
        assert!(n.body["outputS3Uri"].as_str().unwrap().contains("/alias/"));
        assert_eq!(n.body["details"]["flowVersion"], "1");
    }
    let failed = got.iter().find(|n| n.status() == "Failed").unwrap();
    assert!(failed.subject.contains("FAILED") || failed.subject.contains("Failed"));
    let timed_out = got.iter().find(|n| n.status() == "TimedOut").unwrap();
    assert!(
        timed_out.body["message"]
            .as_str()
            .unwrap()
            .contains("ExecutionTimedOut"),
        "{}",
        timed_out.body
    );
}

#[tokio::test]
async fn histories_past_one_page_of_executions_and_of_flows_cost_one_page_per_flow_when_steady() {
    // given 11 flows (two pages of ListFlows with the seeded one) and a flow with 25 ended
    // executions (three pages) and one running
    let stack = Stack::start().await;
    for i in 0..11 {
        flow_with_alias(&stack, &format!("flow-{i:02}")).await;
    }
    stack
        .control(
            "seed",
            json!({"kind": "flow-execution", "count": 25, "statuses": {"Succeeded": 1},
                   "spreadHours": 100, "newestHoursAgo": 1}),
        )
        .await;
    let seeded = ("SEEDEDFLW1".to_owned(), "SEEDEDALI1".to_owned());
    let open = start(&stack, &seeded).await;
    let source = Arc::new(stack.source(JobKind::FlowExecution));
    let poller = stack.poller_for(source.clone(), settings(&stack));

    // when the first run lists it all
    let t0 = Utc::now();
    let first = poller.run(t0, "run-1").await.unwrap();
    assert_eq!((first.listed, first.notifications_sent), (26, 0));
    assert_eq!(stack.calls_of("ListFlows").await, 2);
    // three pages of the seeded flow, one (empty) page of each other flow
    assert_eq!(stack.calls_of("ListFlowExecutions").await, 3 + 11);

    // when the running execution succeeds and a steady run follows
    stack.set_status(&open, "Succeeded").await;
    let lists = stack.calls_of("ListFlowExecutions").await;
    let second = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then it is told once, and the run read two ListFlows pages, one page per flow and one
    // Get, whatever the history
    assert_eq!(second.notifications_sent, 1);
    assert_eq!(stack.calls_of("ListFlowExecutions").await - lists, 12);
    assert_eq!(second.bedrock_calls, 2 + 12 + 1);
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].arn(), open);
    assert_eq!(got[0].body["jobName"], "seeded-flow");
}

#[tokio::test]
async fn throttled_listings_and_gets_are_absorbed_by_sdk_retries() {
    // given a running execution recorded by a first run
    let stack = Stack::start().await;
    let place = flow_with_alias(&stack, "docs").await;
    let execution = start(&stack, &place).await;
    let poller = stack.poller_for(stack.source(JobKind::FlowExecution), settings(&stack));
    let t0 = Utc::now();
    poller.run(t0, "run-1").await.unwrap();

    // when it fails and every operation the poller calls is throttled twice
    stack.set_status(&execution, "Failed").await;
    stack
        .throttle(&["ListFlows", "ListFlowExecutions", "GetFlowExecution"], 2)
        .await;
    let summary = poller
        .run(t0 + Duration::minutes(5), "run-2")
        .await
        .unwrap();

    // then the run is whole and the execution told once
    assert!(summary.discovery_ok);
    assert_eq!(summary.notifications_sent, 1);
    let stats = stack.control_get("stats").await;
    assert_eq!(stats["requests"]["faults"]["ListFlows"], 2);
    assert_eq!(stats["requests"]["faults"]["GetFlowExecution"], 2);
    assert_eq!(stack.notifications().await.len(), 1);
}
