//! Source files and byte spans.
//!
//! Every file dockpolicy reads is loaded once into [`Sources`] and addressed by a [`FileId`].
//! Model values point back into these files with [`Span`]s (byte offsets, end exclusive).
//! Line and column numbers are computed from spans only when something is reported.
//! [`MappedText`] is a logical string assembled from pieces of one file (a Dockerfile
//! instruction with its line continuations removed, say) that maps every logical byte back
//! to its offset in the file, so that parsers of the logical text still produce file spans.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use serde::{Serialize, Serializer};

use crate::diag::Diagnostic;

/// Files larger than this are not read: a diagnostic says so and the rest is modelled.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How many leading bytes are searched for a NUL byte to recognise a binary file.
const BINARY_SNIFF_BYTES: usize = 8192;

/// The 64-bit FNV-1a hash of `text`: the same in every build and on every platform, so that
/// generated code can name the text it was generated from.
pub fn text_hash(text: &str) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut hasher, text.as_bytes());
    std::hash::Hasher::finish(&hasher)
}

/// Identifies one loaded file within [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FileId(pub u32);

/// A byte range `start..end` in one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// A span over `range` of `file`. Offsets beyond `u32::MAX` cannot occur because files
    /// are limited to [`MAX_FILE_BYTES`]; they saturate rather than wrap.
    pub fn new(file: FileId, range: Range<usize>) -> Span {
        let clamp = |offset: usize| u32::try_from(offset).unwrap_or(u32::MAX);
        Span {
            file,
            start: clamp(range.start),
            end: clamp(range.end.max(range.start)),
        }
    }

    /// An empty span at `offset`.
    pub fn point(file: FileId, offset: usize) -> Span {
        Span::new(file, offset..offset)
    }

    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both `self` and `other` (which must be in the same file).
    pub fn cover(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("Span", 3)?;
        state.serialize_field("file", &self.file)?;
        state.serialize_field("start", &self.start)?;
        state.serialize_field("end", &self.end)?;
        state.end()
    }
}

/// A value together with the span it was read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path the file was read from.
    pub path: PathBuf,
    /// The path relative to the scanned root, `/`-separated; this is what reports show.
    pub rel_path: String,
    /// The file's text. Invalid UTF-8 was replaced by U+FFFD when the file was loaded.
    pub text: String,
    /// Byte offset of the start of every line (the first is 0). A line ends at `\n`.
    line_starts: Vec<u32>,
}

impl SourceFile {
    pub fn new(path: PathBuf, rel_path: String, text: String) -> SourceFile {
        let mut line_starts = vec![0u32];
        line_starts.extend(
            memchr::memchr_iter(b'\n', text.as_bytes())
                .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX)),
        );
        SourceFile {
            path,
            rel_path,
            text,
            line_starts,
        }
    }

    /// Byte offsets of the start of every line.
    pub fn line_starts(&self) -> &[u32] {
        &self.line_starts
    }

    /// The 0-based line index containing `offset`.
    pub fn line_index(&self, offset: usize) -> usize {
        let offset = u32::try_from(offset).unwrap_or(u32::MAX);
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next.saturating_sub(1),
        }
    }

    /// 1-based line and 1-based column (counted in Unicode scalar values) of `offset`.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let line = self.line_index(offset);
        let start = self.line_starts.get(line).copied().unwrap_or(0) as usize;
        let offset = offset.min(self.text.len());
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (line + 1, column + 1)
    }

    /// The text covered by `span`, or `""` if it does not lie on char boundaries.
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }
}

/// All files loaded during one run.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
    by_path: HashMap<PathBuf, FileId>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Adds a file whose text is already in memory (tests, embedded rule packs).
    pub fn add(&mut self, path: PathBuf, rel_path: String, text: String) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.by_path.entry(path.clone()).or_insert(id);
        self.files.push(SourceFile::new(path, rel_path, text));
        id
    }

    /// Reads `path` from disk. Files over [`MAX_FILE_BYTES`], binary files and unreadable
    /// files are refused with a diagnostic. Invalid UTF-8 is replaced by U+FFFD and the file
    /// is kept, with a warning.
    pub fn load(
        &mut self,
        path: &Path,
        rel_path: &str,
    ) -> Result<(FileId, Option<Diagnostic>), Diagnostic> {
        let text = read_text(path, rel_path)?;
        let (text, warning) = match text {
            Ok(text) => (text, None),
            Err(bytes) => (
                String::from_utf8_lossy(&bytes).into_owned(),
                Some(Diagnostic::warning(format!(
                    "{rel_path}: the file is not valid UTF-8; invalid bytes were replaced by U+FFFD"
                ))),
            ),
        };
        let id = self.add(path.to_path_buf(), rel_path.to_string(), text);
        let warning = warning.map(|w| w.with_span(Span::point(id, 0)));
        Ok((id, warning))
    }

    /// Finds an already loaded file by the path it was read from.
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.by_path.get(path).copied()
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The text of file `id`, or `""` for an unknown id.
    pub fn text(&self, id: FileId) -> &str {
        self.get(id).map_or("", |f| f.text.as_str())
    }

    /// The text covered by `span`.
    pub fn slice(&self, span: Span) -> &str {
        self.get(span.file).map_or("", |f| f.slice(span))
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Removes `.` and resolves `..` lexically (a leading `..` of a relative path is kept).
pub fn normalize_path(path: &Path) -> PathBuf {
    let mut parts: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => parts.push(component),
            },
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return PathBuf::from(".");
    }
    parts.iter().collect()
}

