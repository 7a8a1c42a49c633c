//! What every test that drives the emulator binary from outside needs: the emulator on a free
//! port (killed when the test ends, pass or fail), the AWS CLI pointed at it, and a raw HTTP
//! request for the control API (a plain socket: a job ARN goes exactly as written).
//!
//! Each test file is its own crate and uses a part of this module, hence `dead_code`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The emulator process; dropped, it is killed.
pub struct Emulator {
    child: std::process::Child,
    pub endpoint: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the emulator with `args` on a port the system picks (it prints `listening on ...`).
pub fn spawn(args: &[&str]) -> Emulator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line.trim().trim_start_matches("listening on ").to_owned();
    Emulator { child, endpoint }
}

/// How the AWS CLI is run: the service, the region, and whether it loads the installed
/// botocore's models instead of the ones it bundles (the CLI v1's copy can be older: AgentCore's
/// `outputConfig` is missing from it).
#[derive(Debug, Clone, Copy)]
pub struct Cli {
    pub service: &'static str,
    pub region: &'static str,
    pub newer_models: bool,
}

impl Cli {
    pub const fn of(service: &'static str) -> Self {
        Self {
            service,
            region: "us-east-1",
            newer_models: false,
        }
    }

    /// `aws <service> <args> --endpoint-url ...` with dummy credentials: the parsed JSON
    /// output, or the error text when the command fails.
    pub fn run(self, emulator: &Emulator, args: &[&str]) -> Result<Value, String> {
        let mut command = Command::new("aws");
        command
            .arg(self.service)
            .args(args)
            .args(["--endpoint-url", &emulator.endpoint, "--output", "json"])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", self.region)
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("AWS_PROFILE");
        if self.newer_models {
            command.env("AWS_DATA_PATH", botocore_data());
        }
        let out = command
            .output()
            .expect("the AWS CLI is installed (pip install awscli)");
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        match text.trim() {
            "" => Ok(Value::Null),
            json => Ok(serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))),
        }
    }

    /// [`Cli::run`] that must succeed.
    pub fn ok(self, emulator: &Emulator, args: &[&str]) -> Value {
        self.run(emulator, args)
            .unwrap_or_else(|e| panic!("aws {} {args:?}: {e}", self.service))
    }

    /// [`Cli::run`] that must fail: the error text.
    pub fn err(self, emulator: &Emulator, args: &[&str]) -> String {
        match self.run(emulator, args) {
            Ok(v) => panic!("aws {} {args:?} succeeded: {v}", self.service),
            Err(e) => e,
        }
    }
}

/// The installed botocore's model directory (newer than the CLI's bundled copy).
fn botocore_data() -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))",
        ])
        .output()
        .expect("python3 with botocore (pip install awscli)");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// One HTTP/1.1 request on a plain socket: the path is sent exactly as written.
pub fn raw(endpoint: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    // A chunked body (hyper's default for JSON of unknown length) has sizes around the text.
    let json = json
        .find('{')
        .and_then(|start| json.rfind('}').map(|end| &json[start..=end]))
        .unwrap_or("null");
    (status, serde_json::from_str(json).unwrap())
}

/// Forces a job's or resource's status through the control API.
pub fn set_status(emulator: &Emulator, arn: &str, status: &str) {
    let (code, body) = raw(
        &emulator.endpoint,
        "POST",
        &format!("/_emulator/jobs/{arn}/status"),
        &format!(r#"{{"status":"{status}"}}"#),
    );
    assert_eq!(code, 200, "{body}");
}
