//! What a job family is to the emulator: its [`Facts`] (data: statuses, ARN shape, identifier
//! and tag rules) and the [`Family`] trait (behaviour: routes, rendering, how it ends, what it
//! emits and how it is seeded). Each family implements it in its own file under `families/`;
//! the registry there maps a [`JobKind`] to its family. Every method is required, so a new family
//! that forgets one does not compile.

use std::sync::Arc;

use axum::Router;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use crate::app::App;
use crate::error::ApiResult;
use crate::model::{Job, JobKind, Status};
use crate::scope::Scope;
use crate::scoped::Scoped;
use crate::store::Store;

/// A family's facts, as data.
#[derive(Debug)]
pub struct Facts {
    pub kind: JobKind,
    /// The ARN resource type, e.g. `model-invocation-job`.
    pub arn_resource: &'static str,
    /// Every status the service model defines for this family.
    pub statuses: &'static [Status],
    /// The status a new job starts in.
    pub initial: Status,
    /// The intermediate states a job advancing on its own goes through before its outcome:
    /// (from, to). A job in a state not listed here moves to its outcome next.
    pub steps: &'static [(Status, Status)],
    /// Statuses the List and Get show as another (a deployment being updated stays `Active`
    /// there: its update's status is in `updateDetails`).
    pub shown_as: &'static [(Status, Status)],
    /// What a path may name a job by, besides its ARN.
    pub identifier: Identifier,
    /// The create request's member that carries the new job's tags, as botocore names it.
    pub tag_member: Option<&'static str>,
    /// A job's name identifies it (Get by name) and is unique within the family.
    pub names_identify: bool,
    /// Jobs of the family have a name (seeded jobs get one).
    pub named: bool,
    /// A status forced through the control API fills the ended job's details (what its
    /// notifications show: ingestion statistics, invocation results, failure messages).
    pub details_when_forced: bool,
}

impl Facts {
    /// The `status` a List or Get shows.
    pub fn listed_as(&self, status: &Status) -> Status {
        self.shown_as
            .iter()
            .find(|(raw, _)| raw == status)
            .map_or_else(|| status.clone(), |(_, shown)| shown.clone())
    }

    /// The statuses a List's status filter accepts.
    pub fn listed_statuses(&self) -> Vec<Status> {
        self.statuses
            .iter()
            .filter(|s| self.listed_as(s) == **s)
            .cloned()
            .collect()
    }

    /// The status names, for validation messages.
    pub fn status_names(&self) -> Vec<&'static str> {
        self.statuses.iter().map(Status::as_str).collect()
    }

    /// The intermediate state after `current`, if it has one.
    pub fn step_after(&self, current: &Status) -> Option<Status> {
        self.steps
            .iter()
            .find(|(from, _)| from == current)
            .map(|(_, to)| to.clone())
    }
}

/// What a path may name a job by, besides an ARN of its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier {
    /// The 12-character id at the end of the ARN.
    JobId,
    /// A job name (`[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*`).
    JobName,
    /// A resource's name (see `input::resource_name`).
    ResourceName,
    /// The ARN only.
    ArnOnly,
    /// Anything: the family's own operations validate their ids.
    Any,
}

/// Which response a job is rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The Get response.
    Full,
    /// The List summary.
    Summary,
}

/// The container seeded jobs go into (ingestion jobs: the knowledge base ARN and the data
/// source id).
pub type Place = (String, String);

/// What a seed request names about the containers of its jobs (`POST /_emulator/seed`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SeedTarget<'a> {
    pub knowledge_base_id: Option<&'a str>,
    pub data_source_id: Option<&'a str>,
}

/// A seeded job's identity and create request.
#[derive(Debug)]
pub struct Seeded {
    pub id: String,
    pub arn: String,
    pub spec: Map<String, Value>,
}

impl Seeded {
    /// `spec`: a JSON object.
    pub fn new(id: String, arn: String, spec: Value) -> Self {
        let spec = match spec {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Seeded { id, arn, spec }
    }
}

/// One job family: what differs from one family to the next, behind one small interface.
pub trait Family: Sync {
    /// The family's facts.
    fn facts(&self) -> &'static Facts;

    /// The routes of its operations (merged into the server's router).
    fn routes(&self) -> Router<Arc<App>>;

    /// The Get response or the List summary of a job.
    fn render(&self, job: &Job, view: View) -> Value;

    /// Fills the details a real job has when it ends: record counts, messages, output ARNs.
    fn finish(&self, job: &mut Job, rng: &mut StdRng);

    /// What a job that has just advanced creates (a completed customization job: its model).
    fn produce(&self, app: &App, job: &mut Job, now: DateTime<Utc>) -> Option<Job>;

    /// The EventBridge event Bedrock emits for the job's current state, in its documented
    /// shape; `Err` when Bedrock emits none for the family (or that state).
    fn event(&self, job: &Job, scope: &Scope) -> ApiResult<Value>;

    /// Where seeded jobs go, made if needed (ingestion jobs: a knowledge base and a data
    /// source); `None` for families whose jobs live in no container.
    fn seed_place(
        &self,
        app: &Scoped,
        store: &mut Store,
        target: SeedTarget,
    ) -> ApiResult<Option<Place>>;

    /// A seeded job's id and ARN (`id` is the one drawn for it; a family whose ids look
    /// different draws its own) and the members of its create request.
    fn seed_job(&self, app: &Scoped, place: Option<&Place>, id: String) -> Seeded;
}
