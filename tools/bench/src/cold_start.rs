//! `bench cold-start`: starts each function's release `bootstrap` (from `cargo lambda build
//! --release`) against a local Lambda Runtime API, and times process start to the first handled
//! event; prints each bootstrap's size.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use jobwatch::domain::JobKind;
use testkit::Stack;

/// The deployed binary, started once per family (JOB_FAMILY), as the template deploys it.
const BINARY: &str = "jobwatch-poller";

#[derive(Default)]
struct Timeline {
    first_next: Option<Instant>,
    response: Option<(Instant, String)>,
    served: bool,
}

type Shared = (Arc<Mutex<Timeline>>, Arc<Notify>);

async fn next(State((timeline, _)): State<Shared>) -> (HeaderMap, String) {
    let first = {
        let mut t = timeline.lock().unwrap();
        t.first_next.get_or_insert_with(Instant::now);
        !std::mem::replace(&mut t.served, true)
    };
    if !first {
        // One event per process: the benchmark kills it after the response.
        std::future::pending::<()>().await;
    }
    let deadline = chrono::Utc::now().timestamp_millis() + 60_000;
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static("cold-start-1"),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&deadline.to_string()).unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:bench"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000"),
    );
    (
        headers,
        include_str!("../../../events/scheduled.json").to_owned(),
    )
}

async fn respond(
    State((timeline, done)): State<Shared>,
    Path((_id, kind)): Path<(String, String)>,
    body: String,
) -> &'static str {
    timeline.lock().unwrap().response = Some((
        Instant::now(),
        format!("{kind}: {}", body.chars().take(160).collect::<String>()),
    ));
    done.notify_one();
    "{}"
}

fn bootstrap(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/lambda")
        .join(name)
        .join("bootstrap")
}

pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let stack = Stack::start().await;
    println!("cold start: release bootstrap (cargo lambda build --release), process start -> first handled event");
    println!(
        "{:<24} {:>10} {:>12} {:>14}",
        "function", "size MiB", "init ms", "first event ms"
    );
    for kind in JobKind::ALL {
        let name = format!("{kind}-poller");
        let name = name.as_str();
        let path = bootstrap(BINARY);
        let size = bootstrap_size(&path)?;
        let shared: Shared = (
            Arc::new(Mutex::new(Timeline::default())),
            Arc::new(Notify::new()),
        );
        let (addr, server) = runtime_api(shared.clone()).await?;
        let started = Instant::now();
        let mut child = start_function(&path, &stack, addr, name, kind)?;
        let handled = tokio::time::timeout(Duration::from_secs(30), shared.1.notified())
            .await
            .is_ok();
        let _ = child.kill();
        let _ = child.wait();
        server.abort();
        print_row(name, size, &shared.0.lock().unwrap(), started, handled);
    }
    Ok(())
}

/// The bootstrap's size in bytes; it must have been built first.
fn bootstrap_size(path: &std::path::Path) -> Result<u64, Box<dyn std::error::Error>> {
    let size = std::fs::metadata(path)
        .map_err(|e| {
            format!(
                "{}: {e} (run `cargo lambda build --release -p jobwatch-poller` first)",
                path.display()
            )
        })?
        .len();
    Ok(size)
}

/// A local Lambda Runtime API serving one event: its address and the server task.
async fn runtime_api(
    shared: Shared,
) -> Result<(SocketAddr, JoinHandle<std::io::Result<()>>), Box<dyn std::error::Error>> {
    let api = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(respond))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, api).await });
    Ok((addr, server))
}

/// The bootstrap as Lambda starts it: the runtime API, the function's name and family, and the
/// stack's endpoints.
fn start_function(
    path: &std::path::Path,
    stack: &Stack,
    api: SocketAddr,
    name: &str,
    kind: JobKind,
) -> std::io::Result<Child> {
    Command::new(path)
        .envs(stack.env())
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("JOB_FAMILY", kind.as_str())
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// The function's row: size, start to first `next` (init), start to the response; what went
/// wrong, if it did not respond, on stderr.
fn print_row(name: &str, size: u64, t: &Timeline, started: Instant, handled: bool) {
    let init = t.first_next.map(|i| (i - started).as_secs_f64() * 1000.0);
    let (first, outcome) = match (&t.response, handled) {
        (Some((at, outcome)), true) => (
            Some((*at - started).as_secs_f64() * 1000.0),
            outcome.clone(),
        ),
        _ => (None, "no response within 30 s".into()),
    };
    println!(
        "{name:<24} {:>10.1} {:>12} {:>14}",
        size as f64 / 1_048_576.0,
        init.map_or("-".into(), |v| format!("{v:.1}")),
        first.map_or("-".into(), |v| format!("{v:.1}"))
    );
    if !outcome.starts_with("response") {
        eprintln!("  {name}: {outcome}");
    }
}
