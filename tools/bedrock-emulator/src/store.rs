//! In-memory job store with per-family submit-time indexes and keyset pagination.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::{ApiError, ApiResult};
use crate::model::{Job, JobKind, Status};

/// Sort key: submit time in nanoseconds, then id (unique).
type Key = (i64, String);

fn key_of(job: &Job) -> Key {
    (nanos(job.submit_time), job.id.clone())
}

fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Filters and paging of a List call, already validated.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    /// The job statuses a status filter matches (the ones the List shows as the wanted one).
    pub statuses: Option<Vec<Status>>,
    pub name_contains: Option<String>,
    /// Family-specific filters on the create request's members (`spec`): equal to, contains.
    pub spec_equals: Vec<(&'static str, String)>,
    pub spec_contains: Vec<(&'static str, String)>,
    pub max_results: usize,
    pub next_token: Option<String>,
    pub ascending: bool,
}

/// One page of a List call.
#[derive(Debug)]
pub struct Page<'a> {
    pub jobs: Vec<&'a Job>,
    pub next_token: Option<String>,
}

#[derive(Debug, Default)]
pub struct Store {
    /// Knowledge bases and data sources (their ingestion jobs are jobs like any other).
    pub knowledge: crate::knowledge::Registry,
    /// The parents other nested families run in (flows and their aliases, Data Automation
    /// libraries), by ARN, as their family file renders them: ordered, so ARNs page as tokens.
    pub parents: std::collections::BTreeMap<String, serde_json::Value>,
    /// Other containers of jobs that need no registry of their own (Automated Reasoning
    /// policies), as their family renders them, by ARN. Only their family reads and writes them.
    pub containers: std::collections::BTreeMap<String, serde_json::Value>,
    jobs: HashMap<String, Job>,
    by_time: HashMap<JobKind, Vec<Key>>,
    by_name: HashMap<(JobKind, String), String>,
    by_token: HashMap<(JobKind, String), String>,
}

impl Store {
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    pub fn count(&self, kind: JobKind) -> usize {
        self.by_time.get(&kind).map_or(0, Vec::len)
    }

    /// Inserts a job; `names_identify`: its family finds jobs by name too (names are unique).
    pub fn insert(&mut self, job: Job, names_identify: bool) {
        let index = self.by_time.entry(job.kind).or_default();
        let key = key_of(&job);
        let at = index.partition_point(|k| *k < key);
        index.insert(at, key);
        self.index_names(&job, names_identify);
        self.jobs.insert(job.id.clone(), job);
    }

    /// Inserts many jobs at once and sorts each index once (seeding 100 000 jobs stays fast).
    pub fn insert_many(&mut self, jobs: Vec<Job>, names_identify: impl Fn(JobKind) -> bool) {
        let mut touched = Vec::new();
        for job in jobs {
            self.by_time.entry(job.kind).or_default().push(key_of(&job));
            if !touched.contains(&job.kind) {
                touched.push(job.kind);
            }
            self.index_names(&job, names_identify(job.kind));
            self.jobs.insert(job.id.clone(), job);
        }
        for kind in touched {
            if let Some(index) = self.by_time.get_mut(&kind) {
                index.sort_unstable();
            }
        }
    }

    fn index_names(&mut self, job: &Job, names_identify: bool) {
        if let (Some(name), true) = (&job.name, names_identify) {
            self.by_name
                .insert((job.kind, name.clone()), job.id.clone());
        }
        if let Some(token) = &job.client_request_token {
            self.by_token
                .insert((job.kind, token.clone()), job.id.clone());
        }
    }

    /// Deletes a job of any kind by ARN or id (control API: "the job was deleted").
    pub fn remove(&mut self, identifier: &str) -> Option<Job> {
        let id = JobKind::ALL
            .iter()
            .find_map(|kind| self.find_id(*kind, identifier))?;
        let job = self.jobs.remove(&id)?;
        if let Some(index) = self.by_time.get_mut(&job.kind) {
            index.retain(|(_, i)| *i != id);
        }
        self.by_name.retain(|_, v| *v != id);
        self.by_token.retain(|_, v| *v != id);
        Some(job)
    }

    /// Gives a job a new name (`UpdateProvisionedModelThroughput`'s
    /// `desiredProvisionedModelName`): the old one is free again.
    pub fn rename(&mut self, kind: JobKind, id: &str, name: &str) {
        let Some(job) = self.jobs.get_mut(id) else {
            return;
        };
        if let Some(old) = job.name.replace(name.to_owned()) {
            self.by_name.remove(&(kind, old));
        }
        self.by_name.insert((kind, name.to_owned()), id.to_owned());
    }

    pub fn clear(&mut self) {
        *self = Store::default();
    }

