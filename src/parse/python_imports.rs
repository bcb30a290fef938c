//! The modules a Python file imports, found by a small tokenizer (no Python parser).
//!
//! The tokenizer knows what hides code from view: comments, string literals of every form
//! (prefixes, single and triple quotes, escapes), brackets (inside which newlines do not end
//! a statement) and `\` line continuations. On its tokens, statements are recognised where a
//! statement can start (start of a line, after `;`, after a `:` outside brackets, so imports
//! inside `try:`, `if`, functions and classes count): `import a.b as c, d`,
//! `from x.y import z` (also parenthesised), relative `from . import x`, plus `__import__("x")`
//! and `importlib.import_module("x")` calls with a plain string literal.
//! One pass over the text, no recursion, no panics on any input.
//! Known limit: an f-string that nests the same quote inside its braces (Python 3.12) ends
//! early, as it would for Python before 3.12.

use std::ops::Range;

use crate::model::python::{Import, ImportKind};
use crate::source::{FileId, Span, Spanned};

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Name(Range<usize>),
    /// A string literal: the range of its content, and whether the content is the value
    /// as written (no escapes, not an f-string or bytes).
    Str {
        content: Range<usize>,
        plain: bool,
    },
    /// A punctuation byte and its offset.
    Op(u8, usize),
    /// The end of a logical line.
    Newline,
}

/// True if `token` is the punctuation `byte`.
fn is_op(token: Option<&Token>, byte: u8) -> bool {
    matches!(token, Some(Token::Op(b, _)) if *b == byte)
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_name_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// A string prefix Python accepts before a quote (`r`, `b`, `f`, `u`, `rb`, `Rf`, ...).
fn is_string_prefix(prefix: &str) -> bool {
    prefix.len() <= 2
        && prefix
            .chars()
            .all(|c| matches!(c.to_ascii_lowercase(), 'r' | 'b' | 'u' | 'f' | 't'))
}

fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    // Python code has about one token in six bytes: room for most files at once.
    let mut tokens = Vec::with_capacity(bytes.len() / 6);
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' => {
                i += bytes
                    .get(i..)
                    .and_then(|rest| memchr::memchr(b'\n', rest))
                    .unwrap_or(bytes.len() - i);
            }
            b'\n' => {
                if depth == 0 && tokens.last().is_some_and(|t| *t != Token::Newline) {
                    tokens.push(Token::Newline);
                }
                i += 1;
            }
            b'\\' => {
                // A line continuation (or a stray backslash): skip it and a following newline.
                i += 1;
                if bytes.get(i) == Some(&b'\r') {
                    i += 1;
                }
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\'' | b'"' => {
                let (token, end) = string_literal(bytes, i, "");
                tokens.push(token);
                i = end;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                tokens.push(Token::Op(b, i));
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                tokens.push(Token::Op(b, i));
                i += 1;
            }
            b if b.is_ascii_whitespace() => i += 1,
            b if b.is_ascii() && !(b.is_ascii_alphanumeric() || b == b'_') => {
                tokens.push(Token::Op(b, i));
                i += 1;
            }
            _ => {
                let rest = text.get(i..).unwrap_or("");
                let first = rest.chars().next().unwrap_or(' ');
                if !is_name_start(first) && !first.is_ascii_digit() {
                    // Some other character: skip it whole.
                    i += first.len_utf8().max(1);
                    continue;
                }
                // The ASCII part of the name byte by byte, then any other characters.
                let ascii = rest
                    .bytes()
                    .position(|c| !(c.is_ascii_alphanumeric() || c == b'_'))
                    .unwrap_or(rest.len());
                let len = match rest.as_bytes().get(ascii) {
                    Some(c) if !c.is_ascii() => {
                        ascii
                            + rest
                                .get(ascii..)
                                .unwrap_or("")
                                .chars()
                                .take_while(|&c| is_name_continue(c))
                                .map(char::len_utf8)
                                .sum::<usize>()
                    }
                    _ => ascii,
                }
                .max(1);
                let word = rest.get(..len).unwrap_or("");
                let end = i + len;
                if matches!(bytes.get(end), Some(b'\'' | b'"')) && is_string_prefix(word) {
                    let (token, after) = string_literal(bytes, end, word);
                    tokens.push(token);
                    i = after;
                } else {
                    if is_name_start(first) {
                        tokens.push(Token::Name(i..end));
                    }
                    i = end;
                }
            }
        }
    }
    tokens
}

