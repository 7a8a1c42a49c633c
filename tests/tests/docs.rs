//! The documentation's reference tables against the code itself, not a parse of it:
//! `scripts/docs-reference.py` generates the family and metric tables by reading the Rust
//! sources as text; these tests read the real `Family` entries and metric names and check that
//! the generated tables say the same, so a source the script misreads cannot pass unnoticed.

use std::path::PathBuf;

use jobwatch::domain::JobKind;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The rows of a generated block (`<!-- generated:NAME ... -->` to `<!-- /generated:NAME -->`).
fn generated(page: &str, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
    let start = text
        .find(&format!("<!-- generated:{name} "))
        .unwrap_or_else(|| panic!("{page} has no generated:{name} block"));
    let end = text
        .find(&format!("<!-- /generated:{name} -->"))
        .unwrap_or_else(|| panic!("{page}: generated:{name} is not closed"));
    text[start..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(str::to_owned)
        .collect()
}

fn cells(row: &str) -> Vec<String> {
    row.trim()
        .trim_matches('|')
        .split(" | ")
        .map(|c| c.trim().to_owned())
        .collect()
}

#[test]
fn the_family_table_of_the_docs_is_the_family_table_of_the_code() {
    let rows = generated("docs/configuration/families.md", "families");
    assert_eq!(rows.len(), JobKind::ALL.len(), "one row per family");
    for kind in JobKind::ALL {
        let family = kind.family();
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("| `{}` |", family.name)))
            .unwrap_or_else(|| panic!("no row for {}", family.name));
        let cells = cells(row);
        // statuses in lifecycle order, the terminal ones in bold
        let statuses: Vec<String> = family
            .vocabulary
            .iter()
            .map(|(status, phase)| match phase.is_terminal() {
                true => format!("**{status}**"),
                false => status.to_string(),
            })
            .collect();
        assert_eq!(cells[3], statuses.join(", "), "{} statuses", family.name);
        // every IAM action of the family, and no other Bedrock (or AgentCore) action
        let named: Vec<&str> = cells[4]
            .split('`')
            .filter(|s| s.starts_with("bedrock:") || s.starts_with("bedrock-agentcore:"))
            .collect();
        let mut want: Vec<&str> = family.iam_actions.to_vec();
        let mut have = named.clone();
        want.sort_unstable();
        have.sort_unstable();
        assert_eq!(have, want, "{} IAM actions", family.name);
        // Bedrock's event detail types, when the family has them
        let events: Vec<&str> = family
            .event
            .map(|e| e.detail_types.to_vec())
            .unwrap_or_default();
        for detail_type in &events {
            assert!(
                cells[5].contains(&format!("`{detail_type}`")),
                "{} event {detail_type}",
                family.name
            );
        }
        assert_eq!(
            cells[5] == "none",
            events.is_empty(),
            "{} events: {}",
            family.name,
            cells[5]
        );
    }
}

#[test]
fn the_metric_table_of_the_docs_names_every_metric_the_code_emits_and_no_other() {
    let rows = generated("docs/operations/metrics.md", "metrics");
    let documented: Vec<String> = rows
        .iter()
        .map(|r| cells(r)[0].trim_matches('`').to_owned())
        .collect();
    let emitted: Vec<String> = jobwatch::metrics::names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(documented, emitted);
    for metric in jobwatch::metrics::METRICS {
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("| `{}` |", metric.name)))
            .expect("a row per metric");
        assert_eq!(cells(row)[1], metric.unit.as_str(), "{} unit", metric.name);
    }
}
