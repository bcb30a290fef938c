//! pip requirements files, read the way pip 26 reads them, with a span for every value.
//!
//! Three layers mirror pip's `req_file.py` and `req/constructors.py`:
//! 1. [`preprocess`]: Python `str.splitlines`, joining lines that end in `\` (only when it is
//!    the very last character; leading and trailing backslashes of a continued line are
//!    dropped, as pip's `strip("\\")` does), removing comments (`#` at the start of a line or
//!    after whitespace), stripping, skipping empty lines, then `${NAME}` expansion for names
//!    of uppercase letters, digits and `_`. The environment is a parameter: the variables of
//!    the eventual `pip install` are unknown here, so [`parse_requirements`] leaves every
//!    `${NAME}` literal (pip does the same for unset or empty variables) and
//!    [`parse_requirements_with_env`] takes them from a map. Each logical line is a
//!    [`MappedText`], so every logical position maps back to the file.
//! 2. Options: the line is split where the first space-separated token starts with `-`; the
//!    rest is split like `shlex.split` and read like pip's `optparse` parser (long-option
//!    abbreviations, `--opt=value`, `-ovalue`, `--hash`/`--config-settings` checks).
//! 3. The requirement: URLs, archive files, wheel files (name and version from the file
//!    name), `#egg=` fragments, editables and PEP 508 strings (validated with `pep508_rs`).
//!
//! Deliberate differences from pip, because pip consults the file system of the machine
//! running it: a path-like requirement or editable that is not an archive is modelled as a
//! local project directory (pip accepts it only if that directory exists); pip stops at the
//! first line it cannot parse, this parser reports it and goes on; a file included twice
//! (not in a cycle) is read once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{MarkerTree, Pep508Error, Pep508Url, VersionOrUrl};

use crate::diag::{Diagnostic, Severity};
use crate::model::requirements::{
    normalize_name, FileOption, FileOptionKind, Include, IncludeKind, Requirement, RequirementsFile,
};
use crate::source::{normalize_path, FileId, MappedText, Sources, Span, Spanned};

/// How deep `-r`/`-c` includes are followed.
pub const MAX_INCLUDE_DEPTH: usize = 32;

/// Parentheses nested deeper than this in a requirement are refused before any parser
/// recurses into them.
const MAX_NESTING: usize = 64;

/// `pep508_rs` 0.9 copies the whole requirement string once per extra it reads, so its work
/// is the number of extras times the string's length; strings over this product are refused.
const MAX_EXTRAS_WORK: usize = 256 * 1024 * 1024;

/// The environment used for `${NAME}` expansion.
pub type Env = BTreeMap<String, String>;

/// Parses one requirements file, leaving `${NAME}` references literal.
pub fn parse_requirements(file: FileId, text: &str) -> (RequirementsFile, Vec<Diagnostic>) {
    parse_requirements_with_env(file, text, &Env::new())
}

/// Parses one requirements file, expanding `${NAME}` from `env` as pip expands it from the
/// process environment (unset and empty variables stay literal).
pub fn parse_requirements_with_env(
    file: FileId,
    text: &str,
    env: &Env,
) -> (RequirementsFile, Vec<Diagnostic>) {
    let mut parsed = RequirementsFile {
        file,
        constraint: false,
        requirements: Vec::new(),
        includes: Vec::new(),
        options: Vec::new(),
    };
    let mut diags = Vec::new();
    for line in preprocess(file, text, env) {
        parse_line(&line, &mut parsed, &mut diags);
    }
    (parsed, diags)
}

// ---------------------------------------------------------------------------------------
// Layer 1: lines
// ---------------------------------------------------------------------------------------

/// One line as pip sees it after joining, comment removal and `${NAME}` expansion.
#[derive(Clone, Debug)]
pub struct LogicalLine {
    /// 1-based number of its first physical line, counted as Python's `str.splitlines`
    /// counts (which also breaks at `\r`, `\x0b`, `\x0c`, `\x1c`-`\x1e`, `\x85`, U+2028/9).
    pub line: u32,
    /// The logical text. Use [`LogicalLine::span`] rather than `text.span` for spans: it
    /// knows where `${NAME}` values were substituted.
    pub text: MappedText,
    /// `(logical range of a substituted value, file range of its `${NAME}`)`, in order.
    replacements: Vec<(Range<usize>, Range<usize>)>,
}

impl LogicalLine {
    pub fn as_str(&self) -> &str {
        &self.text.text
    }

    /// The file span of a logical range; a substituted value maps to its whole `${NAME}`.
    pub fn span(&self, range: Range<usize>) -> Span {
        let len = self.text.len();
        let start = range.start.min(len);
        let end = range.end.clamp(start, len);
        let file_start = match self.replacement_at(start) {
            Some(file) => file.start,
            None => self.text.file_offset(start),
        };
        if end == start {
            return Span::point(self.text.file, file_start);
        }
        let file_end = match self.replacement_at(end - 1) {
            Some(file) => file.end,
            None => self.text.file_offset(end - 1) + 1,
        };
        Span::new(self.text.file, file_start..file_end.max(file_start))
    }

    fn replacement_at(&self, logical: usize) -> Option<Range<usize>> {
        let index = self
            .replacements
            .partition_point(|(value, _)| value.end <= logical);
        self.replacements
            .get(index)
            .filter(|(value, _)| value.start <= logical && logical < value.end)
            .map(|(_, file)| file.clone())
    }

    fn slice(&self, range: Range<usize>) -> &str {
        self.as_str().get(range).unwrap_or("")
    }

    fn spanned(&self, range: Range<usize>) -> Spanned<String> {
        Spanned::new(self.slice(range.clone()).to_string(), self.span(range))
    }
}

/// Python's `str.isspace` (Rust's `char::is_whitespace` plus U+001C..U+001F).
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A line boundary for Python's `str.splitlines`.
fn is_py_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\u{0b}'
            | '\u{0c}'
            | '\u{1c}'
            | '\u{1d}'
            | '\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// The physical lines of `text` from `start` as `(number, range)`, like `str.splitlines`.
fn physical_lines(text: &str, start: usize) -> Vec<(u32, Range<usize>)> {
    let mut lines = Vec::new();
    let mut number = 0u32;
    let mut line_start = start;
    let mut chars = text.get(start..).unwrap_or("").char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !is_py_line_break(c) {
            continue;
        }
        let i = start + i;
        number = number.saturating_add(1);
        lines.push((number, line_start..i));
        line_start = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, next)| next == '\n') {
            chars.next();
            line_start += 1;
        }
    }
    if line_start < text.len() {
        lines.push((number.saturating_add(1), line_start..text.len()));
    }
    lines
}

/// True if the line is a comment line for pip's `COMMENT_RE.match`: optional whitespace,
/// then `#`.
fn is_comment_line(line: &str) -> bool {
    line.trim_start_matches(is_py_space).starts_with('#')
}

/// Where pip's `COMMENT_RE` (`(^|\s+)#.*$`) starts matching in `text`, if anywhere.
fn comment_start(text: &str) -> Option<usize> {
    let mut previous: Option<char> = None;
    let mut whitespace_run_start = 0;
    for (i, c) in text.char_indices() {
        if c == '#' {
            match previous {
                None => return Some(0),
                Some(p) if is_py_space(p) => return Some(whitespace_run_start),
                Some(_) => {}
            }
        }
        if is_py_space(c) && !previous.is_some_and(is_py_space) {
            whitespace_run_start = i;
        }
        previous = Some(c);
    }
    None
}

/// pip's `preprocess`: the logical lines of a requirements file.
pub fn preprocess(file: FileId, text: &str, env: &Env) -> Vec<LogicalLine> {
    // pip decodes files with a UTF-8 byte order mark by dropping it.
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut joined: Vec<(u32, Vec<Range<usize>>)> = Vec::new();
    let mut pending: Option<(u32, Vec<Range<usize>>)> = None;
    for (number, range) in physical_lines(text, start) {
        let line = text.get(range.clone()).unwrap_or("");
        let comment = is_comment_line(line);
        if !line.ends_with('\\') || comment {
            match pending.take() {
                // A comment line ends the continuation and adds nothing (pip prefixes it with
                // a space so that the comment is removed later).
                Some((first, mut pieces)) => {
                    if !comment {
                        pieces.push(range);
                    }
                    joined.push((first, pieces));
                }
                None if comment => {}
                None => joined.push((number, vec![range])),
            }
        } else {
            let trimmed_start = range.start + (line.len() - line.trim_start_matches('\\').len());
            let trimmed_end = range.start + line.trim_end_matches('\\').len();
            let piece = trimmed_start..trimmed_end.max(trimmed_start);
            match pending.as_mut() {
                Some((_, pieces)) => pieces.push(piece),
                None => pending = Some((number, vec![piece])),
            }
        }
    }
    if let Some(last) = pending {
        joined.push(last);
    }
    joined
        .into_iter()
        .filter_map(|(number, pieces)| logical_line(file, text, number, &pieces, env))
        .collect()
}

/// Builds one logical line from its pieces: comment removal, strip, `${NAME}` expansion.
fn logical_line(
    file: FileId,
    text: &str,
    number: u32,
    pieces: &[Range<usize>],
    env: &Env,
) -> Option<LogicalLine> {
    let mut raw = MappedText::new(file);
    for piece in pieces {
        raw.push(text.get(piece.clone()).unwrap_or(""), piece.start);
    }
    let end = comment_start(&raw.text).unwrap_or(raw.text.len());
    let kept = raw.text.get(..end).unwrap_or("");
    let trimmed_end = kept.trim_end_matches(is_py_space).len();
    let trimmed_start = trimmed_end - kept[..trimmed_end].trim_start_matches(is_py_space).len();
    if trimmed_start == trimmed_end {
        return None;
    }
    let stripped = raw.slice(trimmed_start..trimmed_end);
    Some(expand_env(stripped, number, env))
}

