//! One instruction's logical line (continuations already joined) turned into keyword, flags,
//! form and value list, following BuildKit's `splitCommand`, `extractBuilderFlags` and the
//! per-instruction line parsers of `line_parsers.go`; plus the `<<EOF` markers on the line.

use std::ops::Range;

use crate::diag::Diagnostic;
use crate::model::dockerfile::{Flag, Form, Instruction};
use crate::source::{MappedText, Span, Spanned};

use super::json::{parse_json_array, JsonArrayError};

/// `ONBUILD ONBUILD …` is rejected by BuildKit; parsing stops nesting here.
const MAX_ONBUILD_DEPTH: usize = 4;

/// Keywords BuildKit's parser and dispatcher know.
const KNOWN_KEYWORDS: [&str; 18] = [
    "add",
    "arg",
    "cmd",
    "copy",
    "entrypoint",
    "env",
    "expose",
    "from",
    "healthcheck",
    "label",
    "maintainer",
    "onbuild",
    "run",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// Whether BuildKit knows the (upper-case) keyword.
pub(crate) fn is_known_keyword(keyword: &str) -> bool {
    KNOWN_KEYWORDS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(keyword))
}

/// Go's `unicode.IsSpace` applied to single bytes, as `extractBuilderFlags` and
/// `parseHealthConfig` do: only ASCII blanks (a non-ASCII character is never a blank there).
fn is_byte_space(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\u{b}'
}

