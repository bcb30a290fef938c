//! Runs every case of `tests/conformance/compose/interpolation-cases.json` (transcribed from
//! compose-go's template tests) through [`Interpolation::interpolate`].

use dockpolicy::parse::interpolate::Interpolation;
use serde_json::Value;

#[test]
fn compose_go_interpolation_cases() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/compose/interpolation-cases.json"
    );
    let text = std::fs::read_to_string(path).expect("conformance file");
    let data: Value = serde_json::from_str(&text).expect("json");
    let environment = data["meta"]["environment"]
        .as_object()
        .expect("environment");
    let vars = Interpolation::from_pairs(
        environment
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("string").to_string())),
    );
    let cases = data["cases"].as_array().expect("cases");
    let mut failures = Vec::new();
    for case in cases {
        let template = case["template"].as_str().expect("template");
        let expected = case["expected"].as_str().expect("expected");
        let got = vars.interpolate(template);
        let ok = match (&got, expected) {
            (Err(_), "error") => true,
            (Ok(done), expected) => expected != "error" && done.value == expected,
            (Err(_), _) => false,
        };
        if !ok {
            failures.push(format!("{template:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert_eq!(cases.len(), 41);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn mandatory_message_is_interpolated() {
    let vars = Interpolation::from_pairs([("FOO", "first")]);
    let error = vars
        .interpolate("not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}")
        .expect_err("error");
    assert!(error.message.ends_with("Mandatory Variable first"));
}
