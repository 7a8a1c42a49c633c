//! Helpers the families render their jobs with (the response shapes of the service models).

use serde_json::{json, Map, Value};

use crate::model::{iso, Job};

/// Sets `key` when there is a value.
pub fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

pub fn s(v: Option<&str>) -> Option<Value> {
    v.map(|x| Value::String(x.to_owned()))
}

/// The members a job's Get starts with: `echoed` create request members copied verbatim, then
/// the client token, status and times.
pub fn common(job: &Job, echoed: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
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
    m
}

/// The members a job summary starts with: ARN, name, status and times.
pub fn summary_head(job: &Job) -> Map<String, Value> {
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
    m
}
