//! SARIF 2.1.0 for code scanning (GitHub and other SARIF viewers), one run per `check`.
//!
//! The log is built from small typed structs serialised with serde (the subset of SARIF that
//! dockpolicy writes; `serde-sarif`'s generated builders would add several crates for it).
//! What GitHub needs is honoured: `rules[]` with help and `security-severity`, one physical
//! location per result with a repository-relative URI under `%SRCROOT%` and the exact token
//! as region (columns in UTF-16 code units), `partialFingerprints` with GitHub's own
//! `primaryLocationLineHash` beside dockpolicy's key, and GitHub's limits (25,000 results per
//! run, 1,000 locations per result). Suppressed findings are left out unless
//! [`CheckReport::include_suppressed`]: GitHub ignores `suppressions` and would open alerts.
//! A log whose gzip-compressed size would pass GitHub's 10 MB upload limit keeps fewer
//! results (the most severe), and says so in a notification.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diag::Severity;
use crate::eval::engine::{Finding, SuppressionKind};
use crate::report::fingerprint::FINDING_KEY_NAME;
use crate::report::pretty::to_pretty_string;
use crate::report::rule_doc::{default_severity, explanation, full_description, summary};
use crate::report::{
    plural, CheckReport, DiagnosticIn, EvaluatedRule, ReportedFinding, ScannedPath,
};
use crate::source::{SourceFile, Sources, Span};

/// The most results GitHub accepts in one run.
pub const MAX_RESULTS: usize = 25_000;
/// The most related locations written per result (GitHub accepts 1,000 locations).
pub const MAX_RELATED_LOCATIONS: usize = 1_000;

/// The most tags GitHub accepts per rule.
pub const MAX_TAGS: usize = 20;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SOURCE_ROOT: &str = "%SRCROOT%";

/// The largest SARIF upload GitHub accepts, gzip-compressed.
pub const MAX_GZIP_BYTES: usize = 10_000_000;

/// The SARIF log of `report`, as pretty-printed JSON.
pub fn render(report: &CheckReport<'_>) -> serde_json::Result<String> {
    render_within(report, MAX_GZIP_BYTES)
}

/// The SARIF log of `report` whose gzip-compressed size is at most `max_gzip_bytes`: results
/// are halved (the most severe kept) until it fits. Compression runs only for logs larger than
/// the limit, since gzip never shrinks JSON below nothing.
fn render_within(report: &CheckReport<'_>, max_gzip_bytes: usize) -> serde_json::Result<String> {
    let mut max_results = MAX_RESULTS;
    loop {
        let text = to_pretty_string(&log(report, max_results))? + "\n";
        if text.len() <= max_gzip_bytes || max_results == 0 || gzip_size(&text) <= max_gzip_bytes {
            return Ok(text);
        }
        max_results /= 2;
    }
}

/// The size of `text` gzip-compressed as an upload would be.
fn gzip_size(text: &str) -> usize {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    match encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish())
    {
        Ok(compressed) => compressed.len(),
        // Writing to memory does not fail; if it did, the size is not known to fit.
        Err(_) => usize::MAX,
    }
}

fn log<'a>(report: &'a CheckReport<'a>, max_results: usize) -> Log<'a> {
    let rule_index: BTreeMap<&str, usize> = report
        .rules
        .iter()
        .enumerate()
        .map(|(index, evaluated)| (evaluated.rule.id.value.as_str(), index))
        .collect();
    let shown: Vec<(&ScannedPath, &ReportedFinding)> = if report.include_suppressed {
        report.all_findings().collect()
    } else {
        report.findings().collect()
    };
    let kept = keep_most_severe(&shown, max_results);
    let any_suppressed = kept
        .iter()
        .any(|(_, reported)| reported.finding.suppression.is_some());
    let results = kept
        .iter()
        .map(|(scan, reported)| {
            result(
                scan,
                reported,
                rule_index.get(&*reported.finding.rule_id).copied(),
                any_suppressed,
            )
        })
        .collect();
    let mut notifications: Vec<Notification> = report.diagnostics().map(notification).collect();
    if kept.len() < shown.len() {
        notifications.push(Notification {
            level: "warning",
            message: Message::new(format!(
                "{} left out: GitHub accepts at most {}; the most severe were kept",
                plural(shown.len() - kept.len(), "result"),
                if max_results < MAX_RESULTS {
                    "10 MB of gzip-compressed SARIF".to_string()
                } else {
                    format!("{MAX_RESULTS} results per run")
                }
            )),
            locations: Vec::new(),
        });
    }
    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: env!("CARGO_PKG_NAME"),
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: env!("CARGO_PKG_REPOSITORY"),
                    rules: report
                        .rules
                        .iter()
                        .map(|rule| descriptor(rule, report.rule_sources))
                        .collect(),
                },
            },
            invocations: vec![Invocation {
                execution_successful: report.execution_successful,
                exit_code: report.exit_code,
                tool_execution_notifications: notifications,
            }],
            original_uri_base_ids: BTreeMap::from([(
                SOURCE_ROOT,
                BaseLocation {
                    description: Message::new(
                        "The folder dockpolicy checked (the current folder when several were)"
                            .to_string(),
                    ),
                },
            )]),
            column_kind: "utf16CodeUnits",
            results,
        }],
    }
}

