//! Compose variable interpolation (`${VAR:-default}` and friends) and `.env` files.
//!
//! The semantics follow compose-go's `template` package: `$VAR`, `${VAR}`, `${VAR:-default}`
//! (unset or empty), `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (error
//! when unset-or-empty / unset), `${VAR:+alternative}` / `${VAR+alternative}` (alternative
//! when set-and-non-empty / set), `$$` for a literal `$`; defaults, alternatives and messages
//! are interpolated themselves (eagerly, as compose-go does). Names match
//! `[_A-Za-z][_A-Za-z0-9]*`. A `$` followed by anything else is an error, as in compose.
//!
//! Variable precedence: an [`Interpolation`] is built from the `.env` file beside the first
//! compose file, then the explicitly given variables override it. Whether the process
//! environment is among the explicit variables is the caller's choice (compose itself lets the
//! process environment win over `.env`; an offline policy check usually should not read it).

use std::collections::HashMap;

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::source::{FileId, Span, Spanned};

/// Nested `${…}` expressions deeper than this are refused.
const MAX_NESTING: usize = 32;

/// The variables interpolation reads.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Interpolation {
    variables: HashMap<String, String>,
}

/// The result of interpolating one string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    /// Variables that were referenced without a default while unset (compose warns about
    /// them and substitutes an empty string).
    pub unset: Vec<String>,
}

/// Why a string could not be interpolated; compose rejects the file in these cases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpolationError {
    pub message: String,
}

/// One `NAME=value` line of a `.env` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DotenvEntry {
    pub name: Spanned<String>,
    /// The value with quotes and escapes removed; span = the value as written.
    pub value: Spanned<String>,
    /// Whether `${VAR}` references in the value are expanded (unquoted and double-quoted
    /// values; single-quoted values are literal).
    pub expand: bool,
}

impl Interpolation {
    pub fn new() -> Interpolation {
        Interpolation::default()
    }

