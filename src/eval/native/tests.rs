use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::eval::engine::{
    evaluate, evaluate_with, evaluate_with_budget, ParamValue, RuleRun, MAX_STEPS,
};
use crate::eval::native::generate::generate;
use crate::eval::native::rules::RULES;
use crate::eval::world::World;
use crate::lang::ast::{ExprKind, Rule};
use crate::lang::pack::bundled_packs;
use crate::parse::repository::{load, LoadOptions, Loaded};
use crate::source::Sources;

fn bundled() -> (Sources, Vec<Rule>, Vec<PathBuf>) {
    let mut sources = Sources::default();
    let (packs, diagnostics) = bundled_packs(&mut sources);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let rules = packs.iter().flat_map(|p| p.rules.clone()).collect();
    let fixtures = packs.iter().flat_map(|p| p.fixtures.clone()).collect();
    (sources, rules, fixtures)
}

/// The bundled rule `id`.
fn bundled_rule<'r>(rules: &'r [Rule], id: &str) -> &'r Rule {
    rules
        .iter()
        .find(|rule| rule.id.value == id)
        .unwrap_or_else(|| panic!("{id} is bundled"))
}

/// Every fixture of the bundled packs (`fixtures`, relative to the repository) and every
/// example: the repositories the compiled rules are checked against the evaluator on.
fn fixtures_and_examples(fixtures: &[PathBuf]) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let examples = std::fs::read_dir(root.join("examples"))
        .expect("lists the examples")
        .filter_map(|entry| entry.ok().map(|e| e.path()));
    fixtures
        .iter()
        .map(|f| root.join(f))
        .chain(examples)
        .collect()
}

/// The repository of `examples/pc2`, loaded.
fn pc2() -> Loaded {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pc2");
    load(&root, &LoadOptions::default())
}

#[test]
fn the_generated_rules_are_those_of_the_bundled_packs() {
    let (_, rules, _) = bundled();
    // rustfmt settles some long expressions only in a second pass, as `cargo fmt` leaves
    // them.
    let generated = rustfmt(&rustfmt(&generate(&rules)));
    crate::test_support::check_generated_file("src/eval/native/rules.rs", &generated);
}

/// `code` as `cargo fmt` formats it.
fn rustfmt(code: &str) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs rustfmt");
    child
        .stdin
        .take()
        .expect("rustfmt's input")
        .write_all(code.as_bytes())
        .expect("writes to rustfmt");
    let output = child.wait_with_output().expect("rustfmt's output");
    assert!(output.status.success(), "rustfmt failed");
    String::from_utf8(output.stdout).expect("rustfmt writes UTF-8")
}

/// Every fixture of the bundled packs and every example, checked by the compiled rules and
/// by the evaluator: the findings and problems are the same.
#[test]
fn the_compiled_rules_find_what_the_evaluator_finds() {
    let (_, rules, fixtures) = bundled();
    let runs: Vec<RuleRun<'_>> = rules
        .iter()
        .map(|rule| RuleRun {
            rule,
            params: HashMap::new(),
        })
        .collect();
    let compiled = rules
        .iter()
        .filter(|rule| crate::eval::native::find(&rule.id.value, rule.text_hash).is_some())
        .count();
    assert!(
        compiled * 2 > rules.len(),
        "{compiled} of {} rules compiled",
        rules.len()
    );
    let mut checked = 0;
    let mut found = 0;
    for path in fixtures_and_examples(&fixtures) {
        let loaded = load(&path, &LoadOptions::default());
        let world = World::new(&loaded.repository, &loaded.sources);
        let native = evaluate(&runs, &world);
        let interpreted = evaluate_with_budget(&runs, &world, MAX_STEPS);
        assert_eq!(native, interpreted, "{}", path.display());
        checked += 1;
        found += native.0.len();
    }
    assert!(
        checked > 25 && found > 100,
        "{checked} repositories, {found} findings"
    );
}

#[test]
fn every_generated_rule_is_a_bundled_rule() {
    let (_, rules, _) = bundled();
    for native in RULES {
        assert!(
            rules
                .iter()
                .any(|r| r.id.value == native.id && r.text_hash == native.source_hash),
            "{}",
            native.id
        );
    }
}

/// A changed copy of a bundled rule is left to the evaluator.
#[test]
fn only_a_bundled_rule_of_the_generated_text_runs_compiled() {
    let (sources, rules, _) = bundled();
    let rule = bundled_rule(&rules, "DP1001");
    assert!(crate::eval::native::find("DP1001", rule.text_hash).is_some());
    let changed = sources
        .text(rule.file)
        .replace("build-essential", "build-essentials");
    let (copy, diagnostics) = crate::lang::parser::parse_rule_file(rule.file, &changed);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let copy = copy.expect("the changed copy parses");
    assert!(crate::eval::native::find("DP1001", copy.text_hash).is_none());
}