/// Scans the string literal whose opening quote is at `start`; returns it and the offset
/// after it. An unterminated single-quoted string ends at the end of its line.
fn string_literal(bytes: &[u8], start: usize, prefix: &str) -> (Token, usize) {
    let quote = bytes.get(start).copied().unwrap_or(b'"');
    let triple = bytes.get(start + 1) == Some(&quote) && bytes.get(start + 2) == Some(&quote);
    let open_len = if triple { 3 } else { 1 };
    let content_start = start + open_len;
    let mut i = content_start;
    let mut has_escape = false;
    loop {
        // Jump to the next byte that can end the literal or escape a quote.
        let rest = bytes.get(i..).unwrap_or_default();
        let next = if triple {
            memchr::memchr2(quote, b'\\', rest)
        } else {
            memchr::memchr3(quote, b'\\', b'\n', rest)
        };
        i += next.unwrap_or(rest.len());
        match bytes.get(i) {
            None => {
                return (literal(prefix, content_start..i, has_escape), i);
            }
            Some(b'\\') => {
                has_escape = true;
                i += 2;
            }
            Some(b'\n') if !triple => {
                return (literal(prefix, content_start..i, has_escape), i);
            }
            Some(&c) if c == quote => {
                if !triple {
                    return (literal(prefix, content_start..i, has_escape), i + 1);
                }
                if bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote) {
                    return (literal(prefix, content_start..i, has_escape), i + 3);
                }
                i += 1;
            }
            Some(_) => i += 1,
        }
    }
}

fn literal(prefix: &str, content: Range<usize>, has_escape: bool) -> Token {
    let plain_prefix = prefix
        .chars()
        .all(|c| matches!(c.to_ascii_lowercase(), 'r' | 'u'));
    Token::Str {
        content,
        plain: plain_prefix && !has_escape,
    }
}

/// The imports of one Python file, in source order.
pub fn parse_imports(file: FileId, text: &str) -> Vec<Import> {
    let tokens = tokenize(text);
    let name = |token: Option<&Token>| -> Option<(Range<usize>, &str)> {
        match token {
            Some(Token::Name(range)) => Some((range.clone(), text.get(range.clone())?)),
            _ => None,
        }
    };
    let mut imports = Vec::new();
    let mut statement_start = true;
    let mut i = 0;
    while let Some(token) = tokens.get(i) {
        let keyword = name(Some(token)).map(|(_, word)| word);
        match keyword {
            Some("import") if statement_start => {
                i += 1;
                while let Some((path, after)) = dotted_name(&tokens, i, text) {
                    imports.push(make_import(file, text, 0, &path, ImportKind::Import, None));
                    i = after;
                    if name(tokens.get(i)).is_some_and(|(_, w)| w == "as") {
                        i += 2;
                    }
                    if is_op(tokens.get(i), b',') {
                        i += 1;
                    } else {
                        break;
                    }
                }
                statement_start = false;
                continue;
            }
            Some("from") if statement_start => {
                i += 1;
                let dots_start = match tokens.get(i) {
                    Some(Token::Op(b'.', at)) => Some(*at),
                    _ => None,
                };
                let mut dots = 0;
                while is_op(tokens.get(i), b'.') {
                    dots += 1;
                    i += 1;
                }
                let path = dotted_name(&tokens, i, text);
                if let Some((_, after)) = &path {
                    i = *after;
                }
                let imports_follow = name(tokens.get(i)).is_some_and(|(_, w)| w == "import");
                if imports_follow {
                    let dot_range = dots_start.map(|start| start..start + dots);
                    match (&path, dot_range) {
                        (Some((path, _)), dots) => imports.push(make_import(
                            file,
                            text,
                            dots.as_ref().map_or(0, |d| d.len()),
                            path,
                            ImportKind::From,
                            dots,
                        )),
                        (None, Some(dots)) => imports.push(Import {
                            module: Spanned::new(
                                ".".repeat(dots.len()),
                                Span::new(file, dots.clone()),
                            ),
                            full_path: ".".repeat(dots.len()),
                            relative: true,
                            kind: ImportKind::From,
                        }),
                        (None, None) => {}
                    }
                    i += 1;
                }
                statement_start = false;
                continue;
            }
            Some("__import__" | "import_module") => {
                let qualified_ok = keyword == Some("__import__")
                    || i == 0
                    || !is_op(tokens.get(i - 1), b'.')
                    || (i >= 2 && name(tokens.get(i - 2)).is_some_and(|(_, w)| w == "importlib"));
                if qualified_ok && is_op(tokens.get(i + 1), b'(') {
                    if let Some(Token::Str {
                        content,
                        plain: true,
                    }) = tokens.get(i + 2)
                    {
                        if let Some(import) = dynamic_import(file, text, content.clone()) {
                            imports.push(import);
                        }
                    }
                }
            }
            _ => {}
        }
        statement_start = matches!(token, Token::Newline | Token::Op(b';' | b':', _));
        i += 1;
    }
    imports
}

