//! The Dockerfile front end, with BuildKit's semantics.
//!
//! The scanner here follows BuildKit's `parser.Parse` line by line: parser directives at the
//! top, a UTF-8 BOM, line continuations with the escape character (whitespace after it
//! allowed), comment and empty lines inside continuations (dropped; empty ones warned about),
//! and heredoc bodies after the instruction line. Each instruction's joined text is kept as a
//! [`MappedText`], so spans through it point at the file. [`instruction`] splits it into
//! keyword, flags and values; [`stages`] derives build stages the way BuildKit's dispatcher
//! does. Everything BuildKit rejects becomes an error diagnostic; the rest is still modelled.

mod instruction;
mod json;
mod stages;

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::model::dockerfile::{Directive, Dockerfile, Form, Heredoc, Instruction};
use crate::source::{FileId, MappedText, Span, Spanned};

use instruction::{heredoc_markers, parse_instruction};

/// A Dockerfile's model and the problems found while building it.
#[derive(Clone, Debug, Serialize)]
pub struct ParsedDockerfile {
    pub dockerfile: Dockerfile,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses `text`, the content of `file`. Never fails: problems are diagnostics.
pub fn parse_dockerfile(file: FileId, text: &str) -> ParsedDockerfile {
    parse_dockerfile_with_args(file, text, &[])
}

/// [`parse_dockerfile`] for a build given `build_args` (name, value), which replace the
/// defaults of the global `ARG`s of their names in the base images (`--build-arg`, compose
/// `build.args`).
pub fn parse_dockerfile_with_args(
    file: FileId,
    text: &str,
    build_args: &[(String, String)],
) -> ParsedDockerfile {
    let mut scanner = Scanner {
        file,
        text,
        lines: split_lines(text),
        next: 0,
        escape: '\\',
        directives: DirectiveParser::default(),
        diagnostics: Vec::new(),
    };
    let mut instructions = Vec::new();
    while let Some(instruction) = scanner.next_instruction() {
        instructions.push(instruction);
    }
    let mut diagnostics = scanner.diagnostics;
    if instructions.is_empty() {
        diagnostics
            .push(Diagnostic::error("file with no instructions").with_span(Span::point(file, 0)));
    }
    let escape = scanner.escape;
    let directives = scanner.directives.found;
    let (global_args, stages) =
        stages::build_stages(text, &instructions, escape, build_args, &mut diagnostics);
    ParsedDockerfile {
        dockerfile: Dockerfile {
            file,
            directives,
            escape,
            instructions,
            global_args,
            stages,
        },
        diagnostics,
    }
}

/// One physical line: `start..content_end` is its text without the line ending (trailing
/// `\r` and `\n`, as BuildKit's `trimNewline`); `end` is past its `\n`.
#[derive(Clone, Copy, Debug)]
struct Line {
    start: usize,
    content_end: usize,
    end: usize,
}

fn split_lines(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = if text.starts_with('\u{FEFF}') { 3 } else { 0 };
    while start < text.len() {
        let end = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let content = text[start..end].trim_end_matches(['\r', '\n']);
        lines.push(Line {
            start,
            content_end: start + content.len(),
            end,
        });
        start = end;
    }
    lines
}

/// BuildKit's `isComment`: the first non-blank character is `#`.
fn is_comment(content: &str) -> bool {
    content.trim_start().starts_with('#')
}

/// BuildKit's line-continuation regex: the escape character, not itself escaped, followed
/// only by blanks. Returns the length of `content` to keep, or `None` if the line does not
/// continue.
fn continuation_kept_len(content: &str, escape: char) -> Option<usize> {
    let body = content.trim_end_matches([' ', '\t']);
    let before = body.strip_suffix(escape)?;
    if before.ends_with(escape) {
        None
    } else {
        Some(before.len())
    }
}

struct Scanner<'a> {
    file: FileId,
    text: &'a str,
    lines: Vec<Line>,
    next: usize,
    escape: char,
    directives: DirectiveParser,
    diagnostics: Vec<Diagnostic>,
}

