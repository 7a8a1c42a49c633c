//! What a release promises, checked: one version everywhere (the workspace crates, the template's
//! `Metadata: bedrock-jobwatch: Version`, the top released `CHANGELOG.md` entry), no publish path
//! to the Serverless Application Repository (it refuses templates with transforms other than
//! SAM's, and this one needs `AWS::LanguageExtensions`), and a `rust-version` that really builds
//! the workspace (no older than any dependency declares, no newer than the installed rustc).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;
use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read(file: &str) -> String {
    std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// `cargo metadata` of the workspace: every package of the lock file with its declared
/// `rust_version`, and which of them are workspace members.
fn metadata() -> Json {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

fn members(meta: &Json) -> Vec<&Json> {
    let ids: Vec<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| ids.contains(&p["id"].as_str().unwrap()))
        .collect()
}

/// The one value every member declares for `key` (they inherit it from `[workspace.package]`).
fn workspace_value(meta: &Json, key: &str) -> String {
    let values: Vec<(String, String)> = members(meta)
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap().to_string();
            let value = p[key]
                .as_str()
                .unwrap_or_else(|| panic!("{name} declares no {key}: use {key}.workspace = true"));
            (name, value.to_string())
        })
        .collect();
    let first = values[0].1.clone();
    let differ: Vec<_> = values.iter().filter(|(_, v)| *v != first).collect();
    assert!(
        differ.is_empty(),
        "workspace members disagree on {key}: {values:?}"
    );
    first
}

