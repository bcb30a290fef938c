//! Differential test against pip 26.3's own requirements-file parser.
//!
//! `tests/conformance/requirements/cases.json` holds 17 files run through pip
//! (`req_file.parse_requirements` + `install_req_from_parsed_requirement`): the preprocessed
//! lines, every requirement with its options, name, canonical name, specifier, markers,
//! extras and link, and pip's error where it rejects a line or the file. Every field is
//! compared. Where dockpolicy differs on purpose, the case is listed in `KNOWN_DEVIATIONS`
//! with the reason, and the test fails if a deviation appears, or a listed one disappears.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dockpolicy::diag::Diagnostic;
use dockpolicy::model::requirements::{Requirement, RequirementsFile};
use dockpolicy::parse::requirements::{parse_requirements_with_env, preprocess, Env};
use dockpolicy::source::{FileId, SourceFile};
use serde_json::Value;

/// `(case, line, reason)` for every deliberate difference from pip.
const KNOWN_DEVIATIONS: &[(&str, u64, &str)] = &[(
    "editable",
    2,
    "pip accepts `-e ./localpkg` only if that directory exists in pip's working directory (it \
     did not where the vectors were made); the working directory of a future `pip install` is \
     unknown to static analysis, so a path-like editable is modelled as a local project",
)];

fn cases() -> Vec<Value> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/requirements/cases.json");
    let text = std::fs::read_to_string(&path).expect("cases.json is readable");
    let json: Value = serde_json::from_str(&text).expect("cases.json is JSON");
    json["cases"].as_array().expect("cases is an array").clone()
}

/// The environment the vectors were generated with (`meta.generator`): MY_INDEX set,
/// UNSET_VAR unset.
fn generator_env() -> Env {
    BTreeMap::from([(
        "MY_INDEX".to_string(),
        "https://example.invalid/simple".to_string(),
    )])
}

/// The `options` dict pip passes to a requirement (only non-empty entries).
fn pip_options(requirement: &Requirement) -> Value {
    let mut options = serde_json::Map::new();
    if !requirement.hashes.is_empty() {
        let mut by_algorithm: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for hash in &requirement.hashes {
            let (algorithm, digest) = hash.value.split_once(':').expect("checked by the parser");
            by_algorithm
                .entry(algorithm.to_string())
                .or_default()
                .push(Value::from(digest));
        }
        options.insert("hashes".into(), serde_json::to_value(by_algorithm).unwrap());
    }
    if !requirement.config_settings.is_empty() {
        let mut settings: BTreeMap<String, Value> = BTreeMap::new();
        for setting in &requirement.config_settings {
            let (key, value) = setting
                .value
                .split_once('=')
                .expect("checked by the parser");
            let value = Value::from(value);
            match settings.get_mut(key) {
                Some(Value::Array(values)) => values.push(value),
                Some(first) => *first = Value::Array(vec![first.clone(), value]),
                None => {
                    settings.insert(key.to_string(), value);
                }
            }
        }
        options.insert(
            "config_settings".into(),
            serde_json::to_value(settings).unwrap(),
        );
    }
    if !requirement.global_options.is_empty() {
        let values: Vec<&str> = requirement
            .global_options
            .iter()
            .map(|o| o.value.as_str())
            .collect();
        options.insert(
            "global_options".into(),
            serde_json::to_value(values).unwrap(),
        );
    }
    Value::Object(options)
}

/// Our requirement in the shape of pip's record.
fn as_pip_record(requirement: &Requirement) -> Value {
    let mut extras: Vec<&str> = requirement
        .extras
        .iter()
        .map(|e| e.value.as_str())
        .collect();
    extras.sort_unstable();
    extras.dedup();
    serde_json::json!({
        "line": requirement.line,
        "requirement": requirement.text,
        "editable": requirement.editable,
        "constraint": requirement.constraint,
        "options": pip_options(requirement),
        "name": requirement.name.as_ref().map(|n| n.value.clone()),
        "canonical": requirement.normalized_name,
        "specifier": requirement.specifier.as_ref().map_or(String::new(), |s| s.value.clone()),
        "markers": requirement.marker.as_ref().map(|m| m.value.clone()),
        "extras": extras,
        "link": requirement.url.as_ref().map(|u| u.value.clone()),
    })
}

