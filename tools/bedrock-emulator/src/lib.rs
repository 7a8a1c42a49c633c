//! A local emulator of the Amazon Bedrock job APIs, wire-compatible with the AWS SDKs
//! (restJson1): batch inference, model import, customization, evaluation and model copy jobs on
//! `bedrock`, asynchronous invocations on `bedrock-runtime`, knowledge-base ingestion jobs on
//! `bedrock-agent`, Data Automation invocations on `bedrock-data-automation-runtime` (awsJson
//! 1.1), all on one port, plus a `/_emulator/` control API. One process serves many accounts
//! and regions (see [`scope`]) and answers STS `AssumeRole` for them (see [`sts`]).
//!
//! Each job family lives in one file under [`families`], behind the [`family::Family`] trait;
//! the module docs of [`families`] say how to add one.

pub mod api;
pub mod app;
pub mod control;
pub mod details;
pub mod error;
pub mod events;
pub mod families;
pub mod family;
pub mod knowledge;
pub mod lifecycle;
pub mod model;
pub mod offered;
pub mod pricing;
pub mod scope;
pub mod scoped;
pub mod settings;
pub mod state_file;
pub mod store;
pub mod sts;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::Router;
use tokio::net::TcpListener;

pub use app::{App, FaultRule};
pub use model::JobKind;
pub use scope::Scope;
pub use scoped::Scoped;
pub use settings::AutoAdvance;
pub use settings::Settings;

use api::{bedrock_agent, tagging};

/// All routes: the AWS operations (each family's, and the knowledge bases and data sources
/// ingestion jobs run in) and the control API.
pub fn router(app: Arc<App>) -> Router {
    families::routes()
        .merge(knowledge_routes())
        .merge(control_routes())
        // bedrock-data-automation-runtime (awsJson) and STS (query) both POST to `/`.
        .route("/", post(root))
        .fallback(unknown_operation)
        .with_state(app)
}

/// bedrock-agent's knowledge bases and data sources. Its collection URIs end in `/`; the Rust
/// SDK drops it, the CLI keeps it.
fn knowledge_routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/knowledgebases/",
            put(bedrock_agent::create_knowledge_base).post(bedrock_agent::list_knowledge_bases),
        )
        .route(
            "/knowledgebases",
            put(bedrock_agent::create_knowledge_base).post(bedrock_agent::list_knowledge_bases),
        )
        .route(
            "/knowledgebases/{kb}",
            get(bedrock_agent::get_knowledge_base),
        )
        .route(
            "/knowledgebases/{kb}/datasources/",
            put(bedrock_agent::create_data_source).post(bedrock_agent::list_data_sources),
        )
        .route(
            "/knowledgebases/{kb}/datasources",
            put(bedrock_agent::create_data_source).post(bedrock_agent::list_data_sources),
        )
}

/// The tagging operations and the `/_emulator/` control API.
fn control_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/listTagsForResource", post(tagging::list_tags))
        .route("/tagResource", post(tagging::tag))
        .route("/untagResource", post(tagging::untag))
        .route("/_emulator/jobs", get(control::jobs))
        // {*path}: a job id, an encoded ARN, or an ARN pasted as is (its slashes unencoded),
        // then /status (POST) or /event (GET); DELETE takes the job alone.
        .route(
            "/_emulator/jobs/{*path}",
            post(control::job_post)
                .get(control::job_get)
                .delete(control::delete_job),
        )
        .route("/_emulator/seed", post(control::seed))
        .route(
            "/_emulator/faults",
            post(control::add_faults).delete(control::clear_faults),
        )
        .route("/_emulator/roles", post(control::set_role))
        .route("/_emulator/stats", get(control::stats))
        .route("/_emulator/reset", post(control::reset))
}

/// `POST /`: awsJson calls name their operation in `X-Amz-Target`; STS's query calls do not.
async fn root(
    app: Scoped,
    headers: axum::http::HeaderMap,
    raw: axum::body::Bytes,
) -> axum::response::Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    if target.is_some_and(|t| t.starts_with(pricing::TARGET_PREFIX)) {
        pricing::dispatch(app, headers, raw).await
    } else if target.is_some() {
        families::data_automation::dispatch(app, headers, raw).await
    } else {
        sts::dispatch(app, raw).await
    }
}

async fn unknown_operation(uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::new(
        "UnknownOperationException",
        axum::http::StatusCode::NOT_FOUND,
        format!("The emulator does not implement {}", uri.path()),
    )
}

/// A running emulator (used in-process by tests and benchmarks).
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    server: tokio::task::JoinHandle<()>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Running {
    /// `http://127.0.0.1:PORT`, for `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
        self.ticker.abort();
    }
}

/// Serves on an already bound listener, with the lifecycle ticker, until the task is dropped.
pub fn spawn(listener: TcpListener, settings: Settings) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let app = Arc::new(App::new(settings));
    let ticker = tokio::spawn(lifecycle::run_ticker(app.clone()));
    let router = router(app.clone());
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("bedrock-emulator: server error: {e}");
        }
    });
    Ok(Running {
        addr,
        app,
        server,
        ticker,
    })
}

/// Starts an emulator on a free loopback port.
pub async fn start(settings: Settings) -> std::io::Result<Running> {
    spawn(TcpListener::bind("127.0.0.1:0").await?, settings)
}