/// Reads a file as UTF-8 text; `Ok(Err(bytes))` when it is not valid UTF-8.
fn read_text(path: &Path, rel_path: &str) -> Result<Result<String, Vec<u8>>, Diagnostic> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| Diagnostic::error(format!("{rel_path}: cannot read the file: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Diagnostic::error(format!("{rel_path}: cannot read the file: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Diagnostic::error(format!(
            "{rel_path}: the file is larger than {} MiB and was not read",
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    let sniff = &bytes[..bytes.len().min(BINARY_SNIFF_BYTES)];
    if sniff.contains(&0) {
        return Err(Diagnostic::error(format!(
            "{rel_path}: the file is binary (it contains NUL bytes) and was not read"
        )));
    }
    Ok(String::from_utf8(bytes).map_err(|e| e.into_bytes()))
}

/// Serialised as its text and the span of the whole text.
impl Serialize for MappedText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("MappedText", 2)?;
        state.serialize_field("text", &self.text)?;
        state.serialize_field("span", &self.full_span())?;
        state.end()
    }
}

/// A logical string made of pieces of one file, each logical byte mapped to its file offset.
///
/// Parsers build one when the text they analyse is not contiguous in the file: a Dockerfile
/// instruction whose line continuations and comment lines are dropped, a requirements line
/// joined from continued lines. [`MappedText::span`] turns a logical range back into a file span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedText {
    pub file: FileId,
    pub text: String,
    map: TextMap,
}

impl MappedText {
    pub fn new(file: FileId) -> MappedText {
        MappedText {
            file,
            text: String::new(),
            map: TextMap::new(file),
        }
    }

    /// A mapped text covering one contiguous slice of the file.
    pub fn contiguous(file: FileId, text: &str, file_offset: usize) -> MappedText {
        let mut mapped = MappedText::new(file);
        mapped.push(text, file_offset);
        mapped
    }

    /// Appends `piece`, which is the file's text at `file_offset..file_offset + piece.len()`.
    pub fn push(&mut self, piece: &str, file_offset: usize) {
        self.map.push(file_offset, piece.len());
        self.text.push_str(piece);
    }

    /// The file offset of logical byte `logical`. The offset one past the end maps to one past
    /// the last byte's file offset.
    pub fn file_offset(&self, logical: usize) -> usize {
        self.map.file_offset(logical)
    }

    /// The file span of the logical range. A range that crosses a gap (a removed line
    /// continuation) covers the gap too, so the span underlines what the user wrote.
    pub fn span(&self, range: Range<usize>) -> Span {
        self.map.span(range)
    }

    /// The file span of the whole text.
    pub fn full_span(&self) -> Span {
        self.span(0..self.text.len())
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The sub-text `range` (on char boundaries) as a mapped text of its own.
    pub fn slice(&self, range: Range<usize>) -> MappedText {
        match self.text.get(range.clone()) {
            Some(text) => MappedText {
                file: self.file,
                text: text.to_string(),
                map: self.map.slice(range),
            },
            None => MappedText::new(self.file),
        }
    }
}

/// Maps the bytes of a derived string (a line with its continuations removed, an unquoted
/// word) to file offsets: a list of runs, each mapping consecutive logical bytes to
/// consecutive file bytes. [`MappedText`] is this map together with the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextMap {
    pub file: FileId,
    /// `(logical offset, file offset)` where each run starts, in increasing logical order.
    runs: Vec<(u32, u32)>,
    len: u32,
}

impl TextMap {
    pub fn new(file: FileId) -> TextMap {
        TextMap {
            file,
            runs: Vec::new(),
            len: 0,
        }
    }

    /// Appends `len` logical bytes that are the file's bytes `file_offset..file_offset + len`.
    pub fn push(&mut self, file_offset: usize, len: usize) {
        if len == 0 {
            return;
        }
        let file_offset = clamp_u32(file_offset);
        let continues_last = self.runs.last().is_some_and(|&(l, f)| {
            u64::from(f) + u64::from(self.len - l) == u64::from(file_offset)
        });
        if !continues_last {
            self.runs.push((self.len, file_offset));
        }
        self.len = self.len.saturating_add(clamp_u32(len));
    }

