//! Job records rendered as the response shapes of the service models.

use serde_json::{json, Map, Value};

use crate::model::{iso, Job, JobKind};

/// Members copied verbatim from the create request into responses, per family.
const ECHOED: &[(JobKind, &[&str])] = &[
    (
        JobKind::BatchInference,
        &[
            "modelId",
            "roleArn",
            "inputDataConfig",
            "outputDataConfig",
            "vpcConfig",
            "timeoutDurationInHours",
            "modelInvocationType",
        ],
    ),
    (
        JobKind::ModelImport,
        &[
            "importedModelName",
            "roleArn",
            "modelDataSource",
            "vpcConfig",
        ],
    ),
    (JobKind::AsyncInvoke, &["modelArn", "outputDataConfig"]),
    (
        JobKind::ModelCustomization,
        &[
            "baseModelArn",
            "roleArn",
            "customModelName",
            "customizationType",
            "trainingDataConfig",
            "validationDataConfig",
            "outputDataConfig",
            "hyperParameters",
            "vpcConfig",
        ],
    ),
];

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

fn s(v: Option<&str>) -> Option<Value> {
    v.map(|x| Value::String(x.to_owned()))
}

/// The `Get*` response (and, for batch and async jobs, the list summary: same members).
pub fn full(job: &Job) -> Value {
    match job.kind {
        JobKind::ModelEvaluation => return evaluation(job),
        JobKind::ModelCopy => return copy(job),
        JobKind::ProvisionedThroughput | JobKind::CustomModelDeployment | JobKind::CustomModel => {
            return super::resources::render(job, false)
        }
        _ => {}
    }
    let mut m = Map::new();
    let echoed = ECHOED
        .iter()
        .find(|(k, _)| *k == job.kind)
        .map_or(&[][..], |(_, members)| members);
    for key in echoed {
        put(&mut m, key, job.spec.get(*key).cloned());
    }
    put(
        &mut m,
        "clientRequestToken",
        s(job.client_request_token.as_deref()),
    );
    put(&mut m, "status", Some(json!(job.status)));
    put(
        &mut m,
        "lastModifiedTime",
        Some(json!(iso(job.last_modified_time))),
    );
    put(&mut m, "endTime", job.end_time.map(|t| json!(iso(t))));
    match job.kind {
        JobKind::BatchInference => {
            m.insert("jobArn".into(), json!(job.arn));
            put(&mut m, "jobName", s(job.name.as_deref()));
            put(&mut m, "message", s(job.message.as_deref()));
            m.insert("submitTime".into(), json!(iso(job.submit_time)));
            let hours = job
                .spec
                .get("timeoutDurationInHours")
                .and_then(Value::as_i64)
                .unwrap_or(24);
            let expires = job.submit_time + chrono::Duration::hours(hours);
            m.insert("jobExpirationTime".into(), json!(iso(expires)));
            if let Ok(Value::Object(counts)) = serde_json::to_value(&job.counts) {
                m.extend(counts);
            }
        }
        JobKind::ModelImport => {
            m.insert("jobArn".into(), json!(job.arn));
            put(&mut m, "jobName", s(job.name.as_deref()));
            put(&mut m, "failureMessage", s(job.message.as_deref()));
            m.insert("creationTime".into(), json!(iso(job.submit_time)));
            put(
                &mut m,
                "importedModelArn",
                s(job.spec_str("importedModelArn")),
            );
            put(
                &mut m,
                "importedModelKmsKeyArn",
                s(job.spec_str("importedModelKmsKeyId")),
            );
        }
        JobKind::AsyncInvoke => {
            m.insert("invocationArn".into(), json!(job.arn));
            put(&mut m, "failureMessage", s(job.message.as_deref()));
            m.insert("submitTime".into(), json!(iso(job.submit_time)));
        }
        // Rendered by their own modules (`bedrock_agent`, `data_automation`).
        JobKind::KbIngestion | JobKind::DataAutomation => {}
        JobKind::ModelCustomization => {
            m.insert("jobArn".into(), json!(job.arn));
            put(&mut m, "jobName", s(job.name.as_deref()));
            put(&mut m, "failureMessage", s(job.message.as_deref()));
            m.insert("creationTime".into(), json!(iso(job.submit_time)));
            put(&mut m, "outputModelArn", s(job.spec_str("outputModelArn")));
            put(
                &mut m,
                "outputModelName",
                s(job.spec_str("customModelName")),
            );
        }
        // Rendered by their own functions above.
        JobKind::ModelEvaluation | JobKind::ModelCopy => {}
        JobKind::ProvisionedThroughput | JobKind::CustomModelDeployment | JobKind::CustomModel => {}
    }
    Value::Object(m)
}

/// `GetEvaluationJob`: the request's configuration and what the job reports.
fn evaluation(job: &Job) -> Value {
    let mut m = Map::new();
    for key in [
        "jobDescription",
        "roleArn",
        "customerEncryptionKeyId",
        "jobType",
        "applicationType",
        "evaluationConfig",
        "inferenceConfig",
        "outputDataConfig",
    ] {
        put(&mut m, key, job.spec.get(key).cloned());
    }
    m.insert("jobArn".into(), json!(job.arn));
    put(&mut m, "jobName", s(job.name.as_deref()));
    m.insert("status".into(), json!(job.status));
    m.insert("creationTime".into(), json!(iso(job.submit_time)));
    m.insert(
        "lastModifiedTime".into(),
        json!(iso(job.last_modified_time)),
    );
    put(
        &mut m,
        "failureMessages",
        job.message.as_ref().map(|msg| json!([msg])),
    );
    Value::Object(m)
}

