//! `.dockerignore` files with BuildKit's semantics: a port of moby/patternmatcher.
//!
//! Reading follows `ignorefile.ReadAll` (UTF-8 BOM stripped, `#` is a comment only in column
//! 1, lines trimmed, `!` exceptions, patterns cleaned like Go's `filepath.Clean`, one leading
//! `/` dropped); compiling follows `patternmatcher.New`: a pattern must be valid for Go's
//! `filepath.Match`, and is then matched exactly, by prefix (`a**`), by suffix (`**a`) or by a
//! regular expression built the way patternmatcher builds it (`*` and `?` stop at `/`, `**`
//! crosses directories, `[...]` classes negated with `^`, braces literal). patternmatcher hands
//! that expression to Go's `regexp`; here it is translated from Go's syntax to the `regex`
//! crate's, so that quirks such as `[a*]` behave as in BuildKit.
//!
//! Matching follows BuildKit's walk (tonistiigi/fsutil): parents are evaluated before their
//! children and each pattern that matched a parent counts as matching the child
//! (`MatchesUsingParentResults`); the last matching pattern decides. An excluded directory is
//! not walked when no `!` exception could re-include anything below it.

use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use foldhash::HashMap;

use crate::diag::Diagnostic;
use crate::model::context::{DockerIgnore, IgnoreMatch, IgnorePattern, PatternKind};
use crate::source::{FileId, Span};

/// `bufio.Scanner`'s token limit: BuildKit fails to read a `.dockerignore` with a longer line.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Characters that make an exception pattern more than a literal path for fsutil's
/// directory-skipping optimisation.
const PATTERN_CHARS: &[char] = &['*', '[', ']', '?', '^', '\\'];

/// One pattern before compilation: its text (as `patternmatcher.New` receives it) and spans.
struct RawPattern {
    text: String,
    span: Span,
    text_span: Span,
}

/// Parses a `.dockerignore` file. Invalid patterns are reported as errors (BuildKit rejects
/// the whole file) and kept, never matching, so that pattern indices follow the file.
pub fn parse_dockerignore(file: FileId, text: &str) -> (DockerIgnore, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let raw = read_all(file, text, &mut diagnostics);
    let mut ignore = compile_patterns(file, raw, &mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        ignore.valid = false;
    }
    (ignore, diagnostics)
}

/// Builds a matcher from patterns fed directly to `patternmatcher.New` (no comment handling,
/// no leading-`/` stripping). Spans point into `patterns.join("\n")`, the text of `file`.
pub fn dockerignore_from_patterns<S: AsRef<str>>(
    file: FileId,
    patterns: &[S],
) -> (DockerIgnore, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut offset = 0;
    let mut raw = Vec::with_capacity(patterns.len());
    for pattern in patterns {
        let pattern = pattern.as_ref();
        let span = trimmed_span(file, pattern, offset);
        raw.push(RawPattern {
            text: pattern.to_string(),
            span,
            text_span: span,
        });
        offset += pattern.len() + 1;
    }
    let mut ignore = compile_patterns(file, raw, &mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        ignore.valid = false;
    }
    (ignore, diagnostics)
}

/// The span of `text.trim()` for `text` starting at `offset`.
fn trimmed_span(file: FileId, text: &str, offset: usize) -> Span {
    let start = offset + (text.len() - text.trim_start().len());
    Span::new(file, start..start + text.trim().len())
}

