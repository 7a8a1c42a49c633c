//! No drift between `template.yaml` and the code: the functions it deploys are the crates in
//! `functions/`, the environment it sets is what `Config` reads, and each function's IAM actions
//! are exactly the SDK operations the adapters call (plus the infrastructure it must touch).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

/// `!Ref X` and friends parse as tagged values; the tests only need what is inside.
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

fn strings(v: &Value) -> Vec<String> {
    match untag(v) {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => vec![],
    }
}

/// A policy statement, or the statement a `!If [cond, statement, !Ref AWS::NoValue]` may add.
fn statement(s: &Value) -> Value {
    match s {
        Value::Tagged(t) if t.tag == "If" => t.value.get(1).cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

fn functions(t: &Value) -> Vec<(String, Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(k, r)| (k.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// snake_case SDK method -> PascalCase API action.
fn action(service: &str, method: &str) -> String {
    let pascal: String = method
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("{service}:{pascal}")
}

/// Every `self.client.<op>()` call in an adapter source file.
fn sdk_calls(file: &str, service: &str) -> BTreeSet<String> {
    let src = std::fs::read_to_string(root().join("shared/src/adapters").join(file)).unwrap();
    let compact: String = src.split_whitespace().collect();
    compact
        .split("self.client.")
        .skip(1)
        .filter_map(|rest| rest.split('(').next())
        .map(|m| action(service, m))
        .collect()
}

/// Environment variable names `Config` reads (`get("X")`, `required("X")`, `number("X", ...)`).
fn config_vars() -> BTreeSet<String> {
    let src = std::fs::read_to_string(root().join("shared/src/config.rs")).unwrap();
    ["get(\"", "required(\"", "number(\"", "flag(\"", "topic(\""]
        .iter()
        .flat_map(|p| {
            src.split(p)
                .skip(1)
                .filter_map(|r| r.split('"').next())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_template_deploys_exactly_the_function_crates() {
    let mut crates: Vec<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    crates.sort();
    let t = template();
    let mut binaries: Vec<String> = functions(&t)
        .iter()
        .map(|(_, f)| {
            f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .expect("Binary build property")
                .to_owned()
        })
        .collect();
    binaries.sort();
    assert_eq!(binaries, crates);
    for (name, f) in functions(&t) {
        assert_eq!(
            f["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name}"
        );
    }
}

#[test]
fn the_environment_the_template_sets_is_what_config_reads() {
    let t = template();
    let names = |vars: &Value| -> Vec<String> {
        vars.as_mapping()
            .map(|m| m.keys().map(|k| k.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let mut set: BTreeSet<String> = names(&t["Globals"]["Function"]["Environment"]["Variables"])
        .into_iter()
        .collect();
    for (_, f) in functions(&t) {
        set.extend(names(&f["Properties"]["Environment"]["Variables"]));
    }
    let read = config_vars();
    assert!(
        read.contains("JOBS_TABLE") && read.contains("NOTIFY_TOPIC_ARN"),
        "{read:?}"
    );
    let unknown: Vec<_> = set.difference(&read).collect();
    assert!(
        unknown.is_empty(),
        "template sets variables no code reads: {unknown:?}"
    );
    for required in ["JOBS_TABLE", "NOTIFY_TOPIC_ARN"] {
        assert!(set.contains(required), "template misses {required}");
    }
}

#[test]
fn each_function_may_call_exactly_what_its_adapters_call() {
    // Infrastructure the code does not call by name: the KMS key of the encrypted table and
    // topic, and the dead-letter queue Lambda writes to on the function's behalf.
    let infrastructure: BTreeSet<String> =
        ["kms:Decrypt", "kms:GenerateDataKey", "sqs:SendMessage"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let shared: BTreeSet<String> = sdk_calls("dynamodb.rs", "dynamodb")
        .into_iter()
        .chain(sdk_calls("sns.rs", "sns"))
        .collect();
    let sources = [
        (
            "batch-inference-poller",
            sdk_calls("batch.rs", "bedrock")
                .into_iter()
                .chain(sdk_calls("manifest.rs", "s3"))
                .collect(),
        ),
        (
            "model-import-poller",
            sdk_calls("model_import.rs", "bedrock"),
        ),
        (
            "async-invoke-poller",
            sdk_calls("async_invoke.rs", "bedrock"),
        ),
        (
            "customization-poller",
            sdk_calls("customization.rs", "bedrock"),
        ),
    ];
    for (name, f) in functions(&template()) {
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, source_calls) = sources
            .iter()
            .find(|(b, _)| *b == binary)
            .expect("a known function");
        let granted: BTreeSet<String> = f["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
            .map(|s| statement(&s))
            .flat_map(|s| strings(&s["Action"]))
            .collect();
        assert!(
            granted.iter().all(|a| !a.contains('*')),
            "{name}: wildcard action in {granted:?}"
        );
        let needed: BTreeSet<String> = source_calls.iter().chain(&shared).cloned().collect();
        let expected: BTreeSet<String> = needed.union(&infrastructure).cloned().collect();
        assert_eq!(granted, expected, "{name}: granted vs called");
    }
}

// ---- What a real account would reject (issue 21): checks on the template as written. The
// rendered template (SAM's generated roles, schedules, rules) is checked by
// scripts/render-template.py, run by scripts/check-template.sh.

/// `!Tag value` as (tag, value); `None` for a plain value.
fn tagged(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        _ => None,
    }
}

/// `!GetAtt X.Arn` -> "X.Arn".
fn getatt(v: &Value) -> Option<String> {
    match tagged(v) {
        Some((tag, inner)) if tag == "GetAtt" => inner.as_str().map(str::to_owned),
        _ => None,
    }
}

/// `!Ref X` -> "X".
fn reference(v: &Value) -> Option<String> {
    match tagged(v) {
        Some((tag, inner)) if tag == "Ref" => inner.as_str().map(str::to_owned),
        _ => None,
    }
}

/// `!If [cond, then, else]` -> (cond, then, else).
fn if_parts(v: &Value) -> Option<(String, Value, Value)> {
    match tagged(v) {
        Some((tag, Value::Sequence(s))) if tag == "If" && s.len() == 3 => {
            Some((s[0].as_str()?.to_owned(), s[1].clone(), s[2].clone()))
        }
        _ => None,
    }
}

fn is_no_value(v: &Value) -> bool {
    reference(v).as_deref() == Some("AWS::NoValue")
}

fn events_of(f: &Value, kind: &str) -> Vec<(String, Value)> {
    f["Properties"]["Events"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .filter(|(_, e)| e["Type"].as_str() == Some(kind))
                .map(|(k, e)| (k.as_str().unwrap().to_owned(), e["Properties"].clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Every statement of a function's inline policies, with `!If [c, statement, NoValue]` opened.
fn function_statements(f: &Value) -> Vec<Value> {
    f["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
        .map(|s| statement(&s))
        .collect()
}

fn role_statements(role: &Value) -> Vec<Value> {
    role["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn schedules_run_as_a_role_that_can_write_their_encrypted_dead_letters() {
    let t = template();
    let role = &t["Resources"]["SchedulerRole"];
    assert_eq!(role["Type"].as_str(), Some("AWS::IAM::Role"));
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Principal"]["Service"].as_str(),
        Some("scheduler.amazonaws.com")
    );
    assert_eq!(
        reference(&trust["Condition"]["StringEquals"]["aws:SourceAccount"]).as_deref(),
        Some("AWS::AccountId"),
        "the trust is limited to this account"
    );
    let statements = role_statements(role);
    let grants = |action: &str| -> Vec<String> {
        statements
            .iter()
            .filter(|s| strings(&s["Action"]).iter().any(|a| a == action))
            .flat_map(|s| match &s["Resource"] {
                Value::Sequence(r) => r.iter().filter_map(getatt).collect::<Vec<_>>(),
                r => getatt(r).into_iter().collect(),
            })
            .collect()
    };
    for kms in ["kms:GenerateDataKey", "kms:Decrypt"] {
        assert_eq!(grants(kms), ["JobwatchKey.Arn"], "{kms}");
    }
    assert_eq!(grants("sqs:SendMessage"), ["DeadLetterQueue.Arn"]);
    let mut invoked = grants("lambda:InvokeFunction");
    invoked.sort();
    let mut expected: Vec<String> = functions(&t)
        .iter()
        .map(|(name, _)| format!("{name}.Arn"))
        .collect();
    expected.sort();
    assert_eq!(invoked, expected);
    for (name, f) in functions(&t) {
        for (event, s) in events_of(&f, "ScheduleV2") {
            assert_eq!(
                getatt(&s["RoleArn"]).as_deref(),
                Some("SchedulerRole.Arn"),
                "{name}.{event}: SAM's generated role cannot use the queue's key"
            );
            assert_eq!(
                getatt(&s["DeadLetterConfig"]["Arn"]).as_deref(),
                Some("DeadLetterQueue.Arn")
            );
        }
    }
}

#[test]
fn a_second_stack_in_the_same_account_gets_its_own_names() {
    let t = template();
    assert_eq!(
        t["Resources"]["PollerSchedules"]["Type"].as_str(),
        Some("AWS::Scheduler::ScheduleGroup")
    );
    assert!(t["Resources"]["PollerSchedules"]["Properties"]["Name"].is_null());
    for (name, f) in functions(&t) {
        // CloudFormation names functions within Lambda's 64 characters whatever the stack name.
        assert!(
            f["Properties"]["FunctionName"].is_null(),
            "{name}: a FunctionName built from the stack name can exceed 64 characters"
        );
        let schedules = events_of(&f, "ScheduleV2");
        assert_eq!(schedules.len(), 1, "{name}");
        for (event, s) in schedules {
            assert!(s["Name"].is_null(), "{name}.{event}: fixed schedule name");
            assert_eq!(
                s["OmitName"].as_bool(),
                Some(true),
                "{name}.{event}: SAM would name it {name}{event}"
            );
            assert_eq!(
                reference(&s["GroupName"]).as_deref(),
                Some("PollerSchedules")
            );
        }
    }
}

#[test]
fn reserved_concurrency_is_opt_in() {
    let t = template();
    let p = &t["Parameters"]["ReservedConcurrency"];
    assert_eq!(p["Default"].as_str(), Some(""), "blank by default");
    let (cond, then, otherwise) =
        if_parts(&t["Globals"]["Function"]["ReservedConcurrentExecutions"]).expect("!If");
    assert_eq!(reference(&then).as_deref(), Some("ReservedConcurrency"));
    assert!(is_no_value(&otherwise));
    let condition = format!("{:?}", t["Conditions"][cond.as_str()]);
    assert!(condition.contains("ReservedConcurrency"), "{condition}");
    for (name, f) in functions(&t) {
        assert!(
            f["Properties"]["ReservedConcurrentExecutions"].is_null(),
            "{name} overrides the parameter"
        );
    }
}

#[test]
fn the_key_is_retained_with_the_table() {
    let t = template();
    for name in ["JobsTable", "JobwatchKey"] {
        let r = &t["Resources"][name];
        assert_eq!(r["DeletionPolicy"].as_str(), Some("Retain"), "{name}");
        assert_eq!(r["UpdateReplacePolicy"].as_str(), Some("Retain"), "{name}");
    }
}

#[test]
fn each_failed_invocation_is_recorded_once() {
    for (name, f) in functions(&template()) {
        let p = &f["Properties"];
        assert!(
            p["DeadLetterQueue"].is_null(),
            "{name}: a DeadLetterQueue and an on-failure destination record each failure twice"
        );
        let config = &p["EventInvokeConfig"];
        assert_eq!(config["MaximumRetryAttempts"].as_u64(), Some(0), "{name}");
        assert_eq!(
            getatt(&config["DestinationConfig"]["OnFailure"]["Destination"]).as_deref(),
            Some("DeadLetterQueue.Arn"),
            "{name}"
        );
    }
}

#[test]
fn a_family_switch_turns_off_its_schedule_and_its_event_rule() {
    let t = template();
    for (name, f) in functions(&t) {
        let schedule = &events_of(&f, "ScheduleV2")[0].1;
        let (cond, on, off) = if_parts(&schedule["State"]).expect("schedule State !If");
        assert_eq!(
            (on.as_str(), off.as_str()),
            (Some("ENABLED"), Some("DISABLED"))
        );
        let switch = format!("{:?}", t["Conditions"][cond.as_str()]);
        assert!(switch.contains("PollerEnabled"), "{name}: {switch}");
        for (event, rule) in events_of(&f, "EventBridgeRule") {
            assert_eq!(
                if_parts(&rule["State"]),
                Some((cond.clone(), on.clone(), off.clone())),
                "{name}.{event} must follow the same switch as the schedule"
            );
        }
    }
}

#[test]
fn only_the_pollers_and_cloudwatch_may_publish_and_subscribing_can_be_limited() {
    let t = template();
    let policy = &t["Resources"]["NotificationTopicPolicy"]["Properties"]["PolicyDocument"];
    let statements: Vec<Value> = policy["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(statement)
        .collect();
    let sid = |s: &str| {
        statements
            .iter()
            .find(|x| x["Sid"].as_str() == Some(s))
            .cloned()
    };
    let deny = sid("OnlyThePollersPublish").expect("publish restriction");
    assert_eq!(deny["Effect"].as_str(), Some("Deny"));
    assert_eq!(deny["Principal"].as_str(), Some("*"));
    let mut publishers: Vec<String> = deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(getatt)
        .collect();
    publishers.sort();
    let mut roles: Vec<String> = functions(&t)
        .iter()
        .map(|(n, _)| format!("{n}Role.Arn"))
        .collect();
    roles.sort();
    assert_eq!(publishers, roles);
    assert_eq!(
        deny["Condition"]["Bool"]["aws:PrincipalIsAWSService"].as_str(),
        Some("false"),
        "AWS services (CloudWatch alarms) are governed by the Allow statements"
    );
    let alarms = sid("AlarmsPublish").expect("CloudWatch may publish");
    assert_eq!(
        alarms["Principal"]["Service"].as_str(),
        Some("cloudwatch.amazonaws.com")
    );
    let subscribe = sid("SubscribeOnlyWithAllowedProtocols").expect("subscribe restriction");
    assert_eq!(subscribe["Effect"].as_str(), Some("Deny"));
    assert_eq!(
        reference(&subscribe["Condition"]["StringNotEquals"]["sns:Protocol"]).as_deref(),
        Some("AllowedSubscriptionProtocols")
    );
    assert_eq!(
        t["Parameters"]["AllowedSubscriptionProtocols"]["Default"].as_str(),
        Some("")
    );
}

#[test]
fn kms_grants_go_through_the_services_that_use_the_key() {
    let t = template();
    let mut checked = 0;
    let all: Vec<(String, Value)> = functions(&t)
        .into_iter()
        .flat_map(|(n, f)| {
            function_statements(&f)
                .into_iter()
                .map(move |s| (n.clone(), s))
        })
        .chain(
            role_statements(&t["Resources"]["SchedulerRole"])
                .into_iter()
                .map(|s| ("SchedulerRole".to_owned(), s)),
        )
        .collect();
    for (name, s) in all {
        if strings(&s["Action"]).iter().any(|a| a.starts_with("kms:")) {
            let via = &s["Condition"]["StringEquals"]["kms:ViaService"];
            assert!(
                !via.is_null(),
                "{name}: {:?} without kms:ViaService",
                s["Sid"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "{checked}");
}

#[test]
fn manifest_reading_is_limited_to_manifests_and_their_key() {
    let t = template();
    let (_, batch) = functions(&t)
        .into_iter()
        .find(|(n, _)| n == "BatchInferencePoller")
        .unwrap();
    let statements = function_statements(&batch);
    let get = statements
        .iter()
        .find(|s| strings(&s["Action"]) == ["s3:GetObject"])
        .expect("manifest statement");
    let resource = format!("{:?}", get["Resource"]);
    assert!(
        resource.contains("*/manifest.json.out"),
        "s3:GetObject beyond the manifests: {resource}"
    );
    let decrypt = statements
        .iter()
        .find(|s| s["Sid"].as_str() == Some("DecryptOutputManifests"))
        .expect("optional key of an SSE-KMS output bucket");
    assert_eq!(
        reference(&decrypt["Resource"]).as_deref(),
        Some("BatchOutputKmsKeyArn")
    );
    assert_eq!(
        t["Parameters"]["BatchOutputKmsKeyArn"]["Default"].as_str(),
        Some("")
    );
}

#[test]
fn every_role_the_stack_creates_takes_the_permissions_boundary() {
    let t = template();
    assert_eq!(
        t["Parameters"]["PermissionsBoundaryArn"]["Default"].as_str(),
        Some("")
    );
    let boundary = |v: &Value| {
        if_parts(v)
            .map(|(_, then, otherwise)| {
                reference(&then).as_deref() == Some("PermissionsBoundaryArn")
                    && is_no_value(&otherwise)
            })
            .unwrap_or(false)
    };
    // SAM generates the functions' roles from Globals.
    assert!(boundary(&t["Globals"]["Function"]["PermissionsBoundary"]));
    for (name, f) in functions(&t) {
        assert!(f["Properties"]["Role"].is_null(), "{name}: roles are SAM's");
        assert!(f["Properties"]["PermissionsBoundary"].is_null(), "{name}");
    }
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() == Some("AWS::IAM::Role") {
            assert!(
                boundary(&r["Properties"]["PermissionsBoundary"]),
                "{name:?} without the boundary"
            );
        }
    }
}

#[test]
fn personal_deploy_values_stay_out_of_the_repository() {
    let tracked = std::fs::read_to_string(root().join("samconfig.toml")).unwrap();
    for personal in ["parameter_overrides", "NotificationEmail", "tags ="] {
        assert!(
            !tracked
                .lines()
                .any(|l| !l.trim_start().starts_with('#') && l.contains(personal)),
            "samconfig.toml (tracked) holds {personal}"
        );
    }
    let ignored = std::fs::read_to_string(root().join(".gitignore")).unwrap();
    assert!(
        ignored.lines().any(|l| l.trim() == "/samconfig.local.toml"),
        ".gitignore must list /samconfig.local.toml"
    );
}

#[test]
fn every_poller_may_publish_to_people_and_read_tags_of_its_job_types_only_when_asked() {
    // What notifying needs beyond each family's own actions lives in one managed policy.
    let t = template();
    let policy = &t["Resources"]["NotificationPolicy"]["Properties"];
    let roles: BTreeSet<String> = policy["Roles"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(reference)
        .collect();
    let pollers: BTreeSet<String> = functions(&t)
        .iter()
        .map(|(name, _)| format!("{name}Role"))
        .collect();
    assert_eq!(roles, pollers);
    let statements = policy["PolicyDocument"]["Statement"].as_sequence().unwrap();
    let publish = &statements[0];
    assert_eq!(strings(&publish["Action"]), ["sns:Publish"]);
    assert_eq!(
        reference(&publish["Resource"]).as_deref(),
        Some("PeopleTopic")
    );
    let (condition, tags, otherwise) = if_parts(&statements[1]).expect("tags only when asked");
    assert_eq!(condition, "ReadsTags");
    assert!(is_no_value(&otherwise));
    assert_eq!(strings(&tags["Action"]), ["bedrock:ListTagsForResource"]);
    let types: Vec<String> = strings(&tags["Resource"])
        .iter()
        .map(|arn| arn.rsplit(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "model-invocation-job/*",
            "model-import-job/*",
            "async-invoke/*",
            "model-customization-job/*"
        ]
    );
    // and the people topic, like the other, takes publishes from the pollers only
    let people_policy = &t["Resources"]["PeopleTopicPolicy"]["Properties"]["PolicyDocument"];
    let sids: Vec<String> = people_policy["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|s| strings(&s["Sid"]))
        .collect();
    assert_eq!(sids, ["DenyInsecureTransport", "OnlyThePollersPublish"]);
    let email = &t["Resources"]["EmailSubscription"]["Properties"];
    assert_eq!(
        reference(&email["TopicArn"]).as_deref(),
        Some("PeopleTopic")
    );
}
