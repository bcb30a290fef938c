//! Errors in rule packs and in the configuration, as rule authors see them: every kind of
//! error the checker reports, rendered rustc-style and pinned by insta snapshots
//! (`tests/snapshots/lang_check__*.snap`); duplicate IDs across packs; a broken file that
//! does not hide the other rules of its pack; configuration keys and params.

use std::path::{Path, PathBuf};

use dockpolicy::cli::{load_rules, RuleOptions};
use dockpolicy::config::{param_values, parse_config};
use dockpolicy::diag::Diagnostic;
use dockpolicy::lang::ast::Rule;
use dockpolicy::lang::check::check_rule;
use dockpolicy::lang::parser::parse_rule_file;
use dockpolicy::policy::Policy;
use dockpolicy::report::diagnostics::render;
use dockpolicy::source::Sources;

// ------------------------------------------------------------------ harness

/// A rule with all its metadata around `body` (params and the query).
fn with_metadata(body: &str) -> String {
    format!(
        "rule DP9001 test-rule {{\n  severity warning\n  summary \"a test rule\"\n  doc \"A rule under test.\"\n{body}\n}}\n"
    )
}

fn parse(sources: &mut Sources, name: &str, text: &str) -> (Option<Rule>, Vec<Diagnostic>) {
    let file = sources.add(PathBuf::from(name), name.into(), text.into());
    parse_rule_file(file, text)
}

/// Every diagnostic of the rule file `text`: syntax errors, or else the checker's, rendered.
fn diagnose(text: &str) -> String {
    let mut sources = Sources::new();
    let (rule, mut diagnostics) = parse(&mut sources, "rule.dpl", text);
    if let Some(rule) = &rule {
        diagnostics.extend(check_rule(rule));
    }
    assert!(!diagnostics.is_empty(), "no error in:\n{text}");
    render(&diagnostics, &sources)
}

/// The checker's diagnostics of a rule whose syntax is right.
fn check(body: &str) -> String {
    let text = with_metadata(body);
    let mut sources = Sources::new();
    let (rule, syntax) = parse(&mut sources, "rule.dpl", &text);
    assert!(syntax.is_empty(), "{}", render(&syntax, &sources));
    let diagnostics = check_rule(&rule.expect("a rule"));
    assert!(!diagnostics.is_empty(), "no error in:\n{text}");
    render(&diagnostics, &sources)
}

macro_rules! check_snapshot {
    ($name:ident, $body:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), check($body));
        }
    };
}

// ------------------------------------------------------------------ names

#[test]
fn the_suggestion_among_equally_close_params_is_always_the_same() {
    // `rpm_paths` is one edit from both params; the checker's map of params has a new order
    // in every checker.
    let body = "  param apt_paths = \"a\"\n  param apk_paths = \"b\"\n  for f in files\n  where f.path matches rpm_paths\n  report f \"m\"";
    for _ in 0..20 {
        assert!(check(body).contains("did you mean `apk_paths`?"));
    }
}

check_snapshot!(
    unknown_collection_with_suggestion,
    "  for pkg in pakages\n  report pkg \"m\""
);

check_snapshot!(
    unknown_name_with_suggestion,
    "  param toolchain = [\"gcc\"]\n  for pkg in packages\n  where pkg.name in toolchian\n  report pkg \"m\""
);

check_snapshot!(
    unknown_name_lists_what_names_can_be,
    "  for pkg in packages\n  where pkg.name in wanted\n  report pkg \"m\""
);

check_snapshot!(
    a_variable_of_one_query_is_unknown_in_the_next,
    "  for pkg in packages\n  report pkg \"m\"\n  for img in images\n  where pkg.name == \"gcc\"\n  report img \"m\""
);

check_snapshot!(
    unknown_name_in_a_message_hole,
    "  for pkg in packages\n  report pkg \"{pgk.name}\""
);

check_snapshot!(
    unknown_field_with_suggestion,
    "  for pkg in packages\n  where pkg.nmae == \"gcc\"\n  report pkg \"m\""
);

check_snapshot!(
    unknown_field_lists_the_fields,
    "  for pkg in packages\n  where pkg.license == \"MIT\"\n  report pkg \"m\""
);

check_snapshot!(
    field_of_a_list,
    "  for img in images\n  where img.packages.name == \"gcc\"\n  report img \"m\""
);

check_snapshot!(
    field_of_a_string,
    "  for pkg in packages\n  where pkg.name.length > 3\n  report pkg \"m\""
);