    pub fn all(&self) -> impl Iterator<Item = &Job> {
        self.jobs.values()
    }

    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut Job> {
        self.jobs.values_mut()
    }

    /// The jobs of one family, oldest submit time first.
    pub fn of_kind(&self, kind: JobKind) -> impl DoubleEndedIterator<Item = &Job> {
        self.by_time
            .get(&kind)
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.jobs.get(id))
    }

    pub fn by_token(&self, kind: JobKind, token: &str) -> Option<&Job> {
        let id = self.by_token.get(&(kind, token.to_owned()))?;
        self.jobs.get(id)
    }

    pub fn name_taken(&self, kind: JobKind, name: &str) -> bool {
        self.by_name.contains_key(&(kind, name.to_owned()))
    }

    /// Finds a job of `kind` by ARN, id, or (import and customization jobs) name.
    pub fn find(&self, kind: JobKind, identifier: &str) -> Option<&Job> {
        self.find_id(kind, identifier)
            .and_then(|id| self.jobs.get(&id))
    }

    pub fn find_mut(&mut self, kind: JobKind, identifier: &str) -> Option<&mut Job> {
        let id = self.find_id(kind, identifier)?;
        self.jobs.get_mut(&id)
    }

    /// Finds a job of any kind by ARN or id (control API).
    pub fn find_any_mut(&mut self, identifier: &str) -> Option<&mut Job> {
        let id = JobKind::ALL
            .iter()
            .find_map(|kind| self.find_id(*kind, identifier))?;
        self.jobs.get_mut(&id)
    }

    fn find_id(&self, kind: JobKind, identifier: &str) -> Option<String> {
        let tail = identifier.rsplit('/').next().unwrap_or(identifier);
        if let Some(job) = self.jobs.get(tail) {
            let matches_arn = !identifier.contains('/') || job.arn == identifier;
            if job.kind == kind && matches_arn {
                return Some(job.id.clone());
            }
        }
        self.by_name.get(&(kind, identifier.to_owned())).cloned()
    }

    pub fn list(&self, kind: JobKind, query: &ListQuery) -> ApiResult<Page<'_>> {
        let window = self.window(kind, query)?;
        let matching = |key: &Key| self.jobs.get(&key.1).filter(|job| query.matches(job));
        let wanted = query.max_results + 1;
        let mut jobs: Vec<&Job> = if query.ascending {
            window.iter().filter_map(matching).take(wanted).collect()
        } else {
            window
                .iter()
                .rev()
                .filter_map(matching)
                .take(wanted)
                .collect()
        };
        let next_token = if jobs.len() > query.max_results {
            jobs.truncate(query.max_results);
            jobs.last().map(|job| encode_token(&key_of(job)))
        } else {
            None
        };
        Ok(Page { jobs, next_token })
    }

    /// The keys of the family's jobs within the query's time range, after its cursor.
    fn window(&self, kind: JobKind, query: &ListQuery) -> ApiResult<&[Key]> {
        let index = self.by_time.get(&kind).map_or(&[][..], Vec::as_slice);
        let mut lo = query
            .after
            .map_or(0, |t| index.partition_point(|k| k.0 <= nanos(t)));
        let mut hi = query
            .before
            .map_or(index.len(), |t| index.partition_point(|k| k.0 < nanos(t)));
        if let Some(token) = &query.next_token {
            let cursor = decode_token(token)?;
            if query.ascending {
                lo = lo.max(index.partition_point(|k| *k <= cursor));
            } else {
                hi = hi.min(index.partition_point(|k| *k < cursor));
            }
        }
        Ok(index.get(lo..hi.max(lo)).unwrap_or_default())
    }
}

impl ListQuery {
    /// The job passes the status, name and spec filters.
    fn matches(&self, job: &Job) -> bool {
        let status_ok = self
            .statuses
            .as_ref()
            .is_none_or(|s| s.contains(&job.status));
        let name_ok = self.name_contains.as_ref().is_none_or(|n| {
            job.name
                .as_deref()
                .is_some_and(|name| name.contains(n.as_str()))
        });
        let spec_ok = self
            .spec_equals
            .iter()
            .all(|(k, v)| job.spec_str(k) == Some(v.as_str()))
            && self
                .spec_contains
                .iter()
                .all(|(k, v)| job.spec_str(k).is_some_and(|x| x.contains(v.as_str())));
        status_ok && name_ok && spec_ok
    }
}

fn encode_token((nanos, id): &Key) -> String {
    format!("v1.{nanos}.{id}")
}

fn decode_token(token: &str) -> ApiResult<Key> {
    let invalid = || ApiError::validation("The pagination token is not valid.");
    let mut parts = token.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(nanos), Some(id)) if !id.is_empty() => {
            Ok((nanos.parse().map_err(|_| invalid())?, id.to_owned()))
        }
        _ => Err(invalid()),
    }
}