/// A dotted name `a.b.c` starting at token `i`: its name ranges and the token after it.
fn dotted_name(tokens: &[Token], mut i: usize, text: &str) -> Option<(Vec<Range<usize>>, usize)> {
    let mut parts = Vec::new();
    loop {
        match tokens.get(i) {
            // `import` is a keyword, never a module name (`from . import x`).
            Some(Token::Name(range))
                if text.get(range.clone()).is_some_and(|word| word != "import") =>
            {
                parts.push(range.clone());
                i += 1;
            }
            _ => break,
        }
        if is_op(tokens.get(i), b'.') && matches!(tokens.get(i + 1), Some(Token::Name(_))) {
            i += 1;
        } else {
            break;
        }
    }
    (!parts.is_empty()).then_some((parts, i))
}

fn make_import(
    file: FileId,
    text: &str,
    dots: usize,
    path: &[Range<usize>],
    kind: ImportKind,
    dot_range: Option<Range<usize>>,
) -> Import {
    let names: Vec<&str> = path
        .iter()
        .map(|range| text.get(range.clone()).unwrap_or(""))
        .collect();
    let prefix = ".".repeat(dots);
    let first = path.first().cloned().unwrap_or(0..0);
    let module_range = match &dot_range {
        Some(dots) => dots.start..first.end,
        None => first,
    };
    Import {
        module: Spanned::new(
            format!("{prefix}{}", names.first().copied().unwrap_or("")),
            Span::new(file, module_range),
        ),
        full_path: format!("{prefix}{}", names.join(".")),
        relative: dots > 0,
        kind,
    }
}