// ------------------------------------------------------------------ functions

check_snapshot!(
    unknown_function_with_suggestion,
    "  for pkg in packages\n  where lowr(pkg.name) == \"gcc\"\n  report pkg \"m\""
);

check_snapshot!(
    unknown_function_lists_the_functions,
    "  for pkg in packages\n  where frobnicate(pkg.name) == \"gcc\"\n  report pkg \"m\""
);

check_snapshot!(
    too_few_arguments,
    "  for pkg in packages\n  where starts_with(pkg.name)\n  report pkg \"m\""
);

check_snapshot!(
    too_many_arguments,
    "  for pkg in packages\n  where lower(pkg.name, \"C\") == \"gcc\"\n  report pkg \"m\""
);

check_snapshot!(
    wrong_argument_type,
    "  for pkg in packages\n  where lower(pkg.pinned) == \"true\" or len(5) > 1\n  report pkg \"m\""
);

// ------------------------------------------------------------------ types

check_snapshot!(
    size_compared_with_a_string,
    "  for ctx in contexts\n  where ctx.total_size == \"1GB\"\n  report ctx \"m\""
);

check_snapshot!(
    size_ordered_against_a_string,
    "  for ctx in contexts\n  where ctx.total_size > \"1GB\"\n  report ctx \"m\""
);

check_snapshot!(
    string_compared_with_an_integer,
    "  for stg in stages\n  where stg.name == 0\n  report stg \"m\""
);

check_snapshot!(
    ordering_a_bool,
    "  for pkg in packages\n  where pkg.pinned < true\n  report pkg \"m\""
);

check_snapshot!(
    in_with_a_mismatched_element_type,
    "  for pkg in packages\n  where pkg.name in [1, 2]\n  report pkg \"m\""
);

check_snapshot!(
    in_on_an_integer,
    "  for pkg in packages\n  where pkg.name in 5\n  report pkg \"m\""
);

check_snapshot!(
    list_mixing_types,
    "  for pkg in packages\n  where pkg.name in [\"gcc\", 5]\n  report pkg \"m\""
);

check_snapshot!(
    matches_with_an_invalid_regex,
    "  for pkg in packages\n  where pkg.name matches \"gcc(-[0-9]+\"\n  report pkg \"m\""
);

check_snapshot!(
    matches_on_a_bool,
    "  for pkg in packages\n  where pkg.pinned matches \"true\"\n  report pkg \"m\""
);

check_snapshot!(
    where_is_not_a_bool,
    "  for pkg in packages\n  where pkg.name\n  report pkg \"m\""
);

check_snapshot!(
    quantifier_condition_is_not_a_bool,
    "  for img in images\n  where any(p in img.packages where p.version)\n  report img \"m\""
);

check_snapshot!(
    operands_of_not_and_and_are_not_bools,
    "  for pkg in packages\n  where not pkg.name and count(x in packages)\n  report pkg \"m\""
);

check_snapshot!(
    for_over_something_that_is_not_a_collection,
    "  for img in images\n  for n in img.name\n  report img \"m\""
);

check_snapshot!(
    report_target_is_an_integer,
    "  for pkg in packages\n  report count(p in packages) \"m\""
);

check_snapshot!(
    related_target_is_a_bool,
    "  for pkg in packages\n  report pkg \"m\"\n  related pkg.pinned \"here\""
);

// ------------------------------------------------------------------ params and variables

#[test]
fn duplicate_param() {
    // The parser refuses a second `param` of one name, so the rule never reaches the checker…
    insta::assert_snapshot!(
        "duplicate_param_syntax",
        diagnose(&with_metadata(
            "  param tools = [\"gcc\"]\n  param tools = [\"make\"]\n  for pkg in packages\n  report pkg \"m\""
        ))
    );
    // …and the checker, which may be given trees built otherwise, refuses it too.
    let text =
        with_metadata("  param tools = [\"gcc\"]\n  for pkg in packages\n  report pkg \"m\"");
    let mut sources = Sources::new();
    let (rule, syntax) = parse(&mut sources, "rule.dpl", &text);
    assert!(syntax.is_empty());
    let mut rule = rule.expect("a rule");
    rule.params.push(rule.params[0].clone());
    insta::assert_snapshot!(
        "duplicate_param_checker",
        render(&check_rule(&rule), &sources)
    );
}

