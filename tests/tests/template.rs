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
    ["get(\"", "required(\"", "number(\"", "flag(\""]
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