/// pip's `expand_env_variables`: `${NAME}` with `NAME` of `[A-Z0-9_]+`, replaced when the
/// variable is set and not empty.
fn expand_env(stripped: MappedText, number: u32, env: &Env) -> LogicalLine {
    let source = stripped.text.as_str();
    let bytes = source.as_bytes();
    let mut text = MappedText::new(stripped.file);
    let mut replacements = Vec::new();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'$') && bytes.get(i + 1) == Some(&b'{') {
            let name_len = bytes
                .get(i + 2..)
                .unwrap_or(&[])
                .iter()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
                .count();
            let close = i + 2 + name_len;
            if name_len > 0 && bytes.get(close) == Some(&b'}') {
                let name = source.get(i + 2..close).unwrap_or("");
                if let Some(value) = env.get(name).filter(|v| !v.is_empty()) {
                    push_mapped(&mut text, &stripped, copied..i);
                    let file_range = stripped.file_offset(i)..stripped.file_offset(close) + 1;
                    let logical_start = text.len();
                    text.push(value, file_range.start);
                    replacements.push((logical_start..text.len(), file_range));
                    copied = close + 1;
                }
                i = close + 1;
                continue;
            }
        }
        i += 1;
    }
    push_mapped(&mut text, &stripped, copied..source.len());
    LogicalLine {
        line: number,
        text,
        replacements,
    }
}

/// Appends `range` of `source` to `target`, keeping its mapping to the file.
fn push_mapped(target: &mut MappedText, source: &MappedText, range: Range<usize>) {
    let part = source.slice(range);
    let mut offset = 0;
    // `slice` keeps one piece per contiguous stretch of the file; copy them one by one.
    while offset < part.len() {
        let file_start = part.file_offset(offset);
        let mut end = offset + 1;
        while end < part.len() && part.file_offset(end) == file_start + (end - offset) {
            end += 1;
        }
        while !part.text.is_char_boundary(end) {
            end += 1;
        }
        target.push(part.text.get(offset..end).unwrap_or(""), file_start);
        offset = end;
    }
}

// ---------------------------------------------------------------------------------------
// Layer 2: options
// ---------------------------------------------------------------------------------------

/// What an option stores into (pip's optparse `dest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dest {
    File(FileOptionKind),
    Constraint,
    Requirement,
    Editable,
    GlobalOption,
    Hash,
    ConfigSettings,
}

struct OptionSpec {
    short: Option<char>,
    long: &'static [&'static str],
    dest: Dest,
    takes_value: bool,
}

/// The options pip's requirements-file parser knows (`SUPPORTED_OPTIONS` and
/// `SUPPORTED_OPTIONS_REQ`).
const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        short: Some('i'),
        long: &["--index-url", "--pypi-url"],
        dest: Dest::File(FileOptionKind::IndexUrl),
        takes_value: true,
    },
    OptionSpec {
        short: None,
        long: &["--extra-index-url"],
        dest: Dest::File(FileOptionKind::ExtraIndexUrl),
        takes_value: true,
    },
    OptionSpec {
        short: None,
        long: &["--no-index"],
        dest: Dest::File(FileOptionKind::NoIndex),
        takes_value: false,
    },
    OptionSpec {
        short: Some('c'),
        long: &["--constraint"],
        dest: Dest::Constraint,
        takes_value: true,
    },
    OptionSpec {
        short: Some('r'),
        long: &["--requirement"],
        dest: Dest::Requirement,
        takes_value: true,
    },
    OptionSpec {
        short: Some('e'),
        long: &["--editable"],
        dest: Dest::Editable,
        takes_value: true,
    },
    OptionSpec {
        short: Some('f'),
        long: &["--find-links"],
        dest: Dest::File(FileOptionKind::FindLinks),
        takes_value: true,
    },
    OptionSpec {
        short: None,
        long: &["--no-binary"],
        dest: Dest::File(FileOptionKind::NoBinary),
        takes_value: true,
    },
    OptionSpec {
        short: None,
        long: &["--only-binary"],
        dest: Dest::File(FileOptionKind::OnlyBinary),
        takes_value: true,
    },
    OptionSpec {
        short: None,
        long: &["--prefer-binary"],
        dest: Dest::File(FileOptionKind::PreferBinary),
        takes_value: false,
    },
    OptionSpec {
        short: None,
        long: &["--require-hashes"],
        dest: Dest::File(FileOptionKind::RequireHashes),
        takes_value: false,
    },
    OptionSpec {
        short: None,
        long: &["--pre"],
        dest: Dest::File(FileOptionKind::Pre),
        takes_value: false,
    },
    OptionSpec {
        short: None,
        long: &["--trusted-host"],
        dest: Dest::File(FileOptionKind::TrustedHost),
        takes_value: true,
    },
    OptionSpec {
        short: None,
        long: &["--use-feature"],
        dest: Dest::File(FileOptionKind::UseFeature),
        takes_value: true,
    },
    OptionSpec {
        short: None,
        long: &["--global-option"],
        dest: Dest::GlobalOption,
        takes_value: true,
    },
    OptionSpec {
        short: None,
        long: &["--hash"],
        dest: Dest::Hash,
        takes_value: true,
    },
    OptionSpec {
        short: Some('C'),
        long: &["--config-settings"],
        dest: Dest::ConfigSettings,
        takes_value: true,
    },
];

/// The hash algorithms pip accepts for `--hash`.
const STRONG_HASHES: [&str; 3] = ["sha256", "sha384", "sha512"];

/// A word of the option part after `shlex.split`, with where each of its characters came from.
#[derive(Debug)]
struct Word {
    value: String,
    /// `(byte offset in value, logical offset in the line)` for every character.
    origins: Vec<(usize, usize)>,
    /// The logical range the word was written in, quotes included.
    raw: Range<usize>,
}

impl Word {
    fn new(start: usize) -> Word {
        Word {
            value: String::new(),
            origins: Vec::new(),
            raw: start..start,
        }
    }

    fn push(&mut self, c: char, origin: usize) {
        self.origins.push((self.value.len(), origin));
        self.value.push(c);
    }

    /// The logical range written for bytes `from..to` of the value.
    fn range_of(&self, from: usize, to: usize) -> Range<usize> {
        let first = self.origins.partition_point(|&(offset, _)| offset < from);
        let last = self.origins.partition_point(|&(offset, _)| offset < to);
        let start = self.origins.get(first).map_or(self.raw.end, |&(_, o)| o);
        let end = last
            .checked_sub(1)
            .and_then(|i| self.origins.get(i))
            .map_or(start, |&(offset, origin)| {
                let len = self
                    .value
                    .get(offset..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(1, char::len_utf8);
                origin + len
            });
        start..end.max(start)
    }

    /// The logical range of the part of the word from byte `from` of its value on.
    fn range_from(&self, from: usize) -> Range<usize> {
        let index = self.origins.partition_point(|&(offset, _)| offset < from);
        match self.origins.get(index) {
            Some(&(_, origin)) => origin.min(self.raw.end)..self.raw.end,
            None => self.raw.end..self.raw.end,
        }
    }
}

/// A problem that makes pip reject the whole line, with the logical range to blame.
#[derive(Debug)]
struct LineError {
    message: String,
    range: Range<usize>,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// `shlex.split(text[start..])` in POSIX mode, keeping positions.
fn shlex_split(text: &str, start: usize) -> Result<Vec<Word>, LineError> {
    #[derive(Clone, Copy)]
    enum State {
        Between,
        Word,
        Quoted(char),
        Escaped(Option<char>),
    }
    let mut words = Vec::new();
    let mut word = Word::new(start);
    let mut state = State::Between;
    let mut quote_start = start;
    for (i, c) in text.get(start..).unwrap_or("").char_indices() {
        let i = start + i;
        let end = i + c.len_utf8();
        state = match state {
            State::Between | State::Word if matches!(c, ' ' | '\t' | '\r' | '\n') => {
                if matches!(state, State::Word) {
                    words.push(std::mem::replace(&mut word, Word::new(end)));
                }
                State::Between
            }
            State::Between | State::Word => {
                if matches!(state, State::Between) {
                    word = Word::new(i);
                }
                word.raw.end = end;
                match c {
                    '\'' | '"' => {
                        quote_start = i;
                        State::Quoted(c)
                    }
                    '\\' => State::Escaped(None),
                    _ => {
                        word.push(c, i);
                        State::Word
                    }
                }
            }
            State::Quoted(quote) => {
                word.raw.end = end;
                if c == quote {
                    State::Word
                } else if quote == '"' && c == '\\' {
                    State::Escaped(Some(quote))
                } else {
                    word.push(c, i);
                    State::Quoted(quote)
                }
            }
            State::Escaped(quote) => {
                word.raw.end = end;
                match quote {
                    Some(quote) => {
                        if c != quote && c != '\\' {
                            word.push('\\', i.saturating_sub(1));
                        }
                        word.push(c, i);
                        State::Quoted(quote)
                    }
                    None => {
                        word.push(c, i);
                        State::Word
                    }
                }
            }
        };
    }
    match state {
        State::Between => {}
        State::Word => words.push(word),
        State::Quoted(_) => {
            return Err(LineError {
                message: "cannot split the options: no closing quotation".into(),
                range: quote_start..text.len(),
            })
        }
        State::Escaped(_) => {
            return Err(LineError {
                message: "cannot split the options: no escaped character".into(),
                range: text.len().saturating_sub(1)..text.len(),
            })
        }
    }
    Ok(words)
}

/// One option found on a line.
#[derive(Debug)]
struct Occurrence {
    dest: Dest,
    /// The flag as written (`--extra-index` in `--extra-index=...`).
    flag: Range<usize>,
    value: Option<(String, Range<usize>)>,
}

/// An argument still to be read: word `word` from byte `from` of its value.
#[derive(Clone, Copy)]
struct Arg {
    word: usize,
    from: usize,
}

/// pip's optparse parser over the option words: every option occurrence, or the error that
/// makes pip reject the line. Positional words are ignored, as pip ignores them.
fn parse_options(words: &[Word]) -> Result<Vec<Occurrence>, LineError> {
    let mut occurrences = Vec::new();
    let mut args: std::collections::VecDeque<Arg> =
        (0..words.len()).map(|word| Arg { word, from: 0 }).collect();
    let arg_text = |arg: Arg| -> &str {
        words
            .get(arg.word)
            .and_then(|w| w.value.get(arg.from..))
            .unwrap_or("")
    };
    let arg_range =
        |arg: Arg| -> Range<usize> { words.get(arg.word).map_or(0..0, |w| w.range_from(arg.from)) };
    let flag_range = |arg: Arg, len: usize| -> Range<usize> {
        words
            .get(arg.word)
            .map_or(0..0, |w| w.range_of(arg.from, arg.from + len))
    };
    while let Some(arg) = args.pop_front() {
        let text = arg_text(arg);
        if text == "--" {
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, explicit) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            let flag_len = 2 + name.len();
            let word_range = arg_range(arg);
            let flag = flag_range(arg, flag_len);
            let written = format!("--{name}");
            let spec = match_long_option(&written).map_err(|message| LineError {
                message,
                range: flag.clone(),
            })?;
            let value = if spec.takes_value {
                if explicit.is_some() {
                    let value_arg = Arg {
                        word: arg.word,
                        from: arg.from + flag_len + 1,
                    };
                    Some((arg_text(value_arg).to_string(), arg_range(value_arg)))
                } else {
                    match args.pop_front() {
                        Some(next) => Some((arg_text(next).to_string(), arg_range(next))),
                        None => {
                            return Err(LineError {
                                message: format!("{written} option requires 1 argument"),
                                range: flag,
                            })
                        }
                    }
                }
            } else if explicit.is_some() {
                return Err(LineError {
                    message: format!("{written} option does not take a value"),
                    range: word_range,
                });
            } else {
                None
            };
            occurrences.push(checked(spec.dest, &written, flag, value)?);
        } else if text.len() > 1 && text.starts_with('-') {
            let letter = text.chars().nth(1).unwrap_or('-');
            let flag_len = 1 + letter.len_utf8();
            let flag = flag_range(arg, flag_len);
            let spec = OPTIONS
                .iter()
                .find(|spec| spec.short == Some(letter))
                .ok_or_else(|| LineError {
                    message: format!("no such option: -{letter}"),
                    range: flag.clone(),
                })?;
            // Every short option pip accepts here takes a value: the rest of the word, or
            // the next word.
            let value = if text.len() > flag_len {
                let value_arg = Arg {
                    word: arg.word,
                    from: arg.from + flag_len,
                };
                (arg_text(value_arg).to_string(), arg_range(value_arg))
            } else {
                match args.pop_front() {
                    Some(next) => (arg_text(next).to_string(), arg_range(next)),
                    None => {
                        return Err(LineError {
                            message: format!("-{letter} option requires 1 argument"),
                            range: flag,
                        })
                    }
                }
            };
            occurrences.push(checked(
                spec.dest,
                &format!("-{letter}"),
                flag,
                Some(value),
            )?);
        }
    }
    Ok(occurrences)
}

/// optparse's `_match_abbrev`: an exact long option, or the only one it abbreviates.
fn match_long_option(written: &str) -> Result<&'static OptionSpec, String> {
    let mut matches: Vec<(&'static str, &'static OptionSpec)> = Vec::new();
    for spec in OPTIONS {
        for &long in spec.long {
            if long == written {
                return Ok(spec);
            }
            if long.starts_with(written) {
                matches.push((long, spec));
            }
        }
    }
    match matches.as_slice() {
        [(_, spec)] => Ok(spec),
        [] => Err(format!("no such option: {written}")),
        several => {
            let names: Vec<&str> = several.iter().map(|(long, _)| *long).collect();
            Err(format!(
                "ambiguous option: {written} ({}?)",
                names.join(", ")
            ))
        }
    }
}