/// `EvaluationSummary`: task types and the models and knowledge bases evaluated.
fn evaluation_summary(job: &Job) -> Value {
    let pointer = |p: &str| {
        job.spec
            .get("evaluationConfig")
            .and_then(|c| c.pointer(p))
            .cloned()
    };
    let metrics = pointer("/automated/datasetMetricConfigs")
        .or_else(|| pointer("/human/datasetMetricConfigs"))
        .unwrap_or(json!([]));
    let tasks: Vec<Value> = metrics
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("taskType").cloned())
        .collect();
    let inference = job.spec.get("inferenceConfig");
    let models: Vec<Value> = inference
        .and_then(|i| i.get("models"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.pointer("/bedrockModel/modelIdentifier").cloned())
        .collect();
    let kbs: Vec<Value> = inference
        .and_then(|i| i.get("ragConfigs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            r.pointer("/knowledgeBaseConfig/retrieveConfig/knowledgeBaseId")
                .or_else(|| r.pointer("/knowledgeBaseConfig/retrieveAndGenerateConfig/knowledgeBaseConfiguration/knowledgeBaseId"))
                .cloned()
        })
        .collect();
    let mut m = Map::new();
    m.insert("jobArn".into(), json!(job.arn));
    put(&mut m, "jobName", s(job.name.as_deref()));
    m.insert("status".into(), json!(job.status));
    m.insert("creationTime".into(), json!(iso(job.submit_time)));
    put(&mut m, "jobType", job.spec.get("jobType").cloned());
    put(
        &mut m,
        "applicationType",
        job.spec.get("applicationType").cloned(),
    );
    m.insert("evaluationTaskTypes".into(), json!(tasks));
    m.insert("modelIdentifiers".into(), json!(models));
    m.insert("ragIdentifiers".into(), json!(kbs));
    m.insert(
        "inferenceConfigSummary".into(),
        json!({
            "modelConfigSummary": {"bedrockModelIdentifiers": models},
            "ragConfigSummary": {"bedrockKnowledgeBaseIdentifiers": kbs},
        }),
    );
    Value::Object(m)
}

/// `GetModelCopyJob` and `ModelCopyJobSummary` (the same members).
fn copy(job: &Job) -> Value {
    let mut m = Map::new();
    for key in [
        "targetModelArn",
        "targetModelName",
        "sourceAccountId",
        "sourceModelArn",
        "sourceModelName",
        "targetModelTags",
    ] {
        put(&mut m, key, job.spec.get(key).cloned());
    }
    put(
        &mut m,
        "targetModelKmsKeyArn",
        job.spec.get("modelKmsKeyId").cloned(),
    );
    m.insert("jobArn".into(), json!(job.arn));
    m.insert("status".into(), json!(job.status));
    m.insert("creationTime".into(), json!(iso(job.submit_time)));
    put(&mut m, "failureMessage", s(job.message.as_deref()));
    Value::Object(m)
}

/// The list summary shape.
pub fn summary(job: &Job) -> Value {
    match job.kind {
        JobKind::BatchInference | JobKind::AsyncInvoke | JobKind::ModelCopy => full(job),
        JobKind::KbIngestion | JobKind::DataAutomation => full(job),
        JobKind::ModelEvaluation => evaluation_summary(job),
        JobKind::ProvisionedThroughput | JobKind::CustomModelDeployment | JobKind::CustomModel => {
            super::resources::render(job, true)
        }
        JobKind::ModelImport => {
            let mut m = Map::new();
            m.insert("jobArn".into(), json!(job.arn));
            put(&mut m, "jobName", s(job.name.as_deref()));
            m.insert("status".into(), json!(job.status));
            m.insert(
                "lastModifiedTime".into(),
                json!(iso(job.last_modified_time)),
            );
            m.insert("creationTime".into(), json!(iso(job.submit_time)));
            put(&mut m, "endTime", job.end_time.map(|t| json!(iso(t))));
            put(
                &mut m,
                "importedModelArn",
                s(job.spec_str("importedModelArn")),
            );
            put(
                &mut m,
                "importedModelName",
                s(job.spec_str("importedModelName")),
            );
            Value::Object(m)
        }
        JobKind::ModelCustomization => {
            let mut m = Map::new();
            m.insert("jobArn".into(), json!(job.arn));
            put(&mut m, "jobName", s(job.name.as_deref()));
            m.insert("status".into(), json!(job.status));
            m.insert(
                "lastModifiedTime".into(),
                json!(iso(job.last_modified_time)),
            );
            m.insert("creationTime".into(), json!(iso(job.submit_time)));
            put(&mut m, "endTime", job.end_time.map(|t| json!(iso(t))));
            put(
                &mut m,
                "baseModelArn",
                job.spec.get("baseModelArn").cloned(),
            );
            put(&mut m, "customModelArn", s(job.spec_str("outputModelArn")));
            put(
                &mut m,
                "customModelName",
                s(job.spec_str("customModelName")),
            );
            put(
                &mut m,
                "customizationType",
                job.spec.get("customizationType").cloned(),
            );
            Value::Object(m)
        }
    }
}
