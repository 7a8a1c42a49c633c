//! The optional state file (`--state-file`): jobs survive a restart of the emulator.

use std::io;
use std::path::Path;

use crate::model::Job;

pub fn load(path: &Path) -> io::Result<Vec<Job>> {
    let text = std::fs::read(path)?;
    serde_json::from_slice(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes atomically: a crash mid-write never leaves a truncated file behind.
pub fn save(path: &Path, jobs: &[Job]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(jobs).map_err(io::Error::other)?)?;
    std::fs::rename(tmp, path)
}
