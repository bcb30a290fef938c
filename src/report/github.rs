//! `check --format github`: GitHub Actions workflow commands, which the runner turns into
//! annotations on the pull request's files:
//! `::error file=F,line=L,col=C,endLine=L,endColumn=C,title=DP1001 name::message`.
//! Notes become `::notice`. Values are escaped as the Actions toolkit escapes them
//! (`%`, `\r`, `\n` everywhere; `:` and `,` too in properties). Columns count Unicode scalar
//! values, as the text output does. Input diagnostics are annotated too, titled `dockpolicy`.

use crate::diag::Severity;
use crate::report::{CheckReport, ScannedPath};
use crate::source::{Sources, Span};

/// One workflow command per finding that counts, then one per diagnostic.
pub fn render(report: &CheckReport<'_>) -> String {
    let mut out = String::new();
    for (scan, reported) in report.findings() {
        let finding = &reported.finding;
        let title = format!("{} {}", finding.rule_id, finding.rule_name);
        out.push_str(&command(
            finding.severity,
            location(&scan.sources, Some(scan), finding.span),
            &title,
            &finding.message,
        ));
    }
    for found in report.diagnostics() {
        let diagnostic = found.diagnostic;
        let message = match &diagnostic.help {
            Some(help) => format!("{}\nhelp: {help}", diagnostic.message),
            None => diagnostic.message.clone(),
        };
        let location = diagnostic
            .span
            .map(|span| location(found.sources, found.scan, span))
            .unwrap_or_default();
        out.push_str(&command(
            diagnostic.severity,
            location,
            "dockpolicy",
            &message,
        ));
    }
    out
}

/// `(name, value)` properties giving the place of `span`.
fn location(
    sources: &Sources,
    scan: Option<&ScannedPath>,
    span: Span,
) -> Vec<(&'static str, String)> {
    let Some(file) = sources.get(span.file) else {
        return Vec::new();
    };
    let (line, column) = file.line_column(span.start as usize);
    let (end_line, end_column) = file.line_column(span.end as usize);
    let path = scan.map_or_else(|| file.rel_path.clone(), |scan| scan.path(span.file));
    vec![
        ("file", path),
        ("line", line.to_string()),
        ("col", column.to_string()),
        ("endLine", end_line.to_string()),
        ("endColumn", end_column.to_string()),
    ]
}

fn command(
    severity: Severity,
    mut properties: Vec<(&'static str, String)>,
    title: &str,
    message: &str,
) -> String {
    let name = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    properties.push(("title", title.to_string()));
    let properties: Vec<String> = properties
        .iter()
        .map(|(key, value)| format!("{key}={}", escape_property(value)))
        .collect();
    format!(
        "::{name} {}::{}\n",
        properties.join(","),
        escape_data(message)
    )
}

/// The toolkit's `escapeData`.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The toolkit's `escapeProperty`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_toolkit_does() {
        assert_eq!(escape_data("100%\r\nok: a,b"), "100%25%0D%0Aok: a,b");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(
            command(
                Severity::Note,
                vec![("file", "a,b.txt".into())],
                "T: x",
                "m"
            ),
            "::notice file=a%2Cb.txt,title=T%3A x::m\n"
        );
    }
}