/// At most `max` of `findings`, in their order, choosing errors first, then warnings, then
/// notes.
fn keep_most_severe<'a>(
    findings: &[(&'a ScannedPath, &'a ReportedFinding)],
    max: usize,
) -> Vec<(&'a ScannedPath, &'a ReportedFinding)> {
    if findings.len() <= max {
        return findings.to_vec();
    }
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|&index| (findings[index].1.finding.severity, index));
    order.truncate(max);
    order.sort_unstable();
    order.into_iter().map(|index| findings[index]).collect()
}

/// A rule's metadata. A bundled rule's file (`rules/<pack>/<ID>.dpl`, holding its doc) is
/// its `helpUri`, in the repository named in Cargo.toml.
fn descriptor<'a>(evaluated: &EvaluatedRule<'a>, rule_sources: &Sources) -> Descriptor<'a> {
    let rule = evaluated.rule;
    let severity = default_severity(rule);
    let tags: Vec<&str> = rule.tags.iter().map(|t| t.value.as_str()).collect();
    let security_severity = tags
        .contains(&"security")
        .then_some(security_severity(severity));
    let help_uri = rule_sources
        .get(rule.file)
        .filter(|_| evaluated.bundled)
        .map(|file| {
            format!(
                "{}/blob/main/{}",
                env!("CARGO_PKG_REPOSITORY"),
                percent_encode(&file.rel_path)
            )
        });
    Descriptor {
        id: &rule.id.value,
        name: &rule.name.value,
        short_description: Message::new(summary(rule).to_string()),
        full_description: Message::new(full_description(rule)),
        help: MultiformatMessage {
            text: explanation(rule),
            markdown: help_markdown(rule),
        },
        help_uri,
        default_configuration: Configuration {
            level: level(severity),
        },
        properties: RuleProperties {
            tags: tags.into_iter().take(MAX_TAGS).collect(),
            security_severity,
        },
    }
}

/// The rule's documentation as Markdown: `explain`'s text under a heading.
fn help_markdown(rule: &crate::lang::ast::Rule) -> String {
    let text = explanation(rule);
    let body = text.split_once("\n\n").map_or("", |(_, body)| body);
    format!(
        "# {} {} ({})\n\n{body}",
        rule.id.value,
        rule.name.value,
        default_severity(rule).as_str()
    )
}

/// GitHub's `security-severity` for security rules: high for errors (7.0–8.9), medium for
/// warnings (4.0–6.9), low for notes (0.1–3.9).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "8.0",
        Severity::Warning => "5.0",
        Severity::Note => "2.0",
    }
}

fn level(severity: Severity) -> &'static str {
    severity.as_str()
}