/// Applies the checks of pip's option callbacks (`--hash`, `--config-settings`,
/// `--no-binary`, `--only-binary`).
fn checked(
    dest: Dest,
    written: &str,
    flag: Range<usize>,
    value: Option<(String, Range<usize>)>,
) -> Result<Occurrence, LineError> {
    if let Some((text, range)) = &value {
        let problem = match dest {
            Dest::Hash => match text.split_once(':') {
                None => Some(format!(
                    "arguments to {written} must be a hash name followed by a value, like --hash=sha256:abcde..."
                )),
                Some((algorithm, _)) if !STRONG_HASHES.contains(&algorithm) => Some(format!(
                    "allowed hash algorithms for {written} are {}",
                    STRONG_HASHES.join(", ")
                )),
                Some(_) => None,
            },
            Dest::ConfigSettings if !text.contains('=') => {
                Some(format!("arguments to {written} must be of the form KEY=VAL"))
            }
            Dest::File(FileOptionKind::NoBinary | FileOptionKind::OnlyBinary)
                if text.starts_with('-') =>
            {
                Some("--no-binary / --only-binary option requires 1 argument".to_string())
            }
            _ => None,
        };
        if let Some(message) = problem {
            return Err(LineError {
                message,
                range: range.clone(),
            });
        }
    }
    Ok(Occurrence { dest, flag, value })
}

