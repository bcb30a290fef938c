//! The JSON (exec) form of instruction arguments, decoded as BuildKit's `parseJSON` does with
//! Go's `encoding/json`: the first JSON value of the text must be an array of strings; text
//! after it is ignored; a syntax error means "not JSON" (BuildKit then falls back to the shell
//! form), while a well-formed array holding anything but strings is an error.

use std::ops::Range;

/// Go's `encoding/json` refuses values nested deeper than this.
const MAX_DEPTH: usize = 10_000;

/// Why the text is not a JSON array of strings.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JsonArrayError {
    /// Not JSON at all (or not starting with `[`): BuildKit treats the text as shell form.
    NotJson,
    /// Valid JSON, but an element is not a string: BuildKit rejects the instruction.
    NotStringArray,
}

/// Decodes the JSON array at the start of `text` (after leading whitespace). Returns each
/// string with the range of its content (inside the quotes) in `text`.
pub(crate) fn parse_json_array(text: &str) -> Result<Vec<(String, Range<usize>)>, JsonArrayError> {
    let start = text.len() - text.trim_start().len();
    if !text[start..].starts_with('[') {
        return Err(JsonArrayError::NotJson);
    }
    let mut decoder = Decoder {
        bytes: text.as_bytes(),
        text,
        pos: start + 1,
    };
    let mut strings = Vec::new();
    let mut all_strings = true;
    decoder.skip_ws();
    if decoder.peek() == Some(b']') {
        return Ok(strings);
    }
    loop {
        decoder.skip_ws();
        if decoder.peek() == Some(b'"') {
            let (value, range) = decoder.string().ok_or(JsonArrayError::NotJson)?;
            strings.push((value, range));
        } else {
            decoder.value().ok_or(JsonArrayError::NotJson)?;
            all_strings = false;
        }
        decoder.skip_ws();
        match decoder.next() {
            Some(b',') => continue,
            Some(b']') => break,
            _ => return Err(JsonArrayError::NotJson),
        }
    }
    if all_strings {
        Ok(strings)
    } else {
        Err(JsonArrayError::NotStringArray)
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Decoder<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, literal: &[u8]) -> Option<()> {
        let end = self.pos + literal.len();
        if self.bytes.get(self.pos..end) == Some(literal) {
            self.pos = end;
            Some(())
        } else {
            None
        }
    }

    /// Skips one JSON value of any kind, iteratively (no recursion on nesting).
    fn value(&mut self) -> Option<()> {
        // Each open container: `true` for an object (expects `key: value`), `false` for an array.
        let mut open: Vec<bool> = Vec::new();
        loop {
            self.skip_ws();
            match self.peek()? {
                b'[' | b'{' => {
                    let is_object = self.next()? == b'{';
                    if open.len() + 2 > MAX_DEPTH {
                        return None;
                    }
                    self.skip_ws();
                    let close = if is_object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                    } else {
                        open.push(is_object);
                        if is_object {
                            self.object_key()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => self.expect_literal(b"true")?,
                b'f' => self.expect_literal(b"false")?,
                b'n' => self.expect_literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // A value is complete: close containers or move on to the next element.
            loop {
                let Some(&is_object) = open.last() else {
                    return Some(());
                };
                self.skip_ws();
                match self.next()? {
                    b',' => {
                        if is_object {
                            self.object_key()?;
                        }
                        break;
                    }
                    b'}' if is_object => {
                        open.pop();
                    }
                    b']' if !is_object => {
                        open.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    fn object_key(&mut self) -> Option<()> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return None;
        }
        self.string()?;
        self.skip_ws();
        (self.next()? == b':').then_some(())
    }

    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.one_or_more_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.one_or_more_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn one_or_more_digits(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    /// A string literal at `pos` (which holds `"`): its decoded value and content range.
    fn string(&mut self) -> Option<(String, Range<usize>)> {
        self.pos += 1;
        let content_start = self.pos;
        let mut value = String::new();
        loop {
            let rest = self.text.get(self.pos..)?;
            let plain = rest
                .find(|c: char| c == '"' || c == '\\' || c < ' ')
                .unwrap_or(rest.len());
            value.push_str(rest.get(..plain)?);
            self.pos += plain;
            match self.next()? {
                b'"' => return Some((value, content_start..self.pos - 1)),
                b'\\' => {}
                _ => return None,
            }
            let escaped = match self.next()? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => self.unicode_escape()?,
                _ => return None,
            };
            value.push(escaped);
        }
    }

    /// The character of a `\uXXXX` escape (after `\u`), combining surrogate pairs as Go does
    /// and replacing lone surrogates with U+FFFD.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first)
            && self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u")
        {
            let saved = self.pos;
            self.pos += 2;
            if let Some(second) = self.hex4() {
                if (0xDC00..0xE000).contains(&second) {
                    let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                    return Some(char::from_u32(combined).unwrap_or('\u{FFFD}'));
                }
            }
            self.pos = saved;
        }
        Some(char::from_u32(first).unwrap_or('\u{FFFD}'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(text: &str) -> Vec<String> {
        parse_json_array(text)
            .unwrap_or_default()
            .into_iter()
            .map(|(s, _)| s)
            .collect()
    }

    #[test]
    fn decodes_strings_with_content_ranges() {
        let text = r#" [ "echo" , "a\/b", "\u00e9" ] trailing"#;
        let parsed = parse_json_array(text).unwrap_or_default();
        assert_eq!(strings(text), ["echo", "a/b", "é"]);
        assert_eq!(&text[parsed[0].1.clone()], "echo");
        assert_eq!(&text[parsed[1].1.clone()], r"a\/b");
    }

    #[test]
    fn classifies_errors_like_go() {
        assert_eq!(parse_json_array("echo"), Err(JsonArrayError::NotJson));
        assert_eq!(
            parse_json_array(r#"["a","b",]"#),
            Err(JsonArrayError::NotJson)
        );
        assert_eq!(parse_json_array(r#"["a""#), Err(JsonArrayError::NotJson));
        assert_eq!(parse_json_array("['a']"), Err(JsonArrayError::NotJson));
        assert_eq!(
            parse_json_array(r#"[ "echo", [ "nested json" ] ]"#),
            Err(JsonArrayError::NotStringArray)
        );
        assert_eq!(
            parse_json_array(r#"["a", {"k": [1, -2.5e3, true, null]}]"#),
            Err(JsonArrayError::NotStringArray)
        );
        assert_eq!(parse_json_array("[01]"), Err(JsonArrayError::NotJson));
        assert_eq!(parse_json_array("[]"), Ok(Vec::new()));
    }

    #[test]
    fn surrogates_and_deep_nesting() {
        assert_eq!(strings(r#"["\ud83d\ude00", "\ud800"]"#), ["😀", "\u{FFFD}"]);
        let deep = format!("[{}{}]", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(parse_json_array(&deep), Err(JsonArrayError::NotJson));
        let ok_deep = format!("[{}{}]", "[".repeat(100), "]".repeat(100));
        assert_eq!(
            parse_json_array(&ok_deep),
            Err(JsonArrayError::NotStringArray)
        );
    }
}