/// `ignorefile.ReadAll`: the lines of the file turned into pattern strings.
fn read_all(file: FileId, text: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<RawPattern> {
    let mut patterns = Vec::new();
    let mut line_start = 0;
    for (index, line) in scan_lines(text).enumerate() {
        let mut offset = line_start;
        line_start += line.len() + 1;
        if line.len() >= MAX_LINE_BYTES {
            diagnostics.push(
                Diagnostic::error(format!(
                    "line longer than {MAX_LINE_BYTES} bytes in .dockerignore"
                ))
                .with_span(Span::new(file, offset..offset + line.len()))
                .with_help("BuildKit cannot read this file and the build fails"),
            );
            continue;
        }
        // bufio.ScanLines drops one `\r` before the newline.
        let mut line = line.strip_suffix('\r').unwrap_or(line);
        if index == 0 {
            if let Some(rest) = line.strip_prefix('\u{feff}') {
                offset += line.len() - rest.len();
                line = rest;
            }
        }
        if line.starts_with('#') {
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let span = trimmed_span(file, line, offset);
        let trimmed_offset = span.start as usize;
        let (exception, body, body_offset) = match trimmed.strip_prefix('!') {
            Some(rest) => (true, rest, trimmed_offset + 1),
            None => (false, trimmed, trimmed_offset),
        };
        let text_span = trimmed_span(file, body, body_offset);
        let body = body.trim();
        let mut cleaned = String::new();
        if !body.is_empty() {
            cleaned = go_clean(body);
            if cleaned.len() > 1 {
                if let Some(rest) = cleaned.strip_prefix('/') {
                    cleaned = rest.to_string();
                }
            }
        }
        let text = if exception {
            format!("!{cleaned}")
        } else {
            cleaned
        };
        patterns.push(RawPattern {
            text,
            span,
            text_span,
        });
    }
    patterns
}

/// The lines of `text` as Go's `bufio.ScanLines` yields them (without the `\n`; a final
/// line without a newline is kept, an empty one after the last newline is not).
fn scan_lines(text: &str) -> impl Iterator<Item = &str> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let empty = text.is_empty();
    body.split('\n').filter(move |_| !empty)
}

/// `patternmatcher.New`: trims, cleans and compiles every pattern.
fn compile_patterns(
    file: FileId,
    raw: Vec<RawPattern>,
    diagnostics: &mut Vec<Diagnostic>,
) -> DockerIgnore {
    let mut patterns = Vec::with_capacity(raw.len());
    for raw in raw {
        let trimmed = raw.text.trim();
        if trimmed.is_empty() {
            continue;
        }
        let cleaned = go_clean(trimmed);
        let (exception, text) = match cleaned.strip_prefix('!') {
            Some(rest) => (true, rest.to_string()),
            None => (false, cleaned.clone()),
        };
        let mut pattern = IgnorePattern {
            span: raw.span,
            text_span: raw.text_span,
            text,
            exception,
            kind: PatternKind::Invalid,
            regex: None,
        };
        if exception && pattern.text.is_empty() {
            diagnostics.push(
                Diagnostic::error("illegal exclusion pattern: \"!\"")
                    .with_span(raw.span)
                    .with_help("a `!` must be followed by the pattern to re-include; BuildKit rejects this file"),
            );
        } else if go_match(pattern.text.as_bytes(), b".").is_err() {
            diagnostics.push(
                Diagnostic::error(format!(
                    "invalid .dockerignore pattern `{}`: syntax error in pattern",
                    pattern.text
                ))
                .with_span(raw.text_span)
                .with_help("check `[` classes and trailing `\\`; BuildKit rejects this file and the build fails"),
            );
        } else {
            match compile(&pattern.text) {
                Ok((kind, regex)) => {
                    pattern.kind = kind;
                    pattern.regex = regex;
                }
                Err(reason) => diagnostics.push(
                    Diagnostic::error(format!(
                        "invalid .dockerignore pattern `{}`: {reason}",
                        pattern.text
                    ))
                    .with_span(raw.text_span)
                    .with_help("BuildKit turns patterns into Go regular expressions and fails the build on this one"),
                ),
            }
        }
        patterns.push(pattern);
    }
    let has_exceptions = patterns.iter().any(|p| p.exception);
    let literal_exceptions_only = patterns
        .iter()
        .filter(|p| p.exception)
        .all(|p| !without_trailing_glob(&p.text).contains(PATTERN_CHARS));
    let valid = patterns.iter().all(|p| p.kind != PatternKind::Invalid);
    DockerIgnore {
        file,
        patterns,
        has_exceptions,
        literal_exceptions_only,
        valid,
    }
}

/// fsutil's `patternWithoutTrailingGlob`.
fn without_trailing_glob(pattern: &str) -> &str {
    let pattern = pattern.strip_suffix("/**").unwrap_or(pattern);
    pattern.strip_suffix("/*").unwrap_or(pattern)
}

/// patternmatcher's `compile`: the match kind and, for [`PatternKind::Regex`], the regex.
fn compile(pattern: &str) -> Result<(PatternKind, Option<Arc<regex::Regex>>), String> {
    let mut go_regex = String::from("^");
    let mut kind = PatternKind::Exact;
    let mut chars = pattern.chars().peekable();
    // Go's text/scanner skips a byte order mark at the start of its input.
    if chars.peek() == Some(&'\u{feff}') {
        chars.next();
    }
    let mut index = 0;
    while let Some(ch) = chars.next() {
        match ch {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    if kind == PatternKind::Exact {
                        kind = PatternKind::Prefix;
                    } else {
                        go_regex.push_str(".*");
                        kind = PatternKind::Regex;
                    }
                } else {
                    go_regex.push_str("(.*/)?");
                    kind = PatternKind::Regex;
                }
                if index == 0 {
                    kind = PatternKind::Suffix;
                }
            }
            '*' => {
                go_regex.push_str("[^/]*");
                kind = PatternKind::Regex;
            }
            '?' => {
                go_regex.push_str("[^/]");
                kind = PatternKind::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                go_regex.push('\\');
                go_regex.push(ch);
            }
            '\\' => {
                go_regex.push('\\');
                if let Some(next) = chars.next() {
                    go_regex.push(next);
                    kind = PatternKind::Regex;
                }
            }
            '[' | ']' => {
                go_regex.push(ch);
                kind = PatternKind::Regex;
            }
            _ => go_regex.push(ch),
        }
        index += 1;
    }
    if kind != PatternKind::Regex {
        return Ok((kind, None));
    }
    go_regex.push('$');
    let translated = go_regex::translate(&go_regex)?;
    Ok((PatternKind::Regex, Some(compiled(&translated)?)))
}

/// Compiled patterns by their regular expression, shared by every `.dockerignore` of the
/// process: a monorepo's `.dockerignore` files repeat the same patterns, and compiling one
/// costs far more than matching with it. The `Regex` itself is shared, not cloned: a clone
/// has a pool of match caches of its own, and building a cache on a clone's first match costs
/// as much as a few hundred matches.
static COMPILED: LazyLock<Mutex<HashMap<String, Arc<regex::Regex>>>> =
    LazyLock::new(Default::default);