/// Go's `unicode.IsSpace`.
fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// BuildKit's `reWhitespace`: `[\t\v\f\r ]`.
fn is_split_space(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// The range of `range` within `text` without leading and trailing (Unicode) whitespace.
fn trim_range(text: &str, range: Range<usize>) -> Range<usize> {
    let Some(slice) = text.get(range.clone()) else {
        return range.start..range.start;
    };
    let start = range.start + (slice.len() - slice.trim_start().len());
    let end = range.start + slice.trim_end().len();
    start..end.max(start)
}

/// Parses the logical line of one instruction. `span` is the instruction's whole span;
/// heredocs are attached by the caller.
pub(crate) fn parse_instruction(
    line: &MappedText,
    span: Span,
    escape: char,
    depth: usize,
    diagnostics: &mut Vec<Diagnostic>,
) -> Instruction {
    let text = line.text.as_str();
    let trimmed = trim_range(text, 0..text.len());
    let body = &text[trimmed.clone()];
    let keyword_len = body.find(is_split_space).unwrap_or(body.len());
    let keyword_range = trimmed.start..trimmed.start + keyword_len;
    let keyword_text = &text[keyword_range.clone()];
    let keyword = Spanned::new(
        keyword_text.to_uppercase(),
        line.span(keyword_range.clone()),
    );

    let (flags, arguments_range) = if keyword_len == body.len() {
        (Vec::new(), trimmed.end..trimmed.end)
    } else {
        let after = &text[keyword_range.end..trimmed.end];
        let rest_start =
            keyword_range.end + (after.len() - after.trim_start_matches(is_split_space).len());
        let (words, arguments_start) = extract_flags(text, rest_start..trimmed.end);
        let flags = words
            .iter()
            .map(|word| flag_from_word(line, word))
            .collect();
        (flags, trim_range(text, arguments_start..trimmed.end))
    };
    let arguments = line.slice(arguments_range);

    let lower = keyword_text.to_ascii_lowercase();
    let mut instruction = Instruction {
        keyword,
        span,
        flags,
        form: Form::Shell,
        arguments,
        values: Vec::new(),
        heredocs: Vec::new(),
        onbuild: None,
    };
    if !KNOWN_KEYWORDS.contains(&lower.as_str()) {
        diagnostics.push(
            Diagnostic::error(format!("unknown instruction: {keyword_text}"))
                .with_span(instruction.keyword.span),
        );
        // BuildKit's parser keeps unknown instructions with one empty value.
        let at = instruction.arguments.span(0..0);
        instruction.values.push(Spanned::new(String::new(), at));
        return instruction;
    }
    fill_values(&mut instruction, &lower, escape, depth, diagnostics);
    instruction
}

/// A flag word as `extractBuilderFlags` sees it: its characters after quote and escape
/// removal, each with its logical range, and the logical range of the whole word.
struct FlagWord {
    chars: Vec<(char, Range<usize>)>,
    range: Range<usize>,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Phase {
    Spaces,
    Word,
    Quote(char),
}

/// BuildKit's `extractBuilderFlags` over `text[range]`: the `--flag` words and where the
/// arguments start.
fn extract_flags(text: &str, range: Range<usize>) -> (Vec<FlagWord>, usize) {
    let slice = text.get(range.clone()).unwrap_or("");
    // Flags are short and come first: only their characters are looked at.
    let region = flags_region_len(slice);
    let chars: Vec<(usize, char)> = slice
        .get(..region)
        .unwrap_or(slice)
        .char_indices()
        .map(|(i, c)| (range.start + i, c))
        .collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word: Vec<(char, Range<usize>)> = Vec::new();
    let mut word_start = range.start;
    let mut blank_ok = false;
    let is_double_dash =
        |word: &[(char, Range<usize>)]| word.len() == 2 && word.iter().all(|(c, _)| *c == '-');
    let mut i = 0;
    loop {
        let Some(&(pos, ch)) = chars.get(i) else {
            if phase != Phase::Spaces && !is_double_dash(&word) && (blank_ok || !word.is_empty()) {
                words.push(FlagWord {
                    chars: word,
                    range: word_start..range.end,
                });
            }
            return (words, range.end);
        };
        if phase == Phase::Spaces {
            if is_byte_space(ch) {
                i += 1;
                continue;
            }
            let next_is_dash = chars.get(i + 1).is_some_and(|&(_, c)| c == '-');
            if ch != '-' || !next_is_dash {
                return (words, pos);
            }
            phase = Phase::Word;
            word_start = pos;
        }
        match phase {
            Phase::Word => {
                if is_byte_space(ch) {
                    phase = Phase::Spaces;
                    if is_double_dash(&word) {
                        return (words, pos);
                    }
                    if blank_ok || !word.is_empty() {
                        words.push(FlagWord {
                            chars: std::mem::take(&mut word),
                            range: word_start..pos,
                        });
                    }
                    word.clear();
                    blank_ok = false;
                    i += 1;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                    i += 1;
                    continue;
                }
            }
            Phase::Quote(quote) => {
                if ch == quote {
                    phase = Phase::Word;
                    i += 1;
                    continue;
                }
            }
            Phase::Spaces => {}
        }
        let (pos, ch) = if ch == '\\' {
            match chars.get(i + 1) {
                None => {
                    if matches!(phase, Phase::Quote(_)) {
                        phase = Phase::Word;
                    }
                    i += 1;
                    continue;
                }
                Some(&escaped) => {
                    i += 1;
                    escaped
                }
            }
        } else {
            (pos, ch)
        };
        word.push((ch, pos..pos + ch.len_utf8()));
        i += 1;
    }
}

/// An upper bound of how far `extract_flags` can read: up to the first blank-separated word
/// that does not start with `--` (quotes may hide blanks, so this skips quoted text).
fn flags_region_len(slice: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut at_word_start = true;
    let mut escaped = false;
    for (pos, ch) in slice.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => escaped = ch == '\\',
            None if is_byte_space(ch) => at_word_start = true,
            None => {
                if at_word_start && !slice[pos..].starts_with("--") {
                    return pos + ch.len_utf8();
                }
                at_word_start = false;
                if ch == '"' || ch == '\'' {
                    quote = Some(ch);
                }
                escaped = ch == '\\';
            }
        }
    }
    slice.len()
}

