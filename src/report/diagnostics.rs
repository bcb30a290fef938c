//! Input diagnostics rendered rustc-style with codespan-reporting: the message, the file,
//! line and column, the offending source line with the span underlined, and the help.

use std::fmt;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term;

use crate::diag::{Diagnostic, Severity};
use crate::source::{FileId, Sources};

/// [`Sources`] as codespan-reporting's file database. Files are named by their path relative
/// to the scanned PATH, after `prefix` (the PATH itself when several are scanned, so that the
/// text report names files as the machine-readable ones do).
pub struct SourceDatabase<'a> {
    pub sources: &'a Sources,
    pub prefix: &'a str,
}

impl<'a> SourceDatabase<'a> {
    pub fn new(sources: &'a Sources) -> SourceDatabase<'a> {
        SourceDatabase {
            sources,
            prefix: "",
        }
    }
}

/// A file's name: the prefix, then its relative path.
#[derive(Clone, Copy)]
pub struct FileName<'a> {
    prefix: &'a str,
    path: &'a str,
}

impl fmt::Display for FileName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.prefix, self.path)
    }
}

impl<'a> Files<'a> for SourceDatabase<'a> {
    type FileId = FileId;
    type Name = FileName<'a>;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<FileName<'a>, FilesError> {
        let file = self.sources.get(id).ok_or(FilesError::FileMissing)?;
        Ok(FileName {
            prefix: self.prefix,
            path: &file.rel_path,
        })
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        Ok(self
            .sources
            .get(id)
            .ok_or(FilesError::FileMissing)?
            .text
            .as_str())
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        Ok(self
            .sources
            .get(id)
            .ok_or(FilesError::FileMissing)?
            .line_index(byte_index))
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        let file = self.sources.get(id).ok_or(FilesError::FileMissing)?;
        let starts = file.line_starts();
        let start = *starts.get(line_index).ok_or(FilesError::LineTooLarge {
            given: line_index,
            max: starts.len().saturating_sub(1),
        })? as usize;
        let end = starts
            .get(line_index + 1)
            .map_or(file.text.len(), |&next| next as usize);
        Ok(start..end)
    }
}

/// Renders `diagnostics` as plain text, one after the other.
pub fn render(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    render_in(diagnostics, &SourceDatabase::new(sources))
}

/// [`render`] with the files named as `database` names them (after their PATH's prefix).
pub fn render_in(diagnostics: &[Diagnostic], database: &SourceDatabase<'_>) -> String {
    let config = term::Config::default();
    let mut out = String::new();
    for diagnostic in diagnostics {
        let rendered = to_codespan(diagnostic);
        if term::emit_to_string(&mut out, &config, database, &rendered).is_err() {
            // The span does not fit its file: fall back to the message alone.
            out.push_str(&format!(
                "{}: {}\n",
                diagnostic.severity.as_str(),
                diagnostic.message
            ));
        }
    }
    out
}

fn to_codespan(diagnostic: &Diagnostic) -> Rendered<FileId> {
    let rendered = match diagnostic.severity {
        Severity::Error => Rendered::error(),
        Severity::Warning => Rendered::warning(),
        Severity::Note => Rendered::note(),
    }
    .with_message(&diagnostic.message);
    let rendered = match diagnostic.span {
        Some(span) => rendered.with_labels(vec![Label::primary(span.file, span.range())]),
        None => rendered,
    };
    match &diagnostic.help {
        Some(help) => rendered.with_notes(vec![format!("help: {help}")]),
        None => rendered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;
    use std::path::PathBuf;

    #[test]
    fn renders_file_line_column_and_underline() {
        let mut sources = Sources::new();
        let file = sources.add(
            PathBuf::from("/r/Dockerfile"),
            "svc/Dockerfile".into(),
            "FROM alpine\nFOO bar\n".into(),
        );
        let diagnostic = Diagnostic::error("unknown instruction `FOO`")
            .with_span(Span::new(file, 12..15))
            .with_help("did you mean `FROM`?");
        let text = render(&[diagnostic], &sources);
        assert!(text.contains("error: unknown instruction `FOO`"), "{text}");
        assert!(text.contains("svc/Dockerfile:2:1"), "{text}");
        assert!(text.contains("FOO bar"), "{text}");
        assert!(text.contains("^^^"), "{text}");
        assert!(text.contains("help: did you mean `FROM`?"), "{text}");
    }
}