/// At most this many distinct patterns are kept.
const MAX_COMPILED: usize = 4_096;

/// `source` compiled, from [`COMPILED`] when it was compiled before.
fn compiled(source: &str) -> Result<Arc<regex::Regex>, String> {
    let mut cache = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(regex) = cache.get(source) {
        return Ok(Arc::clone(regex));
    }
    let regex = Arc::new(regex::Regex::new(source).map_err(|e| e.to_string())?);
    if cache.len() < MAX_COMPILED {
        cache.insert(source.to_string(), Arc::clone(&regex));
    }
    Ok(regex)
}

impl IgnorePattern {
    /// patternmatcher's `Pattern.match` for one slash-separated path.
    pub fn matches(&self, path: &str) -> bool {
        let text = self.text.as_bytes();
        match self.kind {
            PatternKind::Exact => path == self.text,
            PatternKind::Prefix => {
                let prefix = text.get(..text.len().saturating_sub(2)).unwrap_or(&[]);
                path.as_bytes().starts_with(prefix)
            }
            PatternKind::Suffix => {
                let suffix = text.get(2..).unwrap_or(&[]);
                path.as_bytes().ends_with(suffix)
                    || (suffix.first() == Some(&b'/') && suffix.get(1..) == Some(path.as_bytes()))
            }
            PatternKind::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(path)),
            PatternKind::Invalid => false,
        }
    }
}

impl DockerIgnore {
    /// Whether BuildKit leaves `rel_path` (slash-separated, relative to the context root,
    /// cleaned) out of the build context. The root itself (`""` or `"."`) is never excluded.
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        self.match_path(rel_path).excluded
    }

    /// Whether `rel_path` is excluded, and which pattern decided: its parent directories
    /// are evaluated first, as BuildKit's walk does.
    pub fn match_path(&self, rel_path: &str) -> IgnoreMatch {
        let unmatched = IgnoreMatch {
            excluded: false,
            pattern: None,
        };
        if rel_path.is_empty() || rel_path == "." || self.patterns.is_empty() {
            return unmatched;
        }
        let mut ancestors = Vec::new();
        let mut current = rel_path.to_string();
        loop {
            let parent = go_dir(&current);
            if parent == "." || parent == current {
                break;
            }
            ancestors.push(parent.clone());
            current = parent;
        }
        let mut parent_matches: Option<Vec<bool>> = None;
        for dir in ancestors.iter().rev() {
            let (decision, matches) = self.match_with_parent(dir, parent_matches.as_deref());
            if decision.excluded && self.skips_excluded_dir(dir) {
                return decision;
            }
            parent_matches = Some(matches);
        }
        self.match_with_parent(rel_path, parent_matches.as_deref())
            .0
    }

    /// patternmatcher's `MatchesUsingParentResults`: matches `path` given which patterns
    /// matched its parent directory (`None` for an entry of the context root, or when the
    /// parent's results are unknown: then the parent directories are matched too). Returns
    /// the decision and, per pattern, whether it matched (to pass to this path's children).
    pub fn match_with_parent(
        &self,
        path: &str,
        parent_matches: Option<&[bool]>,
    ) -> (IgnoreMatch, Vec<bool>) {
        let mut excluded = false;
        let mut decided = None;
        let mut matches = vec![false; self.patterns.len()];
        let mut parent_prefixes: Option<Vec<String>> = None;
        for (index, pattern) in self.patterns.iter().enumerate() {
            let mut matched =
                parent_matches.is_some_and(|parent| parent.get(index).copied().unwrap_or(false));
            if !matched {
                if pattern.exception != excluded {
                    continue;
                }
                matched = pattern.matches(path);
                if !matched && parent_matches.is_none() {
                    let prefixes = parent_prefixes.get_or_insert_with(|| parent_dir_prefixes(path));
                    matched = prefixes.iter().any(|prefix| pattern.matches(prefix));
                }
            }
            if let Some(slot) = matches.get_mut(index) {
                *slot = matched;
            }
            if matched {
                excluded = !pattern.exception;
                decided = Some(index);
            }
        }
        (
            IgnoreMatch {
                excluded,
                pattern: decided,
            },
            matches,
        )
    }

    /// Whether BuildKit skips the contents of the excluded directory `dir` (fsutil's
    /// optimisation, which is what BuildKit sends): only when every `!` exception is a
    /// literal path and none points below `dir`.
    pub fn skips_excluded_dir(&self, dir: &str) -> bool {
        if !self.literal_exceptions_only {
            return false;
        }
        if !self.has_exceptions {
            return true;
        }
        let dir_slash = format!("{dir}/");
        !self.patterns.iter().filter(|p| p.exception).any(|p| {
            let literal = format!("{}/", without_trailing_glob(&p.text));
            literal.starts_with(&dir_slash)
        })
    }
}

/// The parent directories of `path` that patternmatcher tries when it has no parent
/// results: `Dir(path)` split at `/`, each prefix joined again.
fn parent_dir_prefixes(path: &str) -> Vec<String> {
    let parent = go_dir(path);
    if parent == "." {
        return Vec::new();
    }
    let mut prefixes: Vec<String> = parent
        .match_indices('/')
        .map(|(at, _)| parent.get(..at).unwrap_or("").to_string())
        .collect();
    prefixes.push(parent);
    prefixes
}