fn flag_from_word(line: &MappedText, word: &FlagWord) -> Flag {
    let span_of =
        |chars: &[(char, Range<usize>)], fallback: usize| match (chars.first(), chars.last()) {
            (Some(first), Some(last)) => line.span(first.1.start..last.1.end),
            _ => line.span(fallback..fallback),
        };
    // Every flag word starts with `--`.
    let body = word.chars.get(2..).unwrap_or(&[]);
    let name_start = word.chars.get(2).map_or(word.range.end, |(_, r)| r.start);
    let equals = body.iter().position(|(c, _)| *c == '=');
    let (name_chars, value) = match equals {
        Some(at) => {
            let value_chars = body.get(at + 1..).unwrap_or(&[]);
            let after_equals = body.get(at).map_or(word.range.end, |(_, r)| r.end);
            let value = Spanned::new(
                value_chars.iter().map(|(c, _)| *c).collect(),
                span_of(value_chars, after_equals),
            );
            (body.get(..at).unwrap_or(&[]), Some(value))
        }
        None => (body, None),
    };
    Flag {
        name: Spanned::new(
            name_chars.iter().map(|(c, _)| *c).collect(),
            span_of(name_chars, name_start),
        ),
        value,
        span: line.span(word.range.clone()),
    }
}

/// BuildKit's `parseWords`: words separated by whitespace, quotes and escapes kept. Each word
/// is a contiguous range of `text` (an escape character at the very end is dropped).
fn parse_words(text: &str, escape: char) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut start = 0;
    let mut end = 0;
    let mut blank_ok = false;
    let mut chars = text.char_indices().peekable();
    while let Some((pos, ch)) = chars.next() {
        let at_end =
            |chars: &mut std::iter::Peekable<std::str::CharIndices>| chars.peek().is_none();
        if phase == Phase::Spaces {
            if is_space(ch) {
                continue;
            }
            phase = Phase::Word;
            start = pos;
            end = pos;
        }
        match phase {
            Phase::Word => {
                if is_space(ch) {
                    phase = Phase::Spaces;
                    if blank_ok || end > start {
                        words.push(start..end);
                    }
                    blank_ok = false;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    if at_end(&mut chars) {
                        continue;
                    }
                    if let Some((next_pos, next)) = chars.next() {
                        end = next_pos + next.len_utf8();
                    }
                    continue;
                }
                end = pos + ch.len_utf8();
            }
            Phase::Quote(quote) => {
                if ch == quote {
                    phase = Phase::Word;
                }
                if ch == escape && quote != '\'' {
                    if at_end(&mut chars) {
                        phase = Phase::Word;
                        continue;
                    }
                    if let Some((next_pos, next)) = chars.next() {
                        end = next_pos + next.len_utf8();
                    }
                    continue;
                }
                end = pos + ch.len_utf8();
            }
            Phase::Spaces => {}
        }
    }
    if phase != Phase::Spaces && (blank_ok || end > start) {
        words.push(start..end);
    }
    words
}

/// BuildKit's `parseStringsWhitespaceDelimited`: split on runs of `[\t\v\f\r ]`.
fn split_whitespace_delimited(text: &str) -> Vec<Range<usize>> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (pos, ch) in text.char_indices() {
        if is_split_space(ch) {
            if !in_space {
                parts.push(start..pos);
                in_space = true;
            }
        } else if in_space {
            start = pos;
            in_space = false;
        }
    }
    if in_space {
        parts.push(text.len()..text.len());
    } else {
        parts.push(start..text.len());
    }
    parts
}

fn spanned(arguments: &MappedText, range: Range<usize>) -> Spanned<String> {
    let value = arguments.text.get(range.clone()).unwrap_or("").to_string();
    Spanned::new(value, arguments.span(range))
}

/// What `parseJSON` made of the arguments.
enum JsonOutcome {
    Exec(Vec<Spanned<String>>),
    NotJson,
    Rejected,
}

