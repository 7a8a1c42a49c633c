//! No drift between `template.yaml` and the code: the template deploys one poller per job family
//! (one `Fn::ForEach` over the `Families` mapping), the environment it sets is what `Config`
//! reads, and each poller's IAM actions are exactly its family's `iam_actions`, which are exactly
//! the SDK operations its adapter calls (plus the infrastructure every poller must touch).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jobwatch::domain::JobKind;
use serde_yaml::value::TaggedValue;
use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The template as written (with its `Fn::ForEach` loops).
fn source() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

/// The template as `AWS::LanguageExtensions` hands it on: loops expanded, and the `Fn::FindInMap`
/// lookups whose keys are now known replaced by their values.
fn template() -> Value {
    let t = source();
    let mappings = t["Mappings"].clone();
    let mut out = t.clone();
    for section in ["Conditions", "Resources", "Outputs"] {
        if let Some(m) = t[section].as_mapping() {
            out[section] = Value::Mapping(expand(m, &t["Parameters"]));
        }
    }
    find_in_map(&out, &mappings)
}

/// A loop's collection: a literal list, or `!Ref` to a CommaDelimitedList parameter (its default).
fn collection(v: &Value, parameters: &Value) -> Vec<String> {
    match reference(v) {
        Some(name) => plain(&parameters[name.as_str()]["Default"])
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect(),
        None => strings(v),
    }
}

