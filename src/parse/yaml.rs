//! A small YAML tree in which every node carries its byte span, built on `saphyr-parser`.
//!
//! The tree is built from the parser's event stream with an explicit stack (no recursion),
//! so that deeply nested input cannot overflow the stack; nesting deeper than
//! [`MAX_DEPTH`] is refused. saphyr's markers count characters; they are turned into byte
//! offsets of the text here. Aliases are resolved by copying the anchored subtree (whose
//! nodes keep the spans of the anchor's definition), within a budget of [`ALIAS_NODE_BUDGET`]
//! copied nodes per document, which defuses "billion laughs" files. Merge keys (`<<`) are
//! applied when their mapping ends: explicitly written keys win over merged ones, and earlier
//! merged mappings win over later ones. A syntax error ends the parse with a diagnostic, and
//! the partial tree read so far is still returned.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Tag};

use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

/// Collections nested deeper than this are refused with a diagnostic.
pub const MAX_DEPTH: usize = 256;

/// How many nodes alias resolution may copy in one document before aliases are refused.
pub const ALIAS_NODE_BUDGET: usize = 100_000;

/// How many nodes may be kept as copies of anchored nodes in one document; larger anchors
/// cannot be aliased. This bounds memory for files full of nested anchors.
pub const ANCHOR_NODE_BUDGET: usize = 1_000_000;

/// One YAML node and the span of the text it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct YamlNode {
    pub value: YamlValue,
    pub span: Span,
    /// A local tag such as `!reset` or `!override` (core-schema tags are not kept).
    pub tag: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum YamlValue {
    /// An explicit or implicit null (`~`, `null`, or nothing at all).
    Null,
    Scalar(YamlScalar),
    Sequence(Vec<YamlNode>),
    Mapping(Vec<YamlEntry>),
}

/// A scalar's text after YAML unquoting and folding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlScalar {
    pub text: String,
    /// Whether the scalar was written plain (unquoted, not a block scalar); only plain
    /// scalars can be numbers, booleans or nulls.
    pub plain: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct YamlEntry {
    pub key: YamlNode,
    pub value: YamlNode,
}

impl YamlNode {
    fn new(value: YamlValue, span: Span) -> YamlNode {
        YamlNode {
            value,
            span,
            tag: None,
        }
    }

    /// The scalar's text, if the node is a scalar.
    pub fn as_scalar(&self) -> Option<&YamlScalar> {
        match &self.value {
            YamlValue::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&[YamlEntry]> {
        match &self.value {
            YamlValue::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_sequence(&self) -> Option<&[YamlNode]> {
        match &self.value {
            YamlValue::Sequence(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, YamlValue::Null)
    }

    /// The value of the entry whose key is the scalar `key`, in a mapping node.
    pub fn get(&self, key: &str) -> Option<&YamlEntry> {
        self.as_mapping()?
            .iter()
            .find(|entry| entry.key.as_scalar().is_some_and(|s| s.text == key))
    }

    /// A short name of the node's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            YamlValue::Null => "null",
            YamlValue::Scalar(scalar) if scalar.plain && scalar.as_bool().is_some() => "a boolean",
            YamlValue::Scalar(scalar) if scalar.plain && scalar.as_integer().is_some() => {
                "a number"
            }
            YamlValue::Scalar(_) => "a string",
            YamlValue::Sequence(_) => "a sequence",
            YamlValue::Mapping(_) => "a mapping",
        }
    }

    /// How many nodes the subtree holds (bounded by the tree's own size).
    fn node_count(&self) -> usize {
        let mut count = 0;
        let mut pending = vec![self];
        while let Some(node) = pending.pop() {
            count += 1;
            match &node.value {
                YamlValue::Sequence(items) => pending.extend(items),
                YamlValue::Mapping(entries) => {
                    pending.extend(entries.iter().flat_map(|e| [&e.key, &e.value]));
                }
                YamlValue::Null | YamlValue::Scalar(_) => {}
            }
        }
        count
    }
}

impl YamlScalar {
    /// The YAML 1.2 core-schema boolean a plain scalar denotes.
    pub fn as_bool(&self) -> Option<bool> {
        match self.text.as_str() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// The YAML 1.2 core-schema integer a scalar's text denotes (decimal, `0x`, `0o`).
    pub fn as_integer(&self) -> Option<i64> {
        let text = self.text.as_str();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
            i64::from_str_radix(hex, 16).ok()?
        } else if let Some(octal) = digits.strip_prefix("0o") {
            i64::from_str_radix(octal, 8).ok()?
        } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse::<i64>().ok()?
        } else {
            return None;
        };
        Some(if negative { -magnitude } else { magnitude })
    }
}

/// Maps saphyr's character indices to byte offsets of the text.
struct CharOffsets {
    /// Byte offset of every char index, plus the text length; empty for ASCII text.
    offsets: Vec<u32>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> CharOffsets {
        let offsets = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect()
        };
        CharOffsets {
            offsets,
            len: text.len(),
        }
    }

    fn byte(&self, marker: &Marker) -> usize {
        let index = marker.index();
        if self.offsets.is_empty() {
            return index.min(self.len);
        }
        self.offsets
            .get(index)
            .map_or(self.len, |&offset| offset as usize)
    }
}

/// A collection being built, with what is needed to finish it.
struct OpenCollection {
    start: usize,
    anchor: usize,
    tag: Option<String>,
    kind: OpenKind,
}

enum OpenKind {
    Sequence(Vec<YamlNode>),
    Mapping {
        entries: Vec<YamlEntry>,
        pending_key: Option<YamlNode>,
    },
}

struct TreeBuilder<'a> {
    file: FileId,
    text: &'a str,
    chars: CharOffsets,
    stack: Vec<OpenCollection>,
    anchors: HashMap<usize, (YamlNode, usize)>,
    alias_budget: usize,
    anchor_budget: usize,
    refused_anchors: HashSet<usize>,
    documents: Vec<YamlNode>,
    diagnostics: Vec<Diagnostic>,
}

