//! How jobs move on their own: the ticker that advances jobs with a planned outcome through
//! their family's realistic states (`--auto-advance`, the `emulator:outcome` tag, or a stop).
//! Forced transitions (`Job::transition`) come from the control API and the stop operations.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::families::{family, names_identify};
use crate::family::Facts;
use crate::model::{fit_outcome, Status};
use crate::store::Store;

/// The state after `current` on the way to `outcome`.
fn next_status(facts: &Facts, current: &Status, outcome: &Status) -> Status {
    match current {
        Status::Stopping => Status::Stopped,
        Status::IngestionStopping => Status::IngestionStopped,
        _ => facts
            .step_after(current)
            .unwrap_or_else(|| fit_outcome(facts.statuses, outcome)),
    }
}

/// Advances every job (of every scope) whose current state has lasted `step`, once.
pub async fn tick(app: &App, step: Duration, now: DateTime<Utc>) {
    let step = chrono::Duration::from_std(step).unwrap_or_default();
    for (_, store) in app.all_stores() {
        tick_store(app, &mut *store.write().await, step, now);
    }
}

fn tick_store(app: &App, store: &mut Store, step: chrono::Duration, now: DateTime<Utc>) {
    let due: Vec<String> = store
        .all()
        .filter(|j| j.planned_outcome.is_some() && !j.status.is_terminal())
        .filter(|j| now - j.last_modified_time >= step)
        .map(|j| j.arn.clone())
        .collect();
    for arn in due {
        let Some(job) = store.find_any_mut(&arn) else {
            continue;
        };
        let family = family(job.kind);
        let outcome = job.planned_outcome.clone().unwrap_or(Status::Completed);
        let next = next_status(family.facts(), &job.status, &outcome);
        let finished = next.is_terminal();
        job.transition(next, None, now);
        if finished {
            app.with_rng(|rng| family.finish(job, rng));
        }
        if let Some(made) = family.produce(app, job, now) {
            let by_name = names_identify(made.kind);
            store.insert(made, by_name);
        }
    }
}

/// Runs [`tick`] forever (spawned by the server).
pub async fn run_ticker(app: Arc<App>) {
    let step = app.settings.lifecycle.step;
    let period = (step / 4).max(Duration::from_millis(20));
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        tick(&app, step, Utc::now()).await;
    }
}