/// `Fn::ForEach::Name: [Identifier, [values], fragment]`: one copy of the fragment per value.
fn expand(section: &serde_yaml::Mapping, parameters: &Value) -> serde_yaml::Mapping {
    let mut out = serde_yaml::Mapping::new();
    for (k, v) in section {
        match k.as_str() {
            Some(name) if name.starts_with("Fn::ForEach::") => {
                let ident = v[0].as_str().expect("loop identifier");
                for value in collection(&v[1], parameters) {
                    let copy = substitute(&v[2], ident, &value);
                    out.extend(expand(copy.as_mapping().unwrap(), parameters));
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// `${Identifier}` replaced in keys and strings, `!Ref Identifier` by the value; a `!Sub` left
/// without variables is its string (`!Ref {Fn::Sub: X}` names a resource built in a loop).
fn substitute(v: &Value, ident: &str, value: &str) -> Value {
    let pattern = format!("${{{ident}}}");
    let sub = |v: &Value| substitute(v, ident, value);
    match v {
        Value::String(s) => Value::String(s.replace(&pattern, value)),
        Value::Sequence(items) => Value::Sequence(items.iter().map(sub).collect()),
        Value::Mapping(m) => {
            let m: serde_yaml::Mapping = m.iter().map(|(k, x)| (sub(k), sub(x))).collect();
            match (m.len(), m.get("Ref"), m.get("Fn::GetAtt")) {
                (1, Some(r), _) => tag("Ref", r.clone()),
                (1, _, Some(Value::Sequence(a))) => tag(
                    "GetAtt",
                    Value::String(format!("{}.{}", plain(&a[0]), plain(&a[1]))),
                ),
                _ => Value::Mapping(m),
            }
        }
        Value::Tagged(t) if t.tag == "Ref" && t.value.as_str() == Some(ident) => {
            Value::String(value.to_owned())
        }
        Value::Tagged(t) => {
            let inner = sub(&t.value);
            match (t.tag == "Sub", inner.as_str()) {
                (true, Some(s)) if !s.contains("${") => Value::String(s.to_owned()),
                _ => tag(&t.tag.to_string(), inner),
            }
        }
        other => other.clone(),
    }
}

fn plain(v: &Value) -> String {
    untag(v).as_str().unwrap_or_default().to_owned()
}

fn tag(name: &str, value: Value) -> Value {
    Value::Tagged(Box::new(TaggedValue {
        tag: serde_yaml::value::Tag::new(name.trim_start_matches('!')),
        value,
    }))
}

/// `!FindInMap [Map, Key, Field]` with literal arguments -> the mapping's value.
fn find_in_map(v: &Value, mappings: &Value) -> Value {
    match v {
        Value::Tagged(t) if t.tag == "FindInMap" => {
            let args: Vec<Option<&str>> = t
                .value
                .as_sequence()
                .unwrap()
                .iter()
                .map(|a| match a {
                    Value::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect();
            match args[..] {
                [Some(map), Some(key), Some(field)] => {
                    let found = &mappings[map][key][field];
                    assert!(!found.is_null(), "no {map}.{key}.{field} in Mappings");
                    found.clone()
                }
                _ => tag("FindInMap", find_in_map(&t.value, mappings)),
            }
        }
        Value::Tagged(t) => tag(&t.tag.to_string(), find_in_map(&t.value, mappings)),
        Value::Sequence(items) => {
            Value::Sequence(items.iter().map(|x| find_in_map(x, mappings)).collect())
        }
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, x)| (k.clone(), find_in_map(x, mappings)))
                .collect(),
        ),
        other => other.clone(),
    }
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

/// The fan-out's functions (docs/deploying/organisation-fan-out.md): the one binary in another `MODE`,
/// each with a role of its own; `tests/tests/template.rs` checks them apart (`fan_out_*`).
const FANOUT: [&str; 3] = ["Worker", "Dispatcher", "OrganizationRefresh"];

/// The pollers: one per family.
fn functions(t: &Value) -> Vec<(String, Value)> {
    all_functions(t)
        .into_iter()
        .filter(|(k, _)| !FANOUT.contains(&k.as_str()))
        .collect()
}

/// Every function but the workflow waits' register consumer (its own checks:
/// `tests/tests/workflow_template.rs`).
fn all_functions(t: &Value) -> Vec<(String, Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .filter(|(k, _)| k.as_str() != Some("WorkflowRegister"))
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

/// Every `self.client.<op>()` call in an adapter source file (a family's in `families/`).
fn sdk_calls(file: &str, service: &str) -> BTreeSet<String> {
    let adapters = root().join("shared/src/adapters");
    let path = [adapters.join("families").join(file), adapters.join(file)]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no adapter {file}"));
    let src = std::fs::read_to_string(path).unwrap();
    let compact: String = src.split_whitespace().collect();
    // `self.flows.`: the bedrock-agent client a nested family walks its parents with;
    // `let page = client.`: a page read with a client passed in (cloudwatch.rs's
    // `metric_data`; not dynamodb.rs's `create_table`, which only tests and the demo call).
    ["self.client.", "self.flows.", "letpage=client."]
        .iter()
        .flat_map(|receiver| compact.split(receiver).skip(1))
        .filter_map(|rest| rest.split('(').next())
        .map(|m| action(service, m))
        .collect()
}

/// Environment variable names `Config` reads (`get("X")`, `required("X")`, `number("X", ...)`),
/// itself or through the fleet settings (`REGIONS`, `ACCOUNTS`: shared/src/targets.rs).
fn config_vars() -> BTreeSet<String> {
    let src = [
        "shared/src/config.rs",
        "shared/src/targets.rs",
        "shared/src/workflows/startup.rs",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(root().join(f)).expect(f))
    .collect::<String>();
    [
        "get(\"",
        "required(\"",
        "number(\"",
        "flag(\"",
        "on_off(\"",
        "duration(\"",
        "thresholds(\"",
        "topic(\"",
    ]
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

/// The `Families` mapping: loop key (`BatchInference`) -> entry.
fn families(t: &Value) -> BTreeMap<String, Value> {
    t["Mappings"]["Families"]
        .as_mapping()
        .expect("Mappings.Families")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

/// The adapter source files of each family and the IAM service prefix of their SDK client.
fn adapter(kind: JobKind) -> (&'static str, &'static str) {
    match kind {
        JobKind::BatchInference => ("batch.rs", "bedrock"),
        JobKind::ModelImport => ("model_import.rs", "bedrock"),
        JobKind::AsyncInvoke => ("async_invoke.rs", "bedrock"),
        JobKind::ModelCustomization => ("customization.rs", "bedrock"),
        JobKind::ModelEvaluation => ("evaluation.rs", "bedrock"),
        JobKind::ModelCopy => ("model_copy.rs", "bedrock"),
        // bedrock-agent and bedrock-data-automation-runtime authorize as `bedrock:`.
        JobKind::KbIngestion => ("kb_ingestion.rs", "bedrock"),
        JobKind::DataAutomation => ("data_automation.rs", "bedrock"),
        JobKind::ProvisionedThroughput => ("provisioned_throughput.rs", "bedrock"),
        JobKind::CustomModelDeployment => ("custom_model_deployment.rs", "bedrock"),
        JobKind::CustomModel => ("custom_model.rs", "bedrock"),
        JobKind::AdvancedPromptOptimization => ("advanced_prompt_optimization.rs", "bedrock"),
        JobKind::AutomatedReasoningBuild => ("automated_reasoning_build.rs", "bedrock"),
        // AgentCore's data plane has its own prefix.
        JobKind::AgentcoreBatchEvaluation => ("agentcore_batch_evaluation.rs", "bedrock-agentcore"),
        // bedrock-agent-runtime (and bedrock-agent for ListFlows) authorize as `bedrock:`.
        JobKind::FlowExecution => ("flow_execution.rs", "bedrock"),
        JobKind::LibraryIngestion => ("library_ingestion.rs", "bedrock"),
    }
}

#[test]
fn every_family_is_one_entry_deployed_as_the_one_binary() {
    let t = template();
    let entries = families(&source());
    let src = source();
    let looped: BTreeSet<String> = collection(
        &src["Resources"]["Fn::ForEach::Pollers"][1],
        &src["Parameters"],
    )
    .into_iter()
    .collect();
    assert_eq!(
        looped,
        entries.keys().cloned().collect(),
        "the loop covers every entry"
    );
    let names: BTreeSet<String> = entries
        .values()
        .map(|e| e["Name"].as_str().unwrap().to_owned())
        .collect();
    let kinds: BTreeSet<String> = JobKind::ALL.iter().map(|k| k.as_str().to_owned()).collect();
    assert_eq!(names, kinds, "one entry per JobKind");
    let mut deployed = BTreeSet::new();
    for (name, f) in functions(&t) {
        assert_eq!(
            f["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda")
        );
        assert_eq!(
            f["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some("jobwatch-poller"),
            "{name}: one build definition for every poller"
        );
        let family = f["Properties"]["Environment"]["Variables"]["JOB_FAMILY"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let entry = &entries[name.trim_end_matches("Poller")];
        assert_eq!(entry["Name"].as_str(), Some(family.as_str()), "{name}");
        deployed.insert(family);
    }
    assert_eq!(deployed, kinds, "one poller per family");
    // SAM builds functions with an identical build definition once: the same code, metadata,
    // runtime, handler (and Globals' architecture) for every poller.
    let definitions: BTreeSet<String> = functions(&t)
        .iter()
        .map(|(_, f)| {
            let p = &f["Properties"];
            format!(
                "{:?}",
                (
                    &f["Metadata"],
                    &p["CodeUri"],
                    &p["Runtime"],
                    &p["Handler"],
                    &p["Architectures"]
                )
            )
        })
        .collect();
    assert_eq!(definitions.len(), 1, "{definitions:?}");
}

#[test]
fn every_family_has_a_binary_of_its_own_name_for_local_invokes() {
    let bins = root().join("functions/poller/src/bin");
    for (key, entry) in families(&source()) {
        let name = entry["Name"].as_str().unwrap();
        let kind = JobKind::from_name(name).expect("a known family");
        let poller = entry["Poller"].as_str().unwrap();
        let main = std::fs::read_to_string(bins.join(format!("{poller}.rs")))
            .unwrap_or_else(|_| panic!("{key}: functions/poller/src/bin/{poller}.rs"));
        assert!(
            main.contains(&format!(
                "serve_family(jobwatch::domain::JobKind::{kind:?})"
            )),
            "{poller} serves {kind:?}"
        );
    }
    let main = std::fs::read_to_string(root().join("functions/poller/src/main.rs")).unwrap();
    assert!(main.contains("serve_configured_family()"));
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
    for required in ["JOBS_TABLE", "NOTIFY_TOPIC_ARN", "JOB_FAMILY"] {
        assert!(set.contains(required), "template misses {required}");
    }
}

#[test]
fn each_family_entry_grants_its_iam_actions_which_are_what_its_adapter_calls() {
    for (key, entry) in families(&source()) {
        let kind = JobKind::from_name(entry["Name"].as_str().unwrap()).unwrap();
        let mapped: BTreeSet<String> = strings(&entry["ListActions"])
            .into_iter()
            .chain(strings(&entry["ReadActions"]))
            .collect();
        let declared: BTreeSet<String> = kind
            .family()
            .iam_actions
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(mapped, declared, "{key}: template vs family.rs iam_actions");
        let (file, service) = adapter(kind);
        assert_eq!(sdk_calls(file, service), declared, "{key}: {file} calls");
        assert!(
            entry["ReadResource"]
                .as_str()
                .is_some_and(|r| r.ends_with("/*")),
            "{key}: Get actions on the family's resource type"
        );
    }
}

/// The actions the `Families` mapping grants `kind`'s poller under `key` (`MetricActions`,
/// `PriceActions`).
fn mapped_actions(kind: JobKind, key: &str) -> BTreeSet<String> {
    families(&source())
        .values()
        .find(|e| e["Name"].as_str() == Some(kind.as_str()))
        .map(|e| strings(&e[key]).into_iter().collect())
        .unwrap_or_default()
}

#[test]
fn each_function_may_call_exactly_its_family_and_the_shared_infrastructure() {
    // Infrastructure the code does not call by name: the KMS key of the encrypted table and
    // topic, the dead-letter queue Lambda writes to on the function's behalf, and the member
    // accounts' roles (assumed through the SDK's credentials provider, when MemberRoleArns is set).
    let infrastructure: BTreeSet<String> = [
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "sqs:SendMessage",
        "sts:AssumeRole",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Workflow waits (WorkflowWaits=on): the waits' table calls and the Step Functions callbacks.
    let shared: BTreeSet<String> = sdk_calls("dynamodb.rs", "dynamodb")
        .into_iter()
        .chain(sdk_calls("topic.rs", "sns"))
        .chain(sdk_calls("people_topic.rs", "sns"))
        .chain(sdk_calls("waits.rs", "dynamodb"))
        .chain(sdk_calls("step_functions.rs", "states"))
        .collect();
    let t = template();
    for (name, f) in functions(&t) {
        let kind = JobKind::from_name(
            f["Properties"]["Environment"]["Variables"]["JOB_FAMILY"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let granted: BTreeSet<String> = function_statements(&f)
            .iter()
            .flat_map(|s| strings(&s["Action"]))
            .collect();
        assert!(
            granted.iter().all(|a| !a.contains('*')),
            "{name}: wildcard action in {granted:?}"
        );
        // CloudWatch reads (with Alerts on, the default): what the family's readers call (the
        // idle check's Invocations, the stall check's AWS/Bedrock/Batch).
        let metrics = mapped_actions(kind, "MetricActions");
        if !metrics.is_empty() {
            let mut called = BTreeSet::new();
            if kind == JobKind::ProvisionedThroughput {
                called.extend(sdk_calls("cloudwatch.rs", "cloudwatch"));
            }
            if kind.family().alerts.stall_metrics {
                // batch_metrics.rs reads through cloudwatch.rs's `metric_data`.
                let reader =
                    std::fs::read_to_string(root().join("shared/src/adapters/batch_metrics.rs"));
                assert!(reader.unwrap().contains("metric_data("));
                called.extend(sdk_calls("cloudwatch.rs", "cloudwatch"));
            }
            assert_eq!(
                metrics, called,
                "{name}: MetricActions vs the CloudWatch readers' calls"
            );
        }
        // Its hourly price: what the Price List reader calls.
        let prices = mapped_actions(kind, "PriceActions");
        if !prices.is_empty() {
            assert_eq!(
                prices,
                sdk_calls("pricing.rs", "pricing"),
                "{name}: PriceActions vs the Price List reader's calls"
            );
        }
        let expected: BTreeSet<String> = kind
            .family()
            .iam_actions
            .iter()
            .map(|a| a.to_string())
            .chain(metrics)
            .chain(prices)
            .chain(shared.iter().cloned())
            .chain(infrastructure.iter().cloned())
            .collect();
        assert_eq!(granted, expected, "{name}: granted vs called");
    }
    // The batch poller's optional manifest reading is a policy of its own on its role.
    let manifests = &t["Resources"]["BatchOutputManifestsPolicy"];
    assert_eq!(
        manifests["Properties"]["Roles"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(reference)
            .collect::<Vec<_>>(),
        ["BatchInferencePollerRole"]
    );
    let s3: BTreeSet<String> = policy_statements(manifests)
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .filter(|a| a.starts_with("s3:"))
        .collect();
    assert_eq!(s3, sdk_calls("manifest.rs", "s3"));
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

/// The statements of a separate `AWS::IAM::Policy` or of a topic policy (the same
/// `Properties.PolicyDocument`), with `!If [c, statement, NoValue]` opened.
fn policy_statements(policy: &Value) -> Vec<Value> {
    policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(statement)
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

/// The `AWS::IAM::Policy` resources whose `Roles` name `role`.
fn attached_policies(t: &Value, role: &str) -> Vec<Value> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::IAM::Policy"))
        .filter(|r| {
            r["Properties"]["Roles"]
                .as_sequence()
                .is_some_and(|roles| roles.iter().any(|x| reference(x).as_deref() == Some(role)))
        })
        .cloned()
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
    // Its own statements and the policies attached to it (each poller's, from the loop).
    let statements: Vec<Value> = role_statements(role)
        .iter()
        .map(statement)
        .chain(
            attached_policies(&t, "SchedulerRole")
                .iter()
                .flat_map(policy_statements),
        )
        .collect();
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
    // the fan-out's dispatcher (and refresh, in an !If) besides the pollers
    invoked.retain(|f| f != "Dispatcher.Arn");
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
fn the_table_has_the_index_the_store_reads_and_the_pollers_may_query_only_that_one() {
    use jobwatch::adapters::dynamodb::{FAMILY_WATCH_INDEX, WATCH_INDEX};
    let t = template();
    let table = &t["Resources"]["JobsTable"]["Properties"];
    let listed = table["GlobalSecondaryIndexes"].as_sequence().unwrap();
    // The legacy index exists only while an upgrade from 0.2.0 asks for it.
    let legacy: Vec<_> = listed.iter().filter_map(if_parts).collect();
    assert_eq!(legacy.len(), 1, "one conditional index");
    let (condition, legacy_index, otherwise) = &legacy[0];
    assert_eq!(condition, "KeepsLegacyWatchIndex");
    assert!(is_no_value(otherwise));
    assert_eq!(plain(&legacy_index["IndexName"]), WATCH_INDEX);
    assert_eq!(
        t["Parameters"]["KeepLegacyWatchIndex"]["Default"].as_str(),
        Some("false"),
        "a fresh install writes no legacy index"
    );
    let indexes: BTreeMap<String, Vec<(String, String)>> = listed
        .iter()
        .chain([legacy_index])
        .filter(|index| index.is_mapping())
        .map(|index| {
            let keys = index["KeySchema"].as_sequence().unwrap().iter();
            let keys = keys.map(|k| (plain(&k["AttributeName"]), plain(&k["KeyType"])));
            (plain(&index["IndexName"]), keys.collect())
        })
        .collect();
    let key = |name: &str, kind: &str| (name.to_owned(), kind.to_owned());
    assert_eq!(
        indexes[FAMILY_WATCH_INDEX],
        [key("kind", "HASH"), key("watch", "RANGE")]
    );
    // the one kept for upgrades, and no other
    assert_eq!(indexes[WATCH_INDEX], [key("watch", "HASH")]);
    assert_eq!(indexes.len(), 2);
    let read = format!("${{JobsTable.Arn}}/index/{FAMILY_WATCH_INDEX}");
    let mut granted = 0;
    for (name, f) in functions(&t) {
        let statements = function_statements(&f);
        for s in statements
            .iter()
            .filter(|s| s["Sid"].as_str() == Some("JobsTable"))
        {
            let resources: Vec<String> = s["Resource"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|r| getatt(r).unwrap_or_else(|| plain(r)))
                .collect();
            assert_eq!(resources, ["JobsTable.Arn", read.as_str()], "{name}");
            granted += 1;
        }
    }
    assert!(
        granted >= JobKind::ALL.len(),
        "every poller reads the table"
    );
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

/// A family is switched off by leaving it out of `WatchedFamilies` (nothing is made for it:
/// scripts/render-template.py's `families-off` rendering); what is made runs.
#[test]
fn a_watched_family_gets_its_schedule_and_its_event_rules_enabled() {
    let t = template();
    let enabled = |state: &Value| -> String { plain(state) };
    let mut rules = 0;
    for (name, f) in functions(&t) {
        let parameter = "ENABLED".to_owned();
        let switched_by = enabled;
        let schedule = &events_of(&f, "ScheduleV2")[0].1;
        assert_eq!(switched_by(&schedule["State"]), parameter, "{name}");
        // Every family's rules are in the loop; created for the families Bedrock reports on.
        let key = name.trim_end_matches("Poller");
        let rule = &t["Resources"][format!("{name}StateChange").as_str()];
        assert_eq!(
            plain(&rule["Condition"]),
            format!("{key}HasEvents"),
            "{name}"
        );
        let has_events = !strings(&rule["Properties"]["EventPattern"]["detail-type"]).is_empty();
        if has_events {
            assert_eq!(
                switched_by(&rule["Properties"]["State"]),
                parameter,
                "{name}: rule"
            );
            assert_eq!(
                getatt(&rule["Properties"]["Targets"][0]["Arn"]).as_deref(),
                Some(format!("{name}.Arn").as_str())
            );
            rules += 1;
            // The same rule, switched the same way, on the forwarded events' own bus.
            let forwarded = &t["Resources"][format!("{name}ForwardedStateChange").as_str()];
            assert_eq!(
                plain(&forwarded["Condition"]),
                format!("{key}HasForwardedEvents")
            );
            let forwarded_condition = format!(
                "{:?}",
                t["Conditions"][format!("{key}HasForwardedEvents").as_str()]
            );
            assert!(
                forwarded_condition.contains("ReceivesForwardedEvents"),
                "{forwarded_condition}"
            );
            let p = &forwarded["Properties"];
            assert_eq!(switched_by(&p["State"]), parameter, "{name}: forwarded");
            assert_eq!(
                reference(&p["EventBusName"]).as_deref(),
                Some("ForwardedEventsBus")
            );
            assert_eq!(p["EventPattern"], rule["Properties"]["EventPattern"]);
        }
    }
    let with_events = JobKind::ALL
        .iter()
        .filter(|k| k.family().event.is_some())
        .count();
    assert_eq!(
        rules, with_events,
        "one rule per family that Bedrock reports on"
    );
}

#[test]
fn the_event_rules_match_the_detail_types_the_code_handles() {
    let t = template();
    for (name, f) in functions(&t) {
        let family = f["Properties"]["Environment"]["Variables"]["JOB_FAMILY"]
            .as_str()
            .unwrap();
        let kind = JobKind::from_name(family).unwrap();
        let rule = &t["Resources"][format!("{name}StateChange").as_str()];
        let types = strings(&rule["Properties"]["EventPattern"]["detail-type"]);
        let handled: Vec<String> = kind
            .family()
            .event
            .iter()
            .flat_map(|e| e.detail_types.iter().map(|t| t.to_string()))
            .collect();
        assert_eq!(types, handled, "{name}");
        if !rule.is_null() {
            let permission = &t["Resources"][format!("{name}StateChangePermission").as_str()];
            assert_eq!(
                getatt(&permission["Properties"]["SourceArn"]).as_deref(),
                Some(format!("{name}StateChange.Arn").as_str())
            );
            assert_eq!(
                reference(&permission["Properties"]["FunctionName"]).as_deref(),
                Some(name.as_str())
            );
        }
    }
}

#[test]
fn the_people_and_chat_topics_admit_the_same_publishers_as_the_notification_topic() {
    let t = template();
    let publishers = |policy: &str| -> Vec<String> {
        let deny = policy_statements(&t["Resources"][policy])
            .into_iter()
            .find(|s| s["Sid"].as_str() == Some("OnlyThePollersPublish"))
            .unwrap_or_else(|| panic!("{policy}: publish restriction"));
        let listed = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"].as_sequence();
        listed.unwrap().iter().map(|p| format!("{p:?}")).collect()
    };
    let notification = publishers("NotificationTopicPolicy");
    assert!(
        notification.iter().any(|p| p.contains("OperatorRoleArn")),
        "jobwatch-cli's role, when given"
    );
    for policy in ["PeopleTopicPolicy", "ChatTopicPolicy"] {
        assert_eq!(publishers(policy), notification, "{policy}");
    }
}

#[test]
fn only_the_pollers_publish_notifications_cloudwatch_publishes_alarms_and_subscribing_can_be_limited(
) {
    let t = template();
    let statements = policy_statements(&t["Resources"]["NotificationTopicPolicy"]);
    let sid = |s: &str| {
        statements
            .iter()
            .find(|x| x["Sid"].as_str() == Some(s))
            .cloned()
    };
    let deny = sid("OnlyThePollersPublish").expect("publish restriction");
    assert_eq!(deny["Effect"].as_str(), Some("Deny"));
    assert_eq!(deny["Principal"].as_str(), Some("*"));
    // The pollers by their role path (every function's role is SAM's, on the Globals' path),
    // and the operators' role when given; nothing else.
    let publishers = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        .as_sequence()
        .unwrap();
    assert_eq!(publishers.len(), 2);
    assert_eq!(
        sub_text(&publishers[0]),
        format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{POLLER_PATH}*")
    );
    let (condition, operator, _) = if_parts(&publishers[1]).expect("the operator role, if any");
    assert_eq!(condition, "HasOperatorRole");
    assert_eq!(reference(&operator).as_deref(), Some("OperatorRoleArn"));
    let globals = &source()["Globals"]["Function"];
    assert_eq!(sub_text(&globals["RolePath"]), POLLER_PATH);
    for (name, f) in functions(&t) {
        assert!(
            f["Properties"]["Role"].is_null() && f["Properties"]["RolePath"].is_null(),
            "{name}: SAM's role, on the stack's path"
        );
    }
    assert_eq!(
        deny["Condition"]["Bool"]["aws:PrincipalIsAWSService"].as_str(),
        Some("false"),
        "AWS services (CloudWatch alarms) are governed by the Allow statements"
    );
    assert!(
        sid("AlarmsPublish").is_none(),
        "alarms go to the operations topic, never to subscribers of notifications"
    );
    let ops = &t["Resources"]["OperationsTopicPolicy"]["Properties"]["PolicyDocument"];
    let ops_statements: Vec<Value> = ops["Statement"].as_sequence().unwrap().to_vec();
    let alarms = ops_statements
        .iter()
        .find(|x| x["Sid"].as_str() == Some("AlarmsPublish"))
        .expect("CloudWatch may publish to the operations topic");
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
        .chain(
            policy_statements(&t["Resources"]["BatchOutputManifestsPolicy"])
                .into_iter()
                .map(|s| ("BatchOutputManifestsPolicy".to_owned(), s)),
        )
        .collect();
    for (name, s) in all {
        if strings(&s["Action"]).iter().any(|a| a.starts_with("kms:")) {
            // A condition may depend on the stack's values (`!If`): each branch must hold.
            let branches = match if_parts(&s["Condition"]) {
                Some((_, then, otherwise)) => vec![then, otherwise],
                None => vec![s["Condition"].clone()],
            };
            for condition in branches {
                let via = ["StringEquals", "StringLike"]
                    .iter()
                    .any(|op| !condition[*op]["kms:ViaService"].is_null());
                assert!(via, "{name}: {:?} without kms:ViaService", s["Sid"]);
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "{checked}");
}

#[test]
fn manifest_reading_is_limited_to_manifests_and_their_key() {
    let t = template();
    let policy = &t["Resources"]["BatchOutputManifestsPolicy"];
    assert_eq!(policy["Condition"].as_str(), Some("ReadsManifests"));
    let statements = policy_statements(policy);
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
    // What notifying needs beyond each family's own actions lives in one managed policy, which
    // every poller's role and the worker's attach (it names no role: no list of families).
    let t = template();
    let policy = &t["Resources"]["NotificationPolicy"]["Properties"];
    assert!(
        policy["Roles"].is_null(),
        "attached by the roles, not listed"
    );
    for (name, f) in functions(&t) {
        let attached = f["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|p| reference(p).as_deref() == Some("NotificationPolicy"));
        assert!(attached, "{name} attaches NotificationPolicy");
        assert!(
            attaches_job_tags_when_asked(&f["Properties"]["Policies"]),
            "{name} attaches JobTagsPolicy when NOTIFY_TAGS is set"
        );
    }
    // the register function of workflow waits reads tags, and publishes nothing
    let register = &t["Resources"]["WorkflowRegister"]["Properties"]["Policies"];
    assert!(attaches_job_tags_when_asked(register));
    assert!(!register
        .as_sequence()
        .unwrap()
        .iter()
        .any(|p| reference(p).as_deref() == Some("NotificationPolicy")));
    let worker = &t["Resources"]["WorkerRole"]["Properties"]["ManagedPolicyArns"];
    assert_eq!(
        worker
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(reference)
            .collect::<Vec<_>>(),
        ["NotificationPolicy"]
    );
    assert!(attaches_job_tags_when_asked(worker));
    let statements = policy["PolicyDocument"]["Statement"].as_sequence().unwrap();
    let publish = &statements[0];
    assert_eq!(strings(&publish["Action"]), ["sns:Publish"]);
    assert_eq!(
        reference(&publish["Resource"]).as_deref(),
        Some("PeopleTopic")
    );
    assert!(
        !format!("{statements:?}").contains("ListTagsForResource"),
        "tags are JobTagsPolicy's"
    );
    let job_tags = &t["Resources"]["JobTagsPolicy"];
    assert_eq!(
        plain(&job_tags["Condition"]),
        "ReadsTags",
        "tags only when asked"
    );
    let tags = &job_tags["Properties"]["PolicyDocument"]["Statement"][0];
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
    assert_eq!(
        sids,
        [
            "DenyInsecureTransport",
            "DenyPlainHttpSubscriptions",
            "OnlyThePollersPublish"
        ]
    );
    let email = &t["Resources"]["EmailSubscription"]["Properties"];
    assert_eq!(
        reference(&email["TopicArn"]).as_deref(),
        Some("PeopleTopic")
    );
}

/// Whether a list of policies attaches `!If [ReadsTags, !Ref JobTagsPolicy, !Ref AWS::NoValue]`.
fn attaches_job_tags_when_asked(policies: &Value) -> bool {
    policies.as_sequence().unwrap().iter().any(|p| {
        if_parts(p).is_some_and(|(condition, policy, otherwise)| {
            condition == "ReadsTags"
                && reference(&policy).as_deref() == Some("JobTagsPolicy")
                && is_no_value(&otherwise)
        })
    })
}

/// `MetricName="X"` of every SEARCH expression in a dashboard body.
fn searched_metrics(body: &serde_json::Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let widgets = body["widgets"].as_array().expect("widgets");
    for metric in widgets
        .iter()
        .flat_map(|w| w["properties"]["metrics"].as_array().into_iter().flatten())
    {
        for entry in metric.as_array().into_iter().flatten() {
            let expression = entry["expression"].as_str().unwrap_or_default();
            for part in expression.split("MetricName=\"").skip(1) {
                names.insert(part.split('"').next().unwrap().to_owned());
            }
        }
    }
    names
}

/// The metrics namespace every function gets (per stack).
fn metrics_namespace(t: &Value) -> String {
    plain(&t["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"])
}

#[test]
fn the_dashboard_is_json_and_names_only_metrics_the_code_emits() {
    let t = template();
    let body = plain(&t["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]);
    let body = body
        .replace("${AWS::StackName}", "my-stack")
        .replace("${AWS::Region}", "eu-west-1");
    let body: serde_json::Value = serde_json::from_str(&body).expect("the dashboard body is JSON");
    let used = searched_metrics(&body);
    let emitted: BTreeSet<String> = jobwatch::metrics::names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let unknown: Vec<_> = used.difference(&emitted).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard shows metrics no code emits: {unknown:?}"
    );
    for shown in [
        "OpenJobs",
        "FinishedSuccess",
        "FinishedFailure",
        "NotificationLag",
        "Failures",
        "SuccessfulPolls",
    ] {
        assert!(used.contains(shown), "the dashboard shows {shown}");
    }
    let namespace = metrics_namespace(&t).replace("${AWS::StackName}", "my-stack");
    let text = body.to_string();
    assert!(
        text.contains(&format!("{{\\\"{namespace}\\\",JobKind}}")),
        "every SEARCH is over the functions' namespace {namespace}, per JobKind"
    );
}

#[test]
fn every_alarm_watches_a_metric_that_exists_tells_operations_and_says_what_to_check_first() {
    let t = template();
    let namespace = metrics_namespace(&t);
    let emitted = jobwatch::metrics::names();
    let family_names: BTreeSet<String> =
        JobKind::ALL.iter().map(|k| k.as_str().to_owned()).collect();
    let mut ours = BTreeMap::new();
    for (id, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
            continue;
        }
        let (id, p) = (id.as_str().unwrap(), &r["Properties"]);
        let description = plain(&p["AlarmDescription"]);
        let description = if description.is_empty() {
            strings(&p["AlarmDescription"]).join(" ")
        } else {
            description
        };
        assert!(description.contains("Check first"), "{id}: {description}");
        assert_eq!(
            p["AlarmActions"], p["OKActions"],
            "{id} recovers where it alarmed"
        );
        assert!(
            !format!("{:?}", p["AlarmActions"]).contains("NotificationTopic"),
            "{id}"
        );
        if plain(&p["Namespace"]) == namespace {
            let metric = plain(&p["MetricName"]);
            assert!(
                emitted.contains(&metric.as_str()),
                "{id} watches {metric}, which no code emits"
            );
            let kind = plain(&p["Dimensions"][0]["Value"]);
            // The fan-out's worker reports under its own name (`MetricsSink::emit_health`), the
            // workflow waits under theirs (`MetricsSink::emit_workflows`).
            let fan_out = kind == "worker";
            let workflows = kind == jobwatch::metrics::WORKFLOWS;
            assert!(
                family_names.contains(&kind) || fan_out || workflows,
                "{id} dimension {kind}"
            );
            ours.insert(id.to_owned(), (metric, kind));
        }
    }
    for kind in JobKind::ALL {
        let watched: Vec<&String> = ours
            .values()
            .filter(|(_, k)| k == kind.as_str())
            .map(|(m, _)| m)
            .collect();
        assert!(
            watched.contains(&&"SuccessfulPolls".to_owned()),
            "{kind} has a silence alarm"
        );
        assert!(
            watched.contains(&&"NotificationsPending".to_owned()),
            "{kind} has a pending alarm"
        );
    }
    let silent = &t["Resources"]["BatchInferencePollerSilent"]["Properties"];
    assert_eq!(silent["EvaluationPeriods"].as_u64(), Some(3));
    assert_eq!(
        silent["ComparisonOperator"].as_str(),
        Some("LessThanThreshold")
    );
    assert_eq!(
        silent["TreatMissingData"].as_str(),
        Some("breaching"),
        "missing data is breaching (a family not watched has no alarm)"
    );
    let dead_letters = &t["Resources"]["DeadLetterAlarm"]["Properties"];
    assert_eq!(
        dead_letters["MetricName"].as_str(),
        Some("NumberOfMessagesSent"),
        "messages arriving in a period: the alarm recovers by itself"
    );
    let ops_topic = &t["Resources"]["OperationsTopic"]["Properties"];
    assert!(
        !ops_topic["KmsMasterKeyId"].is_null(),
        "the operations topic is encrypted"
    );
}

// ---- Chat and EventBridge sinks (issue 18).

/// The condition, statement of a `!If [c, statement, NoValue]` in the notification policy, by Sid.
fn optional_notification_statement(t: &Value, sid: &str) -> (String, Value) {
    let statements = t["Resources"]["NotificationPolicy"]["Properties"]["PolicyDocument"]
        ["Statement"]
        .as_sequence()
        .unwrap();
    statements
        .iter()
        .filter_map(if_parts)
        .find(|(_, s, otherwise)| s["Sid"].as_str() == Some(sid) && is_no_value(otherwise))
        .map(|(condition, s, _)| (condition, s))
        .unwrap_or_else(|| panic!("no optional statement {sid}"))
}

#[test]
fn the_chat_topic_is_optional_encrypted_and_only_the_pollers_publish_to_it() {
    let t = template();
    let topic = &t["Resources"]["ChatTopic"];
    assert_eq!(topic["Condition"].as_str(), Some("CreateChatTopic"));
    assert_eq!(
        reference(&topic["Properties"]["KmsMasterKeyId"]).as_deref(),
        Some("JobwatchKey")
    );
    let policy = &t["Resources"]["ChatTopicPolicy"]["Properties"]["PolicyDocument"];
    let sids: Vec<String> = policy["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|s| strings(&s["Sid"]))
        .collect();
    assert_eq!(
        sids,
        [
            "DenyInsecureTransport",
            "DenyPlainHttpSubscriptions",
            "OnlyThePollersPublish"
        ]
    );
    // and the pollers may publish there only when there is a chat topic, and only there
    let (condition, publish) = optional_notification_statement(&t, "PublishToChat");
    assert_eq!(condition, "HasChat");
    assert_eq!(strings(&publish["Action"]), ["sns:Publish"]);
    let (_, created, existing) = if_parts(&publish["Resource"]).unwrap();
    assert_eq!(reference(&created).as_deref(), Some("ChatTopic"));
    assert_eq!(
        reference(&existing).as_deref(),
        Some("ExistingChatTopicArn")
    );
    // and the pollers are told which topic
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    let (condition, _, _) = if_parts(&env["CHAT_TOPIC_ARN"]).unwrap();
    assert_eq!(condition, "CreateChatTopic");
}

#[test]
fn chat_channels_only_receive_notifications_their_role_and_guardrail_allow_nothing() {
    let t = template();
    for (name, condition, kind) in [
        (
            "SlackChannel",
            "HasSlackChannel",
            "AWS::Chatbot::SlackChannelConfiguration",
        ),
        (
            "TeamsChannel",
            "HasTeamsChannel",
            "AWS::Chatbot::MicrosoftTeamsChannelConfiguration",
        ),
    ] {
        let channel = &t["Resources"][name];
        assert_eq!(channel["Type"].as_str(), Some(kind));
        assert_eq!(channel["Condition"].as_str(), Some(condition));
        let p = &channel["Properties"];
        assert_eq!(
            getatt(&p["IamRoleArn"]).as_deref(),
            Some("ChatChannelRole.Arn")
        );
        let guardrails: Vec<String> = p["GuardrailPolicies"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(reference)
            .collect();
        assert_eq!(guardrails, ["ChatGuardrailPolicy"], "{name}");
        assert_eq!(p["UserRoleRequired"].as_bool(), Some(false));
    }
    // The guardrail (the ceiling for anyone in the channel) denies every action.
    let guardrail = &t["Resources"]["ChatGuardrailPolicy"]["Properties"]["PolicyDocument"];
    let statements = guardrail["Statement"].as_sequence().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Effect"].as_str(), Some("Deny"));
    assert_eq!(strings(&statements[0]["Action"]), ["*"]);
    // The channel role: only the chat service of this account assumes it, and it has no policy
    // of its own.
    let role = &t["Resources"]["ChatChannelRole"]["Properties"];
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Principal"]["Service"].as_str(),
        Some("chatbot.amazonaws.com")
    );
    assert!(!trust["Condition"]["StringEquals"]["aws:SourceAccount"].is_null());
    assert!(role["Policies"].is_null());
    let attached: Vec<String> = role["ManagedPolicyArns"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(reference)
        .collect();
    assert_eq!(attached, ["ChatGuardrailPolicy"]);
}

#[test]
fn events_go_only_to_the_named_bus_and_only_from_our_source() {
    let t = template();
    let (condition, put) = optional_notification_statement(&t, "PutEventsOnTheBus");
    assert_eq!(condition, "HasEventBus");
    // exactly what the adapter calls
    assert_eq!(
        strings(&put["Action"]),
        Vec::from_iter(sdk_calls("eventbridge.rs", "events"))
    );
    let resource = strings(&put["Resource"]).join("");
    assert!(
        resource.ends_with(":event-bus/${EventBusName}") && !resource.contains('*'),
        "{resource}"
    );
    assert_eq!(
        put["Condition"]["StringEquals"]["events:source"].as_str(),
        Some(jobwatch::notices::bus_event::EVENT_SOURCE)
    );
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        reference(&env["EVENT_BUS_NAME"]).as_deref(),
        Some("EventBusName")
    );
    assert_eq!(
        t["Parameters"]["EventBusName"]["Default"].as_str(),
        Some(""),
        "no events unless asked"
    );
}

// ---- One deployment for every region and account (issue 19): the central template's scopes,
// its bus policy, and member-account.yaml.

/// The IAM path of the roles the central stack owns (Globals: RolePath).
const POLLER_PATH: &str = "/bedrock-jobwatch/${AWS::StackName}/";

fn member_template() -> Value {
    let text =
        std::fs::read_to_string(root().join("member-account.yaml")).expect("member-account.yaml");
    serde_yaml::from_str(&text).expect("member-account.yaml parses")
}

/// `!Sub "text"` or `!Sub ["text", {...}]` -> "text".
fn sub_text(v: &Value) -> String {
    match tagged(v) {
        Some((tag, Value::String(text))) if tag == "Sub" => text.clone(),
        Some((tag, Value::Sequence(parts))) if tag == "Sub" => {
            parts[0].as_str().unwrap_or_default().to_owned()
        }
        _ => v.as_str().unwrap_or_default().to_owned(),
    }
}

#[test]
fn member_accounts_are_reached_only_through_the_listed_roles() {
    let t = source();
    for (name, f) in functions(&template()) {
        let statements: Vec<Value> = f["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter(|s| strings(&statement(s)["Action"]) == ["sts:AssumeRole"])
            .cloned()
            .collect();
        assert_eq!(statements.len(), 1, "{name}: one AssumeRole statement");
        let (condition, assume, otherwise) = if_parts(&statements[0]).expect("an !If");
        assert_eq!(
            condition, "AssumesMemberRoles",
            "{name}: only when roles are listed"
        );
        assert!(is_no_value(&otherwise));
        let (tag, split) = tagged(&assume["Resource"]).expect("!Split");
        assert_eq!(tag, "Split", "{name}: the listed roles, not a pattern");
        assert_eq!(reference(&split[1]).as_deref(), Some("MemberRoleArns"));
        // Reads of other regions of the own account: every region only when Regions is set.
        let reads = f["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| s["Sid"].as_str() == Some("ReadJobs"))
            .cloned()
            .unwrap();
        let (_, read_vars) = tagged(&reads["Resource"]).unwrap();
        let (condition, all, own) = if_parts(&read_vars[1]["ReadRegion"]).unwrap();
        assert_eq!(
            (condition.as_str(), all.as_str()),
            ("WatchesOtherRegions", Some("*"))
        );
        assert_eq!(reference(&own).as_deref(), Some("AWS::Region"));
    }
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(reference(&env["REGIONS"]).as_deref(), Some("Regions"));
    assert_eq!(
        reference(&env["ACCOUNT_EXTERNAL_ID"]).as_deref(),
        Some("MemberExternalId")
    );
    let (condition, with_self, roles_only) = if_parts(&env["ACCOUNTS"]).unwrap();
    assert_eq!(condition, "WatchesOwnAccountToo");
    assert_eq!(sub_text(&with_self), "self,${MemberRoleArns}");
    assert_eq!(reference(&roles_only).as_deref(), Some("MemberRoleArns"));
    assert_eq!(
        t["Parameters"]["MemberExternalId"]["NoEcho"].as_bool(),
        Some(true)
    );
    for p in ["Regions", "MemberRoleArns", "MemberExternalId"] {
        assert_eq!(
            t["Parameters"][p]["Default"].as_str(),
            Some(""),
            "{p}: off by default"
        );
    }
}

#[test]
fn bedrock_events_forwarded_from_any_account_and_region_reach_the_rules() {
    let t = template();
    let rules: Vec<&Value> = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Events::Rule"))
        .collect();
    assert!(!rules.is_empty());
    for rule in rules {
        let keys: BTreeSet<&str> = rule["Properties"]["EventPattern"]
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["source", "detail-type"]),
            "no account or region filter"
        );
    }
    for (name, condition) in [
        ("OrganizationEventsPolicy", "ReceivesOrganizationEvents"),
        ("AccountEventsPolicy", "ReceivesAccountEvents"),
    ] {
        let policy = &t["Resources"][name];
        assert_eq!(policy["Type"].as_str(), Some("AWS::Events::EventBusPolicy"));
        assert_eq!(policy["Condition"].as_str(), Some(condition));
        let statement = &policy["Properties"]["Statement"];
        assert_eq!(strings(&statement["Action"]), ["events:PutEvents"]);
        assert_eq!(
            strings(&statement["Condition"]["ForAllValues:StringEquals"]["events:source"]),
            ["aws.bedrock"],
            "{name}: Bedrock's events only"
        );
        // A bus of its own: never the default bus, where other teams' rules would match.
        assert_eq!(
            getatt(&statement["Resource"]).as_deref(),
            Some("ForwardedEventsBus.Arn")
        );
        assert_eq!(
            reference(&policy["Properties"]["EventBusName"]).as_deref(),
            Some("ForwardedEventsBus")
        );
    }
    let organization = &t["Resources"]["OrganizationEventsPolicy"]["Properties"]["Statement"];
    assert_eq!(
        reference(&organization["Condition"]["StringEquals"]["aws:PrincipalOrgID"]).as_deref(),
        Some("EventSourceOrganizationId")
    );
}

#[test]
fn the_member_role_may_read_exactly_what_the_families_call() {
    let m = member_template();
    let role = &m["Resources"]["ReaderRole"];
    assert_eq!(
        reference(&role["Properties"]["RoleName"]).as_deref(),
        Some("ReaderRoleName")
    );
    assert_eq!(
        m["Parameters"]["ReaderRoleName"]["Default"].as_str(),
        Some("bedrock-jobwatch-reader")
    );
    // Every family switched on: each `!If [Reads<Family>, statement, NoValue]` is its statement.
    let statements: Vec<Value> = role_statements(role).iter().map(statement).collect();
    let granted: BTreeSet<String> = statements
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .filter(|a| a.starts_with("bedrock:") || a.starts_with("bedrock-agentcore:"))
        .collect();
    let called: BTreeSet<String> = JobKind::ALL
        .iter()
        .flat_map(|k| k.family().iam_actions.iter().map(|a| a.to_string()))
        .chain(["bedrock:ListTagsForResource".to_string()])
        .collect();
    assert_eq!(
        granted, called,
        "member-account.yaml vs family.rs iam_actions"
    );
    // Each family's Get actions on its own resource type (the central Families mapping's).
    for (key, entry) in families(&source()) {
        let resource = entry["ReadResource"].as_str().unwrap();
        let service = entry["ReadService"].as_str().unwrap();
        for action in strings(&entry["ReadActions"]) {
            assert!(
                action.starts_with(&format!("{service}:")),
                "{key}: {action}"
            );
            let on_its_type = statements.iter().any(|s| {
                strings(&s["Action"]).contains(&action)
                    && sub_text(&s["Resource"])
                        .ends_with(&format!(":{service}:*:${{AWS::AccountId}}:{resource}"))
            });
            assert!(
                on_its_type,
                "{key}: {action} on {resource} of this account, any region"
            );
        }
        for action in strings(&entry["ListActions"]) {
            let list = statements
                .iter()
                .find(|s| strings(&s["Action"]).contains(&action));
            assert_eq!(
                list.and_then(|s| s["Resource"].as_str()),
                Some("*"),
                "{action}"
            );
        }
    }
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        sub_text(&trust["Principal"]["AWS"]),
        "arn:${AWS::Partition}:iam::${CentralAccountId}:root"
    );
    assert_eq!(
        sub_text(&trust["Condition"]["ArnLike"]["aws:PrincipalArn"]),
        format!(
            "arn:${{AWS::Partition}}:iam::${{CentralAccountId}}:role{}*",
            POLLER_PATH.replace("AWS::StackName", "CentralStackName")
        ),
        "only roles on the central stack's path"
    );
    let (condition, external, _) = if_parts(&trust["Condition"]["StringEquals"]).unwrap();
    assert_eq!(condition, "HasExternalId");
    assert_eq!(
        reference(&external["sts:ExternalId"]).as_deref(),
        Some("ExternalId")
    );
}

#[test]
fn the_member_role_grants_a_family_only_while_its_switch_is_on() {
    let (m, central) = (member_template(), source());
    let statements = role_statements(&m["Resources"]["ReaderRole"]);
    for (key, entry) in families(&central) {
        // one switch per family of the central stack's mapping, on by default (as the central
        // stack's WatchedFamilies lists every family by default)
        let switch = format!("{key}PollerEnabled");
        assert_eq!(
            plain(&m["Parameters"][&switch]["Default"]),
            "true",
            "{switch}"
        );
        assert_eq!(
            strings(&m["Parameters"][&switch]["AllowedValues"]),
            ["true", "false"],
            "{switch}"
        );
        let condition = format!("Reads{key}");
        let (tag, args) = tagged(&m["Conditions"][&condition]).unwrap();
        assert_eq!(tag, "Equals", "{condition}");
        assert_eq!(reference(&args[0]).as_deref(), Some(switch.as_str()));
        assert_eq!(args[1].as_str(), Some("true"));
        // and every statement granting one of its actions is under that condition
        let actions: Vec<String> = strings(&entry["ListActions"])
            .into_iter()
            .chain(strings(&entry["ReadActions"]))
            .collect();
        for action in actions {
            let under: Vec<String> = statements
                .iter()
                .filter(|s| strings(&statement(s)["Action"]).contains(&action))
                .map(|s| if_parts(s).map(|(c, _, _)| c).unwrap_or_default())
                .collect();
            assert_eq!(under, [condition.as_str()], "{action}");
        }
    }
    // the tag reads name only the switched-on families' resource types
    let tags = statements
        .iter()
        .map(statement)
        .find(|s| s["Sid"].as_str() == Some("ReadJobTags"))
        .unwrap();
    for resource in tags["Resource"].as_sequence().unwrap() {
        let (condition, _, otherwise) = if_parts(resource).expect("each under its family's switch");
        assert!(
            condition.starts_with("Reads") && is_no_value(&otherwise),
            "{condition}"
        );
    }
    assert!(m["Rules"]["AtLeastOneFamily"]["Assertions"][0]["Assert"].is_mapping());
}

#[test]
fn a_member_role_reads_batch_output_manifests_only_when_asked_and_only_the_manifests() {
    let (m, central) = (member_template(), source());
    for parameter in ["BatchOutputManifestS3Arn", "BatchOutputKmsKeyArn"] {
        for field in ["Type", "Default", "AllowedPattern"] {
            assert_eq!(
                m["Parameters"][parameter][field], central["Parameters"][parameter][field],
                "{parameter}.{field}"
            );
        }
    }
    let statements = role_statements(&m["Resources"]["ReaderRole"]);
    let under = |sid: &str| {
        let found = statements
            .iter()
            .find(|s| statement(s)["Sid"].as_str() == Some(sid));
        let (condition, granted, _) = if_parts(found.expect(sid)).expect("conditional");
        (condition, granted)
    };
    let (condition, get) = under("ReadOutputManifests");
    assert_eq!(condition, "ReadsManifests");
    assert_eq!(strings(&get["Action"]), ["s3:GetObject"]);
    assert_eq!(
        sub_text(&get["Resource"]),
        "${Prefix}*/manifest.json.out",
        "the manifests, not the model outputs"
    );
    let reads = format!("{:?}", m["Conditions"]["ReadsManifests"]);
    assert!(reads.contains("ReadsBatchInference"), "{reads}");
    let (condition, decrypt) = under("DecryptOutputManifests");
    assert_eq!(condition, "HasOutputKey");
    assert_eq!(strings(&decrypt["Action"]), ["kms:Decrypt"]);
    assert_eq!(
        decrypt["Condition"]["StringLike"]["kms:ViaService"].as_str(),
        Some("s3.*.amazonaws.com")
    );
}

#[test]
fn members_forward_the_event_types_the_central_rules_take() {
    let m = member_template();
    let rule = &m["Resources"]["ForwardBedrockEvents"];
    let forwarded: BTreeSet<String> = strings(&rule["Properties"]["EventPattern"]["detail-type"])
        .into_iter()
        .collect();
    let central: BTreeSet<String> = families(&source())
        .values()
        .flat_map(|entry| strings(&entry["EventTypes"]))
        .collect();
    assert_eq!(forwarded, central);
    assert_eq!(
        strings(&rule["Properties"]["EventPattern"]["source"]),
        ["aws.bedrock"]
    );
    let target = &rule["Properties"]["Targets"][0];
    assert_eq!(
        reference(&target["Arn"]).as_deref(),
        Some("CentralEventBusArn")
    );
    assert_eq!(
        getatt(&target["RoleArn"]).as_deref(),
        Some("ForwarderRole.Arn")
    );
    let forwarder = role_statements(&m["Resources"]["ForwarderRole"]);
    assert_eq!(forwarder.len(), 1);
    assert_eq!(strings(&forwarder[0]["Action"]), ["events:PutEvents"]);
    assert_eq!(
        reference(&forwarder[0]["Resource"]).as_deref(),
        Some("CentralEventBusArn")
    );
    // The role is global: one region's stack instance creates it; no rule forwards to its own bus.
    assert_eq!(
        m["Resources"]["ReaderRole"]["Condition"].as_str(),
        Some("CreatesReaderRole")
    );
    assert_eq!(rule["Condition"].as_str(), Some("ForwardsEvents"));
    assert!(
        m["Transform"].is_null(),
        "plain CloudFormation, for StackSets"
    );
}

// ---- One family list (issue 29): where a family is spelled out, and what is derived from the
// `Families` mapping.

/// Places in a template (section, then the parameter, condition, resource or output; the
/// `Families` mapping as one place) whose lines name a family: its loop key, its name or its
/// resource type. Comments are not places.
fn family_sites(text: &str, tokens: &[String], others: &[String]) -> BTreeSet<String> {
    let mut sites = BTreeSet::new();
    let (mut section, mut item) = (String::new(), String::new());
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let key = trimmed.split(':').next().unwrap_or_default().to_owned();
        match indent {
            0 => {
                section = key;
                item.clear();
            }
            2 => item = key,
            _ => {}
        }
        let code = line.split(" #").next().unwrap_or(line);
        if indent > 0 && tokens.iter().any(|t| names(code, t, others)) {
            sites.insert(format!("{section}.{item}"));
        }
    }
    sites
}

/// Whether `line` names `token` where no longer token of another family (`CustomModelDeployment`
/// for `CustomModel`, `custom-model-deployment` for `custom-model`) starts.
fn names(line: &str, token: &str, others: &[String]) -> bool {
    line.match_indices(token).any(|(at, _)| {
        !others.iter().any(|o| {
            o.len() > token.len() && o.starts_with(token) && line[at..].starts_with(o.as_str())
        })
    })
}

/// Every family's tokens (to tell `CustomModel` from `CustomModelDeployment`).
fn all_tokens(src: &Value) -> Vec<String> {
    families(src)
        .iter()
        .flat_map(|(k, e)| family_tokens(k, e))
        .collect()
}

/// What names a family in the templates: its loop key (`ModelCopy`, as in `ModelCopyPoller`),
/// its name (`model-copy`) and its Get actions' resource type (`model-copy-job/*`).
fn family_tokens(key: &str, entry: &Value) -> Vec<String> {
    vec![
        key.to_owned(),
        plain(&entry["Name"]),
        plain(&entry["ReadResource"]),
    ]
}

/// Places that name one family for a feature of that family alone: not places to edit when a
/// family is added.
const FEATURE_SITES: [(&str, &str); 3] = [
    // an example in the parameter's description (a threshold per family)
    ("AsyncInvoke", "Parameters.DigestThreshold"),
    // batch output manifests (BatchOutputManifestS3Arn)
    ("BatchInference", "Resources.BatchOutputManifestsPolicy"),
    ("BatchInference", "Parameters.AlertStuckAfter"),
];

/// The places a new family is added to `template.yaml`, and why each is still a list.
const EDIT_SITES: [(&str, &str); 2] = [
    (
        "Mappings.Families",
        "its entry: everything the loops make comes from it",
    ),
    (
        "Parameters.WatchedFamilies",
        "its key in the list every Fn::ForEach iterates over (the default: every family)",
    ),
];

/// Reading job tags (JobTagsPolicy's ReadJobTags) names the tag-readable families'
/// resource types: one more place for such a family.
const TAG_SITE: &str = "Resources.JobTagsPolicy";

#[test]
fn a_family_is_spelled_out_in_few_places_of_the_template_and_only_in_generated_blocks_of_the_member_template(
) {
    let src = source();
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let member = std::fs::read_to_string(root().join("member-account.yaml")).unwrap();
    let member_by_hand = without_generated_blocks(&member);
    let others = all_tokens(&src);
    let mut report = vec![format!(
        "{:<24} {:>5}  template.yaml places (features of the family alone excluded) | member-account.yaml by hand",
        "family", "count"
    )];
    let mut failures = vec![];
    for (key, entry) in families(&src) {
        let tokens = family_tokens(&key, &entry);
        let features: BTreeSet<String> = FEATURE_SITES
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, s)| s.to_string())
            .collect();
        let sites: Vec<String> = family_sites(&text, &tokens, &others)
            .into_iter()
            .filter(|s| !features.contains(s))
            .collect();
        let allowed: Vec<String> = EDIT_SITES
            .iter()
            .map(|(s, _)| s.replace("<Key>", &key))
            .chain([TAG_SITE.to_owned()])
            .collect();
        let unexpected: Vec<&String> = sites.iter().filter(|s| !allowed.contains(s)).collect();
        if !unexpected.is_empty() {
            failures.push(format!(
                "{key}: a new place names the family: {unexpected:?}"
            ));
        }
        let member_sites = family_sites(&member_by_hand, &tokens, &others);
        let member_features: BTreeSet<String> = if key == "BatchInference" {
            // batch output manifests are read through the batch family's condition
            ["Conditions.ReadsManifests".to_owned()].into()
        } else {
            BTreeSet::new()
        };
        let member_sites: Vec<&String> = member_sites.difference(&member_features).collect();
        if !member_sites.is_empty() {
            failures.push(format!(
                "{key}: member-account.yaml names the family outside its generated blocks: {member_sites:?}"
            ));
        }
        report.push(format!(
            "{key:<24} {:>5}  {} | {}",
            sites.len(),
            sites.join(", "),
            if member_sites.is_empty() {
                "none".to_owned()
            } else {
                format!("{member_sites:?}")
            }
        ));
    }
    let report = report.join("\n");
    println!("{report}");
    assert!(failures.is_empty(), "{}\n\n{report}", failures.join("\n"));
    // the edit sites a family needs (the tag-readable ones one more): no more than these
    let most = families(&src)
        .iter()
        .map(|(key, entry)| {
            let features: Vec<&str> = FEATURE_SITES
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, s)| *s)
                .collect();
            family_sites(&text, &family_tokens(key, entry), &others)
                .into_iter()
                .filter(|s| !features.contains(&s.as_str()))
                .count()
        })
        .max()
        .unwrap();
    assert!(most <= EDIT_SITES.len() + 1, "{report}");
}

/// `text` without its generated blocks (`# generated:NAME` to `# /generated:NAME`, inclusive).
fn without_generated_blocks(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("# generated:") {
            inside = true;
        } else if t.starts_with("# /generated:") {
            inside = false;
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The families whose jobs' tags the pollers read (JobTagsPolicy's ReadJobTags): the keys
/// whose resource type it names.
fn tag_readable(src: &Value) -> Vec<String> {
    let tags = &src["Resources"]["JobTagsPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    let arns: Vec<String> = tags["Resource"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(sub_text)
        .collect();
    families(src)
        .into_iter()
        .filter(|(_, e)| {
            arns.iter()
                .any(|a| a.ends_with(&format!(":{}", plain(&e["ReadResource"]))))
        })
        .map(|(k, _)| k)
        .collect()
}

/// `!Or` over conditions, nested by tens (Fn::Or takes 2 to 10).
fn or_of(items: &[String], indent: usize) -> String {
    let pad = " ".repeat(indent);
    if items.len() <= 10 {
        return items.iter().map(|i| format!("{pad}- {i}\n")).collect();
    }
    let (head, tail) = items.split_at(9);
    let mut out: String = head.iter().map(|i| format!("{pad}- {i}\n")).collect();
    out.push_str(&format!("{pad}- Fn::Or:\n"));
    out.push_str(&or_of(tail, indent + 4));
    out
}

/// member-account.yaml's per-family blocks, generated from template.yaml's `Families` mapping
/// (whose actions are each family's `iam_actions`): (block name, text between its markers).
fn member_blocks(src: &Value) -> Vec<(&'static str, String)> {
    let entries = families(src);
    // in the order of the template's family list
    let order = collection(
        &src["Resources"]["Fn::ForEach::Pollers"][1],
        &src["Parameters"],
    );
    let tagged = tag_readable(src);
    let mut switches = String::new();
    let mut conditions = String::new();
    let mut statements = String::new();
    for key in &order {
        let e = &entries[key];
        let name = plain(&e["Name"]);
        switches.push_str(&format!(
            "  {key}PollerEnabled:\n    Type: String\n    Default: \"true\"\n    AllowedValues: [\"true\", \"false\"]\n    Description: Let the central pollers read this account's jobs of the family {name} (keep it in step with the central stack's WatchedFamilies).\n"
        ));
        conditions.push_str(&format!(
            "  Reads{key}: !Equals [!Ref {key}PollerEnabled, \"true\"]\n"
        ));
        let lists = strings(&e["ListActions"]);
        if !lists.is_empty() {
            statements.push_str(&format!(
                "              - !If\n                - Reads{key}\n                - Sid: List{key}\n                  Effect: Allow\n                  Action: [{}]\n                  Resource: \"*\"\n                - !Ref AWS::NoValue\n",
                lists.join(", ")
            ));
        }
        statements.push_str(&format!(
            "              - !If\n                - Reads{key}\n                - Sid: Read{key}\n                  Effect: Allow\n                  Action: [{}]\n                  Resource: !Sub \"arn:${{AWS::Partition}}:{}:*:${{AWS::AccountId}}:{}\"\n                - !Ref AWS::NoValue\n",
            strings(&e["ReadActions"]).join(", "),
            plain(&e["ReadService"]),
            plain(&e["ReadResource"])
        ));
        // CloudWatch metrics live in the member account: its runs read them through this role.
        let metrics = strings(&e["MetricActions"]);
        if !metrics.is_empty() {
            statements.push_str(&format!(
                "              - !If\n                - Reads{key}\n                - Sid: Read{key}Metrics\n                  Effect: Allow\n                  Action: [{}]\n                  Resource: \"*\"\n                - !Ref AWS::NoValue\n",
                metrics.join(", ")
            ));
        }
    }
    let switch_checks: Vec<String> = order
        .iter()
        .map(|k| format!("!Equals [!Ref {k}PollerEnabled, \"true\"]"))
        .collect();
    let rules = format!(
        "  AtLeastOneFamily:\n    Assertions:\n      - Assert:\n          Fn::Or:\n{}        AssertDescription: Enable at least one family (a *PollerEnabled parameter set to \"true\").\n",
        or_of(&switch_checks, 12)
    );
    let tag_conditions: Vec<String> = order
        .iter()
        .filter(|k| tagged.contains(k))
        .map(|k| format!("!Condition Reads{k}"))
        .collect();
    assert!(
        tag_conditions.len() >= 2,
        "Fn::Or takes 2 conditions or more: {tagged:?}"
    );
    conditions.push_str(&format!(
        "  ReadsTaggedJobs: !Or\n{}",
        or_of(&tag_conditions, 4)
    ));
    statements.push_str("              # The central stack's NotifyTags and CostOwnerTag: the tags of jobs notified or priced.\n");
    statements.push_str("              - !If\n                - ReadsTaggedJobs\n                - Sid: ReadJobTags\n                  Effect: Allow\n                  Action: [bedrock:ListTagsForResource]\n                  Resource:\n");
    for key in order.iter().filter(|k| tagged.contains(k)) {
        statements.push_str(&format!(
            "                    - !If [Reads{key}, !Sub \"arn:${{AWS::Partition}}:bedrock:*:${{AWS::AccountId}}:{}\", !Ref AWS::NoValue]\n",
            plain(&entries[key]["ReadResource"])
        ));
    }
    statements.push_str("                - !Ref AWS::NoValue\n");
    let event_types: String = order
        .iter()
        .flat_map(|k| strings(&entries[k]["EventTypes"]))
        .map(|t| format!("          - {t}\n"))
        .collect();
    vec![
        ("family-event-types", event_types),
        ("family-switches", switches),
        ("family-rules", rules),
        ("family-conditions", conditions),
        ("family-statements", statements),
    ]
}

/// The text between `# generated:NAME ...` and `# /generated:NAME` (their lines excluded).
fn generated_block(text: &str, name: &str) -> Option<String> {
    let mut lines = text.lines();
    lines.find(|l| l.trim_start().starts_with(&format!("# generated:{name} ")))?;
    let mut out = String::new();
    for line in lines {
        if line
            .trim_start()
            .starts_with(&format!("# /generated:{name}"))
        {
            return Some(out);
        }
        out.push_str(line);
        out.push('\n');
    }
    None
}

/// `text` with the lines between the markers of block `name` replaced by `block`.
fn replace_block(text: &str, name: &str, block: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with(&format!("# generated:{name} ")) {
            inside = true;
            out.push_str(line);
            out.push('\n');
            out.push_str(block);
        } else if t.starts_with(&format!("# /generated:{name}")) {
            inside = false;
            out.push_str(line);
            out.push('\n');
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_member_templates_family_blocks_are_generated_from_the_families_mapping() {
    let src = source();
    let path = root().join("member-account.yaml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let mut drift = vec![];
    for (name, expected) in member_blocks(&src) {
        let actual = generated_block(&text, name)
            .unwrap_or_else(|| panic!("member-account.yaml has no generated:{name} block"));
        if actual != expected {
            if std::env::var_os("UPDATE_MEMBER_TEMPLATE").is_some() {
                text = replace_block(&text, name, &expected);
            } else {
                drift.push(format!(
                    "member-account.yaml's generated:{name} block differs from template.yaml's Families mapping; expected:\n{expected}"
                ));
            }
        }
    }
    if std::env::var_os("UPDATE_MEMBER_TEMPLATE").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    assert!(
        drift.is_empty(),
        "{}\n(UPDATE_MEMBER_TEMPLATE=1 cargo test -p jobwatch-tests --test template writes them)",
        drift.join("\n\n")
    );
    // and the statements grant exactly each family's iam_actions
    let member = member_template();
    let statements: Vec<Value> = role_statements(&member["Resources"]["ReaderRole"])
        .iter()
        .map(statement)
        .collect();
    for kind in JobKind::ALL {
        let granted: BTreeSet<String> = statements
            .iter()
            .filter(|s| {
                s["Sid"].as_str().is_some_and(|sid| {
                    families(&src).iter().any(|(k, e)| {
                        plain(&e["Name"]) == kind.as_str()
                            && (sid == format!("List{k}") || sid == format!("Read{k}"))
                    })
                })
            })
            .flat_map(|s| strings(&s["Action"]))
            .collect();
        let declared: BTreeSet<String> = kind
            .family()
            .iam_actions
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(
            granted, declared,
            "{kind}: member-account.yaml vs family.rs iam_actions"
        );
    }
}

/// `WATCHED_FAMILIES` (Globals, so the worker and the register function read the same value):
/// the `WatchedFamilies` parameter joined, whose default is every key of the mapping, each a
/// key the library knows.
#[test]
fn the_worker_polls_the_watched_families() {
    let t = source();
    let (tag, value) =
        tagged(&t["Globals"]["Function"]["Environment"]["Variables"]["WATCHED_FAMILIES"])
            .expect("!Join");
    assert_eq!(tag, "Join");
    assert_eq!(value[0].as_str(), Some(","));
    assert_eq!(reference(&value[1]).as_deref(), Some("WatchedFamilies"));
    let parameter = &t["Parameters"]["WatchedFamilies"];
    assert_eq!(plain(&parameter["Type"]), "CommaDelimitedList");
    let default: BTreeSet<String> = plain(&parameter["Default"])
        .split(',')
        .map(str::to_owned)
        .collect();
    let keys: BTreeSet<String> = families(&t).into_keys().collect();
    assert_eq!(default, keys, "every family of the mapping");
    for (key, entry) in families(&t) {
        let kind = JobKind::from_name_or_key(&key).expect("a key the library knows");
        assert_eq!(kind.family().key, key);
        assert_eq!(kind.as_str(), plain(&entry["Name"]), "{key}");
    }
    for function in ["Worker", "WorkflowRegister"] {
        let own = &t["Resources"][function]["Properties"]["Environment"]["Variables"];
        assert!(
            own.get("WATCHED_FAMILIES").is_none(),
            "{function} keeps the Globals' value"
        );
    }
}
