//! Runs every case of `tests/conformance/dockerignore/cases.json` (moby/patternmatcher's own
//! vectors plus raw `.dockerignore` files, expected values computed with the Go reference
//! code) through both layers: patterns fed directly (`patternmatcher.New`) and raw file text
//! (`ignorefile.ReadAll`), evaluated with BuildKit's parents-first walk.

use dockpolicy::model::context::DockerIgnore;
use dockpolicy::parse::dockerignore::{dockerignore_from_patterns, parse_dockerignore};
use dockpolicy::source::FileId;
use serde_json::Value;

#[derive(Debug, PartialEq)]
enum Expected {
    Excluded(bool),
    Error,
}

fn expected(case: &Value) -> Expected {
    match &case["excluded"] {
        Value::Bool(b) => Expected::Excluded(*b),
        Value::String(s) if s == "error" => Expected::Error,
        other => panic!("case {}: unexpected `excluded` {other}", case["id"]),
    }
}

fn outcome(ignore: &DockerIgnore, has_error: bool, path: &str) -> Expected {
    if has_error {
        Expected::Error
    } else {
        Expected::Excluded(ignore.is_excluded(path))
    }
}

#[test]
fn all_dockerignore_cases_match_buildkit() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/dockerignore/cases.json"
    );
    let data: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read cases.json"))
            .expect("parse cases.json");
    let cases = data["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 271);

    let mut failures = Vec::new();
    let mut by_layer = [0usize; 2];
    for case in cases {
        let id = &case["id"];
        let rel_path = case["path"].as_str().expect("path");
        let want = expected(case);
        let patterns: Vec<&str> = case["patterns"]
            .as_array()
            .expect("patterns")
            .iter()
            .map(|p| p.as_str().expect("pattern"))
            .collect();
        match case["layer"].as_str().expect("layer") {
            "patterns" => {
                by_layer[0] += 1;
                let (ignore, diags) = dockerignore_from_patterns(FileId(0), &patterns);
                let got = outcome(&ignore, diags.iter().any(|d| d.is_error()), rel_path);
                if got != want {
                    failures.push(format!(
                        "#{id} {patterns:?} {rel_path:?}: got {got:?}, want {want:?}"
                    ));
                }
            }
            "dockerignore_file" => {
                by_layer[1] += 1;
                let text = case["dockerignore"].as_str().expect("dockerignore");
                let (ignore, diags) = parse_dockerignore(FileId(0), text);
                let got = outcome(&ignore, diags.iter().any(|d| d.is_error()), rel_path);
                if got != want {
                    failures.push(format!(
                        "#{id} {text:?} {rel_path:?}: got {got:?}, want {want:?}"
                    ));
                }
                // What ignorefile.ReadAll produced must be what we read: same patterns, in order.
                let read: Vec<String> = ignore
                    .patterns
                    .iter()
                    .map(|p| format!("{}{}", if p.exception { "!" } else { "" }, p.text))
                    .collect();
                if read != patterns {
                    failures.push(format!(
                        "#{id} {text:?}: read {read:?}, ReadAll gives {patterns:?}"
                    ));
                }
            }
            other => panic!("case {id}: unknown layer {other}"),
        }
    }
    assert_eq!(by_layer, [137, 134]);
    assert!(
        failures.is_empty(),
        "{} of 271 cases differ from BuildKit:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
