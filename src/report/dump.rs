//! `dockpolicy dump`: the repository model as JSON for rule authors (like `conftest parse`).
//!
//! The model is serialised with serde, then every span object (`{file, start, end}`) is
//! replaced by its resolved location: the file's path relative to the scanned root, 1-based
//! start line and column, end line and column (the end column is that of the character after
//! the span, as in SARIF; columns count Unicode scalar values) and the covered text.
//! `images` lists the images that are built (each Dockerfile's final stage and each stage a
//! compose service targets) with their stages and the packages installed in them.
//! Instructions are flattened for the contract other tools rely on: `keyword` is the
//! upper-case keyword and `start_line`, `end_line`, `start_column`, `end_column` sit on the
//! instruction itself (lines counted as BuildKit counts them).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::diag::Diagnostic;
use crate::eval::value::{Entity, Value as EvalValue};
use crate::eval::world::World;
use crate::lang::schema::FieldName;
use crate::model::repository::Repository;
use crate::source::{FileId, Sources};

/// The version of the dump's JSON layout; it changes only when a field changes meaning or
/// disappears.
pub const DUMP_VERSION: u32 = 1;

/// The whole dump document: the repository model and the diagnostics found reading it.
pub fn dump(
    repository: &Repository,
    diagnostics: &[Diagnostic],
    sources: &Sources,
) -> serde_json::Result<Value> {
    let mut document = to_json(repository, sources)?;
    if let Some(fields) = document.as_object_mut() {
        fields.insert("version".into(), Value::from(DUMP_VERSION));
        fields.insert("diagnostics".into(), to_json(&diagnostics, sources)?);
        fields.insert("images".into(), images(repository, sources));
        if let Some(Value::Array(dockerfiles)) = fields.get_mut("dockerfiles") {
            for dockerfile in dockerfiles {
                if let Some(Value::Array(instructions)) = dockerfile.get_mut("instructions") {
                    instructions.iter_mut().for_each(flatten_instruction);
                }
            }
        }
    }
    Ok(document)
}

/// The images that are built (as rules see them, [`World`]): each with its stages and the
/// packages installed in them, every package name located.
fn images(repository: &Repository, sources: &Sources) -> Value {
    let world = World::new(repository, sources);
    let located = |value: &EvalValue<'_>| match value {
        EvalValue::String(text, span) => serde_json::json!({
            "value": text,
            "span": span.and_then(|s| location((s.file, s.start as usize, s.end as usize), sources)),
        }),
        _ => Value::Null,
    };
    let images = world.images.iter().enumerate().map(|(index, image)| {
        let entity = Entity::Image(index);
        let field = |name: FieldName| world.field(entity, name).unwrap_or(EvalValue::Null);
        let packages: Vec<Value> = match field(FieldName::Packages) {
            EvalValue::List(packages) => packages
                .iter()
                .filter_map(|package| match package {
                    EvalValue::Entity(package) => Some(*package),
                    _ => None,
                })
                .map(|package| {
                    let get =
                        |name: FieldName| world.field(package, name).unwrap_or(EvalValue::Null);
                    let stage = match get(FieldName::Stage) {
                        EvalValue::Entity(Entity::Stage(_, stage)) => Value::from(stage),
                        _ => Value::Null,
                    };
                    serde_json::json!({
                        "manager": world.display(&get(FieldName::Manager)),
                        "name": located(&get(FieldName::Name)),
                        "version": located(&get(FieldName::Version)),
                        "stage": stage,
                    })
                })
                .collect(),
            _ => Vec::new(),
        };
        serde_json::json!({
            "name": world.display(&field(FieldName::Name)),
            "dockerfile": image.dockerfile,
            "stage": image.stage,
            "stages": image.stages,
            "service": image.service,
            "packages": packages,
        })
    });
    Value::Array(images.collect())
}

/// Lifts the keyword's value and the instruction's lines and columns onto the instruction
/// (and its `ONBUILD` trigger).
fn flatten_instruction(instruction: &mut Value) {
    let Some(fields) = instruction.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(keyword)) = fields.remove("keyword") {
        fields.insert(
            "keyword".into(),
            keyword.get("value").cloned().unwrap_or(Value::Null),
        );
        fields.insert(
            "keyword_span".into(),
            keyword.get("span").cloned().unwrap_or(Value::Null),
        );
    }
    if let Some(Value::Object(span)) = fields.get("span").cloned() {
        for key in ["start_line", "start_column", "end_line", "end_column"] {
            fields.insert(key.into(), span.get(key).cloned().unwrap_or(Value::Null));
        }
    }
    if let Some(trigger) = fields.get_mut("onbuild") {
        flatten_instruction(trigger);
    }
}

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