check_snapshot!(
    param_named_like_a_collection,
    "  param packages = [\"gcc\"]\n  for img in images\n  where img.name in packages\n  report img \"m\""
);

check_snapshot!(
    variable_shadowed_by_a_quantifier,
    "  for pkg in packages\n  where any(pkg in packages where pkg.pinned)\n  report pkg \"m\""
);

check_snapshot!(
    variable_shadowed_by_a_second_for,
    "  for x in images\n  for x in x.packages\n  report x \"m\""
);

check_snapshot!(
    variable_named_like_a_param,
    "  param tools = [\"gcc\"]\n  for img in images\n  where any(tools in img.packages where tools.name == \"gcc\")\n  report img \"m\""
);

// ------------------------------------------------------------------ metadata

#[test]
fn missing_severity_summary_and_doc() {
    insta::assert_snapshot!(
        "missing_metadata",
        diagnose("rule DP9001 bare-rule {\n  for pkg in packages\n  report pkg \"m\"\n}\n")
    );
}

#[test]
fn empty_summary() {
    insta::assert_snapshot!(
        "empty_summary",
        diagnose("rule DP9001 bare-rule {\n  severity note\n  summary \"  \"\n  doc \"d\"\n  for pkg in packages\n  report pkg \"m\"\n}\n")
    );
}

// ------------------------------------------------------------------ packs

/// A folder with the given files, for packs.
fn folder(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("a folder");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("a file");
    }
    dir
}

fn user_packs(packs: Vec<PathBuf>) -> RuleOptions {
    RuleOptions {
        packs,
        no_default_rules: true,
        config: None,
    }
}

/// Rendered diagnostics with the temporary folder's path replaced by `<tmp>`.
fn render_in(diagnostics: &[Diagnostic], sources: &Sources, root: &Path) -> String {
    let root = root.to_string_lossy().replace('\\', "/");
    render(diagnostics, sources).replace(&root, "<tmp>")
}

fn valid_rule(id: &str, name: &str) -> String {
    format!(
        "rule {id} {name} {{\n  severity note\n  summary \"s\"\n  doc \"d\"\n  for pkg in packages\n  report pkg \"{{pkg.name}}\"\n}}\n"
    )
}

#[test]
fn duplicate_rule_ids_across_two_packs() {
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let first = folder(
        tmp.path(),
        "first",
        &[
            ("one.dpl", &valid_rule("DP9001", "first-rule")),
            ("two.dpl", &valid_rule("DP9002", "second-rule")),
        ],
    );
    let second = folder(
        tmp.path(),
        "second",
        &[("again.dpl", &valid_rule("DP9001", "another-rule"))],
    );
    let rule_set = load_rules(&user_packs(vec![first, second]), None);
    assert!(rule_set.has_rule_errors);
    assert!(!rule_set.has_config_errors);
    insta::assert_snapshot!(
        "duplicate_rule_ids",
        render_in(&rule_set.diagnostics, &rule_set.sources, tmp.path())
    );
}

#[test]
fn a_broken_file_does_not_stop_the_others_from_loading() {
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let pack = folder(
        tmp.path(),
        "pack",
        &[
            (
                "a-syntax.dpl",
                "rule DP9001 broken {\n  severity fatal\n}\n",
            ),
            (
                "b-types.dpl",
                &with_metadata("  for pkg in packages\n  where pkg.size > 1MB\n  report pkg \"m\"")
                    .replace("DP9001", "DP9002"),
            ),
            ("c-valid.dpl", &valid_rule("DP9003", "valid-rule")),
            ("d-valid.dpl", &valid_rule("DP9004", "also-valid")),
        ],
    );
    let rule_set = load_rules(&user_packs(vec![pack]), None);
    let loaded: Vec<&str> = rule_set.rules().map(|r| r.id.value.as_str()).collect();
    assert_eq!(loaded, ["DP9003", "DP9004"]);
    assert!(rule_set.has_rule_errors);
    insta::assert_snapshot!(
        "broken_files_in_a_pack",
        render_in(&rule_set.diagnostics, &rule_set.sources, tmp.path())
    );
}

// ------------------------------------------------------------------ configuration

const CONFIGURED_RULE: &str = r#"rule DP9001 size-budget {
  severity error
  summary "The context is over its size budget"
  doc "Build contexts over the budget are slow to send."
  param max_size = 1GB
  param allowed = ["python"]
  param strict = false
  for ctx in contexts
  where ctx.total_size > max_size
  report ctx "over {max_size}"
}
"#;