    /// The number of logical bytes mapped.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file offset of logical byte `logical` (one past the end maps one past the last byte).
    pub fn file_offset(&self, logical: usize) -> usize {
        let logical_u32 = clamp_u32(logical);
        let index = match self.runs.binary_search_by_key(&logical_u32, |&(l, _)| l) {
            Ok(i) => i,
            Err(0) => return self.runs.first().map_or(0, |&(_, f)| f as usize),
            Err(next) => next - 1,
        };
        match self.runs.get(index) {
            Some(&(l, f)) => f as usize + logical.saturating_sub(l as usize),
            None => 0,
        }
    }

    /// The file span of the logical `range`; it covers any gap between its ends.
    pub fn span(&self, range: Range<usize>) -> Span {
        let end = range.end.min(self.len as usize);
        if end <= range.start {
            return Span::point(self.file, self.file_offset(range.start.min(self.len())));
        }
        let start = self.file_offset(range.start);
        let last = self.file_offset(end - 1) + 1;
        Span::new(self.file, start..last.max(start))
    }

    /// The logical sub-range `range` as a map of its own.
    pub fn slice(&self, range: Range<usize>) -> TextMap {
        let mut sliced = TextMap::new(self.file);
        let end = range.end.min(self.len());
        for (i, &(logical, file)) in self.runs.iter().enumerate() {
            let run_end = self
                .runs
                .get(i + 1)
                .map_or(self.len(), |&(l, _)| l as usize);
            let (lo, hi) = (range.start.max(logical as usize), end.min(run_end));
            if lo < hi {
                sliced.push(file as usize + (lo - logical as usize), hi - lo);
            }
        }
        sliced
    }

    /// Calls `f(file_offset, len)` for every run, in order.
    pub fn for_each_run(&self, mut f: impl FnMut(usize, usize)) {
        for (i, &(logical, file)) in self.runs.iter().enumerate() {
            let run_end = self
                .runs
                .get(i + 1)
                .map_or(self.len(), |&(l, _)| l as usize);
            f(file as usize, run_end.saturating_sub(logical as usize));
        }
    }
}

fn clamp_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_hash_is_fnv_1a() {
        // The reference values of 64-bit FNV-1a.
        assert_eq!(text_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(text_hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(text_hash("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn line_column_counts_chars() {
        let file = SourceFile::new(PathBuf::new(), "f".into(), "ab\nçd e\n".into());
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.line_column(3), (2, 1));
        // 'd' comes after the two-byte 'ç'.
        assert_eq!(file.line_column(5), (2, 2));
        assert_eq!(file.line_column(9), (3, 1));
    }

    #[test]
    fn lines_start_after_each_newline_only() {
        let text = "a\nbc\r\n\nd\re";
        let file = SourceFile::new(PathBuf::new(), "f".into(), text.into());
        assert_eq!(file.line_starts(), [0, 2, 6, 7]);
        let lines: Vec<&str> = file
            .line_starts()
            .iter()
            .map(|&start| text[start as usize..].split('\n').next().unwrap_or(""))
            .collect();
        assert_eq!(lines, ["a", "bc\r", "", "d\re"]);
        assert_eq!(file.line_column(text.len()), (4, 4));
        let empty = SourceFile::new(PathBuf::new(), "f".into(), String::new());
        assert_eq!(empty.line_starts(), [0]);
    }

    #[test]
    fn mapped_text_maps_across_gaps() {
        // "RUN a \\\n  b" with the continuation removed: logical "a   b".
        let source = "RUN a \\\n  b";
        let mut mapped = MappedText::new(FileId(0));
        mapped.push(&source[4..6], 4);
        mapped.push(&source[8..11], 8);
        assert_eq!(mapped.text, "a   b");
        let b = mapped.span(4..5);
        assert_eq!(&source[b.range()], "b");
        let all = mapped.full_span();
        assert_eq!(&source[all.range()], "a \\\n  b");
        let tail = mapped.slice(2..5);
        assert_eq!(tail.text, "  b");
        assert_eq!(&source[tail.full_span().range()], "  b");
    }

    #[test]
    fn adjacent_pieces_merge() {
        let mut mapped = MappedText::new(FileId(0));
        mapped.push("ab", 10);
        mapped.push("cd", 12);
        assert_eq!(mapped.map.runs.len(), 1);
        assert_eq!(mapped.file_offset(3), 13);
    }

    #[test]
    fn text_map_merges_and_spans_gaps() {
        let mut map = TextMap::new(FileId(0));
        map.push(10, 2);
        map.push(12, 3);
        map.push(20, 2);
        assert_eq!(map.runs.len(), 2);
        assert_eq!(map.file_offset(4), 14);
        assert_eq!(map.file_offset(5), 20);
        assert_eq!(map.span(3..6).range(), 13..21);
        assert_eq!(map.span(7..9).range(), 22..22);
        let tail = map.slice(4..7);
        assert_eq!(tail.len(), 3);
        assert_eq!(tail.span(0..3).range(), 14..22);
        let mut runs = Vec::new();
        tail.for_each_run(|f, l| runs.push((f, l)));
        assert_eq!(runs, vec![(14, 1), (20, 2)]);
    }
}