/// Parses `text` as YAML and returns its first document (`None` for an empty stream).
///
/// Problems are reported as diagnostics: syntax errors (the partial document read up to the
/// error is returned), duplicate keys (the later value is kept), refused aliases, bad merge
/// keys and extra documents (ignored).
pub fn parse_yaml(file: FileId, text: &str) -> (Option<YamlNode>, Vec<Diagnostic>) {
    let mut builder = TreeBuilder {
        file,
        text,
        chars: CharOffsets::new(text),
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_budget: ALIAS_NODE_BUDGET,
        anchor_budget: ANCHOR_NODE_BUDGET,
        refused_anchors: HashSet::new(),
        documents: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_event() {
            None | Some(Ok((Event::StreamEnd, _))) => break,
            Some(Ok((event, span))) => {
                let start = builder.chars.byte(&span.start);
                let end = builder.chars.byte(&span.end).max(start);
                if !builder.on_event(event, start, end) {
                    break;
                }
            }
            Some(Err(error)) => {
                builder.syntax_error(&error);
                break;
            }
        }
    }
    builder.finish()
}

impl TreeBuilder<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start..end)
    }

    /// Handles one event; `false` stops the parse.
    fn on_event(&mut self, event: Event<'_>, start: usize, end: usize) -> bool {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let local_tag = local_tag(tag.as_deref());
                let forced_string = tag.as_deref().is_some_and(|t| t.suffix == "str");
                let plain = style == ScalarStyle::Plain && !forced_string;
                let is_null = (plain
                    && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL"))
                    || tag.as_deref().is_some_and(|t| t.suffix == "null");
                let value = if is_null {
                    YamlValue::Null
                } else {
                    YamlValue::Scalar(YamlScalar {
                        text: text.into_owned(),
                        plain,
                    })
                };
                let mut node = YamlNode::new(value, self.span(start, end));
                node.tag = local_tag;
                self.add_anchor(anchor, &node);
                self.push_node(node);
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                if self.stack.len() >= MAX_DEPTH {
                    self.diagnostics.push(
                        Diagnostic::error(format!(
                            "YAML nesting is deeper than {MAX_DEPTH} levels; the rest of the file is not read"
                        ))
                        .with_span(self.span(start, start)),
                    );
                    return false;
                }
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    OpenKind::Sequence(Vec::new())
                } else {
                    OpenKind::Mapping {
                        entries: Vec::new(),
                        pending_key: None,
                    }
                };
                self.stack.push(OpenCollection {
                    start,
                    anchor,
                    tag: local_tag(tag.as_deref()),
                    kind,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.stack.pop() {
                    // Flow collections end after their `]`/`}`; block ones where the next
                    // token starts (trailing white space is trimmed).
                    let node = self.close(open, end);
                    self.push_node(node);
                }
            }
            Event::Alias(id) => {
                let span = self.span(start, end);
                let node = self.resolve_alias(id, span);
                self.push_node(node);
            }
            Event::DocumentEnd => {
                while let Some(open) = self.stack.pop() {
                    let node = self.close(open, start);
                    self.push_node(node);
                }
                self.anchors.clear();
                self.alias_budget = ALIAS_NODE_BUDGET;
                self.anchor_budget = ANCHOR_NODE_BUDGET;
                self.refused_anchors.clear();
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::Nothing => {}
        }
        true
    }

    fn add_anchor(&mut self, anchor: usize, node: &YamlNode) {
        if anchor != 0 {
            let size = node.node_count();
            if size > self.anchor_budget {
                self.refused_anchors.insert(anchor);
                return;
            }
            self.anchor_budget -= size;
            self.anchors.insert(anchor, (node.clone(), size));
        }
    }

    fn resolve_alias(&mut self, id: usize, span: Span) -> YamlNode {
        let Some((node, size)) = self.anchors.get(&id) else {
            let message = if self.refused_anchors.contains(&id) {
                format!("the anchors of this document hold more than {ANCHOR_NODE_BUDGET} nodes; this alias is read as null")
            } else {
                "this alias refers to no anchor".to_string()
            };
            self.diagnostics
                .push(Diagnostic::error(message).with_span(span));
            return YamlNode::new(YamlValue::Null, span);
        };
        if *size > self.alias_budget {
            self.alias_budget = 0;
            self.diagnostics.push(
                Diagnostic::error(format!(
                    "aliases in this document expand to more than {ALIAS_NODE_BUDGET} nodes; this alias is read as null"
                ))
                .with_span(span)
                .with_help("nested aliases can expand exponentially (a \"billion laughs\" file)"),
            );
            return YamlNode::new(YamlValue::Null, span);
        }
        self.alias_budget -= size;
        node.clone()
    }

    /// Adds a finished node to the collection being built, or makes it a document.
    fn push_node(&mut self, node: YamlNode) {
        let Some(open) = self.stack.last_mut() else {
            self.documents.push(node);
            return;
        };
        match &mut open.kind {
            OpenKind::Sequence(items) => items.push(node),
            OpenKind::Mapping {
                entries,
                pending_key,
            } => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push(YamlEntry { key, value: node }),
            },
        }
    }

    /// Finishes a collection that ends at byte `end` (trailing white space excluded).
    fn close(&mut self, open: OpenCollection, end: usize) -> YamlNode {
        let end = self.trim_end(open.start, end);
        let span = self.span(open.start, end);
        let value = match open.kind {
            OpenKind::Sequence(items) => YamlValue::Sequence(items),
            OpenKind::Mapping { entries, .. } => YamlValue::Mapping(self.finish_mapping(entries)),
        };
        let mut node = YamlNode::new(value, span);
        node.tag = open.tag;
        self.add_anchor(open.anchor, &node);
        node
    }

    fn trim_end(&self, start: usize, end: usize) -> usize {
        let trimmed = self
            .text
            .get(start..end)
            .map_or(0, |slice| slice.trim_end().len());
        start + trimmed
    }

    /// Reports duplicate keys (keeping the later value) and applies merge keys.
    fn finish_mapping(&mut self, entries: Vec<YamlEntry>) -> Vec<YamlEntry> {
        let mut merged_sources = Vec::new();
        let mut explicit: Vec<YamlEntry> = Vec::with_capacity(entries.len());
        let mut positions: HashMap<String, usize> = HashMap::new();
        for entry in entries {
            let key_text = entry
                .key
                .as_scalar()
                .map(|s| (s.text.clone(), s.plain && s.text == "<<"));
            match key_text {
                Some((_, true)) => merged_sources.push(entry.value),
                Some((text, false)) => match positions.get(&text) {
                    Some(&index) => {
                        self.diagnostics.push(
                            Diagnostic::error(format!(
                                "duplicate key `{text}` in this mapping; the later value is used"
                            ))
                            .with_span(entry.key.span),
                        );
                        if let Some(slot) = explicit.get_mut(index) {
                            *slot = entry;
                        }
                    }
                    None => {
                        positions.insert(text, explicit.len());
                        explicit.push(entry);
                    }
                },
                None => explicit.push(entry),
            }
        }
        let mut seen: HashSet<String> = positions.into_keys().collect();
        for source in merged_sources {
            let span = source.span;
            let mappings = match source.value {
                YamlValue::Mapping(entries) => vec![entries],
                YamlValue::Sequence(items) => {
                    let mut mappings = Vec::with_capacity(items.len());
                    for item in items {
                        match item.value {
                            YamlValue::Mapping(entries) => mappings.push(entries),
                            _ => self.bad_merge(item.span),
                        }
                    }
                    mappings
                }
                YamlValue::Null => Vec::new(),
                YamlValue::Scalar(_) => {
                    self.bad_merge(span);
                    Vec::new()
                }
            };
            for entry in mappings.into_iter().flatten() {
                let key = entry.key.as_scalar().map(|s| s.text.clone());
                if let Some(key) = key {
                    if seen.insert(key) {
                        explicit.push(entry);
                    }
                }
            }
        }
        explicit
    }

    fn bad_merge(&mut self, span: Span) {
        self.diagnostics.push(
            Diagnostic::error("a merge key `<<` takes a mapping or a sequence of mappings")
                .with_span(span),
        );
    }

    fn syntax_error(&mut self, error: &ScanError) {
        let start = self.chars.byte(error.marker());
        let end = self
            .text
            .get(start..)
            .and_then(|rest| rest.chars().next())
            .map_or(start, |c| start + c.len_utf8());
        self.diagnostics.push(
            Diagnostic::error(format!("invalid YAML: {}", error.info()))
                .with_span(self.span(start, end)),
        );
    }

    fn finish(mut self) -> (Option<YamlNode>, Vec<Diagnostic>) {
        // After an error or a refused nesting, close what is open so the partial tree is kept.
        let end = self.text.len();
        while let Some(open) = self.stack.pop() {
            let node = self.close(open, end);
            self.push_node(node);
        }
        let mut documents = self.documents.into_iter();
        let first = documents.next();
        if let Some(extra) = documents.find(|doc| !doc.is_null()) {
            self.diagnostics.push(
                Diagnostic::warning("only the first YAML document is read; later ones are ignored")
                    .with_span(extra.span),
            );
        }
        (first, self.diagnostics)
    }
}