    /// Variables from `pairs`, later pairs overriding earlier ones.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Interpolation
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut interpolation = Interpolation::new();
        for (name, value) in pairs {
            interpolation.set(name, value);
        }
        interpolation
    }

    /// `.env` entries (expanded in order, each seeing the entries above it and the explicit
    /// variables), overridden by the `explicit` variables.
    pub fn from_dotenv<K, V>(
        dotenv: &[DotenvEntry],
        explicit: impl IntoIterator<Item = (K, V)>,
    ) -> (Interpolation, Vec<Diagnostic>)
    where
        K: Into<String>,
        V: Into<String>,
    {
        let explicit = Interpolation::from_pairs(explicit);
        let mut combined = explicit.clone();
        let mut diagnostics = Vec::new();
        for entry in dotenv {
            let value = if entry.expand {
                match combined.interpolate(&entry.value.value) {
                    Ok(done) => done.value,
                    Err(error) => {
                        diagnostics
                            .push(Diagnostic::error(error.message).with_span(entry.value.span));
                        entry.value.value.clone()
                    }
                }
            } else {
                entry.value.value.clone()
            };
            if explicit.get(&entry.name.value).is_none() {
                combined.set(entry.name.value.clone(), value);
            }
        }
        (combined, diagnostics)
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.variables.insert(name.into(), value.into());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }

    /// Interpolates `template` with compose's rules.
    pub fn interpolate(&self, template: &str) -> Result<Interpolated, InterpolationError> {
        let mut out = Interpolated {
            value: String::with_capacity(template.len()),
            unset: Vec::new(),
        };
        if !template.contains('$') {
            out.value.push_str(template);
            return Ok(out);
        }
        self.substitute(template, 0, &mut out)?;
        Ok(out)
    }

    fn substitute(
        &self,
        template: &str,
        depth: usize,
        out: &mut Interpolated,
    ) -> Result<(), InterpolationError> {
        if depth > MAX_NESTING {
            return Err(invalid(format!(
                "interpolation is nested deeper than {MAX_NESTING} levels"
            )));
        }
        let bytes = template.as_bytes();
        let mut copied = 0;
        let mut i = 0;
        while let Some(offset) = template.get(i..).and_then(|rest| rest.find('$')) {
            let dollar = i + offset;
            out.value
                .push_str(template.get(copied..dollar).unwrap_or(""));
            match bytes.get(dollar + 1) {
                Some(b'$') => {
                    out.value.push('$');
                    i = dollar + 2;
                }
                Some(b'{') => {
                    let Some(close) = matching_brace(bytes, dollar + 2) else {
                        return Err(invalid(format!(
                            "invalid interpolation format in {template:?}: `${{` is not closed"
                        )));
                    };
                    let inner = template.get(dollar + 2..close).unwrap_or("");
                    self.braced(inner, template, depth, out)?;
                    i = close + 1;
                }
                Some(&b) if is_name_start(b) => {
                    let end = name_end(bytes, dollar + 1);
                    let name = template.get(dollar + 1..end).unwrap_or("");
                    self.lookup(name, out);
                    i = end;
                }
                _ => {
                    return Err(invalid(format!(
                        "invalid interpolation format in {template:?}: a `$` must be followed by a variable name, `{{` or `$` (write `$$` for a literal `$`)"
                    )));
                }
            }
            copied = i;
        }
        out.value.push_str(template.get(copied..).unwrap_or(""));
        Ok(())
    }

    fn lookup(&self, name: &str, out: &mut Interpolated) {
        match self.get(name) {
            Some(value) => out.value.push_str(value),
            None => {
                if !out.unset.iter().any(|n| n == name) {
                    out.unset.push(name.to_string());
                }
            }
        }
    }

    /// Expands the inside of `${…}`.
    fn braced(
        &self,
        inner: &str,
        template: &str,
        depth: usize,
        out: &mut Interpolated,
    ) -> Result<(), InterpolationError> {
        let bytes = inner.as_bytes();
        let name_len = if bytes.first().copied().is_some_and(is_name_start) {
            name_end(bytes, 0)
        } else {
            0
        };
        let bad = || {
            invalid(format!(
                "invalid interpolation format in {template:?}: `${{{inner}}}` is not `${{NAME}}` or `${{NAME<operator>value}}`"
            ))
        };
        if name_len == 0 {
            return Err(bad());
        }
        let name = inner.get(..name_len).unwrap_or("");
        let rest = inner.get(name_len..).unwrap_or("");
        if rest.is_empty() {
            self.lookup(name, out);
            return Ok(());
        }
        let (colon, rest) = match rest.strip_prefix(':') {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let mut operator = rest.chars();
        let op = operator.next().ok_or_else(bad)?;
        if !matches!(op, '-' | '?' | '+') {
            return Err(bad());
        }
        let argument = operator.as_str();
        let mut expanded = Interpolated {
            value: String::new(),
            unset: std::mem::take(&mut out.unset),
        };
        let result = self.substitute(argument, depth + 1, &mut expanded);
        out.unset = expanded.unset;
        result?;
        let value = self.get(name);
        let present = if colon {
            value.is_some_and(|v| !v.is_empty())
        } else {
            value.is_some()
        };
        match op {
            '-' if present => out.value.push_str(value.unwrap_or("")),
            '-' => out.value.push_str(&expanded.value),
            '+' if present => out.value.push_str(&expanded.value),
            '+' => out.value.push_str(value.unwrap_or("")),
            _ if present => out.value.push_str(value.unwrap_or("")),
            _ => {
                return Err(invalid(format!(
                    "required variable {name} is missing a value: {}",
                    expanded.value
                )))
            }
        }
        Ok(())
    }
}

fn invalid(message: String) -> InterpolationError {
    InterpolationError { message }
}

fn is_name_start(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic()
}

/// The end of the variable name starting at `start`.
fn name_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while bytes
        .get(end)
        .is_some_and(|&b| b == b'_' || b.is_ascii_alphanumeric())
    {
        end += 1;
    }
    end
}