/// Go's `filepath.Dir` on a slash-separated path.
pub fn go_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(at) => go_clean(path.get(..=at).unwrap_or("")),
        None => ".".to_string(),
    }
}

/// Go's `filepath.Clean` (Unix): the shortest equivalent path, purely lexical.
pub fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let bytes = path.as_bytes();
    let rooted = bytes.first() == Some(&b'/');
    let n = bytes.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    let at = |i: usize| bytes.get(i).copied();
    while r < n {
        let c = at(r);
        let next = at(r + 1);
        let empty_or_dot =
            c == Some(b'/') || (c == Some(b'.') && (next.is_none() || next == Some(b'/')));
        if empty_or_dot {
            r += 1;
        } else if c == Some(b'.')
            && next == Some(b'.')
            && (at(r + 2).is_none() || at(r + 2) == Some(b'/'))
        {
            r += 2;
            if out.len() > dotdot {
                out.pop();
                while out.len() > dotdot && out.last() != Some(&b'/') {
                    out.pop();
                }
                // Drop the separator before the removed element too.
                if out.len() > dotdot && out.last() == Some(&b'/') {
                    out.pop();
                }
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while let Some(b) = at(r).filter(|&b| b != b'/') {
                out.push(b);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        out.push(b'.');
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The error of Go's `filepath.Match` for a malformed pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadPattern;

/// Go's `filepath.Match` (Unix), on bytes as Go does: `*` and `?` do not match `/`,
/// `[...]`/`[^...]` classes, `\` escapes. Malformed patterns give [`BadPattern`].
pub fn go_match(pattern: &[u8], name: &[u8]) -> Result<bool, BadPattern> {
    match match_simple(pattern, name) {
        Some(matched) => Ok(matched),
        None => go_match_chunks(pattern, name),
    }
}

/// Whether `b` is special to `filepath.Match`.
fn is_glob_meta(b: &u8) -> bool {
    matches!(b, b'*' | b'?' | b'[' | b'\\')
}

/// [`go_match`] for the shapes most patterns have, without scanning chunks: a literal,
/// `*literal` or `literal*` (a literal has none of `*?[\`, so it is never malformed). `None`
/// for any other pattern.
fn match_simple(pattern: &[u8], name: &[u8]) -> Option<bool> {
    if let Some(suffix) = pattern.strip_prefix(b"*") {
        if suffix.iter().any(is_glob_meta) {
            return None;
        }
        // The star takes what is before the suffix, which must not cross a `/`.
        return Some(
            name.strip_suffix(suffix)
                .is_some_and(|head| !head.contains(&b'/')),
        );
    }
    match pattern.iter().position(is_glob_meta) {
        None => Some(pattern == name),
        Some(star) if star + 1 == pattern.len() && pattern.last() == Some(&b'*') => {
            let prefix = pattern.get(..star)?;
            Some(
                name.strip_prefix(prefix)
                    .is_some_and(|rest| !rest.contains(&b'/')),
            )
        }
        Some(_) => None,
    }
}

/// Go's `filepath.Match` algorithm: the pattern split into chunks at its stars.
fn go_match_chunks(pattern: &[u8], name: &[u8]) -> Result<bool, BadPattern> {
    let mut pattern = pattern;
    let mut name = name;
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&b'/'));
        }
        let first = match_chunk(chunk, name);
        if let Ok(Some(after)) = first {
            if after.is_empty() || !pattern.is_empty() {
                name = after;
                continue;
            }
        }
        first?;
        if star {
            let mut i = 0;
            while i < name.len() && name.get(i) != Some(&b'/') {
                let candidate = name.get(i + 1..).unwrap_or(&[]);
                if let Some(after) = match_chunk(chunk, candidate)? {
                    if pattern.is_empty() && !after.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = after;
                    continue 'chunks;
                }
                i += 1;
            }
        }
        // Before reporting no match, check that the rest of the pattern is well formed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Go's `scanChunk`: leading stars, then everything up to the next unbracketed `*`.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    let mut pattern = pattern;
    while pattern.first() == Some(&b'*') {
        pattern = pattern.get(1..).unwrap_or(&[]);
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern.get(i) {
            Some(b'\\') if i + 1 < pattern.len() => i += 1,
            Some(b'[') => in_range = true,
            Some(b']') => in_range = false,
            Some(b'*') if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (
        star,
        pattern.get(..i).unwrap_or(&[]),
        pattern.get(i..).unwrap_or(&[]),
    )
}

/// Go's `utf8.DecodeRune`: the rune at the start of `bytes` and its length; `(U+FFFD, 1)`
/// for an invalid sequence, `(U+FFFD, 0)` for no input.
fn decode_rune(bytes: &[u8]) -> (u32, usize) {
    let Some(&first) = bytes.first() else {
        return (0xFFFD, 0);
    };
    let len = match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return (0xFFFD, 1),
    };
    match bytes.get(..len).map(std::str::from_utf8) {
        Some(Ok(s)) => s.chars().next().map_or((0xFFFD, 1), |c| (c as u32, len)),
        _ => (0xFFFD, 1),
    }
}

/// Go's `matchChunk`: matches `chunk` (no `*`) at the start of `s`; `Some(rest)` on a match.
/// The whole chunk is checked for syntax errors even after a mismatch.
fn match_chunk<'a>(chunk: &[u8], s: &'a [u8]) -> Result<Option<&'a [u8]>, BadPattern> {
    let mut chunk = chunk;
    let mut s = s;
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            b'[' => {
                let mut rune = 0;
                if !failed {
                    let (r, n) = decode_rune(s);
                    rune = r;
                    s = s.get(n..).unwrap_or(&[]);
                }
                chunk = chunk.get(1..).unwrap_or(&[]);
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = chunk.get(1..).unwrap_or(&[]);
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = chunk.get(1..).unwrap_or(&[]);
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = get_esc(chunk.get(1..).unwrap_or(&[]))?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= rune && rune <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s.first() == Some(&b'/') {
                        failed = true;
                    }
                    let (_, n) = decode_rune(s);
                    s = s.get(n..).unwrap_or(&[]);
                }
                chunk = chunk.get(1..).unwrap_or(&[]);
            }
            _ => {
                if c == b'\\' {
                    chunk = chunk.get(1..).unwrap_or(&[]);
                    if chunk.is_empty() {
                        return Err(BadPattern);
                    }
                }
                if !failed {
                    if chunk.first() != s.first() {
                        failed = true;
                    }
                    s = s.get(1..).unwrap_or(&[]);
                }
                chunk = chunk.get(1..).unwrap_or(&[]);
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

/// Go's `getEsc`: one possibly escaped character of a class.
fn get_esc(chunk: &[u8]) -> Result<(u32, &[u8]), BadPattern> {
    let mut chunk = chunk;
    match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(b'\\') => {
            chunk = chunk.get(1..).unwrap_or(&[]);
            if chunk.is_empty() {
                return Err(BadPattern);
            }
        }
        _ => {}
    }
    let (rune, n) = decode_rune(chunk);
    if rune == 0xFFFD && n == 1 {
        return Err(BadPattern);
    }
    let rest = chunk.get(n..).unwrap_or(&[]);
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((rune, rest))
}