/// pip's `break_args_options`: the requirement part ends before the first space-separated
/// token that starts with `-`. Returns the requirement range and where the options start.
fn break_args_options(text: &str) -> (Range<usize>, Option<usize>) {
    let mut token_start = 0;
    loop {
        if text
            .get(token_start..)
            .is_some_and(|rest| rest.starts_with('-'))
        {
            return (0..token_start.saturating_sub(1), Some(token_start));
        }
        match text.get(token_start..).and_then(|rest| rest.find(' ')) {
            Some(space) => token_start += space + 1,
            None => return (0..text.len(), None),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lines to model
// ---------------------------------------------------------------------------------------

fn parse_line(line: &LogicalLine, parsed: &mut RequirementsFile, diags: &mut Vec<Diagnostic>) {
    let text = line.as_str();
    let (args, options_start) = break_args_options(text);
    let occurrences = options_start
        .map_or(Ok(Vec::new()), |start| shlex_split(text, start))
        .and_then(|words| parse_options(&words));
    let occurrences = match occurrences {
        Ok(occurrences) => occurrences,
        Err(error) => {
            diags.push(
                Diagnostic::error(format!("invalid requirements line: {error}"))
                    .with_span(line.span(error.range))
                    .with_help("pip rejects the whole file at this line"),
            );
            return;
        }
    };
    let first_editable = occurrences.iter().position(|o| o.dest == Dest::Editable);
    if !args.is_empty() {
        requirement_line(line, args, None, &occurrences, parsed, diags);
    } else if let Some(index) = first_editable {
        requirement_line(line, 0..0, Some(index), &occurrences, parsed, diags);
    } else {
        option_line(line, &occurrences, parsed, diags);
    }
}

fn warn_ignored(
    line: &LogicalLine,
    occurrence: &Occurrence,
    why: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let range = match &occurrence.value {
        Some((_, value)) => occurrence.flag.start..value.end.max(occurrence.flag.end),
        None => occurrence.flag.clone(),
    };
    diags.push(
        Diagnostic::warning(format!(
            "`{}` has no effect here: {why}",
            line.slice(occurrence.flag.clone())
        ))
        .with_span(line.span(range)),
    );
}

fn option_line(
    line: &LogicalLine,
    occurrences: &[Occurrence],
    parsed: &mut RequirementsFile,
    diags: &mut Vec<Diagnostic>,
) {
    // pip follows the first `-r` (or, without one, the first `-c`) and ignores everything
    // else on that line.
    let include = occurrences
        .iter()
        .position(|o| o.dest == Dest::Requirement)
        .or_else(|| occurrences.iter().position(|o| o.dest == Dest::Constraint));
    if let Some(index) = include {
        for (i, occurrence) in occurrences.iter().enumerate() {
            if i != index {
                warn_ignored(
                    line,
                    occurrence,
                    "pip ignores the rest of a line with -r or -c",
                    diags,
                );
            }
        }
        let Some(occurrence) = occurrences.get(index) else {
            return;
        };
        let Some((path, range)) = &occurrence.value else {
            return;
        };
        let kind = if occurrence.dest == Dest::Requirement {
            IncludeKind::Requirement
        } else {
            IncludeKind::Constraint
        };
        parsed.includes.push(Include {
            kind,
            path: Spanned::new(path.clone(), line.span(range.clone())),
            resolved: None,
            line: line.line,
        });
        return;
    }
    let last_index_url = occurrences
        .iter()
        .rposition(|o| o.dest == Dest::File(FileOptionKind::IndexUrl));
    let first_find_links = occurrences
        .iter()
        .position(|o| o.dest == Dest::File(FileOptionKind::FindLinks));
    for (i, occurrence) in occurrences.iter().enumerate() {
        match occurrence.dest {
            Dest::File(FileOptionKind::IndexUrl) if Some(i) != last_index_url => warn_ignored(
                line,
                occurrence,
                "a later --index-url on the line wins",
                diags,
            ),
            Dest::File(FileOptionKind::FindLinks) if Some(i) != first_find_links => warn_ignored(
                line,
                occurrence,
                "pip uses only the first --find-links of a line",
                diags,
            ),
            Dest::File(kind) => parsed.options.push(FileOption {
                kind,
                flag: line.spanned(occurrence.flag.clone()),
                value: occurrence
                    .value
                    .as_ref()
                    .map(|(value, range)| Spanned::new(value.clone(), line.span(range.clone()))),
                line: line.line,
            }),
            _ => warn_ignored(
                line,
                occurrence,
                "this option applies to a requirement and the line has none",
                diags,
            ),
        }
    }
}

/// The parts of a requirement that pip derives from its text.
#[derive(Default)]
struct Parts {
    name: Option<Spanned<String>>,
    extras: Vec<Spanned<String>>,
    specifier: Option<Spanned<String>>,
    marker: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
}

fn requirement_line(
    line: &LogicalLine,
    args: Range<usize>,
    editable: Option<usize>,
    occurrences: &[Occurrence],
    parsed: &mut RequirementsFile,
    diags: &mut Vec<Diagnostic>,
) {
    let mut hashes = Vec::new();
    let mut config_settings = Vec::new();
    let mut global_options = Vec::new();
    for (i, occurrence) in occurrences.iter().enumerate() {
        let value = occurrence
            .value
            .as_ref()
            .map(|(value, range)| Spanned::new(value.clone(), line.span(range.clone())));
        match (occurrence.dest, value) {
            (Dest::Editable, _) if Some(i) == editable => {}
            (Dest::ConfigSettings, Some(value)) => config_settings.push(value),
            (Dest::Hash, Some(value)) if editable.is_none() => hashes.push(value),
            (Dest::GlobalOption, Some(value)) if editable.is_none() => global_options.push(value),
            (Dest::Hash | Dest::GlobalOption, _) => {
                warn_ignored(line, occurrence, "pip ignores it for editable requirements", diags)
            }
            _ => warn_ignored(
                line,
                occurrence,
                "on a requirement line pip applies only --hash, --config-settings and --global-option",
                diags,
            ),
        }
    }
    let (text, range, parts) = match editable.and_then(|i| occurrences.get(i)) {
        Some(Occurrence {
            value: Some((value, range)),
            ..
        }) => (
            value.clone(),
            range.clone(),
            editable_parts(line, value, range.clone()),
        ),
        Some(_) => return,
        None => (
            line.slice(args.clone()).to_string(),
            trim_range(line.as_str(), args.clone()),
            line_parts(line, args),
        ),
    };
    let parts = match parts {
        Ok(parts) => parts,
        Err(error) => {
            diags.push(
                Diagnostic::error(format!("invalid requirement `{}`: {error}", text.trim()))
                    .with_span(line.span(error.range)),
            );
            return;
        }
    };
    let normalized_name = parts.name.as_ref().map(|name| normalize_name(&name.value));
    parsed.requirements.push(Requirement {
        span: line.span(range),
        line_span: line.span(0..line.as_str().len()),
        text,
        line: line.line,
        name: parts.name,
        normalized_name,
        extras: parts.extras,
        specifier: parts.specifier,
        marker: parts.marker,
        url: parts.url,
        editable: editable.is_some(),
        constraint: false,
        hashes,
        config_settings,
        global_options,
    });
}

/// `range` without leading and trailing whitespace (Python's `str.strip`).
fn trim_range(text: &str, range: Range<usize>) -> Range<usize> {
    let part = text.get(range.clone()).unwrap_or("");
    let start = range.start + (part.len() - part.trim_start_matches(is_py_space).len());
    let end = range.start + part.trim_end_matches(is_py_space).len();
    start..end.max(start)
}

/// The schemes of pip's version control backends (`vcs.all_schemes`).
const VCS_SCHEMES: &[&str] = &[
    "bzr+http",
    "bzr+https",
    "bzr+ssh",
    "bzr+sftp",
    "bzr+ftp",
    "bzr+lp",
    "bzr+file",
    "git+http",
    "git+https",
    "git+ssh",
    "git+git",
    "git+file",
    "hg+file",
    "hg+http",
    "hg+https",
    "hg+ssh",
    "hg+static-http",
    "svn+ssh",
    "svn+http",
    "svn+https",
    "svn+svn",
    "svn+file",
];

/// pip's `is_url`: the text before the first `:` is a scheme pip can install from.
fn is_url(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    let scheme = scheme.to_ascii_lowercase();
    matches!(scheme.as_str(), "http" | "https" | "file" | "ftp")
        || VCS_SCHEMES.contains(&scheme.as_str())
}

/// The URL scheme of `text` (RFC 3986 syntax), lowercased, if it has one.
fn url_scheme(text: &str) -> Option<String> {
    let (scheme, _) = text.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// pip's `_looks_like_path` on POSIX.
fn looks_like_path(text: &str) -> bool {
    text.contains('/') || text.starts_with('.')
}

/// pip's `is_archive_file`: the extension pip's `splitext` finds is an archive's.
fn is_archive_file(path: &str) -> bool {
    const ARCHIVE_EXTENSIONS: [&str; 12] = [
        ".zip",
        ".whl",
        ".tar.bz2",
        ".tbz",
        ".tar.xz",
        ".txz",
        ".tlz",
        ".tar.lz",
        ".tar.lzma",
        ".tar.gz",
        ".tgz",
        ".tar",
    ];
    let extension = pip_extension(path).to_ascii_lowercase();
    ARCHIVE_EXTENSIONS.contains(&extension.as_str())
}

/// pip's `splitext(path)[1]`: `posixpath.splitext`, with `.tar` kept in front of a final
/// extension.
fn pip_extension(path: &str) -> &str {
    let name_start = path.rfind('/').map_or(0, |slash| slash + 1);
    let name = path.get(name_start..).unwrap_or("");
    let Some(dot) = name.rfind('.') else {
        return "";
    };
    // posixpath.splitext ignores the leading dots of a file name.
    if name
        .get(..dot)
        .unwrap_or("")
        .trim_start_matches('.')
        .is_empty()
    {
        return "";
    }
    let ext_start = name_start + dot;
    let base = path.get(..ext_start).unwrap_or("");
    let tar_start = ext_start.saturating_sub(4);
    if base.len() >= 4
        && base
            .get(tar_start..)
            .is_some_and(|t| t.eq_ignore_ascii_case(".tar"))
    {
        path.get(tar_start..).unwrap_or("")
    } else {
        path.get(ext_start..).unwrap_or("")
    }
}

/// pip's `_strip_extras` (`^(.+)(\[[^\]]+\])$`): the range of the text without trailing
/// `[extras]`, and the range of the bracketed extras.
fn strip_extras(text: &str, range: Range<usize>) -> (Range<usize>, Option<Range<usize>>) {
    let part = text.get(range.clone()).unwrap_or("");
    if !part.ends_with(']') {
        return (range, None);
    }
    let close = part.len() - 1;
    let mut open = None;
    for (i, c) in part.get(..close).unwrap_or("").char_indices().rev() {
        if c == ']' {
            break;
        }
        if c == '[' && i >= 1 && i + 1 < close {
            open = Some(i);
            break;
        }
    }
    match open {
        Some(open) => (
            range.start..range.start + open,
            Some(range.start + open..range.end),
        ),
        None => (range, None),
    }
}

/// pip's `parse_req_from_line` for a non-editable requirement.
fn line_parts(line: &LogicalLine, args: Range<usize>) -> Result<Parts, LineError> {
    let text = line.as_str();
    let whole = line.slice(args.clone());
    let separator = if is_url(whole) { "; " } else { ";" };
    let (req_range, marker_range) = match whole.find(separator) {
        Some(at) => (
            args.start..args.start + at,
            Some(trim_range(
                text,
                args.start + at + separator.len()..args.end,
            )),
        ),
        None => (args.clone(), None),
    };
    let marker = match marker_range.filter(|r| !r.is_empty()) {
        Some(range) => Some(parse_marker(line, range)?),
        None => None,
    };
    let req_range = trim_range(text, req_range);
    let req_text = line.slice(req_range.clone());
    let mut parts = if is_url(req_text) {
        link_parts(line, req_range.clone(), None)?
    } else {
        let (path, extras) = strip_extras(text, req_range.clone());
        let path_text = line.slice(path.clone());
        let as_archive = is_archive_file(path_text)
            && req_text
                .split_once('@')
                .is_none_or(|(before, _)| looks_like_path(before));
        if as_archive {
            link_parts(line, path, extras)?
        } else if looks_like_path(req_text) {
            // pip installs an existing directory; otherwise it reads a PEP 508 string. A
            // PEP 508 string cannot contain `/` outside a URL or marker, so when it does not
            // parse, the text names a directory.
            match pep508_parts(line, req_range.clone()) {
                Ok(parts) => parts,
                Err(_) => link_parts(line, path, extras)?,
            }
        } else {
            pep508_parts(line, req_range.clone())?
        }
    };
    parts.marker = marker;
    Ok(parts)
}

/// pip's `parse_editable`.
fn editable_parts(
    line: &LogicalLine,
    value: &str,
    range: Range<usize>,
) -> Result<Parts, LineError> {
    // The value is a shell word; spans inside it are exact only when it was written unquoted.
    let exact = line.slice(range.clone()) == value;
    let whole_error = |message: String| LineError {
        message,
        range: range.clone(),
    };
    if !exact {
        // Quoted editables are rare; model them with spans on the whole word.
        return Ok(Parts {
            url: Some(Spanned::new(value.to_string(), line.span(range.clone()))),
            ..Parts::default()
        });
    }
    let (no_extras, extras) = strip_extras(line.as_str(), range.clone());
    let no_extras_text = line.slice(no_extras.clone());
    if no_extras_text.to_ascii_lowercase().starts_with("file:") {
        return link_parts(line, no_extras, extras);
    }
    let lowered = value.to_ascii_lowercase();
    let prefixed = ["bzr", "git", "hg", "svn"]
        .iter()
        .find(|vcs| lowered.starts_with(&format!("{vcs}:")))
        .map(|vcs| format!("{vcs}+{value}"));
    let url = prefixed.clone().unwrap_or_else(|| value.to_string());
    let scheme = url_scheme(&url);
    if scheme.as_deref().is_some_and(|s| VCS_SCHEMES.contains(&s)) {
        let mut parts = link_parts(line, range.clone(), None)?;
        if parts.name.is_none() {
            return Err(whole_error(format!(
                "could not detect the requirement name for '{value}', please specify one with #egg=your_package_name"
            )));
        }
        parts.url = Some(Spanned::new(url, line.span(range.clone())));
        return Ok(parts);
    }
    if scheme.is_some() && (is_url(value) || value.contains("://")) {
        return Err(whole_error(format!(
            "{value} is not a valid editable requirement. It should either be a path to a local project or a VCS URL"
        )));
    }
    // A local project directory (pip requires it to exist in its working directory).
    link_parts(line, no_extras, extras)
}

/// A URL or path requirement: the name comes from a wheel file name or an `#egg=` fragment.
fn link_parts(
    line: &LogicalLine,
    link: Range<usize>,
    extras: Option<Range<usize>>,
) -> Result<Parts, LineError> {
    let link_text = line.slice(link.clone());
    let mut parts = Parts {
        url: Some(line.spanned(link.clone())),
        ..Parts::default()
    };
    if let Some(extras) = extras {
        parts.extras = bracket_extras(line, extras)?;
    }
    let filename = link_filename(link_text, link.start);
    if let Some((name_range, version_range)) = filename
        .clone()
        .and_then(|f| line.slice(f.clone()).strip_suffix(".whl").map(|_| f))
        .map(|f| wheel_name_version(line, f))
        .transpose()?
    {
        let name = line.slice(name_range.clone()).replace('_', "-");
        let version = line.slice(version_range.clone()).replace('_', "-");
        let requirement = format!("{name}=={version}");
        parse_pep508(&requirement).map_err(|e| LineError {
            message: format!("invalid wheel file name: {}", e.message),
            range: filename.clone().unwrap_or(link.clone()),
        })?;
        parts.name = Some(Spanned::new(name, line.span(name_range)));
        parts.specifier = Some(Spanned::new(
            format!("=={version}"),
            line.span(version_range),
        ));
        return Ok(parts);
    }
    if let Some(egg) = egg_fragment(link_text) {
        let egg = link.start + egg.start..link.start + egg.end;
        let egg_parts = pep508_parts(line, egg)?;
        parts.name = egg_parts.name;
        if parts.extras.is_empty() {
            parts.extras = egg_parts.extras;
        }
        parts.specifier = egg_parts.specifier;
    }
    Ok(parts)
}

/// The range (within the line) of the last path segment of a link, for URLs the path's.
fn link_filename(link: &str, offset: usize) -> Option<Range<usize>> {
    let path_end = link.find(['?', '#']).unwrap_or(link.len());
    let path = link.get(..path_end)?;
    let trimmed = path.trim_end_matches('/');
    let start = trimmed.rfind('/').map_or(0, |slash| slash + 1);
    let start = if start == 0 {
        // `scheme:name` without slashes
        trimmed.find(':').map_or(0, |colon| colon + 1)
    } else {
        start
    };
    (start < trimmed.len()).then(|| offset + start..offset + trimmed.len())
}

/// pip's wheel file name rule: `name-version(-build)?-python-abi-platform.whl`, no spaces.
fn wheel_name_version(
    line: &LogicalLine,
    filename: Range<usize>,
) -> Result<(Range<usize>, Range<usize>), LineError> {
    let text = line.slice(filename.clone());
    let stem = text.strip_suffix(".whl").unwrap_or(text);
    let fields: Vec<&str> = stem.split('-').collect();
    let valid = match fields.as_slice() {
        [name, _, python, abi, platform] => {
            !name.is_empty() && !python.is_empty() && !abi.is_empty() && !platform.is_empty()
        }
        [name, _, build, python, abi, platform] => {
            !name.is_empty()
                && build.starts_with(|c: char| c.is_ascii_digit())
                && !python.is_empty()
                && !abi.is_empty()
                && !platform.is_empty()
        }
        _ => false,
    } && !stem.contains(is_py_space);
    let (Some(name), Some(version), true) = (fields.first(), fields.get(1), valid) else {
        return Err(LineError {
            message: format!("{text} is not a valid wheel filename"),
            range: filename,
        });
    };
    let name_range = filename.start..filename.start + name.len();
    let version_start = name_range.end + 1;
    Ok((name_range, version_start..version_start + version.len()))
}

/// The range of an `#egg=` (or `&egg=`) value within a URL (pip's `[#&]egg=([^&]*)`).
fn egg_fragment(url: &str) -> Option<Range<usize>> {
    let mut from = 0;
    while let Some(at) = url.get(from..).and_then(|rest| rest.find("egg=")) {
        let at = from + at;
        if at > 0 && matches!(url.as_bytes().get(at - 1), Some(b'#' | b'&')) {
            let start = at + 4;
            let end = url
                .get(start..)
                .map_or(start, |rest| start + rest.find('&').unwrap_or(rest.len()));
            return Some(start..end);
        }
        from = at + 4;
    }
    None
}

/// The extras of `[a, b]` at `range`, validated as pip validates them.
fn bracket_extras(
    line: &LogicalLine,
    range: Range<usize>,
) -> Result<Vec<Spanned<String>>, LineError> {
    let text = line.slice(range.clone());
    parse_pep508(&format!("placeholder{text}")).map_err(|e| LineError {
        message: e.message.to_string(),
        range: range.clone(),
    })?;
    Ok(name_runs(
        line,
        range.start + 1..range.end.saturating_sub(1),
    ))
}

/// Every run of name characters (`[A-Za-z0-9._-]`) in `range`.
fn name_runs(line: &LogicalLine, range: Range<usize>) -> Vec<Spanned<String>> {
    let text = line.slice(range.clone());
    let mut runs = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if is_name_char(c) {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            runs.push(line.spanned(range.start + s..range.start + i));
        }
    }
    runs
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// A URL type for `pep508_rs` that accepts any text, as packaging does (pip validates links
/// later), and never reads the process environment.
#[derive(Debug, Clone)]
struct AnyUrl(String);

impl fmt::Display for AnyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug)]
struct NeverFails;

impl fmt::Display for NeverFails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unreachable URL error")
    }
}