fn result<'a>(
    scan: &'a ScannedPath,
    reported: &'a ReportedFinding,
    rule_index: Option<usize>,
    any_suppressed: bool,
) -> SarifResult<'a> {
    let finding = &reported.finding;
    let related = finding
        .related
        .iter()
        .take(MAX_RELATED_LOCATIONS)
        .enumerate()
        .map(|(index, related)| Location {
            id: Some(index + 1),
            physical_location: physical_location(scan, related.span),
            message: Some(Message::new(related.message.clone())),
        })
        .collect();
    let mut partial_fingerprints = BTreeMap::new();
    if !reported.line_hash.is_empty() {
        partial_fingerprints.insert("primaryLocationLineHash", reported.line_hash.clone());
    }
    partial_fingerprints.insert(FINDING_KEY_NAME, reported.key.clone());
    SarifResult {
        rule_id: &finding.rule_id,
        rule_index,
        level: level(finding.severity),
        message: Message::new(message_with_links(finding)),
        locations: vec![Location {
            id: None,
            physical_location: physical_location(scan, finding.span),
            message: None,
        }],
        related_locations: related,
        partial_fingerprints,
        suppressions: any_suppressed.then(|| suppressions(scan, finding)),
    }
}

/// The most related locations linked from a result's message.
const MAX_LINKED_LOCATIONS: usize = 10;

/// The finding's message with links to its related locations (`[message](id)`), since GitHub
/// shows related locations only where the message links them. Brackets that would read as a
/// link are escaped, as SARIF asks (§3.11.6).
fn message_with_links(finding: &Finding) -> String {
    let escape = |text: &str| {
        if text.contains("](") {
            text.replace('[', "\\[").replace(']', "\\]")
        } else {
            text.to_string()
        }
    };
    let mut text = escape(&finding.message);
    if finding.related.is_empty() {
        return text;
    }
    let links: Vec<String> = finding
        .related
        .iter()
        .take(MAX_LINKED_LOCATIONS)
        .enumerate()
        .map(|(index, related)| format!("[{}]({})", escape(&related.message), index + 1))
        .collect();
    text.push_str(&format!("; see {}", links.join(", ")));
    let more = finding.related.len().saturating_sub(MAX_LINKED_LOCATIONS);
    if more > 0 {
        text.push_str(&format!(" and {}", plural(more, "more related location")));
    }
    text
}

/// The result's `suppressions`: one for a suppressed finding, none (an empty list, which
/// SARIF asks for once any result of the run is suppressed) otherwise.
fn suppressions<'a>(scan: &'a ScannedPath, finding: &'a Finding) -> Vec<SarifSuppression<'a>> {
    finding
        .suppression
        .iter()
        .map(|suppression| SarifSuppression {
            kind: match suppression.kind {
                SuppressionKind::InSource => "inSource",
                SuppressionKind::External => "external",
            },
            justification: &suppression.justification,
            location: suppression.span.and_then(|span| {
                scan.file(span).map(|_| Location {
                    id: None,
                    physical_location: physical_location(scan, span),
                    message: None,
                })
            }),
        })
        .collect()
}

fn physical_location(scan: &ScannedPath, span: Span) -> PhysicalLocation {
    let (uri, uri_base_id) = artifact_uri(&scan.path(span.file));
    PhysicalLocation {
        artifact_location: ArtifactLocation { uri, uri_base_id },
        region: scan.file(span).map(|file| region(file, span)),
    }
}

/// A diagnostic as a tool notification, located where its span is.
fn notification(found: DiagnosticIn<'_>) -> Notification {
    let diagnostic = found.diagnostic;
    let text = match &diagnostic.help {
        Some(help) => format!("{} (help: {help})", diagnostic.message),
        None => diagnostic.message.clone(),
    };
    let locations = diagnostic
        .span
        .and_then(|span| {
            let file = found.sources.get(span.file)?;
            let path = match found.scan {
                Some(scan) => scan.path(span.file),
                None => file.rel_path.clone(),
            };
            let (uri, uri_base_id) = artifact_uri(&path);
            Some(Location {
                id: None,
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation {
                        uri,
                        uri_base_id: found.scan.and(uri_base_id),
                    },
                    region: Some(region(file, span)),
                },
                message: None,
            })
        })
        .into_iter()
        .collect();
    Notification {
        level: level(diagnostic.severity),
        message: Message::new(text),
        locations,
    }
}

/// The URI of a `/`-separated path: percent-encoded and relative to `%SRCROOT%`, or a
/// `file://` URI when the path is absolute (a PATH outside the current folder).
fn artifact_uri(path: &str) -> (String, Option<&'static str>) {
    let encoded = percent_encode(path);
    if path.starts_with('/') {
        (format!("file://{encoded}"), None)
    } else {
        (encoded, Some(SOURCE_ROOT))
    }
}

