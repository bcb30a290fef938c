//! Differential test of the Dockerfile front end against BuildKit's parser.
//!
//! Runs every case of `tests/conformance/dockerfile/{buildkit,snippets}/expected.jsonl`
//! (what BuildKit's Go parser produced) and compares, per instruction: keyword, exec form,
//! start and end line (derived from our spans), flags, value list and heredoc bodies. Cases
//! BuildKit rejects must give an error diagnostic; cases it accepts must give only the
//! dispatcher-level errors listed in `DISPATCHER_ERRORS`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dockpolicy::diag::Severity;
use dockpolicy::model::dockerfile::{Form, Instruction};
use dockpolicy::parse::dockerfile::{parse_dockerfile, ParsedDockerfile};
use dockpolicy::source::{FileId, SourceFile};
use serde_json::Value;

/// Cases BuildKit's parser accepts but its dispatcher rejects: the errors we must report
/// (each one must appear, and every error must start with one of them).
const DISPATCHER_ERRORS: &[(&str, &[&str])] = &[
    (
        "snippets/unknown_instruction/Dockerfile",
        &["unknown instruction: FOO"],
    ),
    (
        "snippets/keyword_no_args/Dockerfile",
        &["USER requires exactly one argument"],
    ),
    (
        "snippets/copy_one_arg/Dockerfile",
        &["COPY requires at least two arguments"],
    ),
    (
        "buildkit/health/Dockerfile",
        &[
            "HEALTHCHECK requires at least one argument",
            "Missing command after HEALTHCHECK CMD",
            "Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)",
        ],
    ),
    // These vectors test the parser alone and have no FROM.
    (
        "buildkit/json/Dockerfile",
        &["CMD comes before the first FROM"],
    ),
    (
        "buildkit/jeztah-invalid-json-json-inside-string/Dockerfile",
        &["CMD comes before the first FROM"],
    ),
    (
        "buildkit/jeztah-invalid-json-json-inside-string-double/Dockerfile",
        &["CMD comes before the first FROM"],
    ),
    (
        "buildkit/jeztah-invalid-json-single-quotes/Dockerfile",
        &["CMD comes before the first FROM"],
    ),
    (
        "buildkit/jeztah-invalid-json-unterminated-bracket/Dockerfile",
        &["CMD comes before the first FROM"],
    ),
    (
        "buildkit/jeztah-invalid-json-unterminated-string/Dockerfile",
        &["CMD comes before the first FROM"],
    ),
];

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/dockerfile")
}

struct Case {
    name: String,
    text: String,
    valid_utf8: bool,
    expected: Value,
}

