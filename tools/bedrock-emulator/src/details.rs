//! Details a job shows when it ends, shared by the families' `finish`.

use rand::rngs::StdRng;
use rand::Rng;

use crate::model::{Job, Status};

/// Draws a record total. Every family but ingestion and Data Automation draws one when a job
/// ends (only batch inference shows it), so the seeded random sequence (ids, outcomes, counts)
/// is the same whatever the family.
pub fn draw_total(rng: &mut StdRng) -> i64 {
    rng.random_range(10..=5000)
}

/// A failed job's message (unless one was given), and an update that completes taking effect:
/// the new model, the new units.
pub fn settle(job: &mut Job, failure: &str) {
    match job.status {
        Status::Failed | Status::UpdateFailed if job.message.is_none() => {
            job.message = Some(failure.to_owned())
        }
        Status::InService | Status::UpdateCompleted => {
            for (now, desired) in [
                ("modelArn", "desiredModelArn"),
                ("modelUnits", "desiredModelUnits"),
                ("modelArn", "updateModelArn"),
            ] {
                if let Some(v) = job.spec.get(desired).cloned() {
                    job.spec.insert(now.into(), v);
                }
            }
        }
        _ => {}
    }
}
