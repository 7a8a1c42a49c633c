//! What people read of a running job's progress when its family reports stages or document
//! statistics rather than record counts ([`crate::domain::stages`]): where it stands, and why
//! there is no estimated end (no total to project one from).

use super::email::group;
use crate::domain::stages::{stages, Documents};
use crate::domain::JobRecord;

/// Where the job stands, for the CLI and the alerts (`None`: its family keeps neither).
pub fn progress_note(record: &JobRecord) -> Option<String> {
    stage_note(record).or_else(|| documents_note(record))
}

/// The same in a table cell: `training 3/3`, `1,150/1,204 docs` (`None`: neither kept).
pub fn progress_cell(record: &JobRecord) -> Option<String> {
    let stages = stages(&record.details);
    if let Some((i, (stage, _))) = stages
        .iter()
        .enumerate()
        .find(|(_, (_, st))| st != "Completed")
    {
        return Some(format!("{stage} {}/{}", i + 1, stages.len()));
    }
    if !stages.is_empty() {
        return Some(format!("{0}/{0} stages", stages.len()));
    }
    let d = Documents::of(&record.details)?;
    Some(format!("{}/{} docs", group(d.indexed), group(d.scanned)))
}

/// `training in progress (stage 3 of 3; validation, data processing completed); no estimated
/// end: the stages take unequal times`.
fn stage_note(record: &JobRecord) -> Option<String> {
    let stages = stages(&record.details);
    if stages.is_empty() {
        return None;
    }
    let words = |s: &str| match s {
        "dataProcessing" => "data processing".to_owned(),
        other => other.to_owned(),
    };
    let done: Vec<String> = stages
        .iter()
        .filter(|(_, st)| st == "Completed")
        .map(|(s, _)| words(s))
        .collect();
    let current = stages
        .iter()
        .enumerate()
        .find(|(_, (_, st))| st != "Completed" && st != "NotStarted");
    let completed = match done.is_empty() {
        true => String::new(),
        false => format!("; {} completed", done.join(", ")),
    };
    let at = match current {
        Some((i, (stage, status))) => format!(
            "{} {} (stage {} of {}{completed})",
            words(stage),
            status_words(status),
            i + 1,
            stages.len()
        ),
        None if done.len() == stages.len() => format!("all {} stages completed", stages.len()),
        None => format!("{} not started{completed}", words(&stages[done.len()].0)),
    };
    Some(format!(
        "{at}; no estimated end: the stages take unequal times"
    ))
}

fn status_words(status: &str) -> String {
    match status {
        "InProgress" => "in progress".into(),
        other => other.to_lowercase(),
    }
}

/// `1,150 documents indexed, 12 failed, 38 skipped, 4 deleted of 1,204 scanned so far; no
/// estimated end: the total is known only when the scan ends`.
fn documents_note(record: &JobRecord) -> Option<String> {
    let d = Documents::of(&record.details)?;
    Some(format!(
        "{} documents indexed, {} failed, {} skipped, {} deleted of {} scanned so far; no estimated end: the total is known only when the scan ends",
        group(d.indexed),
        group(d.failed),
        group(d.skipped),
        group(d.deleted),
        group(d.scanned)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{JobArn, JobKind, JobStatus};

    fn record(key: &str, value: &str) -> JobRecord {
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let mut r = JobRecord::new(
            JobKind::ModelCustomization,
            JobArn::new("arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x"),
            "us-east-1".into(),
            JobStatus::new("InProgress"),
            now,
            now,
        );
        r.details.insert(key.into(), value.into());
        r
    }

    #[test]
    fn a_stage_note_says_where_the_job_is_and_why_there_is_no_end() {
        let r = record(
            "statusDetails",
            "validation=Completed, dataProcessing=Completed, training=InProgress",
        );
        assert_eq!(
            progress_note(&r).unwrap(),
            "training in progress (stage 3 of 3; validation, data processing completed); no estimated end: the stages take unequal times"
        );
        let r = record(
            "statusDetails",
            "validation=NotStarted, dataProcessing=NotStarted, training=NotStarted",
        );
        assert!(progress_note(&r)
            .unwrap()
            .starts_with("validation not started;"));
        let r = record(
            "statusDetails",
            "validation=Completed, dataProcessing=Failed",
        );
        assert!(progress_note(&r)
            .unwrap()
            .starts_with("data processing failed (stage 2 of 2;"));
        assert_eq!(progress_cell(&r).as_deref(), Some("dataProcessing 2/2"));
    }

    #[test]
    fn a_documents_note_gives_the_counts_and_no_end() {
        let r = record(
            "statistics",
            "scanned=1204, indexed=1150, deleted=4, failed=12, skipped=38",
        );
        assert_eq!(
            progress_note(&r).unwrap(),
            "1,150 documents indexed, 12 failed, 38 skipped, 4 deleted of 1,204 scanned so far; no estimated end: the total is known only when the scan ends"
        );
        assert_eq!(progress_cell(&r).as_deref(), Some("1,150/1,204 docs"));
        assert_eq!(progress_note(&record("jobType", "x")), None);
    }
}
