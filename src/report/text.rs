//! Findings for people: rustc-style diagnostics with codespan-reporting (the source line
//! with the token underlined, the rule ID and name, the message, related locations) and a
//! summary line.

use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label};
use codespan_reporting::term;

use crate::diag::Severity;
use crate::eval::engine::Finding;
use crate::report::diagnostics::SourceDatabase;
use crate::source::{FileId, Sources};

/// Renders `findings` (whose spans point into `sources`) one after the other, leaving out
/// suppressed ones.
pub fn render_findings(findings: &[Finding], sources: &Sources) -> String {
    let database = SourceDatabase(sources);
    let config = term::Config::default();
    let mut out = String::new();
    for finding in findings.iter().filter(|f| f.suppression.is_none()) {
        let rendered = to_codespan(finding);
        if term::emit_to_string(&mut out, &config, &database, &rendered).is_err() {
            out.push_str(&format!(
                "{}[{}]: {}\n",
                finding.severity.as_str(),
                finding.rule_id,
                finding.message
            ));
        }
    }
    out
}

fn to_codespan(finding: &Finding) -> Rendered<FileId> {
    let rendered = match finding.severity {
        Severity::Error => Rendered::error(),
        Severity::Warning => Rendered::warning(),
        Severity::Note => Rendered::note(),
    };
    let mut labels = vec![Label::primary(finding.span.file, finding.span.range())
        .with_message(finding.rule_name.clone())];
    labels.extend(finding.related.iter().map(|related| {
        Label::secondary(related.span.file, related.span.range())
            .with_message(related.message.clone())
    }));
    rendered
        .with_code(finding.rule_id.clone())
        .with_message(finding.message.clone())
        .with_labels(labels)
        .with_notes(vec![format!(
            "`dockpolicy explain {}` tells why and what to do instead",
            finding.rule_id
        )])
}

/// `3 findings (1 error, 2 warnings, 0 notes) in 2 files`, then `, 2 suppressed` when
/// suppressed findings (which the counts leave out) were found.
pub fn summary(all: &[Finding]) -> String {
    let findings: Vec<&Finding> = all.iter().filter(|f| f.suppression.is_none()).collect();
    let suppressed = all.len() - findings.len();
    let count = |severity: Severity| findings.iter().filter(|f| f.severity == severity).count();
    let mut files: Vec<FileId> = findings.iter().map(|f| f.span.file).collect();
    files.sort_unstable();
    files.dedup();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let summary = format!(
        "{} ({}, {}, {}) in {}",
        plural(findings.len(), "finding"),
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning"),
        plural(count(Severity::Note), "note"),
        plural(files.len(), "file")
    );
    if suppressed == 0 {
        summary
    } else {
        format!("{summary}, {suppressed} suppressed")
    }
}