/// Percent-encodes every byte but unreserved characters (RFC 3986) and `/`.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The region of `span`: 1-based lines and columns in UTF-16 code units, the end column
/// being that of the character after the span. A trailing line break is left out of the
/// region, and an empty span is widened to one character, since GitHub needs
/// `endColumn > startColumn`.
fn region(file: &SourceFile, span: Span) -> Region {
    let text = file.text.as_str();
    let (mut start, mut end) = (span.start as usize, span.end as usize);
    start = start.min(text.len());
    end = end.clamp(start, text.len());
    while end > start && matches!(text.as_bytes().get(end - 1), Some(b'\n' | b'\r')) {
        end -= 1;
    }
    if start == end {
        let next = text.get(start..).and_then(|rest| rest.chars().next());
        match next {
            Some(c) if c != '\n' && c != '\r' => end = start + c.len_utf8(),
            _ => {
                if let Some(c) = text
                    .get(..start)
                    .and_then(|before| before.chars().next_back())
                {
                    start -= c.len_utf8();
                } else if let Some(c) = next {
                    end = start + c.len_utf8();
                }
            }
        }
    }
    let (start_line, start_column) = utf16_position(file, start);
    let (end_line, end_column) = utf16_position(file, end);
    Region {
        start_line,
        start_column,
        end_line,
        end_column,
        snippet: ArtifactContent {
            text: text.get(start..end).unwrap_or("").to_string(),
        },
    }
}

/// The 1-based line and the 1-based column, in UTF-16 code units, of byte `offset`.
fn utf16_position(file: &SourceFile, offset: usize) -> (usize, usize) {
    let line = file.line_index(offset);
    let line_start = file.line_starts().get(line).map_or(0, |&s| s as usize);
    let column = file
        .text
        .get(line_start..offset)
        .map_or(offset.saturating_sub(line_start), |prefix| {
            prefix.encode_utf16().count()
        });
    (line + 1, column + 1)
}