impl std::error::Error for NeverFails {}

impl Pep508Url for AnyUrl {
    type Err = NeverFails;

    fn parse_url(url: &str, _working_dir: Option<&Path>) -> Result<Self, Self::Err> {
        Ok(AnyUrl(url.to_string()))
    }
}

/// Parenthesis nesting depth of `text`.
fn nesting_depth(text: &str) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A `pep508_rs` failure: message and byte range in the parsed string.
struct Pep508Failure {
    message: String,
    start: usize,
    len: usize,
}

impl<T: Pep508Url> From<Pep508Error<T>> for Pep508Failure {
    fn from(error: Pep508Error<T>) -> Pep508Failure {
        Pep508Failure {
            message: error.message.to_string(),
            start: error.start,
            len: error.len,
        }
    }
}

/// Parses a PEP 508 requirement with `pep508_rs`. Names and extras that end in `.`, `-` or
/// `_` before another character are refused first: `pep508_rs` 0.9 panics on them. So are
/// long strings with many extras, on which it would take quadratic time.
fn parse_pep508(text: &str) -> Result<pep508_rs::Requirement<AnyUrl>, Pep508Failure> {
    use std::str::FromStr;
    if let Some((start, count)) = extras_list(text) {
        if count.saturating_mul(text.len()) > MAX_EXTRAS_WORK {
            return Err(Pep508Failure {
                message: format!(
                    "{count} extras in a requirement of {} bytes are too many to read",
                    text.len()
                ),
                start,
                len: 1,
            });
        }
    }
    if let Some((start, len)) = name_ending_in_separator(text) {
        return Err(Pep508Failure {
            message: "a name must end with a letter or digit".into(),
            start,
            len,
        });
    }
    Ok(pep508_rs::Requirement::<AnyUrl>::from_str(text)?)
}

/// Where the extras list of a requirement opens (its `[`) and how many entries it has at
/// most (one more than its commas), if the name is followed by one.
fn extras_list(text: &str) -> Option<(usize, usize)> {
    let name_start = text.len() - text.trim_start().len();
    let after_name = text.get(name_start..)?.trim_start_matches(is_name_char);
    let bracket = text.len() - after_name.trim_start().len();
    let list = text.get(bracket..)?.strip_prefix('[')?;
    let list = list.split(']').next().unwrap_or(list);
    Some((bracket, list.bytes().filter(|&b| b == b',').count() + 1))
}

/// The position of a trailing separator of the project name or of an extra, if any.
fn name_ending_in_separator(text: &str) -> Option<(usize, usize)> {
    let mut i = text.len() - text.trim_start().len();
    let check_run = |from: usize| -> (usize, Option<(usize, usize)>) {
        let run: usize = text
            .get(from..)
            .unwrap_or("")
            .chars()
            .take_while(|&c| is_name_char(c))
            .count();
        let end = from + run;
        let bad = text
            .get(..end)
            .and_then(|run_text| run_text.chars().last())
            .filter(|c| run > 0 && matches!(c, '.' | '-' | '_'))
            .map(|_| (end - 1, 1));
        (end, bad)
    };
    let (end, bad) = check_run(i);
    if bad.is_some() {
        return bad;
    }
    i = end
        + (text.get(end..).unwrap_or("").len() - text.get(end..).unwrap_or("").trim_start().len());
    if text.get(i..).is_some_and(|rest| rest.starts_with('[')) {
        let close = text
            .get(i..)
            .and_then(|rest| rest.find(']'))
            .map_or(text.len(), |c| i + c);
        let mut j = i + 1;
        while j < close {
            let (end, bad) = check_run(j);
            if bad.is_some() {
                return bad;
            }
            j = end
                + text
                    .get(end..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(1, char::len_utf8);
        }
    }
    None
}

/// Maps a `pep508_rs` failure inside `range` of the line to a line error.
fn pep508_error(line: &LogicalLine, range: Range<usize>, error: &Pep508Failure) -> LineError {
    let text = line.slice(range.clone());
    let mut start = error.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = error
        .start
        .saturating_add(error.len.max(1))
        .clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    LineError {
        message: error.message.clone(),
        range: range.start + start..range.start + end,
    }
}

/// A PEP 508 requirement string (no marker split off yet), validated by `pep508_rs`, with the
/// spans of its parts.
fn pep508_parts(line: &LogicalLine, range: Range<usize>) -> Result<Parts, LineError> {
    let text = line.slice(range.clone());
    if nesting_depth(text) > MAX_NESTING {
        return Err(LineError {
            message: "parentheses are nested too deeply".into(),
            range,
        });
    }
    let parsed = parse_pep508(text).map_err(|e| pep508_error(line, range.clone(), &e))?;
    let specifiers = match &parsed.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => Some(specifiers),
        _ => None,
    };
    scan_pep508(line, range, specifiers)
}

/// Finds the spans of name, extras, specifier, URL and marker in a valid PEP 508 string.
fn scan_pep508(
    line: &LogicalLine,
    range: Range<usize>,
    specifiers: Option<&VersionSpecifiers>,
) -> Result<Parts, LineError> {
    let text = line.slice(range.clone());
    let at = |i: usize| range.start + i;
    let skip_space = |mut i: usize| {
        while let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) {
            if !c.is_whitespace() {
                break;
            }
            i += c.len_utf8();
        }
        i
    };
    let mut parts = Parts::default();
    let name_start = skip_space(0);
    let name_end = name_start
        + text
            .get(name_start..)
            .unwrap_or("")
            .chars()
            .take_while(|&c| is_name_char(c))
            .count();
    parts.name = Some(line.spanned(at(name_start)..at(name_end)));
    let mut i = skip_space(name_end);
    if text.get(i..).is_some_and(|rest| rest.starts_with('[')) {
        let close = text
            .get(i..)
            .and_then(|rest| rest.find(']'))
            .map_or(text.len(), |c| i + c);
        parts.extras = name_runs(line, at(i + 1)..at(close));
        i = skip_space(close + 1);
    }
    let rest_end = text
        .get(i..)
        .and_then(|rest| rest.find(';'))
        .map_or(text.len(), |c| i + c);
    let rest = text.get(i..rest_end).unwrap_or("");
    if rest.starts_with('@') {
        let url_start = skip_space(i + 1);
        let url_len = text
            .get(url_start..rest_end)
            .unwrap_or("")
            .find([' ', '\t'])
            .unwrap_or(rest_end - url_start);
        let url_end = url_start + url_len;
        // packaging ends the URL at the first space or tab: only a marker may follow.
        if !text.get(url_end..rest_end).unwrap_or("").trim().is_empty() {
            return Err(LineError {
                message: "expected end or semicolon (after URL and whitespace)".into(),
                range: at(url_end)..at(rest_end),
            });
        }
        parts.url = Some(line.spanned(at(url_start)..at(url_end)));
    } else if !rest.trim().is_empty() {
        let mut spec = trim_range(text, i..rest_end);
        let spec_text = text.get(spec.clone()).unwrap_or("");
        if spec_text.starts_with('(') && spec_text.ends_with(')') && spec_text.len() >= 2 {
            spec = trim_range(text, spec.start + 1..spec.end - 1);
        }
        let written = text.get(spec.clone()).unwrap_or("");
        parts.specifier = Some(Spanned::new(
            pip_specifier(written, specifiers),
            line.span(at(spec.start)..at(spec.end)),
        ));
    }
    Ok(parts)
}

