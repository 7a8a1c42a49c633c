//! Reading back the CloudWatch Embedded Metric Format lines a run writes, checked against the
//! specification's rules on the way (what CloudWatch would reject, a test rejects).

use std::collections::BTreeMap;

use serde_json::Value;

/// One EMF document: its namespace, dimension values and metric values by name.
#[derive(Debug, Clone)]
pub struct Emf {
    pub namespace: String,
    pub dimensions: BTreeMap<String, String>,
    pub units: BTreeMap<String, String>,
    pub values: BTreeMap<String, Value>,
    pub document: Value,
}

impl Emf {
    /// Parses one log line, asserting the specification's structure: `_aws.Timestamp` in epoch
    /// milliseconds, one or more directives with a namespace, dimension sets of at most 30
    /// names that are string members, at most 100 metrics whose members are numbers or arrays
    /// of at most 100 numbers.
    pub fn parse(line: &str) -> Emf {
        let document: Value = serde_json::from_str(line).expect("an EMF line is one JSON object");
        assert!(!line.contains('\n'), "one line");
        let aws = &document["_aws"];
        assert!(aws["Timestamp"]
            .as_i64()
            .is_some_and(|t| t > 1_600_000_000_000));
        let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
        assert_eq!(directives.len(), 1, "one directive per run");
        let directive = &directives[0];
        let namespace = directive["Namespace"]
            .as_str()
            .expect("namespace")
            .to_owned();
        assert!(!namespace.is_empty() && namespace.len() <= 256);
        let mut dimensions = BTreeMap::new();
        for set in directive["Dimensions"].as_array().expect("dimension sets") {
            let set = set.as_array().expect("a dimension set");
            assert!(set.len() <= 30);
            for name in set {
                let name = name.as_str().expect("dimension name");
                let value = document[name]
                    .as_str()
                    .expect("a dimension is a string member");
                dimensions.insert(name.to_owned(), value.to_owned());
            }
        }
        let metrics = directive["Metrics"].as_array().expect("metrics");
        assert!(metrics.len() <= 100, "at most 100 metrics per directive");
        let (mut units, mut values) = (BTreeMap::new(), BTreeMap::new());
        for metric in metrics {
            let name = metric["Name"].as_str().expect("metric name").to_owned();
            let value = document[&name].clone();
            let numeric = match &value {
                Value::Number(_) => true,
                Value::Array(items) => items.len() <= 100 && items.iter().all(Value::is_number),
                _ => false,
            };
            assert!(numeric, "metric {name} has a numeric member, got {value}");
            units.insert(
                name.clone(),
                metric["Unit"].as_str().unwrap_or("None").to_owned(),
            );
            values.insert(name, value);
        }
        Emf {
            namespace,
            dimensions,
            units,
            values,
            document,
        }
    }

    /// A metric's single value as a number (panics when absent: the test expected it).
    pub fn number(&self, name: &str) -> u64 {
        self.values
            .get(name)
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("metric {name} in {:#}", self.document))
    }
}