fn try_json(
    keyword: &str,
    arguments: &MappedText,
    diagnostics: &mut Vec<Diagnostic>,
) -> JsonOutcome {
    match parse_json_array(&arguments.text) {
        Ok(strings) => JsonOutcome::Exec(
            strings
                .into_iter()
                .map(|(value, range)| Spanned::new(value, arguments.span(range)))
                .collect(),
        ),
        Err(JsonArrayError::NotStringArray) => {
            diagnostics.push(
                Diagnostic::error(
                    "when using JSON array syntax, arrays must be comprised of strings only",
                )
                .with_span(arguments.full_span()),
            );
            JsonOutcome::Rejected
        }
        Err(JsonArrayError::NotJson) => {
            if arguments.text.starts_with('[') {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "the arguments of {} start with `[` but are not a valid JSON array, so they are run as a shell command",
                        keyword.to_uppercase()
                    ))
                    .with_span(arguments.full_span())
                    .with_help("exec form needs double-quoted strings, e.g. [\"echo\", \"hi\"]"),
                );
            }
            JsonOutcome::NotJson
        }
    }
}

/// Sets `values`, `form` and `onbuild` as the instruction's BuildKit line parser does.
fn fill_values(
    instruction: &mut Instruction,
    keyword: &str,
    escape: char,
    depth: usize,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let empty = MappedText::new(instruction.arguments.file);
    let arguments = std::mem::replace(&mut instruction.arguments, empty);
    fill_values_from(instruction, &arguments, keyword, escape, depth, diagnostics);
    instruction.arguments = arguments;
}

fn fill_values_from(
    instruction: &mut Instruction,
    arguments: &MappedText,
    keyword: &str,
    escape: char,
    depth: usize,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let text = arguments.text.as_str();
    match keyword {
        // parseMaybeJSONToList
        "add" | "copy" | "volume" => match try_json(keyword, arguments, diagnostics) {
            JsonOutcome::Exec(values) => {
                instruction.values = values;
                instruction.form = Form::Exec;
            }
            JsonOutcome::Rejected => {}
            JsonOutcome::NotJson => {
                instruction.values = split_whitespace_delimited(text)
                    .into_iter()
                    .map(|range| spanned(arguments, range))
                    .collect();
            }
        },
        // parseMaybeJSON
        "cmd" | "entrypoint" | "run" | "shell" => {
            if text.is_empty() {
                return;
            }
            match try_json(keyword, arguments, diagnostics) {
                JsonOutcome::Exec(values) => {
                    instruction.values = values;
                    instruction.form = Form::Exec;
                }
                JsonOutcome::Rejected => {}
                JsonOutcome::NotJson => {
                    instruction.values = vec![spanned(arguments, 0..text.len())];
                }
            }
        }
        "arg" => {
            instruction.values = parse_words(text, escape)
                .into_iter()
                .map(|range| spanned(arguments, range))
                .collect();
        }
        "env" | "label" => {
            instruction.values = name_values(arguments, keyword, escape, diagnostics);
        }
        "expose" | "from" => {
            instruction.values = split_whitespace_delimited(text)
                .into_iter()
                .map(|range| spanned(arguments, range))
                .collect();
        }
        "maintainer" | "stopsignal" | "user" | "workdir" if !text.is_empty() => {
            instruction.values = vec![spanned(arguments, 0..text.len())];
        }
        "healthcheck" => health_values(instruction, arguments, diagnostics),
        "onbuild" => {
            if text.is_empty() {
                return;
            }
            if depth >= MAX_ONBUILD_DEPTH {
                diagnostics.push(
                    Diagnostic::error("ONBUILD is nested too deeply")
                        .with_span(arguments.full_span()),
                );
                return;
            }
            let inner = parse_instruction(
                arguments,
                arguments.full_span(),
                escape,
                depth + 1,
                diagnostics,
            );
            instruction.onbuild = Some(Box::new(inner));
        }
        _ => {}
    }
}