/// The specifier set as packaging prints it: each `op version` without spaces, duplicates
/// (equal under PEP 440) dropped, sorted, joined by `,`.
fn pip_specifier(written: &str, parsed: Option<&VersionSpecifiers>) -> String {
    let parsed: Vec<_> = parsed.map(|p| p.iter().collect()).unwrap_or_default();
    let pieces: Vec<String> = written
        .split(',')
        .map(|piece| {
            let piece = piece.trim_matches(is_py_space);
            let op_len = piece
                .chars()
                .take_while(|c| matches!(c, '<' | '>' | '=' | '!' | '~'))
                .count();
            let (op, version) = piece.split_at(op_len.min(piece.len()));
            format!("{op}{}", version.trim_matches(is_py_space))
        })
        .collect();
    let piece_count = pieces.len();
    let mut seen: HashSet<(Operator, Version, usize)> = HashSet::new();
    let mut kept: Vec<String> = Vec::new();
    for (i, piece) in pieces.into_iter().enumerate() {
        let unique = match parsed.get(i).filter(|_| parsed.len() == piece_count) {
            Some(spec) => {
                let release_len = if *spec.operator() == Operator::TildeEqual {
                    spec.version().release().len()
                } else {
                    0
                };
                seen.insert((*spec.operator(), spec.version().clone(), release_len))
            }
            None => !kept.contains(&piece),
        };
        if unique {
            kept.push(piece);
        }
    }
    kept.sort();
    kept.join(",")
}

// ---------------------------------------------------------------------------------------
// Markers
// ---------------------------------------------------------------------------------------

/// Validates a marker with `pep508_rs` and returns it in packaging's printed form.
fn parse_marker(line: &LogicalLine, range: Range<usize>) -> Result<Spanned<String>, LineError> {
    let text = line.slice(range.clone());
    if nesting_depth(text) > MAX_NESTING {
        return Err(LineError {
            message: "the marker's parentheses are nested too deeply".into(),
            range,
        });
    }
    MarkerTree::parse_str::<AnyUrl>(text)
        .map_err(|e| pep508_error(line, range.clone(), &Pep508Failure::from(e)))?;
    let formatted = format_marker(text).unwrap_or_else(|| text.to_string());
    Ok(Spanned::new(formatted, line.span(range)))
}

#[derive(Debug, PartialEq)]
enum MarkerToken<'a> {
    Open,
    Close,
    Word(&'a str),
    Quoted(&'a str),
    Op(&'a str),
}

fn marker_tokens(text: &str) -> Option<Vec<MarkerToken<'_>>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) {
        match c {
            c if c.is_whitespace() => i += c.len_utf8(),
            '(' => {
                tokens.push(MarkerToken::Open);
                i += 1;
            }
            ')' => {
                tokens.push(MarkerToken::Close);
                i += 1;
            }
            '\'' | '"' => {
                let close = text.get(i + 1..)?.find(c)? + i + 1;
                tokens.push(MarkerToken::Quoted(text.get(i + 1..close)?));
                i = close + 1;
            }
            '<' | '>' | '=' | '!' | '~' => {
                let len = text
                    .get(i..)?
                    .chars()
                    .take_while(|c| matches!(c, '<' | '>' | '=' | '!' | '~'))
                    .count();
                tokens.push(MarkerToken::Op(text.get(i..i + len)?));
                i += len;
            }
            _ => {
                let len: usize = text
                    .get(i..)?
                    .chars()
                    .take_while(|&c| c.is_alphanumeric() || matches!(c, '_' | '.'))
                    .map(char::len_utf8)
                    .sum();
                if len == 0 {
                    return None;
                }
                tokens.push(MarkerToken::Word(text.get(i..i + len)?));
                i += len;
            }
        }
    }
    Some(tokens)
}

/// A parsed marker, shaped like packaging's nested lists.
enum MarkerNode {
    Group(Vec<MarkerNode>),
    Item {
        lhs: MarkerValue,
        op: String,
        rhs: MarkerValue,
    },
    BoolOp(String),
}

enum MarkerValue {
    Variable(String),
    Literal(String),
}

impl MarkerValue {
    fn is_extra(&self) -> bool {
        matches!(self, MarkerValue::Variable(name) if name == "extra")
    }

    fn normalize_extra(&mut self) {
        if let MarkerValue::Literal(value) = self {
            *value = normalize_name(value);
        }
    }

    fn serialize(&self) -> String {
        match self {
            MarkerValue::Variable(name) => name.clone(),
            MarkerValue::Literal(value) => format!("\"{value}\""),
        }
    }
}

/// packaging's `str(Marker(text))`, for a marker `pep508_rs` accepted.
fn format_marker(text: &str) -> Option<String> {
    let tokens = marker_tokens(text)?;
    let mut pos = 0;
    let mut top = parse_marker_list(&tokens, &mut pos, 0)?;
    if pos != tokens.len() {
        return None;
    }
    // packaging normalises an `extra` comparison only in the first element.
    if let Some(MarkerNode::Item { lhs, rhs, .. }) = top.first_mut() {
        if lhs.is_extra() {
            rhs.normalize_extra();
        } else if rhs.is_extra() {
            lhs.normalize_extra();
        }
    }
    Some(format_node(&MarkerNode::Group(top), true))
}