/// Other values of the same type as the default `default`: first a list that loses its first
/// element and gains one, a thousandth of a size, the pattern `.`; then the extremes: an
/// empty list, a size of zero, the empty string.
fn other_values(default: &ExprKind) -> [ParamValue; 2] {
    match default {
        ExprKind::Bool(b) => [ParamValue::Bool(!b), ParamValue::Bool(!b)],
        ExprKind::Integer(n) => [ParamValue::Integer(n / 2), ParamValue::Integer(0)],
        ExprKind::Size(bytes) => [ParamValue::Size(bytes / 1000), ParamValue::Size(0)],
        ExprKind::List(items) => [
            ParamValue::List(
                items
                    .iter()
                    .skip(1)
                    .map(|item| other_values(&item.kind)[0].clone())
                    .chain([ParamValue::String("python".to_string())])
                    .collect(),
            ),
            ParamValue::List(Vec::new()),
        ],
        _ => [
            ParamValue::String(".".to_string()),
            ParamValue::String(String::new()),
        ],
    }
}

/// Every bundled rule with params, run with other values than its defaults (every param
/// at once, and each param alone, with each kind of [`other_values`]) over every fixture and
/// example: the compiled rules find what the evaluator finds with the same values.
#[test]
fn the_compiled_rules_read_the_params_configuration_gives() {
    let (_, rules, fixtures) = bundled();
    let mut runs: Vec<RuleRun<'_>> = Vec::new();
    for rule in rules.iter().filter(|rule| !rule.params.is_empty()) {
        for variant in 0..2 {
            let value = |param: &crate::lang::ast::Param| {
                let [first, extreme] = other_values(&param.default.kind);
                let value = if variant == 0 { first } else { extreme };
                (param.name.value.clone(), value)
            };
            runs.push(RuleRun {
                rule,
                params: rule.params.iter().map(value).collect(),
            });
            if rule.params.len() > 1 {
                runs.extend(rule.params.iter().map(|param| RuleRun {
                    rule,
                    params: HashMap::from([value(param)]),
                }));
            }
        }
    }
    assert!(runs.len() >= 80, "{} runs", runs.len());
    let mut found = 0;
    for path in fixtures_and_examples(&fixtures) {
        let loaded = load(&path, &LoadOptions::default());
        let world = World::new(&loaded.repository, &loaded.sources);
        // One run at a time: a rule's findings do not say which of its runs made them.
        for run in &runs {
            let run = std::slice::from_ref(run);
            let native = evaluate(run, &world);
            assert_eq!(
                native,
                evaluate_with_budget(run, &world, MAX_STEPS),
                "{}",
                path.display()
            );
            found += native.0.len();
        }
    }
    assert!(found > 100, "{found} findings");
}

/// A configured pattern that is not a regular expression stops the compiled rule with the
/// evaluator's diagnostic, at the place the rule reads the param.
#[test]
fn a_configured_pattern_that_does_not_compile_stops_the_compiled_rule() {
    let (sources, rules, _) = bundled();
    let rule = bundled_rule(&rules, "DP1001");
    let loaded = pc2();
    let world = World::new(&loaded.repository, &loaded.sources);
    let runs = [RuleRun {
        rule,
        params: HashMap::from([(
            "versioned_toolchain".to_string(),
            ParamValue::String("(gcc".to_string()),
        )]),
    }];
    let (findings, diagnostics) = evaluate(&runs, &world);
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!(
        (findings, diagnostics.clone()),
        evaluate_with_budget(&runs, &world, MAX_STEPS)
    );
    let [problem] = diagnostics.as_slice() else {
        panic!("one problem: {diagnostics:?}");
    };
    assert_eq!(problem.message, "`(gcc` is not a valid regular expression");
    let span = problem.span.expect("the problem has a span");
    let text = sources.text(span.file);
    assert_eq!(
        &text[span.start as usize..span.end as usize],
        "versioned_toolchain"
    );
}

/// A compiled rule counts a step for each element its loops visit, within the evaluator's
/// budget: over it, the rule stops with the evaluator's diagnostic and reports nothing.
#[test]
fn a_compiled_rule_stops_at_the_budget() {
    let (_, rules, _) = bundled();
    let rule = bundled_rule(&rules, "DP1007");
    let runs = [RuleRun {
        rule,
        params: HashMap::new(),
    }];
    let loaded = pc2();
    let world = World::new(&loaded.repository, &loaded.sources);
    let (findings, diagnostics) = evaluate(&runs, &world);
    assert!(!findings.is_empty() && diagnostics.is_empty());
    let (findings, diagnostics) = evaluate_with(&runs, &world, 10, true);
    assert!(findings.is_empty(), "{findings:?}");
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        ["rule `DP1007` stopped after 10 steps; its findings are left out"]
    );
}