/// Translation of the Go regular expressions patternmatcher builds into `regex` syntax.
///
/// patternmatcher passes `[`, `]`, `^` and `\x` escapes from the pattern through to Go's
/// `regexp`, so the expression can hold any Go class or escape. This reads Go's syntax (with
/// the Perl flags `regexp.Compile` uses) and writes an equivalent expression for the `regex`
/// crate, escaping every literal, or reports the error Go's parser would.
mod go_regex {
    /// Go's POSIX class names (`[[:alpha:]]`), which the `regex` crate spells the same way.
    const POSIX_CLASSES: &[&str] = &[
        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
        "space", "upper", "word", "xdigit",
    ];

    pub fn translate(go: &str) -> Result<String, String> {
        let chars: Vec<char> = go.chars().collect();
        let mut out = String::with_capacity(go.len() * 2);
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            i += 1;
            match c {
                '^' | '$' | '.' | '(' | ')' | '|' | '*' | '+' | '?' => out.push(c),
                '[' => i = class(&chars, i, &mut out)?,
                '\\' => i = top_level_escape(&chars, i, &mut out)?,
                _ => push_literal(&mut out, c),
            }
        }
        Ok(out)
    }

    fn push_literal(out: &mut String, c: char) {
        out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
    }

    fn push_class_char(out: &mut String, c: char) {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }

    /// Go's `\d \s \w` and negations (ASCII only), as a `regex` class; `None` otherwise.
    fn perl_class(c: char) -> Option<&'static str> {
        Some(match c {
            'd' => "[0-9]",
            'D' => "[^0-9]",
            's' => r"[\t\n\x0C\r ]",
            'S' => r"[^\t\n\x0C\r ]",
            'w' => "[0-9A-Za-z_]",
            'W' => "[^0-9A-Za-z_]",
            _ => return None,
        })
    }

    /// An escape outside a class; `i` is just after the `\`. Returns the next index.
    fn top_level_escape(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
        let Some(&c) = chars.get(i) else {
            return Err("trailing backslash at end of expression".into());
        };
        match c {
            'A' => out.push_str(r"\A"),
            'z' => out.push_str(r"\z"),
            'b' => out.push_str(r"(?-u:\b)"),
            'B' => out.push_str(r"(?-u:\B)"),
            'C' => return Err(r"invalid escape sequence: `\C`".into()),
            'Q' => {
                let mut j = i + 1;
                while let Some(&l) = chars.get(j) {
                    if l == '\\' && chars.get(j + 1) == Some(&'E') {
                        return Ok(j + 2);
                    }
                    push_literal(out, l);
                    j += 1;
                }
                return Ok(j);
            }
            'p' | 'P' => return unicode_class(chars, i, out),
            _ => {
                if let Some(class) = perl_class(c) {
                    out.push_str(class);
                } else {
                    let (rune, next) = escape(chars, i)?;
                    push_literal(out, rune);
                    return Ok(next);
                }
            }
        }
        Ok(i + 1)
    }

    /// `\pX`, `\p{Name}`, `\p{^Name}`, `\P...`; `i` is at the `p`/`P`.
    fn unicode_class(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
        let mut negated = chars.get(i) == Some(&'P');
        let (name, next) = match chars.get(i + 1) {
            Some('{') => {
                let end = (i + 2..chars.len())
                    .find(|&j| chars.get(j) == Some(&'}'))
                    .ok_or("missing closing } in Unicode class")?;
                let name: String = chars.get(i + 2..end).unwrap_or(&[]).iter().collect();
                (name, end + 1)
            }
            Some(&c) => (c.to_string(), i + 2),
            None => return Err("invalid Unicode class escape".into()),
        };
        let name = match name.strip_prefix('^') {
            Some(rest) => {
                negated = !negated;
                rest.to_string()
            }
            None => name,
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("invalid Unicode class name `{name}`"));
        }
        out.push_str(if negated { r"\P{" } else { r"\p{" });
        out.push_str(&name);
        out.push('}');
        Ok(next)
    }

    /// Go's `parseEscape` for a single-character escape; `i` is just after the `\`.
    fn escape(chars: &[char], i: usize) -> Result<(char, usize), String> {
        let Some(&c) = chars.get(i) else {
            return Err("trailing backslash at end of expression".into());
        };
        let invalid = || format!("invalid escape sequence: `\\{c}`");
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
            return Ok((c, i + 1));
        }
        let is_octal = |j: usize| chars.get(j).is_some_and(|d| ('0'..='7').contains(d));
        match c {
            '1'..='7' | '0' => {
                if c != '0' && !is_octal(i + 1) {
                    return Err(invalid());
                }
                let mut value = c as u32 - '0' as u32;
                let mut j = i + 1;
                while j < i + 3 && is_octal(j) {
                    value = value * 8 + (chars.get(j).map_or(0, |&d| d as u32 - '0' as u32));
                    j += 1;
                }
                char::from_u32(value).map(|r| (r, j)).ok_or_else(invalid)
            }
            'x' => {
                let hex = |j: usize| chars.get(j).and_then(|d| d.to_digit(16));
                if chars.get(i + 1) == Some(&'{') {
                    let mut value: u32 = 0;
                    let mut j = i + 2;
                    let mut digits = 0;
                    while let Some(d) = hex(j) {
                        value = value.saturating_mul(16).saturating_add(d);
                        digits += 1;
                        j += 1;
                    }
                    if digits == 0 || chars.get(j) != Some(&'}') || value > 0x10FFFF {
                        return Err(invalid());
                    }
                    char::from_u32(value)
                        .map(|r| (r, j + 1))
                        .ok_or_else(invalid)
                } else {
                    match (hex(i + 1), hex(i + 2)) {
                        (Some(a), Some(b)) => char::from_u32(a * 16 + b)
                            .map(|r| (r, i + 3))
                            .ok_or_else(invalid),
                        _ => Err(invalid()),
                    }
                }
            }
            'a' => Ok(('\u{7}', i + 1)),
            'f' => Ok(('\u{C}', i + 1)),
            'n' => Ok(('\n', i + 1)),
            'r' => Ok(('\r', i + 1)),
            't' => Ok(('\t', i + 1)),
            'v' => Ok(('\u{B}', i + 1)),
            _ => Err(invalid()),
        }
    }

    /// A character of a class: a plain character or an escape. `i` is at the character.
    fn class_char(chars: &[char], i: usize) -> Result<(char, usize), String> {
        match chars.get(i) {
            None => Err("missing closing ]".into()),
            Some('\\') => escape(chars, i + 1),
            Some(&c) => Ok((c, i + 1)),
        }
    }

    /// Go's `parseClass`; `i` is just after the `[`. Returns the next index.
    fn class(chars: &[char], mut i: usize, out: &mut String) -> Result<usize, String> {
        out.push('[');
        if chars.get(i) == Some(&'^') {
            out.push('^');
            i += 1;
        }
        let mut first = true;
        loop {
            match chars.get(i) {
                None => return Err("missing closing ]".into()),
                Some(']') if !first => {
                    out.push(']');
                    return Ok(i + 1);
                }
                _ => {}
            }
            first = false;
            // A POSIX class such as [:alpha:]; Go looks for the next ":]" anywhere.
            if chars.get(i) == Some(&'[') && chars.get(i + 1) == Some(&':') {
                let close = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&']'));
                if let Some(close) = close {
                    let name: String = chars.get(i + 2..close).unwrap_or(&[]).iter().collect();
                    let bare = name.strip_prefix('^').unwrap_or(&name);
                    if !POSIX_CLASSES.contains(&bare) {
                        return Err(format!("invalid character class range `[:{name}:]`"));
                    }
                    out.push_str(&format!("[:{name}:]"));
                    i = close + 2;
                    continue;
                }
            }
            if chars.get(i) == Some(&'\\') {
                match chars.get(i + 1) {
                    Some('p' | 'P') => {
                        i = unicode_class(chars, i + 1, out)?;
                        continue;
                    }
                    Some(&c) => {
                        if let Some(class) = perl_class(c) {
                            out.push_str(class);
                            i += 2;
                            continue;
                        }
                    }
                    None => {}
                }
            }
            let (lo, next) = class_char(chars, i)?;
            i = next;
            let mut hi = lo;
            if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
                let (h, next) = class_char(chars, i + 1)?;
                if h < lo {
                    return Err(format!("invalid character class range `{lo}-{h}`"));
                }
                hi = h;
                i = next;
            }
            push_class_char(out, lo);
            if hi != lo {
                out.push('-');
                push_class_char(out, hi);
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_pattern_is_compiled_once_and_shared() {
        let source = "^only/in/this/test/.*\\.cache$";
        let first = compiled(source).expect("a valid pattern");
        let second = compiled(source).expect("a valid pattern");
        assert!(
            first.is_match("only/in/this/test/x.cache")
                && second.is_match("only/in/this/test/y.cache")
        );
        assert!(Arc::ptr_eq(&first, &second));
        assert!(COMPILED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(source));
        assert!(compiled("(").is_err());
    }
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> (DockerIgnore, Vec<Diagnostic>) {
        parse_dockerignore(FileId(0), text)
    }

    #[test]
    fn pattern_spans_underline_the_written_text() {
        let text = "\u{feff}# comment\n  node_modules/  \r\n! /keep/me \n**/*.pyc\n";
        let (ignore, diags) = parse(text);
        assert!(diags.is_empty(), "{diags:?}");
        let shown: Vec<(&str, &str, &str, bool)> = ignore
            .patterns
            .iter()
            .map(|p| {
                (
                    &text[p.span.range()],
                    &text[p.text_span.range()],
                    p.text.as_str(),
                    p.exception,
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                ("node_modules/", "node_modules/", "node_modules", false),
                ("! /keep/me", "/keep/me", "keep/me", true),
                ("**/*.pyc", "**/*.pyc", "**/*.pyc", false),
            ]
        );
    }

    #[test]
    fn bom_on_first_line_is_not_part_of_the_span() {
        let text = "\u{feff}foo\n";
        let (ignore, _) = parse(text);
        let span = ignore.patterns[0].span;
        assert_eq!(&text[span.range()], "foo");
    }

    #[test]
    fn invalid_class_is_an_error_pointing_at_the_pattern() {
        let text = "ok\n!src/[a-\n";
        let (ignore, diags) = parse(text);
        assert!(!ignore.valid);
        assert_eq!(diags.len(), 1);
        assert!(diags[0].is_error());
        let span = diags[0].span.expect("span");
        assert_eq!(&text[span.range()], "src/[a-");
        assert_eq!(ignore.patterns.len(), 2);
        assert_eq!(ignore.patterns[1].kind, PatternKind::Invalid);
    }

    #[test]
    fn lone_bang_is_an_error() {
        let text = "a\n ! \n";
        let (ignore, diags) = parse(text);
        assert!(!ignore.valid);
        assert_eq!(&text[diags[0].span.expect("span").range()], "!");
    }

    #[test]
    fn go_regex_errors_are_reported() {
        // Valid for filepath.Match, but Go's regexp rejects `\q` and the reversed range.
        // `{` is escaped by patternmatcher, so Go sees `\p\{`: an invalid class name.
        for pattern in [r"a\q", "[z-a]", r"[\p{Greek}]"] {
            let (ignore, diags) = parse(pattern);
            assert!(!ignore.valid, "{pattern}");
            assert_eq!(diags.len(), 1, "{pattern}");
        }
    }

    #[test]
    fn match_kinds_follow_patternmatcher() {
        let kinds: Vec<PatternKind> = parse("abc\na**\n**abc\n**/a/*\n*.go\n")
            .0
            .patterns
            .iter()
            .map(|p| p.kind)
            .collect();
        use PatternKind::*;
        assert_eq!(kinds, vec![Exact, Prefix, Suffix, Regex, Regex]);
    }

    #[test]
    fn star_inside_a_class_behaves_like_buildkit() {
        // patternmatcher turns `[a*]` into the Go regex `^[a[^/]*]$`: a class {a,[,^,/}
        // repeated, then a literal `]`.
        let (ignore, diags) = parse("[a*]\n");
        assert!(diags.is_empty());
        assert!(ignore.is_excluded("]"));
        assert!(ignore.is_excluded("a[]"));
        assert!(!ignore.is_excluded("a"));
        assert!(!ignore.is_excluded("*"));
    }

    #[test]
    fn escapes_and_classes_follow_go_regexp() {
        // patternmatcher passes `\x` escapes and `[...]` classes to Go's regexp unchanged.
        let cases = [
            (r"file\d", "file7", true),
            (r"file\d", "filed", false),
            (r"a\bb", "ab", false),
            (r"\x41*", "AB", true),
            ("[[:digit:]]x", "1x", true),
            ("[[:digit:]]x", "[x", false),
            (r"[\pL]x", "αx", true),
            // `\Q` quotes the rest of the generated expression: `a\.b$` literally.
            (r"\Qa.b", "a.b", false),
            (r"\Qa.b", r"a\.b$", true),
            (r"a\.b", "a.b", true),
            (r"a\.b", "axb", false),
        ];
        for (pattern, path, excluded) in cases {
            let (ignore, diags) = parse(pattern);
            assert!(diags.is_empty(), "{pattern}: {diags:?}");
            assert_eq!(ignore.is_excluded(path), excluded, "{pattern} vs {path}");
        }
    }

    #[test]
    fn deciding_pattern_is_reported() {
        let (ignore, _) = parse("*.md\n!README*.md\nREADME-secret.md\n");
        let m = ignore.match_path("README.md");
        assert_eq!((m.excluded, m.pattern), (false, Some(1)));
        let m = ignore.match_path("README-secret.md");
        assert_eq!((m.excluded, m.pattern), (true, Some(2)));
        let m = ignore.match_path("src/x.rs");
        assert_eq!((m.excluded, m.pattern), (false, None));
    }

    #[test]
    fn excluded_dir_is_skipped_only_without_exceptions_below_it() {
        let (ignore, _) = parse("node_modules\ndocs\n!docs/keep.md\n");
        assert!(ignore.skips_excluded_dir("node_modules"));
        assert!(!ignore.skips_excluded_dir("docs"));
        let (wild, _) = parse("docs\n!docs/*.md\n");
        assert!(!wild.skips_excluded_dir("docs"));
        let (glob_tail, _) = parse("docs\n!docs/keep/**\n");
        assert!(glob_tail.literal_exceptions_only);
        assert!(!glob_tail.skips_excluded_dir("docs"));
    }

    #[test]
    fn go_clean_matches_go() {
        for (input, expected) in [
            ("", "."),
            ("a/b/../c", "a/c"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("./a/", "a"),
            ("//a//b/", "/a/b"),
            ("a/./b/.", "a/b"),
            ("!foo/../bar", "bar"),
            ("/", "/"),
        ] {
            assert_eq!(go_clean(input), expected, "{input}");
        }
    }

    #[test]
    fn go_match_matches_go() {
        let yes = |p: &str, n: &str| go_match(p.as_bytes(), n.as_bytes()) == Ok(true);
        assert!(yes("*.txt", "a.txt"));
        assert!(!yes("*.txt", "d/a.txt"));
        assert!(yes("*/a", "d/a"));
        assert!(yes("a[^b]c", "axc"));
        assert!(yes(r"a\*b", "a*b"));
        assert!(yes("a?c", "a☺c"));
        assert_eq!(go_match(b"a[", b"x"), Err(BadPattern));
        assert_eq!(go_match(b"x*[", b"y"), Err(BadPattern));
        // The shapes matched without chunks.
        assert!(yes("id_rsa*", "id_rsa.pub"));
        assert!(!yes("id_rsa*", "id_rsa/key"));
        assert!(yes("*", "a.b"));
        assert!(!yes("*", "a/b"));
        assert!(yes(".env", ".env"));
        assert!(!yes(".env", ".env.local"));
        assert!(!yes("*.pem", "pem"));
    }

    proptest! {
        #[test]
        fn never_panics_and_spans_are_in_bounds(text in "(?s).{0,200}", path in "[a-z/!*.\\[\\]^\\\\-]{0,30}") {
            let (ignore, diags) = parse(&text);
            for p in &ignore.patterns {
                for span in [p.span, p.text_span] {
                    prop_assert!(span.end as usize <= text.len());
                    prop_assert!(text.get(span.range()).is_some());
                }
            }
            for d in &diags {
                if let Some(span) = d.span {
                    prop_assert!(text.get(span.range()).is_some());
                }
            }
            let _ = ignore.match_path(&path);
        }

        #[test]
        fn simple_patterns_match_as_the_chunk_matcher_does(
            literal in "[ab/.\\]-]{0,5}",
            shape in 0..3_usize,
            any_pattern in "[ab/*?.\\[\\]\\\\^-]{0,8}",
            name in "[ab/.*\\]-]{0,8}",
            around in ("[ab/]{0,3}", "[ab/]{0,3}"),
        ) {
            let simple = match shape {
                0 => literal.clone(),
                1 => format!("*{literal}"),
                _ => format!("{literal}*"),
            };
            // A name holding the literal, so that matches are frequent.
            let near = format!("{}{literal}{}", around.0, around.1);
            prop_assert!(match_simple(simple.as_bytes(), name.as_bytes()).is_some());
            for pattern in [simple.as_str(), any_pattern.as_str()] {
                for name in [name.as_str(), near.as_str()] {
                    prop_assert_eq!(
                        go_match(pattern.as_bytes(), name.as_bytes()),
                        go_match_chunks(pattern.as_bytes(), name.as_bytes()),
                        "{} vs {}", pattern, name
                    );
                }
            }
        }

        #[test]
        fn go_clean_is_idempotent(path in "[a./]{0,16}") {
            let once = go_clean(&path);
            prop_assert_eq!(go_clean(&once), once);
        }

        #[test]
        fn glob_like_patterns_never_panic(lines in proptest::collection::vec("[a-c/!*?\\[\\]^\\\\{}.:-]{0,12}", 0..6), path in "[a-c/.*\\[\\]-]{0,16}") {
            let text = lines.join("\n");
            let (ignore, _) = parse(&text);
            let _ = ignore.is_excluded(&path);
            let _ = go_match(text.as_bytes(), path.as_bytes());
        }
    }
}
