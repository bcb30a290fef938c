//! Measured image sizes, read from what a build leaves behind: `docker image inspect` output
//! (a JSON array with `RepoTags` and `Size`), `docker images --format '{{json .}}'` output
//! (JSON lines with `Repository`, `Tag` and `Size` such as `"1.2GB"`), or a plain YAML/JSON
//! map of service name or image reference to size (bytes, or `300MB`). Each entry keeps the
//! span it was read from, so that an entry no service matches can be reported at its line.

use crate::diag::Diagnostic;
use crate::lang::parser::size_in_bytes;
use crate::parse::yaml::{parse_yaml, YamlNode, YamlValue};
use crate::source::{FileId, Span};

/// One measured image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasuredSize {
    /// The names it can be matched by: image references (`pc2/api:1.4`) or service names.
    pub names: Vec<String>,
    pub bytes: u64,
    /// Where the entry is written.
    pub span: Span,
}

/// Reads a measured-sizes file. Entries that cannot be read are errors at their place.
pub fn parse_measured_sizes(file: FileId, text: &str) -> (Vec<MeasuredSize>, Vec<Diagnostic>) {
    if is_json_lines(text) {
        return parse_json_lines(file, text);
    }
    let (root, mut diagnostics) = parse_yaml(file, text);
    let mut sizes = Vec::new();
    let Some(root) = root else {
        return (sizes, diagnostics);
    };
    match &root.value {
        YamlValue::Sequence(items) => {
            for item in items {
                match inspect_entry(item) {
                    Ok(size) => sizes.push(size),
                    Err(message) => diagnostics.push(Diagnostic::error(message).with_span(item.span)),
                }
            }
        }
        YamlValue::Mapping(entries) => {
            for entry in entries {
                let name = entry.key.as_scalar().map(|s| s.text.clone());
                let bytes = entry.value.as_scalar().and_then(|s| parse_size(&s.text));
                match (name, bytes) {
                    (Some(name), Some(bytes)) => sizes.push(MeasuredSize {
                        names: vec![name],
                        bytes,
                        span: entry.key.span.cover(entry.value.span),
                    }),
                    _ => diagnostics.push(
                        Diagnostic::error(
                            "a measured size must map a service name or image reference to a size such as `1200000000` or `1.2GB`",
                        )
                        .with_span(entry.value.span),
                    ),
                }
            }
        }
        YamlValue::Null => {}
        YamlValue::Scalar(_) => diagnostics.push(
            Diagnostic::error(
                "expected `docker image inspect` output, `docker images --format '{{json .}}'` output, or a map of service or image to size",
            )
            .with_span(root.span),
        ),
    }
    (sizes, diagnostics)
}

/// Whether the text is `docker images --format '{{json .}}'` output: JSON objects, one a
/// line, with a `Repository` field.
fn is_json_lines(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|line| serde_json::from_str::<serde_json::Value>(line.trim()).ok())
        .is_some_and(|value| value.get("Repository").is_some())
}

fn parse_json_lines(file: FileId, text: &str) -> (Vec<MeasuredSize>, Vec<Diagnostic>) {
    let mut sizes = Vec::new();
    let mut diagnostics = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if trimmed.trim().is_empty() {
            continue;
        }
        let span = Span::new(file, start..start + trimmed.len());
        let value: serde_json::Value = match serde_json::from_str(trimmed) {
            Ok(value) => value,
            Err(e) => {
                diagnostics
                    .push(Diagnostic::error(format!("not a JSON object: {e}")).with_span(span));
                continue;
            }
        };
        let field = |name: &str| value.get(name).and_then(|v| v.as_str());
        let bytes = field("Size").and_then(parse_size);
        match (field("Repository"), bytes) {
            (Some(repository), Some(bytes)) => {
                let mut names = Vec::new();
                match field("Tag") {
                    Some(tag) if tag != "<none>" => names.push(format!("{repository}:{tag}")),
                    _ => names.push(repository.to_string()),
                }
                sizes.push(MeasuredSize { names, bytes, span });
            }
            _ => diagnostics.push(
                Diagnostic::error("expected `Repository` and a `Size` such as `1.2GB`")
                    .with_span(span),
            ),
        }
    }
    (sizes, diagnostics)
}

/// One element of `docker image inspect` output.
fn inspect_entry(item: &YamlNode) -> Result<MeasuredSize, String> {
    let size = item
        .get("Size")
        .and_then(|e| e.value.as_scalar())
        .and_then(|s| s.as_integer())
        .and_then(|n| u64::try_from(n).ok())
        .ok_or("an image of `docker image inspect` output needs an integer `Size`")?;
    let names: Vec<String> = item
        .get("RepoTags")
        .and_then(|e| e.value.as_sequence())
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.as_scalar().map(|s| s.text.clone()))
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        return Err("an image without `RepoTags` cannot be matched to a service".into());
    }
    Ok(MeasuredSize {
        names,
        bytes: size,
        span: item.span,
    })
}

/// `1200000000`, `1.2GB`, `1.2 GB`, `13.3kB`, `300MiB` → bytes.
fn parse_size(text: &str) -> Option<u64> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if let Ok(bytes) = compact.parse::<u64>() {
        return Some(bytes);
    }
    // Docker prints kilobytes as `kB`; the size grammar spells them `KB`.
    let compact = match compact.strip_suffix("kB") {
        Some(number) => format!("{number}KB"),
        None => compact,
    };
    size_in_bytes(&compact).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_and_sizes(text: &str) -> Vec<(Vec<String>, u64)> {
        let (sizes, diagnostics) = parse_measured_sizes(FileId(0), text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        sizes.into_iter().map(|s| (s.names, s.bytes)).collect()
    }

    #[test]
    fn docker_image_inspect_output() {
        let text = r#"[{"Id": "sha256:1", "RepoTags": ["pc2/api:1.4", "pc2/api:latest"], "Size": 1234567890}]"#;
        assert_eq!(
            names_and_sizes(text),
            vec![(
                vec!["pc2/api:1.4".to_string(), "pc2/api:latest".to_string()],
                1_234_567_890
            )]
        );
    }

    #[test]
    fn docker_images_json_lines() {
        let text = "{\"Repository\":\"pc2/api\",\"Tag\":\"1.4\",\"Size\":\"1.2GB\"}\n{\"Repository\":\"redis\",\"Tag\":\"7\",\"Size\":\"13.3kB\"}\n";
        assert_eq!(
            names_and_sizes(text),
            vec![
                (vec!["pc2/api:1.4".to_string()], 1_200_000_000),
                (vec!["redis:7".to_string()], 13_300),
            ]
        );
    }

    #[test]
    fn plain_maps_in_yaml_and_json() {
        assert_eq!(
            names_and_sizes("api: 300MB\nworker: 1200000000\n"),
            vec![
                (vec!["api".to_string()], 300_000_000),
                (vec!["worker".to_string()], 1_200_000_000),
            ]
        );
        assert_eq!(
            names_and_sizes(r#"{"api": "1.5 GB"}"#),
            vec![(vec!["api".to_string()], 1_500_000_000)]
        );
    }

    #[test]
    fn unreadable_entries_are_errors_at_their_place() {
        let (sizes, diagnostics) = parse_measured_sizes(FileId(0), "api: big\n");
        assert!(sizes.is_empty());
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].span.map(|s| s.range()), Some(5..8));
    }
}
