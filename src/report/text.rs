//! Findings for people: rustc-style diagnostics with codespan-reporting (the source line
//! with the token underlined, the rule ID and name, the message, related locations, the
//! rule's summary as help) and a summary line. Colour (ANSI) only when asked for: `check`
//! asks when standard output is a terminal and `NO_COLOR` is not set.

use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label};
use codespan_reporting::term::{self, termcolor::Ansi};

use crate::diag::Severity;
use crate::eval::engine::Finding;
use crate::report::diagnostics::SourceDatabase;
use crate::report::rule_doc::summary as rule_summary;
use crate::report::{plural, CheckReport};
use crate::source::FileId;

/// How the text report looks.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// ANSI colours.
    pub color: bool,
    /// Findings only: no summary line.
    pub quiet: bool,
}

/// The findings that count, one after the other, then (unless quiet) the summary line.
pub fn render(report: &CheckReport<'_>, options: TextOptions) -> String {
    // Every finding is written into one buffer (no buffer and string per finding).
    let mut out = Vec::new();
    for scan in &report.scans {
        let database = SourceDatabase {
            sources: &scan.sources,
            prefix: &scan.prefix,
        };
        for reported in &scan.findings {
            let finding = &reported.finding;
            if finding.suppression.is_some() {
                continue;
            }
            let help = report.rule(&finding.rule_id).map(rule_summary);
            render_finding(&mut out, finding, help, &database, options.color);
        }
    }
    // The findings are written from strings, so the text is valid UTF-8.
    let mut out = String::from_utf8(out)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
    if !options.quiet {
        out.push_str(&format!(
            "{}; {} over {} in {:.2} s\n",
            summary(report),
            plural(report.rules.len(), "rule"),
            plural(report.files(), "file"),
            report.elapsed.as_secs_f64()
        ));
    }
    out
}

/// Appends one finding rendered to `out`, falling back to its header line when the span
/// does not fit (what was written of it is then taken back).
fn render_finding(
    out: &mut Vec<u8>,
    finding: &Finding,
    help: Option<&str>,
    database: &SourceDatabase<'_>,
    color: bool,
) {
    let config = term::Config::default();
    let rendered = to_codespan(finding, help);
    let start = out.len();
    let written = if color {
        term::emit_to_write_style(&mut Ansi::new(&mut *out), &config, database, &rendered)
    } else {
        term::emit_to_io_write(out, &config, database, &rendered)
    };
    if written.is_err() {
        out.truncate(start);
        out.extend_from_slice(
            format!(
                "{}[{}]: {}\n",
                finding.severity.as_str(),
                finding.rule_id,
                finding.message
            )
            .as_bytes(),
        );
    }
}

fn to_codespan(finding: &Finding, help: Option<&str>) -> Rendered<FileId> {
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
    let mut notes: Vec<String> = help
        .filter(|help| !help.is_empty())
        .map(|help| format!("help: {help}"))
        .into_iter()
        .collect();
    notes.push(format!(
        "`dockpolicy explain {}` tells why and what to do instead",
        finding.rule_id
    ));
    rendered
        .with_code(finding.rule_id.clone())
        .with_message(finding.message.clone())
        .with_labels(labels)
        .with_notes(notes)
}

/// `3 findings (1 error, 2 warnings, 0 notes) in 2 files`, then `; N suppressed` and
/// `; N hidden by the baseline` when there are any.
pub fn summary(report: &CheckReport<'_>) -> String {
    let mut files: Vec<(usize, FileId)> = report
        .scans
        .iter()
        .enumerate()
        .flat_map(|(index, scan)| {
            scan.findings
                .iter()
                .filter(|r| r.finding.suppression.is_none())
                .map(move |r| (index, r.finding.span.file))
        })
        .collect();
    files.sort_unstable();
    files.dedup();
    let mut text = format!(
        "{} ({}, {}, {}) in {}",
        plural(report.findings().count(), "finding"),
        plural(report.count(Severity::Error), "error"),
        plural(report.count(Severity::Warning), "warning"),
        plural(report.count(Severity::Note), "note"),
        plural(files.len(), "file")
    );
    let suppressed = report.suppressed();
    if suppressed > 0 {
        text.push_str(&format!("; {suppressed} suppressed"));
    }
    if report.baseline_hidden > 0 {
        text.push_str(&format!(
            "; {} hidden by the baseline",
            report.baseline_hidden
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::engine::{Suppression, SuppressionKind};
    use crate::report::testing::{finding, report, scan};
    use crate::source::Sources;

    #[test]
    fn suppressed_and_baselined_findings_are_counted_apart() {
        let scan = scan("FROM a\n", |span| {
            vec![
                finding(span, Severity::Note, None),
                finding(
                    span,
                    Severity::Error,
                    Some(Suppression {
                        kind: SuppressionKind::External,
                        justification: "accepted".into(),
                        span: None,
                    }),
                ),
            ]
        });
        let rule_sources = Sources::new();
        let mut report = report(vec![scan], &rule_sources);
        report.baseline_hidden = 2;
        let text = render(&report, TextOptions::default());
        assert!(text.starts_with("note[DP9]: m\n"), "{text}");
        assert!(!text.contains("error[DP9]"), "{text}");
        assert!(
            text.ends_with(
                "1 finding (0 errors, 0 warnings, 1 note) in 1 file; 1 suppressed; \
                 2 hidden by the baseline; 0 rules over 1 file in 0.00 s\n"
            ),
            "{text}"
        );
        let quiet = render(
            &report,
            TextOptions {
                quiet: true,
                ..TextOptions::default()
            },
        );
        assert!(!quiet.contains("1 finding"), "{quiet}");
        assert!(!quiet.contains('\x1b'));
        let coloured = render(
            &report,
            TextOptions {
                color: true,
                quiet: true,
            },
        );
        assert!(coloured.contains('\x1b'), "{coloured}");
    }
}