fn pip_record_sorted(record: &Value) -> Value {
    let mut record = record.clone();
    if let Some(extras) = record.get_mut("extras").and_then(Value::as_array_mut) {
        extras.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        extras.dedup();
    }
    record
}

fn error_lines(source: &SourceFile, diags: &[Diagnostic]) -> Vec<u64> {
    diags
        .iter()
        .filter(|d| d.is_error())
        .filter_map(|d| d.span)
        .map(|span| source.line_column(span.range().start).0 as u64)
        .collect()
}

/// Compares one case; returns the `(line, difference)` list.
fn compare_case(case: &Value) -> Vec<(u64, String)> {
    let content = case["content"].as_str().expect("content");
    let env = generator_env();
    let source = SourceFile::new(PathBuf::from("r.txt"), "r.txt".into(), content.to_string());
    let mut differences = Vec::new();

    let ours: Vec<Value> = preprocess(FileId(0), content, &env)
        .iter()
        .map(|line| serde_json::json!([line.line, line.as_str()]))
        .collect();
    if Value::Array(ours.clone()) != case["preprocessed_lines"] {
        differences.push((
            0,
            format!(
                "preprocessed lines: ours {ours:?}, pip {}",
                case["preprocessed_lines"]
            ),
        ));
    }

    let (parsed, diags): (RequirementsFile, Vec<Diagnostic>) =
        parse_requirements_with_env(FileId(0), content, &env);
    for requirement in &parsed.requirements {
        assert!(
            source.slice(requirement.span).len() <= content.len(),
            "span in bounds"
        );
    }
    let errors = error_lines(&source, &diags);

    if let Some(error) = case.get("error") {
        // pip rejects the file at its first bad line; we report that line.
        let line = case["preprocessed_lines"]
            .as_array()
            .and_then(|lines| lines.last())
            .and_then(|l| l[0].as_u64())
            .unwrap_or(1);
        if !errors.contains(&line) {
            differences.push((line, format!("pip rejects the file ({error}); we do not")));
        }
    }

    let pip_records = case
        .get("requirements")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut matched = 0;
    for record in &pip_records {
        let line = record["line"].as_u64().expect("line");
        let ours = parsed
            .requirements
            .iter()
            .find(|r| u64::from(r.line) == line);
        match (record.get("install_req_error"), ours) {
            (Some(error), Some(ours)) => {
                matched += 1;
                differences.push((
                    line,
                    format!("pip rejects it ({error}); we model {}", as_pip_record(ours)),
                ));
            }
            (Some(error), None) => {
                if !errors.contains(&line) {
                    differences.push((line, format!("pip rejects it ({error}); we say nothing")));
                }
            }
            (None, Some(ours)) => {
                matched += 1;
                let ours = as_pip_record(ours);
                let pip = pip_record_sorted(record);
                if ours != pip {
                    differences.push((line, format!("ours {ours}\n   pip {pip}")));
                }
            }
            (None, None) => {
                differences.push((line, format!("we reject what pip accepts: {diags:?}")))
            }
        }
    }
    if matched != parsed.requirements.len() {
        differences.push((
            0,
            format!(
                "we found {} requirements, pip {}",
                parsed.requirements.len(),
                matched
            ),
        ));
    }
    differences
}

#[test]
fn pip_conformance() {
    let cases = cases();
    assert_eq!(cases.len(), 17, "all cases are run");
    let mut unexpected = Vec::new();
    let mut seen_deviations = Vec::new();
    let mut agreeing_cases = 0;
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let differences = compare_case(case);
        if differences.is_empty() {
            agreeing_cases += 1;
        }
        for (line, difference) in differences {
            if KNOWN_DEVIATIONS
                .iter()
                .any(|&(c, l, _)| c == name && l == line)
            {
                seen_deviations.push((name, line));
            } else {
                unexpected.push(format!("{name} line {line}: {difference}"));
            }
        }
    }
    println!(
        "pip conformance: {agreeing_cases}/{} files identical, {} known deviation(s)",
        cases.len(),
        seen_deviations.len()
    );
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    let expected: Vec<(&str, u64)> = KNOWN_DEVIATIONS.iter().map(|&(c, l, _)| (c, l)).collect();
    assert_eq!(
        seen_deviations, expected,
        "every listed deviation still occurs"
    );
}