fn load_cases(suite: &str) -> Vec<Case> {
    let dir = conformance_dir();
    let expected = std::fs::read_to_string(dir.join(suite).join("expected.jsonl"))
        .unwrap_or_else(|e| panic!("{suite}/expected.jsonl: {e}"));
    expected
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let expected: Value = serde_json::from_str(line).expect("expected.jsonl line is JSON");
            let name = expected["file"].as_str().expect("file name").to_string();
            let bytes = std::fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let valid_utf8 = std::str::from_utf8(&bytes).is_ok();
            Case {
                name,
                text: String::from_utf8_lossy(&bytes).into_owned(),
                valid_utf8,
                expected,
            }
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn flag_strings(instruction: &Instruction) -> Vec<String> {
    instruction
        .flags
        .iter()
        .map(|flag| match &flag.value {
            Some(value) => format!("--{}={}", flag.name.value, value.value),
            None => format!("--{}", flag.name.value),
        })
        .collect()
}

/// BuildKit applies `<<-` tab stripping after parsing; the vectors hold the raw content.
fn strip_leading_tabs(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

/// Compares one case; returns the mismatches.
fn compare(
    case: &Case,
    parsed: &ParsedDockerfile,
    source: &SourceFile,
    legacy: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let errors: Vec<&str> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    if case.expected["ok"] == Value::Bool(false) {
        let message = case.expected["error"].as_str().unwrap_or_default();
        if message.starts_with("UnicodeDecodeError") {
            // The Python wrapper failed to decode the file; BuildKit itself reads bytes.
            // The loader replaces invalid UTF-8 (and warns); parsing must just work.
            if case.valid_utf8 || parsed.dockerfile.instructions.is_empty() {
                problems.push("expected invalid UTF-8 that still parses".into());
            }
        } else if !errors.iter().any(|e| e.contains(message)) {
            problems.push(format!("expected error {message:?}, got {errors:?}"));
        }
        return problems;
    }
    let allowed = DISPATCHER_ERRORS
        .iter()
        .find(|(name, _)| *name == case.name)
        .map_or(&[][..], |(_, messages)| *messages);
    for message in allowed {
        if !errors.iter().any(|e| e.starts_with(message)) {
            problems.push(format!(
                "expected dispatcher error {message:?}, got {errors:?}"
            ));
        }
    }
    for error in &errors {
        if !allowed.iter().any(|m| error.starts_with(m)) {
            problems.push(format!("unexpected error {error:?}"));
        }
    }
    // The snippet vectors (Python wrapper) carry no warnings; BuildKit's own ones do.
    let expected_warnings = match case.expected.get("warnings") {
        Some(warnings) => strings(warnings).len(),
        None if case.name.starts_with("snippets/") => usize::MAX,
        None => 0,
    };
    let warnings = parsed
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("empty continuation line"))
        .count();
    if expected_warnings != usize::MAX && warnings != expected_warnings {
        problems.push(format!(
            "expected {expected_warnings} empty-continuation warnings, got {warnings}"
        ));
    }
    let expected = case.expected["instructions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let actual = &parsed.dockerfile.instructions;
    if expected.len() != actual.len() {
        problems.push(format!(
            "expected {} instructions, got {}",
            expected.len(),
            actual.len()
        ));
    }
    for (index, (want, got)) in expected.iter().zip(actual).enumerate() {
        let mut check = |what: &str, want: String, got: String| {
            if want != got {
                problems.push(format!(
                    "instruction {index} {what}: expected {want:?}, got {got:?}"
                ));
            }
        };
        check(
            "cmd",
            want["cmd"].as_str().unwrap_or_default().to_uppercase(),
            got.keyword.value.clone(),
        );
        let start = source.line_column(got.span.start as usize).0;
        let end = source
            .line_column((got.span.end as usize).saturating_sub(1))
            .0;
        check(
            "start_line",
            want["start_line"].to_string(),
            start.to_string(),
        );
        check("end_line", want["end_line"].to_string(), end.to_string());
        check(
            "json",
            want["json"].to_string(),
            (got.form == Form::Exec).to_string(),
        );
        check(
            "flags",
            format!("{:?}", strings(&want["flags"])),
            format!("{:?}", flag_strings(got)),
        );
        // ONBUILD: the vectors give the trigger's keyword and values.
        let (values_of, sub_cmd) = match (&got.onbuild, want["sub_cmd"].as_str()) {
            (Some(inner), Some(sub)) => {
                check("sub_cmd", sub.to_uppercase(), inner.keyword.value.clone());
                (inner.as_ref(), true)
            }
            _ => (got, false),
        };
        let mut got_values: Vec<String> =
            values_of.values.iter().map(|v| v.value.clone()).collect();
        if legacy && !sub_cmd && (got.is("ENV") || got.is("LABEL")) {
            // BuildKit v0.12 had no separator node after each key/value pair.
            got_values = got_values
                .chunks(3)
                .flat_map(|triple| triple.iter().take(2).cloned())
                .collect();
        }
        check(
            "value",
            format!("{:?}", strings(&want["value"])),
            format!("{got_values:?}"),
        );
        let want_heredocs = strings(&want["heredocs"]);
        let got_heredocs: Vec<String> = got.heredocs.iter().map(|h| h.body.text.clone()).collect();
        let want_heredocs: Vec<String> = want_heredocs
            .iter()
            .zip(
                got.heredocs
                    .iter()
                    .map(|h| h.strip_tabs)
                    .chain(std::iter::repeat(false)),
            )
            .map(|(content, strip)| {
                if strip {
                    strip_leading_tabs(content)
                } else {
                    content.clone()
                }
            })
            .collect();
        check(
            "heredocs",
            format!("{want_heredocs:?}"),
            format!("{got_heredocs:?}"),
        );
    }
    problems
}

fn run_suite(suite: &str, legacy: bool) -> (usize, Vec<String>) {
    let cases = load_cases(suite);
    let mut failures = Vec::new();
    for case in &cases {
        let parsed = parse_dockerfile(FileId(0), &case.text);
        let source = SourceFile::new(
            PathBuf::from(&case.name),
            case.name.clone(),
            case.text.clone(),
        );
        let problems = compare(case, &parsed, &source, legacy);
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", case.name, problems.join("\n  ")));
        }
    }
    (cases.len(), failures)
}

fn case_directories(suite: &str) -> usize {
    std::fs::read_dir(conformance_dir().join(suite))
        .expect("suite directory")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().join("Dockerfile").is_file())
        })
        .count()
}

#[test]
fn buildkit_parser_vectors() {
    let (count, failures) = run_suite("buildkit", false);
    assert_eq!(
        count,
        case_directories("buildkit"),
        "every BuildKit vector is run"
    );
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn official_parser_snippets() {
    let (count, failures) = run_suite("snippets", true);
    assert_eq!(count, case_directories("snippets"), "every snippet is run");
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn twenty_thousand_continuation_lines_parse_in_linear_time() {
    let mut text = String::from("FROM alpine\nRUN set -eux; \\\n");
    for i in 0..20_000 {
        text.push_str(&format!("  apt-get install -y pkg{i}; \\\n"));
        if i % 100 == 0 {
            text.push_str("  # a comment line\n");
        }
    }
    text.push_str("  true\n");
    let started = Instant::now();
    let parsed = parse_dockerfile(FileId(0), &text);
    let elapsed = started.elapsed();
    let run = &parsed.dockerfile.instructions[1];
    assert!(run.arguments.text.ends_with("true"));
    assert!(run.arguments.text.contains("pkg19999;"));
    let source = SourceFile::new(PathBuf::new(), String::new(), text.clone());
    assert_eq!(
        source.line_column(run.span.end as usize - 1).0,
        20_000 + 200 + 3
    );
    // Debug build on a shared machine; a quadratic join would take minutes.
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}
