//! Renderers: turn the model, diagnostics and findings into what users read. Byte spans
//! become lines and columns only here.
//!
//! `check` gathers everything it found into one [`CheckReport`]; each format (text, JSON,
//! SARIF, GitHub workflow commands) renders that report.

pub mod baseline;
pub mod diagnostics;
pub mod dump;
pub mod fingerprint;
pub mod github;
pub mod json;
mod pretty;
pub mod rule_doc;
pub mod sarif;
pub mod size;
pub mod text;

use std::path::{Component, Path};
use std::time::Duration;

use crate::diag::{Diagnostic, Severity};
use crate::eval::engine::Finding;
use crate::lang::ast::Rule;
use crate::report::fingerprint::{finding_hash, line_hashes, LineHash, Occurrences};
use crate::source::{normalize_path, FileId, SourceFile, Sources, Span};

/// The output formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// rustc-style, for people.
    Text,
    /// dockpolicy's own JSON document (SPEC.md §12.2).
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

/// One finding with what identifies it across runs.
pub struct ReportedFinding {
    pub finding: Finding,
    /// dockpolicy's fingerprint (`hash:N`, [`fingerprint::finding_hash`]).
    pub key: String,
    /// GitHub's `primaryLocationLineHash` of the finding's first line (empty when the
    /// outputs need none).
    pub line_hash: String,
}

/// One scanned PATH: its files, findings and diagnostics.
pub struct ScannedPath {
    /// What machine-readable reports put before a file's `rel_path`: empty when one PATH is
    /// checked (paths are relative to it), else the PATH relative to the current directory
    /// followed by `/`.
    pub prefix: String,
    pub sources: Sources,
    /// Findings in the evaluator's order (file, position, rule).
    pub findings: Vec<ReportedFinding>,
    /// Problems reading the inputs (spans into `sources`).
    pub diagnostics: Vec<Diagnostic>,
    /// Problems evaluating rules (spans into the rule files, [`CheckReport::rule_sources`]).
    pub rule_diagnostics: Vec<Diagnostic>,
}

impl ScannedPath {
    /// Fingerprints `findings` (whose spans point into `sources`). GitHub's line hashes are
    /// computed only `with_line_hashes` (SARIF and baselines use them; they cost a pass over
    /// every file with a finding).
    pub fn new(
        prefix: String,
        sources: Sources,
        findings: Vec<Finding>,
        diagnostics: Vec<Diagnostic>,
        rule_diagnostics: Vec<Diagnostic>,
        with_line_hashes: bool,
    ) -> ScannedPath {
        let mut line_hashes_by_file: Vec<Option<Vec<LineHash>>> = Vec::new();
        line_hashes_by_file.resize_with(sources.len(), || None);
        let mut occurrences = Occurrences::default();
        let findings = findings
            .into_iter()
            .map(|finding| {
                let key = occurrences.key(finding_hash(
                    &finding.rule_id,
                    &[&prefix, file_path(&sources, finding.span.file)],
                    sources.slice(finding.span),
                    &finding.message,
                ));
                let line_hash = sources
                    .get(finding.span.file)
                    .filter(|_| with_line_hashes)
                    .and_then(|file| {
                        let hashes = line_hashes_by_file
                            .get_mut(finding.span.file.0 as usize)?
                            .get_or_insert_with(|| line_hashes(&file.text));
                        hashes
                            .get(file.line_index(finding.span.start as usize))
                            .map(LineHash::to_string)
                    })
                    .unwrap_or_default();
                ReportedFinding {
                    finding,
                    key,
                    line_hash,
                }
            })
            .collect();
        ScannedPath {
            prefix,
            sources,
            findings,
            diagnostics,
            rule_diagnostics,
        }
    }

    /// The path machine-readable reports give file `id`: `/`-separated, relative to the
    /// scanned PATH or, with several PATHs, to the current directory.
    pub fn path(&self, id: FileId) -> String {
        format!("{}{}", self.prefix, file_path(&self.sources, id))
    }

    /// The file of `span`, if it is loaded.
    pub fn file(&self, span: Span) -> Option<&SourceFile> {
        self.sources.get(span.file)
    }
}

/// The [`ScannedPath::prefix`] of a PATH checked beside others whose files are below `root`:
/// `root` relative to `current_dir` followed by `/` (nothing for the current directory
/// itself), or the absolute `root` when it is not below `current_dir`.
pub fn path_prefix(root: &Path, current_dir: &Path) -> String {
    let absolute = normalize_path(&current_dir.join(root));
    let relative = absolute.strip_prefix(current_dir).unwrap_or(&absolute);
    let parts: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let joined = parts.join("/");
    match (relative.is_absolute(), joined.is_empty()) {
        (true, _) => format!("/{joined}/"),
        (false, true) => String::new(),
        (false, false) => format!("{joined}/"),
    }
}

fn file_path(sources: &Sources, id: FileId) -> &str {
    sources.get(id).map_or("", |file| file.rel_path.as_str())
}

/// A rule `check` evaluated.
#[derive(Clone, Copy)]
pub struct EvaluatedRule<'r> {
    pub rule: &'r Rule,
    /// Whether it comes from a bundled pack (its documentation is then online).
    pub bundled: bool,
}

