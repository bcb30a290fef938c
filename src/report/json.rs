//! `check --format json`: dockpolicy's own stable JSON document (SPEC.md §12.2), versioned by
//! [`JSON_VERSION`]. Lines and columns are 1-based, columns counted in Unicode scalar values
//! as in `dump`; the end column is that of the character after the token.

use std::borrow::Cow;

use serde::Serialize;

use crate::diag::Severity;
use crate::eval::engine::SuppressionKind;
use crate::report::pretty::to_pretty_string;
use crate::report::{CheckReport, DiagnosticIn, ReportedFinding, ScannedPath};
use crate::source::{Sources, Span};

/// The version of the document's layout; it changes only when a field changes meaning or
/// disappears.
pub const JSON_VERSION: u32 = 1;

/// The JSON document of `report`, pretty-printed.
pub fn render(report: &CheckReport<'_>) -> serde_json::Result<String> {
    let findings = report
        .all_findings()
        .map(|(scan, reported)| finding(scan, reported))
        .collect();
    let diagnostics = report.diagnostics().map(diagnostic).collect();
    let document = Document {
        version: JSON_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        findings,
        diagnostics,
        summary: Summary {
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            notes: report.count(Severity::Note),
            suppressed: report.suppressed(),
            baseline_hidden: report.baseline_hidden,
            files: report.files(),
            rules: report.rules.len(),
            exit_code: report.exit_code,
        },
    };
    Ok(to_pretty_string(&document)? + "\n")
}

fn finding<'a>(scan: &'a ScannedPath, reported: &'a ReportedFinding) -> JsonFinding<'a> {
    let finding = &reported.finding;
    JsonFinding {
        rule_id: &finding.rule_id,
        rule_name: &finding.rule_name,
        severity: finding.severity,
        message: &finding.message,
        location: location(&scan.sources, Some(scan), finding.span),
        related: finding
            .related
            .iter()
            .map(|related| JsonRelated {
                location: location(&scan.sources, Some(scan), related.span),
                message: &related.message,
            })
            .collect(),
        fingerprint: &reported.key,
        suppression: finding
            .suppression
            .as_ref()
            .map(|suppression| JsonSuppression {
                kind: suppression.kind,
                justification: &suppression.justification,
                location: suppression
                    .span
                    .and_then(|span| location(&scan.sources, Some(scan), span)),
            }),
    }
}

fn diagnostic(found: DiagnosticIn<'_>) -> JsonDiagnostic<'_> {
    let diagnostic = found.diagnostic;
    JsonDiagnostic {
        severity: diagnostic.severity,
        message: &diagnostic.message,
        help: diagnostic.help.as_deref(),
        location: diagnostic
            .span
            .and_then(|span| location(found.sources, found.scan, span)),
    }
}

/// Where `span` is; files of a scanned PATH are named as `scan` names them.
fn location<'a>(
    sources: &'a Sources,
    scan: Option<&ScannedPath>,
    span: Span,
) -> Option<JsonLocation<'a>> {
    let file = sources.get(span.file)?;
    let (start_line, start_column) = file.line_column(span.start as usize);
    let (end_line, end_column) = file.line_column(span.end as usize);
    Some(JsonLocation {
        // A PATH checked alone has no prefix: its files' relative paths are borrowed.
        path: match scan {
            Some(scan) if !scan.prefix.is_empty() => Cow::Owned(scan.path(span.file)),
            _ => Cow::Borrowed(file.rel_path.as_str()),
        },
        start_line,
        start_column,
        end_line,
        end_column,
        text: file.slice(span),
    })
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    findings: Vec<JsonFinding<'a>>,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule_id: &'a str,
    rule_name: &'a str,
    severity: Severity,
    message: &'a str,
    #[serde(flatten)]
    location: Option<JsonLocation<'a>>,
    related: Vec<JsonRelated<'a>>,
    fingerprint: &'a str,
    suppression: Option<JsonSuppression<'a>>,
}

#[derive(Serialize)]
struct JsonLocation<'a> {
    path: Cow<'a, str>,
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    text: &'a str,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    #[serde(flatten)]
    location: Option<JsonLocation<'a>>,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonSuppression<'a> {
    kind: SuppressionKind,
    justification: &'a str,
    location: Option<JsonLocation<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    message: &'a str,
    help: Option<&'a str>,
    #[serde(flatten)]
    location: Option<JsonLocation<'a>>,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    notes: usize,
    suppressed: usize,
    baseline_hidden: usize,
    files: usize,
    rules: usize,
    exit_code: u8,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::engine::Suppression;
    use crate::report::testing::{finding, report, scan};
    use serde_json::{json, Value};

    #[test]
    fn suppressed_findings_are_listed_with_their_suppression_but_not_counted() {
        let scan = scan(
            "FROM a\n# dockpolicy ignore=DP9 -- vendored\nRUN b\n",
            |span| {
                let comment = Span::new(span.file, 7..42);
                vec![
                    finding(span, Severity::Warning, None),
                    finding(
                        span,
                        Severity::Error,
                        Some(Suppression {
                            kind: SuppressionKind::InSource,
                            justification: "vendored".into(),
                            span: Some(comment),
                        }),
                    ),
                ]
            },
        );
        let rule_sources = Sources::new();
        let text = render(&report(vec![scan], &rule_sources)).unwrap_or_default();
        let document: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(document["findings"][0]["suppression"], Value::Null);
        assert_eq!(
            document["findings"][1]["suppression"],
            json!({
                "kind": "inSource",
                "justification": "vendored",
                "location": {
                    "path": "dir with space/Dockerfile",
                    "start_line": 2, "start_column": 1, "end_line": 2, "end_column": 36,
                    "text": "# dockpolicy ignore=DP9 -- vendored"
                }
            })
        );
        assert_eq!(document["summary"]["errors"], 0);
        assert_eq!(document["summary"]["warnings"], 1);
        assert_eq!(document["summary"]["suppressed"], 1);
        // The same token, rule and message: the second finding is the second occurrence.
        let first = document["findings"][0]["fingerprint"]
            .as_str()
            .unwrap_or("");
        let second = document["findings"][1]["fingerprint"]
            .as_str()
            .unwrap_or("");
        assert!(
            first.ends_with(":1") && second.ends_with(":2"),
            "{first} {second}"
        );
        assert_eq!(first.split(':').next(), second.split(':').next());
    }
}