/// The text of a local (non core-schema) tag such as `!reset`.
fn local_tag(tag: Option<&Tag>) -> Option<String> {
    tag.filter(|t| !t.is_yaml_core_schema())
        .map(|t| format!("{}{}", t.handle, t.suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (YamlNode, Vec<Diagnostic>) {
        let (node, diags) = parse_yaml(FileId(0), text);
        (node.expect("a document"), diags)
    }

    fn underlined(text: &str, span: Span) -> &str {
        &text[span.range()]
    }

    #[test]
    fn scalar_spans_are_byte_offsets_after_multibyte_chars() {
        let text = "# çà\nname: \"héllo wörld\"\nnext: ünï\n";
        let (root, diags) = parse(text);
        assert!(diags.is_empty(), "{diags:?}");
        let name = root.get("name").expect("name");
        assert_eq!(underlined(text, name.key.span), "name");
        assert_eq!(underlined(text, name.value.span), "\"héllo wörld\"");
        let next = root.get("next").expect("next");
        assert_eq!(underlined(text, next.value.span), "ünï");
        assert_eq!(next.value.as_scalar().map(|s| s.text.as_str()), Some("ünï"));
    }

    #[test]
    fn nulls_and_plain_flags() {
        let text = "a:\nb: ~\nc: 'null'\nd: 42\n";
        let (root, _) = parse(text);
        assert!(root.get("a").expect("a").value.is_null());
        assert!(root.get("b").expect("b").value.is_null());
        let c = root.get("c").expect("c").value.as_scalar().expect("c");
        assert!(!c.plain);
        let d = root.get("d").expect("d");
        assert_eq!(d.value.kind_name(), "a number");
    }

    #[test]
    fn merge_keys_keep_explicit_values_first() {
        let text = "base: &b\n  x: 1\n  y: 2\nuse:\n  <<: *b\n  y: 3\n";
        let (root, diags) = parse(text);
        assert!(diags.is_empty(), "{diags:?}");
        let used = &root.get("use").expect("use").value;
        let y = used.get("y").expect("y");
        assert_eq!(underlined(text, y.value.span), "3");
        let x = used.get("x").expect("x");
        // The merged value points at the anchor's definition.
        assert_eq!(underlined(text, x.value.span), "1");
        assert_eq!(x.value.span.start, 14);
    }

    #[test]
    fn merge_key_sequence_earlier_wins() {
        let text = "a: &a {k: 1}\nb: &b {k: 2, m: 3}\nc:\n  <<: [*a, *b]\n";
        let (root, _) = parse(text);
        let c = &root.get("c").expect("c").value;
        let k = c.get("k").expect("k");
        assert_eq!(k.value.as_scalar().map(|s| s.text.as_str()), Some("1"));
        assert!(c.get("m").is_some());
    }

    #[test]
    fn duplicate_keys_are_reported_at_the_second_key() {
        let text = "a: 1\na: 2\n";
        let (root, diags) = parse(text);
        assert_eq!(diags.len(), 1);
        let span = diags[0].span.expect("span");
        assert_eq!(span.start, 5);
        assert_eq!(underlined(text, span), "a");
        let a = root.get("a").expect("a");
        assert_eq!(underlined(text, a.value.span), "2");
    }

    #[test]
    fn syntax_error_keeps_the_partial_tree() {
        let text = "services:\n  web:\n    image: nginx\n  bad: [unclosed\n";
        let (root, diags) = parse(text);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].is_error());
        let services = &root.get("services").expect("services").value;
        let web = &services.get("web").expect("web").value;
        let image = web.get("image").expect("image");
        assert_eq!(underlined(text, image.value.span), "nginx");
    }

    #[test]
    fn billion_laughs_is_bounded() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let prev = level - 1;
            let refs = vec![format!("*l{prev}"); 10].join(", ");
            if level == 1 {
                text.push_str(&format!("l0: &l0 [{}]\n", ["*a"; 10].join(", ")));
            }
            text.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
        }
        let started = std::time::Instant::now();
        let (_, diags) = parse_yaml(FileId(0), &text);
        assert!(started.elapsed().as_secs() < 5);
        assert!(diags.iter().any(|d| d.message.contains("expand")));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(200) + &"- ".repeat(10);
        let (_, diags) = parse_yaml(FileId(0), &text);
        assert!(diags.iter().any(Diagnostic::is_error));
        let block = "- ".repeat(1000) + "x\n";
        let (_, diags) = parse_yaml(FileId(0), &block);
        assert!(diags.iter().any(|d| d.message.contains("nesting")));
    }

    #[test]
    fn collection_spans_cover_their_text() {
        let text = "a: [x, y]\nb: {k: v}\nc:\n  - 1\n  - 2\n\nd: 1\n";
        let (root, _) = parse(text);
        let span = |key: &str| underlined(text, root.get(key).expect(key).value.span);
        assert_eq!(span("a"), "[x, y]");
        assert_eq!(span("b"), "{k: v}");
        assert_eq!(span("c"), "- 1\n  - 2");
    }

    #[test]
    fn bom_and_crlf_keep_byte_offsets() {
        let text = "\u{feff}a: \"é\"\r\nb: x\r\n";
        let (root, diags) = parse(text);
        assert!(diags.is_empty(), "{diags:?}");
        let a = root.get("a").expect("a");
        assert_eq!(underlined(text, a.key.span), "a");
        assert_eq!(underlined(text, a.value.span), "\"é\"");
        assert_eq!(underlined(text, root.get("b").expect("b").value.span), "x");
    }

    #[test]
    fn local_tags_are_kept() {
        let text = "a: !reset null\nb: !override {c: 1}\n";
        let (root, _) = parse(text);
        assert_eq!(
            root.get("a").expect("a").value.tag.as_deref(),
            Some("!reset")
        );
        assert_eq!(
            root.get("b").expect("b").value.tag.as_deref(),
            Some("!override")
        );
    }
}