fn parse_marker_list(
    tokens: &[MarkerToken<'_>],
    pos: &mut usize,
    depth: usize,
) -> Option<Vec<MarkerNode>> {
    if depth > MAX_NESTING {
        return None;
    }
    let mut list = vec![parse_marker_atom(tokens, pos, depth)?];
    while let Some(MarkerToken::Word(word @ ("and" | "or"))) = tokens.get(*pos) {
        *pos += 1;
        list.push(MarkerNode::BoolOp((*word).to_string()));
        list.push(parse_marker_atom(tokens, pos, depth)?);
    }
    Some(list)
}

fn parse_marker_atom(
    tokens: &[MarkerToken<'_>],
    pos: &mut usize,
    depth: usize,
) -> Option<MarkerNode> {
    if tokens.get(*pos) == Some(&MarkerToken::Open) {
        *pos += 1;
        let inner = parse_marker_list(tokens, pos, depth + 1)?;
        if tokens.get(*pos) != Some(&MarkerToken::Close) {
            return None;
        }
        *pos += 1;
        return Some(MarkerNode::Group(inner));
    }
    let lhs = marker_value(tokens.get(*pos)?)?;
    *pos += 1;
    let op = match tokens.get(*pos)? {
        MarkerToken::Op(op) => (*op).to_string(),
        MarkerToken::Word("in") => "in".to_string(),
        MarkerToken::Word("not") if tokens.get(*pos + 1) == Some(&MarkerToken::Word("in")) => {
            *pos += 1;
            "not in".to_string()
        }
        _ => return None,
    };
    *pos += 1;
    let rhs = marker_value(tokens.get(*pos)?)?;
    *pos += 1;
    Some(MarkerNode::Item { lhs, op, rhs })
}

fn marker_value(token: &MarkerToken<'_>) -> Option<MarkerValue> {
    match token {
        MarkerToken::Quoted(value) => Some(MarkerValue::Literal((*value).to_string())),
        MarkerToken::Word(name) => {
            let name = name.replace('.', "_");
            Some(MarkerValue::Variable(if name == "python_implementation" {
                "platform_python_implementation".to_string()
            } else {
                name
            }))
        }
        _ => None,
    }
}

/// packaging's `_format_marker`.
fn format_node(node: &MarkerNode, first: bool) -> String {
    match node {
        MarkerNode::Group(items) => match items.as_slice() {
            [only @ (MarkerNode::Group(_) | MarkerNode::Item { .. })] => format_node(only, true),
            _ => {
                let inner: Vec<String> = items.iter().map(|n| format_node(n, false)).collect();
                if first {
                    inner.join(" ")
                } else {
                    format!("({})", inner.join(" "))
                }
            }
        },
        MarkerNode::Item { lhs, op, rhs } => {
            format!("{} {op} {}", lhs.serialize(), rhs.serialize())
        }
        MarkerNode::BoolOp(op) => op.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// Includes
// ---------------------------------------------------------------------------------------

/// Loads `entry` and every file it includes with `-r`/`-c` (relative to the including file),
/// each (file, requirement-or-constraint) once, in depth-first order with `entry` first.
/// Include cycles, missing files, URLs (not fetched) and includes nested deeper than
/// [`MAX_INCLUDE_DEPTH`] are reported at the include's path and not followed.
/// `rel_root` is the scanned root that file names are shown relative to.
pub fn load_requirements(
    entry: &Path,
    rel_root: &Path,
    sources: &mut Sources,
) -> (Vec<RequirementsFile>, Vec<Diagnostic>) {
    load_requirements_with_env(entry, rel_root, &Env::new(), sources)
}

/// [`load_requirements`] with `${NAME}` expansion from `env`.
pub fn load_requirements_with_env(
    entry: &Path,
    rel_root: &Path,
    env: &Env,
    sources: &mut Sources,
) -> (Vec<RequirementsFile>, Vec<Diagnostic>) {
    let mut loader = Loader {
        sources,
        rel_root: normalize_path(rel_root),
        env,
        files: Vec::new(),
        diags: Vec::new(),
        loaded: HashMap::new(),
        stack: Vec::new(),
    };
    let entry = normalize_path(entry);
    match loader.file_id(&entry) {
        Ok(id) => {
            loader.visit(entry, id, false);
        }
        Err(diag) => loader.diags.push(diag),
    }
    (loader.files, loader.diags)
}

struct Loader<'a> {
    sources: &'a mut Sources,
    rel_root: PathBuf,
    env: &'a Env,
    files: Vec<RequirementsFile>,
    diags: Vec<Diagnostic>,
    /// `(path, read as constraints)` already parsed.
    loaded: HashMap<(PathBuf, bool), FileId>,
    /// Paths of the files being read, outermost first.
    stack: Vec<PathBuf>,
}

impl Loader<'_> {
    fn file_id(&mut self, path: &Path) -> Result<FileId, Diagnostic> {
        if let Some(id) = self.sources.find(path) {
            return Ok(id);
        }
        let rel = self.rel(path);
        let (id, warning) = self.sources.load(path, &rel)?;
        self.diags.extend(warning);
        Ok(id)
    }

    /// `path` as shown to the user: relative to the scanned root, `/`-separated.
    fn rel(&self, path: &Path) -> String {
        match path.strip_prefix(&self.rel_root) {
            Ok(rel) => rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/"),
            Err(_) => path.to_string_lossy().into_owned(),
        }
    }

    fn visit(&mut self, path: PathBuf, id: FileId, constraint: bool) {
        self.loaded.insert((path.clone(), constraint), id);
        let (mut parsed, diags) = parse_requirements_with_env(id, self.sources.text(id), self.env);
        self.diags.extend(diags);
        parsed.constraint = constraint;
        for requirement in &mut parsed.requirements {
            requirement.constraint = constraint;
        }
        let includes: Vec<Include> = parsed.includes.clone();
        let index = self.files.len();
        self.files.push(parsed);
        self.stack.push(path.clone());
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for (i, include) in includes.iter().enumerate() {
            let resolved = self.follow(&dir, include);
            if let Some(slot) = self
                .files
                .get_mut(index)
                .and_then(|f| f.includes.get_mut(i))
            {
                slot.resolved = resolved;
            }
        }
        self.stack.pop();
    }

    fn follow(&mut self, dir: &Path, include: &Include) -> Option<FileId> {
        let written = include.path.value.as_str();
        let span = include.path.span;
        if written
            .get(..5)
            .is_some_and(|s| s.eq_ignore_ascii_case("file:"))
            || written
                .get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("http:"))
            || written
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("https:"))
        {
            self.diags.push(
                Diagnostic::new(
                    Severity::Note,
                    format!("`{written}` is a URL and is not fetched"),
                )
                .with_span(span),
            );
            return None;
        }
        let path = normalize_path(&dir.join(written));
        let constraint = include.kind == IncludeKind::Constraint;
        if let Some(position) = self.stack.iter().position(|p| *p == path) {
            let chain: Vec<String> = self
                .stack
                .get(position..)
                .unwrap_or(&[])
                .iter()
                .chain(std::iter::once(&path))
                .map(|p| self.rel(p))
                .collect();
            self.diags.push(
                Diagnostic::error(format!(
                    "`{written}` includes itself: {}",
                    chain.join(" -> ")
                ))
                .with_span(span)
                .with_help("pip stops with \"recursively references itself\""),
            );
            return None;
        }
        if let Some(&id) = self.loaded.get(&(path.clone(), constraint)) {
            return Some(id);
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags.push(
                Diagnostic::error(format!(
                    "`{written}` is nested more than {MAX_INCLUDE_DEPTH} includes deep and was not read"
                ))
                .with_span(span),
            );
            return None;
        }
        match self.file_id(&path) {
            Ok(id) => {
                self.visit(path, id, constraint);
                Some(id)
            }
            Err(diag) => {
                self.diags.push(Diagnostic {
                    span: Some(span),
                    ..diag
                });
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> (RequirementsFile, Vec<Diagnostic>) {
        parse_requirements(FileId(0), text)
    }

    fn under(text: &str, span: Span) -> &str {
        &text[span.range()]
    }

    #[test]
    fn name_extras_specifier_spans() {
        let text = "# deps\naiohttp[speedups, Extra_2] >= 3.9, <4 ; python_version >= '3.8'\n";
        let (file, diags) = parse(text);
        assert!(diags.is_empty(), "{diags:?}");
        let [req] = file.requirements.as_slice() else {
            panic!("one requirement: {file:?}");
        };
        let name = req.name.as_ref().unwrap();
        assert_eq!(under(text, name.span), "aiohttp");
        assert_eq!(req.normalized_name.as_deref(), Some("aiohttp"));
        let extras: Vec<&str> = req.extras.iter().map(|e| under(text, e.span)).collect();
        assert_eq!(extras, ["speedups", "Extra_2"]);
        let spec = req.specifier.as_ref().unwrap();
        assert_eq!(spec.value, "<4,>=3.9");
        assert_eq!(under(text, spec.span), ">= 3.9, <4");
        let marker = req.marker.as_ref().unwrap();
        assert_eq!(marker.value, "python_version >= \"3.8\"");
        assert_eq!(under(text, marker.span), "python_version >= '3.8'");
        assert_eq!(
            under(text, req.span),
            "aiohttp[speedups, Extra_2] >= 3.9, <4 ; python_version >= '3.8'"
        );
        assert_eq!(req.line, 2);
    }

    #[test]
    fn many_extras_on_a_long_line_are_refused_in_linear_time() {
        // pep508_rs copies the whole string once per extra: 1M extras in 2 MB would take
        // minutes. The requirement is refused at its `[`; the lines around it are read.
        let mut text = String::from("flask\nrequests[");
        text.push_str(&"e,".repeat(1_000_000));
        text.push_str("last]>=2\nnumpy\n");
        let started = std::time::Instant::now();
        let (file, diags) = parse(&text);
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
        let names: Vec<&str> = file
            .requirements
            .iter()
            .filter_map(|r| r.name.as_ref())
            .map(|n| under(&text, n.span))
            .collect();
        assert_eq!(names, ["flask", "numpy"]);
        let [error] = diags.as_slice() else {
            panic!("one diagnostic: {diags:?}");
        };
        assert!(error.is_error());
        assert!(
            error.message.contains("1000001 extras"),
            "{}",
            error.message
        );
        assert_eq!(under(&text, error.span.unwrap()), "[");
        assert_eq!(extras_list("  a.b [x, y]"), Some((6, 2)));
        assert_eq!(extras_list("a[]"), Some((1, 1)));
        assert_eq!(extras_list("a>=1,<2"), None);
    }

    #[test]
    fn continued_requirement_with_hashes() {
        let text =
            "certifi==2024.2.2 \\\n    --hash=sha256:aaaa \\\n    --hash sha256:bbbb\nidna\n";
        let (file, diags) = parse(text);
        assert!(diags.is_empty(), "{diags:?}");
        let req = &file.requirements[0];
        assert_eq!(under(text, req.span), "certifi==2024.2.2");
        assert_eq!(req.text, "certifi==2024.2.2    ");
        assert_eq!(
            under(text, req.line_span),
            "certifi==2024.2.2 \\\n    --hash=sha256:aaaa \\\n    --hash sha256:bbbb"
        );
        let hashes: Vec<&str> = req.hashes.iter().map(|h| under(text, h.span)).collect();
        assert_eq!(hashes, ["sha256:aaaa", "sha256:bbbb"]);
        assert_eq!(req.hashes[1].value, "sha256:bbbb");
        assert_eq!(file.requirements[1].line, 4);
    }

    #[test]
    fn requirement_over_continuation_lines() {
        let text = "pandas \\\n  >=2.0 \\\n  ,<3\n";
        let (file, _) = parse(text);
        let req = &file.requirements[0];
        assert_eq!(under(text, req.span), "pandas \\\n  >=2.0 \\\n  ,<3");
        assert_eq!(under(text, req.name.as_ref().unwrap().span), "pandas");
        let spec = req.specifier.as_ref().unwrap();
        assert_eq!(under(text, spec.span), ">=2.0 \\\n  ,<3");
        assert_eq!(spec.value, "<3,>=2.0");
    }

    #[test]
    fn include_paths_and_options() {
        let text = "-r base.txt\n--constraint=constraints.txt\n-i https://x.invalid/simple\n--extra-index https://y.invalid\n--pre\n";
        let (file, diags) = parse(text);
        assert!(diags.is_empty(), "{diags:?}");
        let paths: Vec<(&str, IncludeKind)> = file
            .includes
            .iter()
            .map(|i| (under(text, i.path.span), i.kind))
            .collect();
        assert_eq!(
            paths,
            [
                ("base.txt", IncludeKind::Requirement),
                ("constraints.txt", IncludeKind::Constraint)
            ]
        );
        let options: Vec<(FileOptionKind, &str, Option<&str>)> = file
            .options
            .iter()
            .map(|o| {
                (
                    o.kind,
                    under(text, o.flag.span),
                    o.value.as_ref().map(|v| under(text, v.span)),
                )
            })
            .collect();
        assert_eq!(
            options,
            [
                (
                    FileOptionKind::IndexUrl,
                    "-i",
                    Some("https://x.invalid/simple")
                ),
                (
                    FileOptionKind::ExtraIndexUrl,
                    "--extra-index",
                    Some("https://y.invalid")
                ),
                (FileOptionKind::Pre, "--pre", None),
            ]
        );
    }

    #[test]
    fn comments_follow_pip() {
        let text = "flask#not-a-comment\nnumpy # comment\n  # indented\npkg-a \\\n# stops\npkg-b\n";
        let lines: Vec<(u32, String)> = preprocess(FileId(0), text, &Env::new())
            .iter()
            .map(|l| (l.line, l.as_str().to_string()))
            .collect();
        assert_eq!(
            lines,
            [
                (1, "flask#not-a-comment".to_string()),
                (2, "numpy".to_string()),
                (4, "pkg-a".to_string()),
                (6, "pkg-b".to_string()),
            ]
        );
        let (file, diags) = parse(text);
        assert_eq!(file.requirements.len(), 3);
        let error = diags.iter().find(|d| d.is_error()).unwrap();
        assert_eq!(under(text, error.span.unwrap()), "#");
    }

    #[test]
    fn trailing_space_after_backslash_does_not_continue() {
        let lines = preprocess(FileId(0), "a \\ \nb\n", &Env::new());
        let texts: Vec<&str> = lines.iter().map(LogicalLine::as_str).collect();
        assert_eq!(texts, ["a \\", "b"]);
    }

    #[test]
    fn env_expansion_spans_cover_the_reference() {
        let text = "--index-url ${MY_INDEX}/simple\npkg==${UNSET}\n";
        let env = Env::from([("MY_INDEX".to_string(), "https://idx.invalid".to_string())]);
        let (file, diags) = parse_requirements_with_env(FileId(0), text, &env);
        let value = file.options[0].value.as_ref().unwrap();
        assert_eq!(value.value, "https://idx.invalid/simple");
        assert_eq!(under(text, value.span), "${MY_INDEX}/simple");
        assert_eq!(diags.len(), 1);
        assert!(diags[0].is_error());
        // Without an environment the reference stays literal.
        let (file, _) = parse(text);
        assert_eq!(
            file.options[0].value.as_ref().unwrap().value,
            "${MY_INDEX}/simple"
        );
    }

    #[test]
    fn urls_paths_wheels_and_editables() {
        let text = "pip @ https://github.com/pypa/pip/archive/22.0.2.zip\n\
                    ./dist/Foo_Bar-1.0-py3-none-any.whl\n\
                    git+https://github.com/psf/requests.git#egg=requests\n\
                    -e git+https://github.com/x/y.git#egg=y_pkg\n\
                    -e ./local[dev]\n\
                    ./sdist-1.0.tar.gz\n\
                    https://x.invalid/a.zip;python_version<'3'\n\
                    https://x.invalid/b.zip ; python_version<'3'\n";
        let (file, diags) = parse(text);
        assert!(diags.is_empty(), "{diags:?}");
        let reqs = &file.requirements;
        assert_eq!(reqs.len(), 8);
        assert_eq!(
            under(text, reqs[0].url.as_ref().unwrap().span),
            "https://github.com/pypa/pip/archive/22.0.2.zip"
        );
        assert_eq!(under(text, reqs[0].name.as_ref().unwrap().span), "pip");
        let wheel = &reqs[1];
        assert_eq!(wheel.name.as_ref().unwrap().value, "Foo-Bar");
        assert_eq!(under(text, wheel.name.as_ref().unwrap().span), "Foo_Bar");
        assert_eq!(wheel.normalized_name.as_deref(), Some("foo-bar"));
        assert_eq!(wheel.specifier.as_ref().unwrap().value, "==1.0");
        assert_eq!(under(text, reqs[2].name.as_ref().unwrap().span), "requests");
        assert!(reqs[3].editable);
        assert_eq!(under(text, reqs[3].name.as_ref().unwrap().span), "y_pkg");
        assert_eq!(
            under(text, reqs[3].span),
            "git+https://github.com/x/y.git#egg=y_pkg"
        );
        let local = &reqs[4];
        assert!(local.editable && local.name.is_none());
        assert_eq!(local.url.as_ref().unwrap().value, "./local");
        assert_eq!(under(text, local.extras[0].span), "dev");
        assert!(reqs[5].name.is_none());
        assert_eq!(reqs[5].url.as_ref().unwrap().value, "./sdist-1.0.tar.gz");
        // A URL needs "; " before its marker.
        assert_eq!(
            reqs[6].url.as_ref().unwrap().value,
            "https://x.invalid/a.zip;python_version<'3'"
        );
        assert!(reqs[6].marker.is_none());
        let marker = reqs[7].marker.as_ref().unwrap();
        assert_eq!(marker.value, "python_version < \"3\"");
        assert_eq!(under(text, marker.span), "python_version<'3'");
    }

    #[test]
    fn option_errors_are_reported_and_parsing_goes_on() {
        let text = "--frobnicate\nsix --hash=md5:x\nsix --hash=sha256:x -r other.txt\n-i\nsix -r 'unclosed\nsix\n";
        let (file, diags) = parse(text);
        let errors: Vec<&str> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| under(text, d.span.unwrap()))
            .collect();
        assert_eq!(errors, ["--frobnicate", "md5:x", "-i", "'unclosed"]);
        let names: Vec<&str> = file
            .requirements
            .iter()
            .map(|r| r.name.as_ref().unwrap().value.as_str())
            .collect();
        assert_eq!(names, ["six", "six"]);
        // `-r` on a requirement line is ignored by pip: a warning, no include.
        assert!(file.includes.is_empty());
        let warning = diags.iter().find(|d| !d.is_error()).unwrap();
        assert_eq!(under(text, warning.span.unwrap()), "-r other.txt");
    }

    #[test]
    fn ambiguous_abbreviation_is_an_error() {
        let (_, diags) = parse("--pr\n");
        assert!(diags[0].message.contains("ambiguous option: --pr"));
    }

    #[test]
    fn invalid_requirement_span_in_multibyte_text() {
        let text = "pkg==1.0 ünïcode\nok\n";
        let (file, diags) = parse(text);
        assert_eq!(file.requirements.len(), 1);
        let span = diags[0].span.unwrap();
        assert!(text.is_char_boundary(span.start as usize));
        assert!(text.is_char_boundary(span.end as usize));
    }

    #[test]
    fn marker_formatting_follows_packaging() {
        assert_eq!(
            format_marker("(os.name=='nt' or (sys_platform == \"win32\")) and extra == 'Foo_Bar'")
                .unwrap(),
            "(os_name == \"nt\" or sys_platform == \"win32\") and extra == \"Foo_Bar\""
        );
        assert_eq!(
            format_marker("extra == 'A.B' or ((extra == 'C.D'))").unwrap(),
            "extra == \"a-b\" or extra == \"C.D\""
        );
        assert_eq!(
            format_marker("python_implementation not  in 'x'").unwrap(),
            "platform_python_implementation not in \"x\""
        );
    }

    #[test]
    fn duplicate_specifiers_collapse_like_packaging() {
        let (file, _) = parse("pkg>=1.0,>=1.0.0,~=1.0,~=1.0.0\n");
        assert_eq!(
            file.requirements[0].specifier.as_ref().unwrap().value,
            ">=1.0,~=1.0,~=1.0.0"
        );
    }

    #[test]
    fn crlf_bom_and_python_line_breaks() {
        let text = "\u{feff}a\r\nb\rc\u{0c}d\n";
        let lines: Vec<(u32, String)> = preprocess(FileId(0), text, &Env::new())
            .iter()
            .map(|l| (l.line, l.as_str().to_string()))
            .collect();
        assert_eq!(
            lines,
            [
                (1, "a".to_string()),
                (2, "b".to_string()),
                (3, "c".to_string()),
                (4, "d".to_string())
            ]
        );
        let (file, _) = parse(text);
        assert_eq!(under(text, file.requirements[3].span), "d");
    }

    #[test]
    fn load_follows_includes_once_and_reports_cycles_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(
            root.join("requirements.txt"),
            "-r sub/base.txt\n-c constraints.txt\n-r missing.txt\n-r https://x.invalid/r.txt\nflask\n",
        )
        .unwrap();
        std::fs::write(
            root.join("sub/base.txt"),
            "-r ../requirements.txt\n-r common.txt\nrequests\n",
        )
        .unwrap();
        std::fs::write(root.join("sub/common.txt"), "-r common.txt\nidna\n").unwrap();
        std::fs::write(
            root.join("constraints.txt"),
            "-r sub/common.txt\nurllib3<3\n",
        )
        .unwrap();
        let mut sources = Sources::new();
        let (files, diags) = load_requirements(&root.join("requirements.txt"), root, &mut sources);
        let names: Vec<(String, bool)> = files
            .iter()
            .map(|f| (sources.get(f.file).unwrap().rel_path.clone(), f.constraint))
            .collect();
        assert_eq!(
            names,
            [
                ("requirements.txt".to_string(), false),
                ("sub/base.txt".to_string(), false),
                ("sub/common.txt".to_string(), false),
                ("constraints.txt".to_string(), true),
            ]
        );
        // common.txt is read once although two files include it.
        assert_eq!(files[3].includes[0].resolved, Some(files[2].file));
        assert!(files[3].requirements.iter().all(|r| r.constraint));
        let messages: Vec<(String, String)> = diags
            .iter()
            .map(|d| {
                (
                    sources.slice(d.span.unwrap()).to_string(),
                    d.message.clone(),
                )
            })
            .collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert_eq!(messages[0].0, "../requirements.txt");
        // The chain is shown relative to the scanned root.
        assert_eq!(
            messages[0].1,
            "`../requirements.txt` includes itself: requirements.txt -> sub/base.txt -> requirements.txt"
        );
        assert_eq!(messages[1].0, "common.txt");
        assert!(messages[1].1.contains("includes itself"));
        assert_eq!(messages[2].0, "missing.txt");
        assert!(diags[2].is_error());
        assert_eq!(messages[3].0, "https://x.invalid/r.txt");
        assert_eq!(diags[3].severity, Severity::Note);
        assert_eq!(files[0].includes[0].resolved, Some(files[1].file));
        assert_eq!(files[0].includes[2].resolved, None);
    }

    fn check_span(text: &str, span: Span) {
        assert!(span.end as usize <= text.len(), "{span:?} out of bounds");
        assert!(span.start <= span.end);
        assert!(text.is_char_boundary(span.start as usize));
        assert!(text.is_char_boundary(span.end as usize));
    }

    fn check_all_spans(text: &str, file: &RequirementsFile, diags: &[Diagnostic]) {
        for req in &file.requirements {
            check_span(text, req.span);
            check_span(text, req.line_span);
            let optional = [&req.name, &req.specifier, &req.marker, &req.url];
            for spanned in optional.into_iter().flatten() {
                check_span(text, spanned.span);
            }
            let lists = [
                &req.extras,
                &req.hashes,
                &req.config_settings,
                &req.global_options,
            ];
            for spanned in lists.into_iter().flatten() {
                check_span(text, spanned.span);
            }
        }
        for include in &file.includes {
            check_span(text, include.path.span);
        }
        for option in &file.options {
            check_span(text, option.flag.span);
            if let Some(value) = &option.value {
                check_span(text, value.span);
            }
        }
        for diag in diags {
            if let Some(span) = diag.span {
                check_span(text, span);
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_spans_stay_in_bounds(text in "\\PC*") {
            let env = Env::from([("A".to_string(), "é-ü".to_string()), ("B".to_string(), "x".to_string())]);
            let (file, diags) = parse_requirements_with_env(FileId(0), &text, &env);
            check_all_spans(&text, &file, &diags);
        }

        #[test]
        fn never_panics_on_requirement_like_lines(
            lines in prop::collection::vec(
                "(-e |-r |--hash=|-c |--pre |--i|-i)?[a-zA-Z0-9_.@;:/ \\[\\]<>=!~,'\"()#$\\{\\}\\\\é\t-]{0,40}",
                0..8,
            ),
            breaks in prop::collection::vec(prop::sample::select(vec!["\n", "\r\n", "\r", "\\\n", " \\\n", "\u{2028}"]), 8),
        ) {
            let mut text = String::new();
            for (line, brk) in lines.iter().zip(breaks.iter()) {
                text.push_str(line);
                text.push_str(brk);
            }
            let env = Env::from([("A".to_string(), "https://ü.invalid".to_string())]);
            let (file, diags) = parse_requirements_with_env(FileId(0), &text, &env);
            check_all_spans(&text, &file, &diags);
        }
    }
}
