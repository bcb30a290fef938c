//! `dockpolicy dump`: the repository model as JSON for rule authors (like `conftest parse`).
//!
//! The model is serialised with serde, then every span object (`{file, start, end}`) is
//! replaced by its resolved location: the file's path relative to the scanned root, 1-based
//! start line and column, end line and column (the end column is that of the character after
//! the span, as in SARIF; columns count Unicode scalar values) and the covered text.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::source::{FileId, Sources};

/// Serialises `model` with every span resolved against `sources`.
pub fn to_json<T: Serialize>(model: &T, sources: &Sources) -> serde_json::Result<Value> {
    let mut value = serde_json::to_value(model)?;
    resolve_spans(&mut value, sources, 0);
    Ok(value)
}

/// JSON nesting of the model is shallow; this bound only guards against runaway recursion.
const MAX_DEPTH: usize = 256;

fn resolve_spans(value: &mut Value, sources: &Sources, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                resolve_spans(item, sources, depth + 1);
            }
        }
        Value::Object(fields) => {
            if let Some(location) = as_span(fields).and_then(|span| location(span, sources)) {
                *value = location;
                return;
            }
            for item in fields.values_mut() {
                resolve_spans(item, sources, depth + 1);
            }
        }
        _ => {}
    }
}

/// Recognises a serialised [`crate::source::Span`]: exactly the keys `file`, `start`, `end`.
fn as_span(fields: &Map<String, Value>) -> Option<(FileId, usize, usize)> {
    if fields.len() != 3 {
        return None;
    }
    let number = |key: &str| fields.get(key)?.as_u64();
    let file = u32::try_from(number("file")?).ok()?;
    let start = usize::try_from(number("start")?).ok()?;
    let end = usize::try_from(number("end")?).ok()?;
    Some((FileId(file), start, end))
}

fn location((file, start, end): (FileId, usize, usize), sources: &Sources) -> Option<Value> {
    let source = sources.get(file)?;
    let (start_line, start_column) = source.line_column(start);
    let (end_line, end_column) = source.line_column(end);
    let text = source.text.get(start..end).unwrap_or("");
    Some(serde_json::json!({
        "path": source.rel_path,
        "start_line": start_line,
        "start_column": start_column,
        "end_line": end_line,
        "end_column": end_column,
        "text": text,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Span, Spanned};
    use std::path::PathBuf;

    #[test]
    fn spans_become_locations() {
        let mut sources = Sources::new();
        let file = sources.add(
            PathBuf::from("/r/Dockerfile"),
            "Dockerfile".into(),
            "FROM alpine\nRUN apk add gcc\n".into(),
        );
        let gcc = Spanned::new("gcc".to_string(), Span::new(file, 24..27));
        let json = to_json(&gcc, &sources).unwrap();
        assert_eq!(json["value"], "gcc");
        assert_eq!(json["span"]["path"], "Dockerfile");
        assert_eq!(json["span"]["start_line"], 2);
        assert_eq!(json["span"]["start_column"], 13);
        assert_eq!(json["span"]["end_column"], 16);
        assert_eq!(json["span"]["text"], "gcc");
    }
}