impl Scanner<'_> {
    fn content(&self, line: Line) -> &str {
        self.text.get(line.start..line.content_end).unwrap_or("")
    }

    /// The span of a whole line, ending on that line: without its line ending unless the
    /// line is empty (then the line ending itself).
    fn line_end(&self, line: Line) -> usize {
        if line.content_end > line.start {
            line.content_end
        } else {
            line.end
        }
    }

    fn next_instruction(&mut self) -> Option<Instruction> {
        loop {
            let first = *self.lines.get(self.next)?;
            self.next += 1;
            let content = self.content(first);
            let token_start = first.start + (content.len() - content.trim_start().len());
            let token = self.text.get(token_start..first.content_end).unwrap_or("");
            if let Some(escape) =
                self.directives
                    .observe(self.file, token, token_start, &mut self.diagnostics)
            {
                self.escape = escape;
            }
            let token = if is_comment(token) { "" } else { token };
            let kept = continuation_kept_len(token, self.escape);
            if kept.is_none() && token.is_empty() {
                continue;
            }
            let mut line = MappedText::new(self.file);
            line.push(&token[..kept.unwrap_or(token.len())], token_start);
            let mut last = first;
            let mut continues = kept.is_some();
            let mut empty_continuation: Option<Span> = None;
            while continues {
                let Some(&next) = self.lines.get(self.next) else {
                    break;
                };
                self.next += 1;
                last = next;
                let content = self.content(next);
                if is_comment(content) {
                    continue;
                }
                if content.trim_start().is_empty() {
                    empty_continuation.get_or_insert(Span::new(self.file, next.start..next.end));
                    continue;
                }
                let kept = continuation_kept_len(content, self.escape);
                line.push(&content[..kept.unwrap_or(content.len())], next.start);
                continues = kept.is_some();
            }
            if let Some(span) = empty_continuation {
                self.diagnostics.push(
                    Diagnostic::warning("empty continuation line inside an instruction")
                        .with_span(span)
                        .with_help("BuildKit ignores it for now; empty continuation lines will become errors in a future release"),
                );
            }
            let mut span = Span::new(self.file, token_start..self.line_end(last));
            let mut instruction =
                parse_instruction(&line, span, self.escape, 0, &mut self.diagnostics);
            let accepts_heredocs = {
                let target = instruction.onbuild.as_deref().unwrap_or(&instruction);
                ["RUN", "COPY", "ADD"].iter().any(|k| target.is(k)) && target.form == Form::Shell
            };
            if accepts_heredocs && line.text.contains("<<") {
                let heredocs = self.read_heredocs(&line);
                if let Some(last_line) = self.next.checked_sub(1).and_then(|i| self.lines.get(i)) {
                    span.end = span
                        .end
                        .max(u32::try_from(self.line_end(*last_line)).unwrap_or(u32::MAX));
                }
                instruction.span = span;
                if let Some(inner) = instruction.onbuild.as_deref_mut() {
                    inner.heredocs = heredocs.clone();
                }
                instruction.heredocs = heredocs;
            }
            return Some(instruction);
        }
    }

    /// Reads the bodies of the heredocs opened on `line`, in order, each up to its
    /// terminator line.
    fn read_heredocs(&mut self, line: &MappedText) -> Vec<Heredoc> {
        let mut heredocs = Vec::new();
        for marker in heredoc_markers(&line.text) {
            let mut body = MappedText::new(self.file);
            let mut terminator_span = None;
            while let Some(&next) = self.lines.get(self.next) {
                self.next += 1;
                let content = self.content(next);
                let candidate = if marker.strip_tabs {
                    content.trim_start_matches('\t')
                } else {
                    content
                };
                if candidate == marker.name {
                    terminator_span = Some(Span::new(self.file, next.start..self.line_end(next)));
                    break;
                }
                let whole = self.text.get(next.start..next.end).unwrap_or("");
                let kept = if marker.strip_tabs {
                    whole.trim_start_matches('\t')
                } else {
                    whole
                };
                body.push(kept, next.end - kept.len());
            }
            let marker_span = line.span(marker.marker_range.clone());
            if terminator_span.is_none() {
                self.diagnostics.push(
                    Diagnostic::error(format!(
                        "unterminated heredoc: no line `{}` ends the heredoc",
                        marker.name
                    ))
                    .with_span(marker_span)
                    .with_help("BuildKit rejects the file; the body was taken to run to the end of the file"),
                );
            }
            heredocs.push(Heredoc {
                name: Spanned::new(marker.name, line.span(marker.name_range)),
                quoted: marker.quoted,
                strip_tabs: marker.strip_tabs,
                marker_span,
                body,
                terminator_span,
            });
        }
        heredocs
    }
}