/// BuildKit's `parseHealthConfig`: the type word, then the command as `parseMaybeJSON`.
fn health_values(
    instruction: &mut Instruction,
    arguments: &MappedText,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let text = arguments.text.as_str();
    let type_end = text.find(is_byte_space).unwrap_or(text.len());
    if type_end == 0 {
        return;
    }
    let rest = &text[type_end..];
    let command_start = type_end + (rest.len() - rest.trim_start_matches(is_byte_space).len());
    instruction.values.push(spanned(arguments, 0..type_end));
    if command_start >= text.len() {
        return;
    }
    let command = arguments.slice(command_start..text.len());
    match try_json("healthcheck", &command, diagnostics) {
        JsonOutcome::Exec(values) => {
            instruction.values.extend(values);
            instruction.form = Form::Exec;
        }
        JsonOutcome::Rejected => {}
        JsonOutcome::NotJson => {
            instruction
                .values
                .push(spanned(&command, 0..command.text.len()));
        }
    }
}

/// BuildKit's `parseNameVal` for `ENV` and `LABEL`: `key, value, separator` triples.
fn name_values(
    arguments: &MappedText,
    keyword: &str,
    escape: char,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Spanned<String>> {
    let text = arguments.text.as_str();
    let words = parse_words(text, escape);
    let Some(first) = words.first() else {
        return Vec::new();
    };
    let word_text = |range: &Range<usize>| text.get(range.clone()).unwrap_or("");
    let mut values = Vec::new();
    if !word_text(first).contains('=') {
        // Legacy form `KEY value`: the key, then everything after the first blank run.
        let key_end = text.find(is_split_space).unwrap_or(text.len());
        let after = &text[key_end..];
        let value_start = key_end + (after.len() - after.trim_start_matches(is_split_space).len());
        if key_end == text.len() {
            diagnostics.push(
                Diagnostic::error(format!(
                    "{} must have two arguments",
                    keyword.to_ascii_uppercase()
                ))
                .with_span(arguments.full_span()),
            );
            return values;
        }
        values.push(spanned(arguments, 0..key_end));
        values.push(spanned(arguments, value_start..text.len()));
        values.push(spanned(arguments, text.len()..text.len()));
        return values;
    }
    for range in words {
        let word = word_text(&range);
        let Some(equals) = word.find('=') else {
            diagnostics.push(
                Diagnostic::error(format!(
                    "Syntax error - can't find = in {word:?}. Must be of the form: name=value"
                ))
                .with_span(arguments.span(range.clone())),
            );
            continue;
        };
        let equals = range.start + equals;
        values.push(spanned(arguments, range.start..equals));
        values.push(spanned(arguments, equals + 1..range.end));
        values.push(spanned(arguments, equals..equals + 1));
    }
    values
}

/// A `<<EOF` word on an instruction line.
pub(crate) struct HeredocMarker {
    pub name: String,
    /// Logical range of the delimiter word (after `<<` or `<<-`).
    pub name_range: Range<usize>,
    pub quoted: bool,
    pub strip_tabs: bool,
    /// Logical range of the whole `<<EOF` word.
    pub marker_range: Range<usize>,
}

/// BuildKit's `heredocsFromLine`: the line's shell words that look like `[n]<<[-]WORD`.
pub(crate) fn heredoc_markers(line: &str) -> Vec<HeredocMarker> {
    let Some(words) = raw_shell_words(line) else {
        return Vec::new();
    };
    let mut markers = Vec::new();
    for range in words {
        let word = line.get(range.clone()).unwrap_or("");
        let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let Some(after) = word[digits..].strip_prefix("<<") else {
            continue;
        };
        let (strip_tabs, delimiter) = match after.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, after),
        };
        if delimiter.is_empty() || delimiter.contains('<') {
            continue;
        }
        let Some(name) = unquote_word(delimiter).filter(|name| !name.is_empty()) else {
            continue;
        };
        let quote_count = |s: &str| s.chars().filter(|c| matches!(c, '\'' | '"')).count();
        markers.push(HeredocMarker {
            quoted: quote_count(&name) != quote_count(delimiter),
            name,
            name_range: range.end - delimiter.len()..range.end,
            strip_tabs,
            marker_range: range,
        });
    }
    markers
}

