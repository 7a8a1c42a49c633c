//! A bad setting as Lambda shows it: the runtime still starts, and each invocation fails with
//! `NonRetryable.Config` naming the variable (what the errors alarm and the runbook tell an
//! operator to look for), instead of the process exiting before the runtime (`Runtime.ExitError`).
//! A stand-in of the Lambda Runtime API serves one invocation and records the error reported.
//! Its own test binary: it sets process environment variables.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use axum::Router;

/// (request id, Lambda-Runtime-Function-Error-Type header, body) of each error reported.
type Report = (String, String, serde_json::Value);
type Shared = Arc<Mutex<Option<tokio::sync::mpsc::UnboundedSender<Report>>>>;

async fn next_invocation() -> (HeaderMap, &'static str) {
    let mut headers = HeaderMap::new();
    let deadline = (chrono::Utc::now() + chrono::Duration::seconds(60)).timestamp_millis();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static("req-1"),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&deadline.to_string()).unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:poller"),
    );
    (headers, r#"{"source":"aws.scheduler"}"#)
}

async fn error(
    State(reported): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> &'static str {
    let kind = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    if let Some(tx) = reported.lock().unwrap().as_ref() {
        let _ = tx.send((id, kind, body));
    }
    "{}"
}

/// Serves the Runtime API on a free port; returns its `host:port`.
async fn runtime_api(reported: Shared) -> String {
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .with_state(reported);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

#[tokio::test]
async fn an_invalid_setting_fails_each_invocation_as_non_retryable_config_naming_the_variable() {
    // given a poller whose LOOKBACK_HOURS is not a number, under a Lambda Runtime API
    let (tx, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let api = runtime_api(Arc::new(Mutex::new(Some(tx)))).await;
    let vars = [
        ("AWS_LAMBDA_RUNTIME_API", api.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "poller"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_REGION", "us-east-1"),
        ("JOB_FAMILY", "batch-inference"),
        ("JOBS_TABLE", "jobs"),
        (
            "NOTIFY_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:jobs",
        ),
        ("LOOKBACK_HOURS", "two weeks"),
    ];
    for (name, value) in vars {
        // SAFETY: this test binary has this one test; nothing else reads the environment meanwhile.
        unsafe { std::env::set_var(name, value) };
    }

    // when the function starts and is invoked
    // (not Send: each family's future is boxed without it) polled here, dropped once answered
    let function = jobwatch::startup::serve_configured_family();
    tokio::pin!(function);
    let report = tokio::select! {
        report = reports.recv() => report.expect("the Runtime API is up"),
        ended = &mut function => panic!("the process ended before the runtime answered: {ended:?}"),
        _ = tokio::time::sleep(Duration::from_secs(20)) => panic!("no invocation error reported"),
    };

    // then the invocation failed as NonRetryable.Config, naming the variable and its value
    let (id, kind, body) = report;
    assert_eq!(id, "req-1");
    // (the runtime reports every handler error as "unhandled"; the type is in the body, which
    // is what the invoker and the alarm's log line see)
    assert_eq!(kind.to_lowercase(), "unhandled");
    assert_eq!(body["errorType"], "NonRetryable.Config");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.contains("LOOKBACK_HOURS"), "{message}");
    assert!(message.contains("two weeks"), "{message}");
}