/// The diagnostics of a configuration file (parsing and params) for the rule above.
fn configure(yaml: &str) -> String {
    let mut sources = Sources::new();
    let (rule, syntax) = parse(&mut sources, "size-budget.dpl", CONFIGURED_RULE);
    assert!(syntax.is_empty(), "{}", render(&syntax, &sources));
    let rule = rule.expect("a rule");
    assert!(check_rule(&rule).is_empty());
    let path = Path::new("/repo/.dockpolicy.yaml");
    let file = sources.add(path.to_path_buf(), ".dockpolicy.yaml".into(), yaml.into());
    let (config, mut diagnostics) = parse_config(file, path, yaml);
    let (_, policy_diagnostics) = Policy::new(&config, &[&rule]);
    diagnostics.extend(policy_diagnostics);
    assert!(!diagnostics.is_empty(), "no error in:\n{yaml}");
    render(&diagnostics, &sources)
}

#[test]
fn config_unknown_key() {
    insta::assert_snapshot!(
        "config_unknown_key",
        configure("rule: [policy/]\nseverity: {DP9001: note}\n")
    );
}

#[test]
fn config_unknown_rule_id() {
    insta::assert_snapshot!(
        "config_unknown_rule_id",
        configure("params:\n  DP9010:\n    max_size: 2GB\n  XX1:\n    max_size: 2GB\n")
    );
}

#[test]
fn config_unknown_param() {
    insta::assert_snapshot!(
        "config_unknown_param",
        configure("params:\n  DP9001:\n    max_sise: 2GB\n    budget: 2GB\n")
    );
}

#[test]
fn config_param_of_the_wrong_type() {
    insta::assert_snapshot!(
        "config_param_of_the_wrong_type",
        configure(
            "params:\n  DP9001:\n    max_size: big\n    allowed: [python, [node]]\n    strict: \"yes\"\n"
        )
    );
}

#[test]
fn config_rule_settings_of_the_wrong_type() {
    insta::assert_snapshot!(
        "config_rule_settings_of_the_wrong_type",
        configure(
            "rules:\n  DP9001: maybe\n  DP9002: {severity: warn}\n  DP9003: {enabld: false, enabled: 1}\n"
        )
    );
}

#[test]
fn config_rule_setting_for_an_unknown_rule() {
    insta::assert_snapshot!(
        "config_rule_setting_for_an_unknown_rule",
        configure("rules:\n  DP9011: off\n")
    );
}

#[test]
fn config_override_errors() {
    insta::assert_snapshot!(
        "config_override_errors",
        configure(concat!(
            "overrides:\n",
            "  - rules: {DP9001: off}\n",
            "  - services: api\n",
            "    paths: [\"docker/[ml/**\"]\n",
            "    param: {}\n",
            "  - paths: [docker/**]\n",
            "    params: {DP9001: {max_size: huge}}\n",
            "    rules: {DP9100: {severity: note}}\n",
        ))
    );
}

#[test]
fn config_exclude_must_be_a_list() {
    insta::assert_snapshot!(
        "config_exclude_must_be_a_list",
        configure("exclude: vendor/**\npacks: [1, [x]]\n")
    );
}

#[test]
fn config_values_of_the_right_type_are_taken() {
    let mut sources = Sources::new();
    let (rule, _) = parse(&mut sources, "size-budget.dpl", CONFIGURED_RULE);
    let rule = rule.expect("a rule");
    let yaml =
        "params:\n  DP9001:\n    max_size: 1.5GiB\n    allowed: [python, node]\n    strict: true\n";
    let path = Path::new("/repo/.dockpolicy.yaml");
    let file = sources.add(path.to_path_buf(), ".dockpolicy.yaml".into(), yaml.into());
    let (config, diagnostics) = parse_config(file, path, yaml);
    assert!(diagnostics.is_empty());
    let (values, diagnostics) = param_values(&config.params, &[&rule]);
    assert!(diagnostics.is_empty(), "{}", render(&diagnostics, &sources));
    use dockpolicy::eval::engine::ParamValue;
    let values = &values["DP9001"];
    assert_eq!(values["max_size"], ParamValue::Size(1_610_612_736));
    assert_eq!(values["strict"], ParamValue::Bool(true));
    assert_eq!(
        values["allowed"],
        ParamValue::List(vec![
            ParamValue::String("python".into()),
            ParamValue::String("node".into())
        ])
    );
}