/// Everything one `check` produced, for the renderers.
pub struct CheckReport<'r> {
    /// The rules evaluated, in pack order.
    pub rules: Vec<EvaluatedRule<'r>>,
    /// The rule packs' and configuration's files.
    pub rule_sources: &'r Sources,
    /// Configuration and pack problems (spans into `rule_sources`).
    pub rule_diagnostics: Vec<Diagnostic>,
    pub scans: Vec<ScannedPath>,
    /// The exit code `check` returns.
    pub exit_code: u8,
    /// Whether everything could be read and evaluated: no input, configuration or pack
    /// error.
    pub execution_successful: bool,
    pub elapsed: Duration,
    /// How many findings the baseline hid (they are no longer in `scans`).
    pub baseline_hidden: usize,
    /// Whether SARIF shows suppressed findings (with `suppressions`).
    pub include_suppressed: bool,
}

impl CheckReport<'_> {
    /// Every finding with the path it was found in, suppressed ones included.
    pub fn all_findings(&self) -> impl Iterator<Item = (&ScannedPath, &ReportedFinding)> {
        self.scans
            .iter()
            .flat_map(|scan| scan.findings.iter().map(move |finding| (scan, finding)))
    }

    /// The findings that count: those no suppression silences.
    pub fn findings(&self) -> impl Iterator<Item = (&ScannedPath, &ReportedFinding)> {
        self.all_findings()
            .filter(|(_, reported)| reported.finding.suppression.is_none())
    }

    /// Every diagnostic with the sources its span points into and, for input diagnostics,
    /// the PATH whose file it is about: configuration and pack problems first, then, PATH by
    /// PATH, input problems and rule evaluation problems.
    pub fn diagnostics(&self) -> impl Iterator<Item = DiagnosticIn<'_>> {
        let rule = |diagnostic| DiagnosticIn {
            diagnostic,
            sources: self.rule_sources,
            scan: None,
        };
        self.rule_diagnostics
            .iter()
            .map(rule)
            .chain(self.scans.iter().flat_map(move |scan| {
                scan.diagnostics
                    .iter()
                    .map(move |diagnostic| DiagnosticIn {
                        diagnostic,
                        sources: &scan.sources,
                        scan: Some(scan),
                    })
                    .chain(scan.rule_diagnostics.iter().map(rule))
            }))
    }

    /// How many files were read, over every PATH.
    pub fn files(&self) -> usize {
        self.scans.iter().map(|scan| scan.sources.len()).sum()
    }

    /// How many findings a suppression silences.
    pub fn suppressed(&self) -> usize {
        self.all_findings().count() - self.findings().count()
    }

    /// The counted findings of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings()
            .filter(|(_, reported)| reported.finding.severity == severity)
            .count()
    }

    /// The rule with `id`, if it was evaluated.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .map(|evaluated| evaluated.rule)
            .find(|rule| rule.id.value == id)
    }
}

/// A diagnostic and where its span points.
#[derive(Clone, Copy)]
pub struct DiagnosticIn<'a> {
    pub diagnostic: &'a Diagnostic,
    /// The sources its span points into.
    pub sources: &'a Sources,
    /// The PATH it was found in, for input diagnostics (their files are named as the PATH
    /// names them); `None` for rule and configuration files, which keep their own names.
    pub scan: Option<&'a ScannedPath>,
}

/// `n word` or `n words`.
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Reports built by hand, for the renderers' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::eval::engine::Suppression;
    use std::path::PathBuf;

    /// A `DP9 test` finding with message `m`.
    pub fn finding(span: Span, severity: Severity, suppression: Option<Suppression>) -> Finding {
        Finding {
            rule_id: "DP9".into(),
            rule_name: "test".into(),
            severity,
            message: "m".into(),
            span,
            related: Vec::new(),
            suppression,
        }
    }

    /// One PATH with the file `dir with space/Dockerfile` holding `text`, and the findings
    /// `findings` makes from a span of its first four bytes.
    pub fn scan(text: &str, findings: impl Fn(Span) -> Vec<Finding>) -> ScannedPath {
        let mut sources = Sources::new();
        let file = sources.add(
            PathBuf::from("/r/Dockerfile"),
            "dir with space/Dockerfile".into(),
            text.into(),
        );
        let findings = findings(Span::new(file, 0..4));
        ScannedPath::new(
            String::new(),
            sources,
            findings,
            Vec::new(),
            Vec::new(),
            true,
        )
    }

    /// A report of `scans` without rules, exit code 0.
    pub fn report(scans: Vec<ScannedPath>, rule_sources: &Sources) -> CheckReport<'_> {
        CheckReport {
            rules: Vec::new(),
            rule_sources,
            rule_diagnostics: Vec::new(),
            scans,
            exit_code: 0,
            execution_successful: true,
            elapsed: Duration::ZERO,
            baseline_hidden: 0,
            include_suppressed: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_relative_to_the_current_directory() {
        let cwd = Path::new("/work/repo");
        assert_eq!(path_prefix(Path::new("."), cwd), "");
        assert_eq!(path_prefix(Path::new("./svc/api"), cwd), "svc/api/");
        assert_eq!(path_prefix(Path::new("/work/repo/svc"), cwd), "svc/");
        assert_eq!(path_prefix(Path::new("../other"), cwd), "/work/other/");
    }
}