/// BuildKit's `DirectiveParser`: `# name=value` lines at the very top of the file.
#[derive(Default)]
struct DirectiveParser {
    done: bool,
    found: Vec<Directive>,
}

/// Go's `\s` in regular expressions.
fn is_regex_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ')
}

impl DirectiveParser {
    /// Looks at `token` (a line without leading blanks, at file offset `offset`). Returns the
    /// new escape character when it is a valid `# escape=` directive.
    fn observe(
        &mut self,
        file: FileId,
        token: &str,
        offset: usize,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<char> {
        if self.done {
            return None;
        }
        let Some((name_range, value_range)) = match_directive(token) else {
            self.done = true;
            return None;
        };
        let name = token[name_range.clone()].to_ascii_lowercase();
        if !matches!(name.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return None;
        }
        let at = |range: std::ops::Range<usize>| {
            Span::new(file, offset + range.start..offset + range.end)
        };
        let line_span = at(0..token.len());
        if self.found.iter().any(|d| d.name.value == name) {
            diagnostics.push(
                Diagnostic::error(format!("only one {name} parser directive can be used"))
                    .with_span(line_span),
            );
            return None;
        }
        let value = token[value_range.clone()].to_string();
        let mut escape = None;
        if name == "escape" {
            match value.as_str() {
                "\\" => escape = Some('\\'),
                "`" => escape = Some('`'),
                _ => diagnostics.push(
                    Diagnostic::error(format!(
                        "invalid escape token '{value}' does not match ` or \\"
                    ))
                    .with_span(at(value_range.clone())),
                ),
            }
        }
        self.found.push(Directive {
            name: Spanned::new(name, at(name_range)),
            value: Spanned::new(value, at(value_range)),
            span: line_span,
        });
        escape
    }
}

/// Matches `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` with Go's leftmost-first semantics;
/// returns the ranges of the two groups.
fn match_directive(token: &str) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let after_hash = token.strip_prefix('#')?;
    let mut pos = token.len() - after_hash.trim_start_matches(is_regex_space).len();
    let name_start = pos;
    let rest = &token[pos..];
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    pos += rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name_end = pos;
    pos = token.len() - token[pos..].trim_start_matches(is_regex_space).len();
    let after_equals = token[pos..].strip_prefix('=')?;
    let value_region_start = token.len() - after_equals.len();
    if after_equals.contains('\n') || after_equals.is_empty() {
        return None;
    }
    let value_start = token.len() - after_equals.trim_start_matches(is_regex_space).len();
    let value_end = value_start + token[value_start..].trim_end_matches(is_regex_space).len();
    if value_end > value_start {
        Some((name_start..name_end, value_start..value_end))
    } else {
        // Only blanks after `=`: the lazy group still takes the last blank character.
        let last = token[value_region_start..].chars().last()?;
        Some((
            name_start..name_end,
            token.len() - last.len_utf8()..token.len(),
        ))
    }
}

#[cfg(test)]
mod tests;