/// "1.94.1" / "1.85" / "1.97.0-nightly" as comparable numbers.
fn version(text: &str) -> (u64, u64, u64) {
    let core = text.split(['-', '+']).next().unwrap();
    let mut parts = core.split('.').map(|n| {
        n.parse::<u64>()
            .unwrap_or_else(|_| panic!("not a version: {text}"))
    });
    let major = parts.next().unwrap();
    (major, parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn template() -> Value {
    serde_yaml::from_str(&read("template.yaml")).expect("template parses")
}

/// The version the template declares (what a deployed stack's template says it is).
fn template_version() -> String {
    match &template()["Metadata"]["bedrock-jobwatch"]["Version"] {
        Value::String(s) => s.clone(),
        other => {
            panic!("template.yaml Metadata: bedrock-jobwatch: Version is a string, found {other:?}")
        }
    }
}

/// The released entries of CHANGELOG.md, newest first: (`x.y.z`, date) of each
/// `## [x.y.z] - YYYY-MM-DD` heading; `## [Unreleased]` must come first.
fn changelog_releases() -> Vec<(String, String)> {
    let text = read("CHANGELOG.md");
    let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        headings.first().copied(),
        Some("## [Unreleased]"),
        "CHANGELOG.md starts with an [Unreleased] section"
    );
    headings[1..]
        .iter()
        .map(|h| {
            let rest = h
                .strip_prefix("## [")
                .unwrap_or_else(|| panic!("not a release heading: {h}"));
            let (v, date) = rest
                .split_once("] - ")
                .unwrap_or_else(|| panic!("a release heading is `## [x.y.z] - YYYY-MM-DD`: {h}"));
            assert!(
                date.len() == 10
                    && date.chars().enumerate().all(|(i, c)| if i == 4 || i == 7 {
                        c == '-'
                    } else {
                        c.is_ascii_digit()
                    }),
                "release date is YYYY-MM-DD: {h}"
            );
            assert_eq!(v.split('.').count(), 3, "release version is x.y.z: {h}");
            version(v);
            (v.to_string(), date.to_string())
        })
        .collect()
}

#[test]
fn template_workspace_and_changelog_name_the_same_version() {
    let workspace = workspace_value(&metadata(), "version");
    let template = template_version();
    let releases = changelog_releases();
    let (top, _) = releases
        .first()
        .expect("CHANGELOG.md has a released version");
    assert_eq!(
        template, workspace,
        "template.yaml Metadata bedrock-jobwatch Version vs Cargo.toml [workspace.package] version"
    );
    assert_eq!(
        *top, workspace,
        "top released CHANGELOG.md entry vs Cargo.toml [workspace.package] version"
    );
}

#[test]
fn changelog_releases_are_newest_first_and_each_once() {
    let releases = changelog_releases();
    for pair in releases.windows(2) {
        let ((newer, newer_date), (older, older_date)) = (&pair[0], &pair[1]);
        assert!(
            version(newer) > version(older),
            "{newer} is listed above {older}"
        );
        assert!(
            newer_date >= older_date,
            "{newer} ({newer_date}) is dated before {older} ({older_date})"
        );
    }
}

/// The Serverless Application Repository accepts only the SAM transform; `sam package` keeps
/// `Fn::ForEach`, so a publish would be refused. The template must not pretend otherwise, and
/// neither may the docs.
#[test]
fn nothing_offers_a_publish_to_the_serverless_application_repository() {
    let template = template();
    let transforms: Vec<&str> = template["Transform"]
        .as_sequence()
        .expect("Transform is a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(transforms.contains(&"AWS::LanguageExtensions"));
    assert!(
        template["Metadata"]
            .get("AWS::ServerlessRepo::Application")
            .is_none(),
        "SAR metadata in a template SAR would refuse"
    );
    for file in docs_files() {
        let text = read(&file);
        assert!(
            !text.contains("sam publish"),
            "{file} tells readers to `sam publish`, which the repository refuses for this template"
        );
    }
}

/// README.md and every Markdown file under docs/.
fn docs_files() -> Vec<String> {
    let mut files = vec!["README.md".to_string()];
    let mut dirs = vec![root().join("docs")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let rel = path.strip_prefix(root()).unwrap();
                files.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    files
}

#[test]
fn the_license_is_the_one_the_crates_declare() {
    assert_eq!(workspace_value(&metadata(), "license"), "MIT-0");
    assert!(
        read("LICENSE").starts_with("MIT No Attribution\n"),
        "LICENSE holds the MIT-0 text"
    );
}

/// `rust-version` must be at least what every dependency declares: cargo refuses to build a
/// package with an older toolchain than its `rust-version`, so a lower value is a promise the
/// workspace cannot keep.
#[test]
fn declared_rust_version_covers_every_dependency() {
    let meta = metadata();
    let declared = workspace_value(&meta, "rust_version");
    let member_ids: Vec<&str> = members(&meta)
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    let mut needs: Vec<(String, String)> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !member_ids.contains(&p["id"].as_str().unwrap()))
        .filter_map(|p| {
            let rv = p["rust_version"].as_str()?;
            Some((
                rv.to_string(),
                format!("{} {}", p["name"].as_str()?, p["version"].as_str()?),
            ))
        })
        .collect();
    assert!(!needs.is_empty(), "no dependency declares a rust-version");
    needs.sort_by_key(|(rv, _)| std::cmp::Reverse(version(rv)));
    let highest = needs[0].0.clone();
    let above: Vec<_> = needs
        .iter()
        .filter(|(rv, _)| version(rv) > version(&declared))
        .collect();
    assert!(
        above.is_empty(),
        "rust-version {declared} is older than these dependencies need: {above:?}"
    );
    assert!(
        version(&declared) >= version(&highest),
        "rust-version {declared} < {highest}"
    );
}

/// ... and no newer than the toolchain that builds and tests it here.
#[test]
fn declared_rust_version_is_not_newer_than_the_installed_rustc() {
    let declared = workspace_value(&metadata(), "rust_version");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .arg("--version")
        .current_dir(root())
        .output()
        .expect("rustc --version runs");
    let text = String::from_utf8(out.stdout).unwrap();
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let installed = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("rustc --version printed {text:?}"));
    assert!(
        version(&declared) <= version(installed),
        "rust-version {declared} is newer than the installed rustc {installed}"
    );
}

#[test]
fn versions_compare_as_numbers() {
    assert_eq!(version("1.85"), (1, 85, 0));
    assert_eq!(version("1.97.0-nightly"), (1, 97, 0));
    assert!(version("1.94.1") > version("1.94"));
    assert!(version("1.100.0") > version("1.95.0"));
}