// ------------------------------------------------------------------ the SARIF subset

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: Vec<Invocation>,
    original_uri_base_ids: BTreeMap<&'static str, BaseLocation>,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<Descriptor<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor<'a> {
    id: &'a str,
    name: &'a str,
    short_description: Message,
    full_description: Message,
    help: MultiformatMessage,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    default_configuration: Configuration,
    properties: RuleProperties<'a>,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties<'a> {
    tags: Vec<&'a str>,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<&'static str>,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

impl Message {
    fn new(text: String) -> Message {
        Message { text }
    }
}

#[derive(Serialize)]
struct MultiformatMessage {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct BaseLocation {
    description: Message,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    exit_code: u8,
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Message,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<Vec<SarifSuppression<'a>>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    snippet: ArtifactContent,
}

#[derive(Serialize)]
struct ArtifactContent {
    text: String,
}

#[derive(Serialize)]
struct SarifSuppression<'a> {
    kind: &'static str,
    justification: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::engine::Suppression;
    use crate::report::testing::{self, finding, scan};
    use serde_json::Value;
    use std::path::PathBuf;

    fn report(scan: ScannedPath, rule_sources: &Sources, include_suppressed: bool) -> Value {
        let mut report = testing::report(vec![scan], rule_sources);
        report.include_suppressed = include_suppressed;
        serde_json::from_str(&render(&report).unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn suppressed_findings_only_when_asked_and_then_every_result_has_suppressions() {
        let rule_sources = Sources::new();
        let make = || {
            scan("FROM a\nRUN b\n", |span| {
                vec![
                    finding(span, Severity::Warning, None),
                    finding(
                        span,
                        Severity::Error,
                        Some(Suppression {
                            kind: SuppressionKind::InSource,
                            justification: "vendored".into(),
                            span: None,
                        }),
                    ),
                ]
            })
        };
        let hidden = report(make(), &rule_sources, false);
        let results = &hidden["runs"][0]["results"];
        assert_eq!(results.as_array().map(Vec::len), Some(1));
        assert!(results[0].get("suppressions").is_none());
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "dir%20with%20space/Dockerfile"
        );
        let shown = report(make(), &rule_sources, true);
        let results = &shown["runs"][0]["results"];
        assert_eq!(results.as_array().map(Vec::len), Some(2));
        assert_eq!(results[0]["suppressions"], serde_json::json!([]));
        assert_eq!(
            results[1]["suppressions"],
            serde_json::json!([{"kind": "inSource", "justification": "vendored"}])
        );
    }

    #[test]
    fn empty_spans_and_line_breaks_are_fitted_for_github() {
        let mut sources = Sources::new();
        let id = sources.add(PathBuf::from("/r/f"), "f".into(), "ab\n\nc".into());
        let Some(file) = sources.get(id) else {
            unreachable!("the file was just added");
        };
        let at = |range: std::ops::Range<usize>| {
            let region = region(file, Span::new(id, range));
            (
                region.start_line,
                region.start_column,
                region.end_line,
                region.end_column,
                region.snippet.text,
            )
        };
        // An empty span covers the next character, or the one before at a line's end.
        assert_eq!(at(0..0), (1, 1, 1, 2, "a".to_string()));
        assert_eq!(at(2..2), (1, 2, 1, 3, "b".to_string()));
        // A trailing line break is left out.
        assert_eq!(at(0..3), (1, 1, 1, 3, "ab".to_string()));
        // An empty line: the line break before it.
        assert_eq!(at(3..3), (1, 3, 2, 1, "\n".to_string()));
    }

    #[test]
    fn messages_link_the_related_locations() {
        let span = Span::new(crate::source::FileId(0), 0..1);
        let mut finding = finding(span, Severity::Note, None);
        finding.message = "`a[x]` here".into();
        assert_eq!(message_with_links(&finding), "`a[x]` here");
        finding.related = (0..12)
            .map(|n| crate::eval::engine::RelatedLocation {
                span,
                message: if n == 0 {
                    "[t](u)".into()
                } else {
                    format!("r{n}")
                },
            })
            .collect();
        assert_eq!(
            message_with_links(&finding),
            "`a[x]` here; see [\\[t\\](u)](1), [r1](2), [r2](3), [r3](4), [r4](5), [r5](6), \
             [r6](7), [r7](8), [r8](9), [r9](10) and 2 more related locations"
        );
    }

    #[test]
    fn the_most_severe_results_are_kept() {
        let scan = scan("FROM a\n", |span| {
            vec![
                finding(span, Severity::Note, None),
                finding(span, Severity::Error, None),
                finding(span, Severity::Warning, None),
            ]
        });
        let all: Vec<(&ScannedPath, &ReportedFinding)> =
            scan.findings.iter().map(|f| (&scan, f)).collect();
        let kept = keep_most_severe(&all, 2);
        let severities: Vec<Severity> = kept.iter().map(|(_, r)| r.finding.severity).collect();
        assert_eq!(severities, [Severity::Error, Severity::Warning]);
    }

    #[test]
    fn a_log_over_the_gzip_limit_keeps_the_most_severe_results_that_fit() {
        let rule_sources = Sources::new();
        let text = "RUN x\n".repeat(400);
        let make = || {
            scan(&text, |span| {
                (0..400)
                    .map(|i| {
                        let severity = if i % 4 == 0 {
                            Severity::Error
                        } else {
                            Severity::Note
                        };
                        let mut finding = finding(span, severity, None);
                        finding.message = format!("finding number {i} with some words to say");
                        finding
                    })
                    .collect()
            })
        };
        let report = testing::report(vec![make()], &rule_sources);
        let unlimited = render(&report).unwrap_or_default();
        let limit = gzip_size(&unlimited) / 3;
        let limited = render_within(&report, limit).unwrap_or_default();
        assert!(gzip_size(&limited) <= limit);
        let log: Value = serde_json::from_str(&limited).unwrap_or_default();
        let results = log["runs"][0]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            !results.is_empty() && results.len() < 400,
            "{}",
            results.len()
        );
        assert!(
            results.len() <= 100,
            "the errors come first: {}",
            results.len()
        );
        assert!(results.iter().all(|r| r["level"] == "error"));
        let notification = &log["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
        assert_eq!(
            notification["message"]["text"],
            format!(
                "{} results left out: GitHub accepts at most 10 MB of gzip-compressed SARIF; the most severe were kept",
                400 - results.len()
            )
        );
    }
}