/// `__import__("a.b")` / `import_module("a.b")` with the literal's content at `content`.
fn dynamic_import(file: FileId, text: &str, content: Range<usize>) -> Option<Import> {
    let value = text.get(content.clone())?;
    let dots = value.len() - value.trim_start_matches('.').len();
    let path = value.get(dots..)?;
    let valid = path.is_empty() && dots > 0
        || path.split('.').all(|part| {
            part.chars().next().is_some_and(is_name_start) && part.chars().all(is_name_continue)
        });
    if !valid || value.is_empty() {
        return None;
    }
    let first_len = path.find('.').unwrap_or(path.len());
    Some(Import {
        module: Spanned::new(
            value.get(..dots + first_len)?.to_string(),
            Span::new(file, content.start..content.start + dots + first_len),
        ),
        full_path: value.to_string(),
        relative: dots > 0,
        kind: ImportKind::Dynamic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn imports(text: &str) -> Vec<(String, String, bool, &str)> {
        parse_imports(FileId(0), text)
            .into_iter()
            .map(|i| {
                let underlined = &text[i.module.span.range()];
                assert_eq!(underlined, i.module.value, "span underlines the module");
                (i.module.value, i.full_path, i.relative, underlined)
            })
            .collect()
    }

    fn modules(text: &str) -> Vec<String> {
        parse_imports(FileId(0), text)
            .into_iter()
            .map(|i| i.module.value)
            .collect()
    }

    #[test]
    fn import_statements() {
        let text = "import a, b.c as d\nimport os.path\n";
        let found = imports(text);
        assert_eq!(
            found,
            [
                ("a".into(), "a".into(), false, "a"),
                ("b".into(), "b.c".into(), false, "b"),
                ("os".into(), "os.path".into(), false, "os"),
            ]
        );
        let b = &parse_imports(FileId(0), text)[1];
        assert_eq!(&text[b.module.span.range()], "b");
        assert_eq!(b.module.span.start, 10);
    }

    #[test]
    fn from_imports_relative_and_parenthesised() {
        let text = "from x.y import z\nfrom . import sibling\nfrom ..pkg.sub import (\n    a,\n    b,\n)\nfrom .m import y\nimport after\n";
        let found = imports(text);
        assert_eq!(
            found,
            [
                ("x".into(), "x.y".into(), false, "x"),
                (".".into(), ".".into(), true, "."),
                ("..pkg".into(), "..pkg.sub".into(), true, "..pkg"),
                (".m".into(), ".m".into(), true, ".m"),
                ("after".into(), "after".into(), false, "after"),
            ]
        );
    }

    #[test]
    fn nested_imports_count() {
        let text = "try:\n    import ujson as json\nexcept ImportError:\n    import json\nif TYPE_CHECKING: import typing_extensions\ndef f():\n    from yaml import safe_load; import toml\nclass C:\n    import numpy\n";
        assert_eq!(
            modules(text),
            [
                "ujson",
                "json",
                "typing_extensions",
                "yaml",
                "toml",
                "numpy"
            ]
        );
    }

    #[test]
    fn comments_and_strings_hide_imports() {
        let text = "# import commented\nx = 'import quoted'\ns = \"\"\"\nimport in_docstring\nfrom also import hidden\n\"\"\"\nt = r'''import raw''' ; import real\nu = f\"{x} import no\"\ndef g():\n    '''doc\n    import nope'''\n    return 1\nimport last # import trailing\n";
        assert_eq!(modules(text), ["real", "last"]);
    }

    #[test]
    fn line_continuations() {
        let text = "import a, \\\n    b\nfrom c \\\n    import d\nx = 1 + \\\nimport_not\n";
        let found = imports(text);
        assert_eq!(
            found.iter().map(|f| f.3).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn dynamic_imports_with_literals() {
        let text = "m = __import__(\"pkg.mod\")\nimport importlib\nn = importlib.import_module('plugins.x')\no = importlib.import_module(name)\np = other.import_module('nope')\nq = __import__(f'{x}')\nr = import_module('.rel', 'pkg')\n";
        let found = imports(text);
        assert_eq!(
            found,
            [
                ("pkg".into(), "pkg.mod".into(), false, "pkg"),
                ("importlib".into(), "importlib".into(), false, "importlib"),
                ("plugins".into(), "plugins.x".into(), false, "plugins"),
                (".rel".into(), ".rel".into(), true, ".rel"),
            ]
        );
    }

    #[test]
    fn from_is_not_a_statement_inside_expressions() {
        let text =
            "def g():\n    yield from gen()\n    raise E from err\nx = [i for i in range(3)]\n";
        assert!(modules(text).is_empty());
    }

    #[test]
    fn unicode_and_crlf() {
        let text = "# héllo\r\nimport ünïcode_mod\r\nfrom données import x\r\n";
        assert_eq!(
            imports(text).iter().map(|f| f.3).collect::<Vec<_>>(),
            ["ünïcode_mod", "données"]
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_spans_stay_in_bounds(text in "\\PC*") {
            check(&text);
        }

        #[test]
        fn never_panics_on_python_like_text(
            text in "((import|from|as|\\.|,|\\(|\\)|\\\\|\n|#|'|\"|\"\"\"|__import__|importlib|import_module|[a-zé_]{1,4}|:|;| )){0,60}"
        ) {
            check(&text);
        }
    }

    fn check(text: &str) {
        for import in parse_imports(FileId(0), text) {
            let range = import.module.span.range();
            assert!(range.end <= text.len());
            assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
            if !import.relative {
                assert_eq!(&text[range], import.module.value);
            }
        }
    }
}
