//! The emulator binary, spawned as users run it, parsed by another SDK (boto3/botocore).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the emulator when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_prints_its_port_and_boto3_parses_every_operation() {
    // given the binary on a free port
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn emulator"),
    );
    let mut first_line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let endpoint = first_line
        .trim()
        .strip_prefix("listening on ")
        .expect("first line names the endpoint")
        .to_owned();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") && !endpoint.ends_with(":0"),
        "{endpoint}"
    );

    // when boto3 drives every operation
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boto3_compat.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&endpoint)
        .output()
        .expect("python3 runs (install boto3)");

    // then
    assert!(
        out.status.success(),
        "boto3 failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_state_file_keeps_jobs_across_a_restart() {
    let dir = std::env::temp_dir().join(format!("emulator-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let start = || {
        let mut child = Child(
            Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"))
                .args(["--port", "0", "--state-file"])
                .arg(&state)
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn emulator"),
        );
        let mut line = String::new();
        BufReader::new(child.0.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        (
            child,
            line.trim().trim_start_matches("listening on ").to_owned(),
        )
    };
    let get = |endpoint: &str, path: &str, body: Option<&str>| {
        let mut cmd = Command::new("curl");
        cmd.args(["-sf", &format!("{endpoint}{path}")]);
        if let Some(b) = body {
            cmd.args(["-H", "content-type: application/json", "-d", b]);
        }
        String::from_utf8(cmd.output().expect("curl").stdout).unwrap()
    };

    // given a job seeded into a first emulator that is then stopped with SIGTERM
    let (first, endpoint) = start();
    get(
        &endpoint,
        "/_emulator/seed",
        Some(r#"{"kind": "model-import", "count": 3, "namePrefix": "kept"}"#),
    );
    Command::new("kill")
        .args(["-TERM", &first.0.id().to_string()])
        .status()
        .unwrap();
    let mut first = first;
    first.0.wait().unwrap();
    assert!(state.exists(), "the state file is written on shutdown");

    // when a second emulator starts from the file
    let (_second, endpoint) = start();

    // then it still has the jobs
    let listed = get(&endpoint, "/model-import-jobs", None);
    assert_eq!(listed.matches("\"jobName\":\"kept-").count(), 3, "{listed}");
    std::fs::remove_dir_all(&dir).ok();
}