/// The index of the `}` closing a `${` whose content starts at `start`, counting nested `${`.
fn matching_brace(bytes: &[u8], start: usize) -> Option<usize> {
    let mut open = 1usize;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        if b == b'}' {
            open -= 1;
            if open == 0 {
                return Some(i);
            }
        } else if b == b'$' && bytes.get(i + 1) == Some(&b'{') {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

/// Parses a `.env` file as compose reads it: `NAME=value` lines (`export ` prefix allowed,
/// `#` comments), values unquoted (trimmed, ` #` starts a comment), single-quoted (literal)
/// or double-quoted (`\n`, `\t`, `\\`, `\"` escapes); quoted values may span lines.
pub fn parse_dotenv(file: FileId, text: &str) -> (Vec<DotenvEntry>, Vec<Diagnostic>) {
    let mut entries = Vec::new();
    let mut diagnostics = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let line_end = text
            .get(pos..)
            .and_then(|rest| rest.find('\n'))
            .map_or(text.len(), |i| pos + i);
        let line = text.get(pos..line_end).unwrap_or("");
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.trim_end().is_empty() || trimmed.starts_with('#') {
            pos = line_end + 1;
            continue;
        }
        let body_start = pos
            + indent
            + if trimmed.starts_with("export ") {
                "export ".len()
            } else {
                0
            };
        let body = text.get(body_start..line_end).unwrap_or("");
        let Some(eq) = body.find(['=', ':']) else {
            let span = Span::new(file, body_start..line_end);
            diagnostics
                .push(Diagnostic::error("this .env line is not `NAME=value`").with_span(span));
            pos = line_end + 1;
            continue;
        };
        let name_text = body.get(..eq).unwrap_or("").trim_end();
        let name_start = body_start + body.len() - body.trim_start().len();
        let name_text = name_text.trim_start();
        let name = Spanned::new(
            name_text.to_string(),
            Span::new(file, name_start..name_start + name_text.len()),
        );
        if name_text.is_empty() || name_text.contains(char::is_whitespace) {
            diagnostics.push(
                Diagnostic::error(format!("`{name_text}` is not a variable name"))
                    .with_span(Span::new(file, body_start..body_start + eq)),
            );
        }
        let after_eq = body_start + eq + 1;
        let value_start = after_eq
            + text
                .get(after_eq..line_end)
                .map_or(0, |v| v.len() - v.trim_start_matches([' ', '\t']).len());
        let (value, next) = dotenv_value(file, text, value_start, line_end, &mut diagnostics);
        if !name_text.is_empty() {
            entries.push(DotenvEntry {
                name,
                value: value.0,
                expand: value.1,
            });
        }
        pos = next;
    }
    (entries, diagnostics)
}

/// Reads the value starting at `start`; returns it, whether it expands, and where the next
/// line starts.
fn dotenv_value(
    file: FileId,
    text: &str,
    start: usize,
    line_end: usize,
    diagnostics: &mut Vec<Diagnostic>,
) -> ((Spanned<String>, bool), usize) {
    let rest = text.get(start..).unwrap_or("");
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"');
    if let Some(quote) = quote {
        let mut value = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            if c == quote {
                let end = start + i + 1;
                let next = text
                    .get(end..)
                    .and_then(|r| r.find('\n'))
                    .map_or(text.len(), |n| end + n + 1);
                let span = Span::new(file, start..end);
                return ((Spanned::new(value, span), quote == '"'), next);
            }
            if c == '\\' && quote == '"' {
                match chars.next().map(|(_, e)| e) {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some('r') => value.push('\r'),
                    Some(other) => value.push(other),
                    None => {}
                }
            } else {
                value.push(c);
            }
        }
        diagnostics.push(
            Diagnostic::error("this quoted .env value is not closed")
                .with_span(Span::new(file, start..start + 1)),
        );
        let span = Span::new(file, start..text.len());
        return ((Spanned::new(value, span), quote == '"'), text.len());
    }
    let raw = text.get(start..line_end).unwrap_or("");
    let without_comment = raw
        .find(" #")
        .or_else(|| raw.find("\t#"))
        .map_or(raw, |i| raw.get(..i).unwrap_or(raw));
    let value = without_comment.trim_end();
    let span = Span::new(file, start..start + value.len());
    ((Spanned::new(value.to_string(), span), true), line_end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Interpolation {
        Interpolation::from_pairs([("FOO", "first"), ("BAR", "")])
    }

    fn run(template: &str) -> Result<String, InterpolationError> {
        env().interpolate(template).map(|i| i.value)
    }

    #[test]
    fn alternatives() {
        assert_eq!(run("${FOO:+alt}").as_deref(), Ok("alt"));
        assert_eq!(run("${BAR:+alt}").as_deref(), Ok(""));
        assert_eq!(run("${BAR+alt}").as_deref(), Ok("alt"));
        assert_eq!(run("${NOPE+alt}").as_deref(), Ok(""));
        assert_eq!(run("${NOPE:+alt}").as_deref(), Ok(""));
    }

    #[test]
    fn errors_and_escapes() {
        assert!(run("cost: 5$").is_err());
        assert!(run("a $ b").is_err());
        assert_eq!(run("5$$ ${FOO}$$").as_deref(), Ok("5$ first$"));
        let message = run("${NOPE:?set it ${FOO}}").expect_err("required");
        assert_eq!(
            message.message,
            "required variable NOPE is missing a value: set it first"
        );
    }

    #[test]
    fn unset_variables_are_listed() {
        let done = env().interpolate("${A}-$B-${C:-x}-${A}").expect("ok");
        assert_eq!(done.value, "--x-");
        assert_eq!(done.unset, vec!["A".to_string(), "B".to_string()]);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "${A:-".repeat(100) + &"}".repeat(100);
        assert!(run(&deep).is_err());
        let ok = "${A:-".repeat(10) + "x" + &"}".repeat(10);
        assert_eq!(run(&ok).as_deref(), Ok("x"));
    }

    #[test]
    fn unicode_passes_through() {
        assert_eq!(run("é${FOO}ü$FOO€").as_deref(), Ok("éfirstüfirst€"));
    }

    #[test]
    fn dotenv_forms_and_spans() {
        let text = "# comment\nexport A=1\nB = two words # note\nC='lit $A'\nD=\"x\\ny $A\"\n\nE=${A}-${NOPE:-d}\nbroken\n";
        let (entries, diags) = parse_dotenv(FileId(0), text);
        assert_eq!(diags.len(), 1);
        assert_eq!(&text[diags[0].span.expect("span").range()], "broken");
        let names: Vec<&str> = entries.iter().map(|e| e.name.value.as_str()).collect();
        assert_eq!(names, ["A", "B", "C", "D", "E"]);
        assert_eq!(&text[entries[1].name.span.range()], "B");
        assert_eq!(&text[entries[1].value.span.range()], "two words");
        assert_eq!(&text[entries[2].value.span.range()], "'lit $A'");
        assert_eq!(entries[3].value.value, "x\ny $A");
        let (vars, diags) = Interpolation::from_dotenv(&entries, [("B", "explicit")]);
        assert!(diags.is_empty());
        assert_eq!(vars.get("B"), Some("explicit"));
        assert_eq!(vars.get("C"), Some("lit $A"));
        assert_eq!(vars.get("D"), Some("x\ny 1"));
        assert_eq!(vars.get("E"), Some("1-d"));
    }

    #[test]
    fn dotenv_multiline_quoted_value() {
        let text = "K=\"line1\nline2\"\nL=2\n";
        let (entries, diags) = parse_dotenv(FileId(0), text);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(entries[0].value.value, "line1\nline2");
        assert_eq!(entries[1].name.value, "L");
    }
}
