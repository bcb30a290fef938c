//! `check --baseline FILE.sarif`: the fingerprints of the results of an earlier SARIF log,
//! so that only new findings are reported. A result is matched by dockpolicy's key
//! (`partialFingerprints."dockpolicy/v1"`) or, when the log has none (another tool wrote it or
//! removed it), by its rule ID and `primaryLocationLineHash`.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use crate::report::fingerprint::FINDING_KEY_NAME;
use crate::report::{ReportedFinding, ScannedPath};

/// The largest baseline read (GitHub's own limit on uncompressed SARIF is far lower).
const MAX_BASELINE_BYTES: u64 = 1 << 30;

/// The fingerprints of a baseline's results.
#[derive(Debug, Default)]
pub struct Baseline {
    keys: HashSet<String>,
    line_hashes: HashSet<(String, String)>,
}

impl Baseline {
    /// Reads the SARIF log at `path`. The error says what is wrong, naming the file.
    pub fn read(path: &Path) -> Result<Baseline, String> {
        let shown = path.display();
        let size = std::fs::metadata(path)
            .map_err(|e| format!("cannot read the baseline {shown}: {e}"))?
            .len();
        if size > MAX_BASELINE_BYTES {
            return Err(format!(
                "the baseline {shown} is larger than {MAX_BASELINE_BYTES} bytes"
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the baseline {shown}: {e}"))?;
        Baseline::parse(&text).map_err(|problem| format!("the baseline {shown} {problem}"))
    }

    /// The fingerprints of the SARIF log `text`; the error completes "the baseline FILE …".
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let log: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "is not JSON: {e} (give a SARIF file written by `dockpolicy check --format sarif`)"
            )
        })?;
        let runs = log
            .get("runs")
            .and_then(Value::as_array)
            .ok_or("is not a SARIF log: it has no `runs` array")?;
        let mut baseline = Baseline::default();
        for (index, run) in runs.iter().enumerate() {
            let results = run
                .get("results")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("is not a SARIF log: run {index} has no `results` array"))?;
            for result in results {
                let fingerprints = result.get("partialFingerprints");
                let text_of = |key: &str| {
                    fingerprints
                        .and_then(|f| f.get(key))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                if let Some(key) = text_of(FINDING_KEY_NAME) {
                    baseline.keys.insert(key);
                } else if let (Some(rule), Some(hash)) = (
                    result.get("ruleId").and_then(Value::as_str),
                    text_of("primaryLocationLineHash"),
                ) {
                    baseline.line_hashes.insert((rule.to_string(), hash));
                }
            }
        }
        Ok(baseline)
    }

    /// Whether the baseline holds `reported`.
    pub fn contains(&self, reported: &ReportedFinding) -> bool {
        self.keys.contains(&reported.key)
            || (!self.line_hashes.is_empty()
                && self.line_hashes.contains(&(
                    reported.finding.rule_id.to_string(),
                    reported.line_hash.clone(),
                )))
    }

    /// Removes the findings the baseline holds from `scans`; returns how many.
    pub fn hide(&self, scans: &mut [ScannedPath]) -> usize {
        let mut hidden = 0;
        for scan in scans {
            let before = scan.findings.len();
            scan.findings.retain(|reported| !self.contains(reported));
            hidden += before - scan.findings.len();
        }
        hidden
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_logs_are_refused_with_the_reason() {
        let problem = |text: &str| Baseline::parse(text).err().unwrap_or_default();
        assert!(problem("{").starts_with("is not JSON"));
        assert_eq!(problem("{}"), "is not a SARIF log: it has no `runs` array");
        assert_eq!(
            problem(r#"{"runs": [{}]}"#),
            "is not a SARIF log: run 0 has no `results` array"
        );
    }

    #[test]
    fn reads_our_key_and_falls_back_to_the_line_hash() {
        let baseline = Baseline::parse(
            r#"{"runs": [{"results": [
                {"ruleId": "DP1", "partialFingerprints": {"dockpolicy/v1": "k:1", "primaryLocationLineHash": "h:1"}},
                {"ruleId": "DP2", "partialFingerprints": {"primaryLocationLineHash": "h:2"}}
            ]}]}"#,
        )
        .unwrap_or_default();
        assert!(baseline.keys.contains("k:1"));
        assert!(baseline
            .line_hashes
            .contains(&("DP2".to_string(), "h:2".to_string())));
        assert_eq!(baseline.line_hashes.len(), 1);
    }
}
