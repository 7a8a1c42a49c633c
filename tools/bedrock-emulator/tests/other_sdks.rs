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
