//! The workflow waits' part of `template.yaml` (issue 31) against the code: the register queue,
//! its consumer (the pollers' binary in its register mode), the families it accepts, and the
//! Step Functions callbacks granted only when `WorkflowWaits=on`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use jobwatch::domain::JobKind;
use jobwatch::workflows::startup::REGISTER_MODE;
use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn source() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

/// `!Tag value` -> (tag, value).
fn tagged(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        _ => None,
    }
}

fn get_att(v: &Value) -> Option<&str> {
    tagged(v)
        .filter(|(tag, _)| tag == "GetAtt")
        .and_then(|(_, v)| v.as_str())
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => vec![],
    }
}

const CALLBACKS: [&str; 3] = [
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
    "states:SendTaskHeartbeat",
];

#[test]
fn the_register_queue_is_encrypted_redriven_and_outlasts_six_function_timeouts() {
    let t = source();
    let queue = &t["Resources"]["WorkflowRegisterQueue"]["Properties"];
    let timeout = t["Resources"]["WorkflowRegister"]["Properties"]["Timeout"]
        .as_u64()
        .expect("a timeout");
    assert!(queue["VisibilityTimeout"].as_u64().expect("set") >= 6 * timeout);
    assert_eq!(
        get_att(&queue["RedrivePolicy"]["deadLetterTargetArn"]),
        Some("WorkflowRegisterDeadLetters.Arn")
    );
    assert!(queue["RedrivePolicy"]["maxReceiveCount"]
        .as_u64()
        .is_some_and(|n| (1..=10).contains(&n)));
    for name in ["WorkflowRegisterQueue", "WorkflowRegisterDeadLetters"] {
        let key = &t["Resources"][name]["Properties"]["KmsMasterKeyId"];
        assert_eq!(
            tagged(key).map(|(tag, v)| (tag, v.as_str())),
            Some(("Ref".into(), Some("JobwatchKey"))),
            "{name}"
        );
    }
}

#[test]
fn the_register_function_is_the_pollers_binary_fed_by_the_queue_with_partial_batch_responses() {
    let t = source();
    let function = &t["Resources"]["WorkflowRegister"];
    let poller = &t["Resources"]["Fn::ForEach::Pollers"][2]["${Family}Poller"];
    // SAM shares a build only between functions whose Metadata are equal (skips included).
    assert_eq!(function["Metadata"], poller["Metadata"], "one build");
    assert_eq!(
        function["Properties"]["CodeUri"],
        poller["Properties"]["CodeUri"]
    );
    let env = &function["Properties"]["Environment"]["Variables"];
    assert_eq!(env["MODE"].as_str(), Some(REGISTER_MODE));
    let event = &function["Properties"]["Events"]["Register"];
    assert_eq!(event["Type"].as_str(), Some("SQS"));
    assert_eq!(
        get_att(&event["Properties"]["Queue"]),
        Some("WorkflowRegisterQueue.Arn")
    );
    assert_eq!(
        strings(&event["Properties"]["FunctionResponseTypes"]),
        vec!["ReportBatchItemFailures"]
    );
}

#[test]
fn the_register_function_accepts_exactly_the_watched_families() {
    let t = source();
    // The Globals' value (the worker reads the same): the register function sets none of its own.
    let own = &t["Resources"]["WorkflowRegister"]["Properties"]["Environment"]["Variables"];
    assert!(own.get("WATCHED_FAMILIES").is_none());
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    let (tag, value) = tagged(&env["WATCHED_FAMILIES"]).expect("!Join");
    assert_eq!(tag, "Join");
    let (tag, list) = tagged(&value[1]).expect("!Ref");
    assert_eq!(
        (tag.as_str(), list.as_str()),
        ("Ref", Some("WatchedFamilies"))
    );
    // and every family the library knows is on that list by default
    let default: BTreeSet<&str> = t["Parameters"]["WatchedFamilies"]["Default"]
        .as_str()
        .expect("a default")
        .split(',')
        .collect();
    let all: BTreeSet<&str> = JobKind::ALL.iter().map(|k| k.family().key).collect();
    assert_eq!(default, all);
}

#[test]
fn workflow_resources_and_outputs_exist_only_when_waits_are_on() {
    let t = source();
    let mut seen = 0;
    for section in ["Resources", "Outputs"] {
        for (name, body) in t[section].as_mapping().expect("a section") {
            let name = name.as_str().unwrap_or_default();
            if name.starts_with("WorkflowRegister") {
                seen += 1;
                assert_eq!(
                    body["Condition"].as_str(),
                    Some("HasWorkflowWaits"),
                    "{name}"
                );
            }
        }
    }
    assert_eq!(
        seen, 7,
        "queue, dead letters, policy, logs, function, two outputs"
    );
    assert_eq!(
        t["Parameters"]["WorkflowWaits"]["Default"].as_str(),
        Some("off")
    );
}

/// The poller's statements that `!If [HasWorkflowWaits, ...]` adds.
fn pollers_workflow_statements(t: &Value) -> Vec<Value> {
    let poller = &t["Resources"]["Fn::ForEach::Pollers"][2]["${Family}Poller"];
    let statements = poller["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .expect("statements");
    statements
        .iter()
        .filter_map(|s| match tagged(s) {
            Some((tag, args)) if tag == "If" && args[0].as_str() == Some("HasWorkflowWaits") => {
                Some(args[1].clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn callbacks_are_what_the_step_functions_adapter_calls_granted_on_star_only_when_on() {
    let src = std::fs::read_to_string(root().join("shared/src/adapters/step_functions.rs"))
        .expect("adapter");
    let compact: String = src.split_whitespace().collect();
    let called: BTreeSet<String> = compact
        .split(".client.")
        .skip(1)
        .filter_map(|r| r.split('(').next())
        .map(|m| {
            format!(
                "states:{}",
                m.split('_')
                    .map(|w| w[..1].to_uppercase() + &w[1..])
                    .collect::<String>()
            )
        })
        .collect();
    assert_eq!(called, CALLBACKS.iter().map(|a| a.to_string()).collect());
    let t = source();
    let poller = pollers_workflow_statements(&t);
    let register =
        t["Resources"]["WorkflowRegister"]["Properties"]["Policies"][0]["Statement"].clone();
    for statements in [
        poller.clone(),
        register.as_sequence().expect("statements").clone(),
    ] {
        let granting: Vec<&Value> = statements
            .iter()
            .filter(|s| {
                strings(&s["Action"])
                    .iter()
                    .any(|a| a.starts_with("states:"))
            })
            .collect();
        assert_eq!(granting.len(), 1);
        let actions: BTreeSet<String> = strings(&granting[0]["Action"]).into_iter().collect();
        assert_eq!(actions, called);
        // SendTask* have no resource type: the task token names the task.
        assert_eq!(granting[0]["Resource"].as_str(), Some("*"));
    }
    let deletes = poller
        .iter()
        .any(|s| strings(&s["Action"]) == ["dynamodb:DeleteItem"]);
    assert!(deletes, "pollers delete the waits they answered");
}