/// Shell words of `line` with quotes and escapes kept (BuildKit's lexer with `RawQuotes` and
/// `RawEscapes`); `None` when a quote is not closed.
fn raw_shell_words(line: &str) -> Option<Vec<Range<usize>>> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut chars = line.char_indices();
    while let Some((pos, ch)) = chars.next() {
        if is_space(ch) {
            if let Some(word_start) = start.take() {
                words.push(word_start..pos);
            }
            continue;
        }
        start.get_or_insert(pos);
        match ch {
            '\\' => {
                chars.next();
            }
            '\'' => loop {
                if chars.next()?.1 == '\'' {
                    break;
                }
            },
            '"' => loop {
                match chars.next()?.1 {
                    '"' => break,
                    '\\' => {
                        chars.next()?;
                    }
                    _ => {}
                }
            },
            _ => {}
        }
    }
    if let Some(word_start) = start {
        words.push(word_start..line.len());
    }
    Some(words)
}

/// The heredoc delimiter with quotes removed and escapes applied; `None` unless it is one
/// shell word.
fn unquote_word(word: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = word.chars();
    while let Some(ch) = chars.next() {
        match ch {
            // An escape at the very end is dropped, as BuildKit's lexer does.
            '\\' => out.extend(chars.next()),
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => out.push(c),
                }
            },
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        c @ ('"' | '\\' | '$' | '`') => out.push(c),
                        c => {
                            out.push('\\');
                            out.push(c);
                        }
                    },
                    c => out.push(c),
                }
            },
            c if is_space(c) => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, escape: char) -> Vec<&str> {
        parse_words(text, escape)
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn parse_words_keeps_quotes_and_escapes() {
        assert_eq!(words(r#"a="x y" b=c\ d"#, '\\'), [r#"a="x y""#, r"b=c\ d"]);
        assert_eq!(words("a b\\", '\\'), ["a", "b"]);
        assert_eq!(words("''", '\\'), ["''"]);
        assert_eq!(words("a`  b", '`'), ["a` ", "b"]);
    }

    #[test]
    fn whitespace_split() {
        let text = "a \t b  c";
        let parts: Vec<&str> = split_whitespace_delimited(text)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(parts, ["a", "b", "c"]);
    }

    #[test]
    fn flags_strip_quotes_and_stop_at_double_dash() {
        let text = r#"--from="build" --link -- --not-a-flag x"#;
        let (flags, rest) = extract_flags(text, 0..text.len());
        let flag_words: Vec<String> = flags
            .iter()
            .map(|w| w.chars.iter().map(|(c, _)| *c).collect())
            .collect();
        assert_eq!(flag_words, ["--from=build", "--link"]);
        assert_eq!(text[rest..].trim(), "--not-a-flag x");
    }

    #[test]
    fn heredoc_markers_on_a_line() {
        let line = r#"RUN 3<<-"EOF" cat <<'X' && echo "<<NO" <<<here <<EOF>out"#;
        let markers = heredoc_markers(line);
        let names: Vec<(&str, bool, bool)> = markers
            .iter()
            .map(|m| (m.name.as_str(), m.quoted, m.strip_tabs))
            .collect();
        assert_eq!(
            names,
            [
                ("EOF", true, true),
                ("X", true, false),
                ("EOF>out", false, false)
            ]
        );
        assert_eq!(&line[markers[0].marker_range.clone()], r#"3<<-"EOF""#);
        assert_eq!(&line[markers[0].name_range.clone()], r#""EOF""#);
        assert!(heredoc_markers("RUN echo 'unterminated <<EOF").is_empty());
    }
}
