//! The rule language evaluated end to end: each construct of the language runs over a small
//! repository written to a temporary folder, and its findings are asserted by the text their
//! span underlines and by their messages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dockpolicy::diag::Diagnostic;
use dockpolicy::eval::engine::{evaluate, evaluate_with_budget, Finding, ParamValue, RuleRun};
use dockpolicy::eval::world::World;
use dockpolicy::lang::ast::Rule;
use dockpolicy::lang::check::check_rule;
use dockpolicy::lang::pack::bundled_packs;
use dockpolicy::lang::parser::parse_rule_file;
use dockpolicy::parse::repository::{load, LoadOptions, Loaded};
use dockpolicy::report::diagnostics::render;
use dockpolicy::source::{Sources, Span};

// ------------------------------------------------------------------ harness

/// A repository written to a temporary folder and loaded.
struct Repo {
    _dir: tempfile::TempDir,
    loaded: Loaded,
}

fn repo(files: &[(&str, &str)]) -> Repo {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
        std::fs::write(&path, text).expect("a file");
    }
    let loaded = load(dir.path(), &LoadOptions::default());
    let errors: Vec<Diagnostic> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    assert!(errors.is_empty(), "{}", render(&errors, &loaded.sources));
    Repo { _dir: dir, loaded }
}

/// A rule with the metadata every rule needs around `body` (params and the query).
fn rule_text(id: &str, body: &str) -> String {
    format!(
        "rule {id} test-rule {{\n  severity warning\n  summary \"a test rule\"\n  doc \"A rule under test.\"\n{body}\n}}\n"
    )
}

/// Parses and checks a rule; it must have no error at all.
fn parse_checked(sources: &mut Sources, id: &str, body: &str) -> Rule {
    let text = rule_text(id, body);
    let file = sources.add(
        PathBuf::from(format!("{id}.dpl")),
        format!("{id}.dpl"),
        text.clone(),
    );
    let (rule, mut diagnostics) = parse_rule_file(file, &text);
    if let Some(rule) = &rule {
        diagnostics.extend(check_rule(rule));
    }
    assert!(diagnostics.is_empty(), "{}", render(&diagnostics, sources));
    rule.expect("a rule")
}

/// What a test looks at in a finding: the text its span underlines (or, for a span that
/// points at the start of a file, `<path>`) and its message.
type Seen = (String, String);

impl Repo {
    fn under(&self, span: Span) -> String {
        if span.is_empty() {
            let file = self.loaded.sources.get(span.file).expect("a file");
            format!("<{}>", file.rel_path)
        } else {
            self.loaded.sources.slice(span).to_string()
        }
    }

    fn seen(&self, finding: &Finding) -> Seen {
        (self.under(finding.span), finding.message.clone())
    }

    /// Evaluates rules given as `(id, body, params)`, with a step budget.
    fn evaluate_all(
        &self,
        rules: &[(&str, &str, HashMap<String, ParamValue>)],
        budget: Option<u64>,
    ) -> (Vec<Finding>, Vec<Diagnostic>) {
        let mut sources = Sources::new();
        let parsed: Vec<Rule> = rules
            .iter()
            .map(|(id, body, _)| parse_checked(&mut sources, id, body))
            .collect();
        let runs: Vec<RuleRun<'_>> = parsed
            .iter()
            .zip(rules)
            .map(|(rule, (_, _, params))| RuleRun {
                rule,
                params: params.clone(),
            })
            .collect();
        let world = World::new(&self.loaded.repository, &self.loaded.sources);
        match budget {
            Some(budget) => evaluate_with_budget(&runs, &world, budget),
            None => evaluate(&runs, &world),
        }
    }

    /// The findings of one rule with its default params; the evaluation must raise nothing.
    fn run(&self, body: &str) -> Vec<Seen> {
        self.run_with(body, HashMap::new())
    }

    fn run_with(&self, body: &str, params: HashMap<String, ParamValue>) -> Vec<Seen> {
        let (findings, diagnostics) = self.evaluate_all(&[("T1", body, params)], None);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        findings.iter().map(|f| self.seen(f)).collect()
    }

    /// The messages of the findings of one rule.
    fn messages(&self, body: &str) -> Vec<String> {
        self.run(body).into_iter().map(|(_, m)| m).collect()
    }

    /// Whether `condition` holds for the repository's single Dockerfile (bound as `df`,
    /// its final stage's image as `img`).
    fn holds(&self, condition: &str) -> bool {
        let body = format!(
            "  for df in dockerfiles\n  for img in images\n  where img.dockerfile == df and ({condition})\n  report df \"held\""
        );
        match self.run(&body).len() {
            0 => false,
            1 => true,
            n => panic!("{n} findings for `{condition}`"),
        }
    }
}

fn seen(under: &str, message: &str) -> Seen {
    (under.to_string(), message.to_string())
}

fn strings(items: &[&str]) -> ParamValue {
    ParamValue::List(
        items
            .iter()
            .map(|s| ParamValue::String(s.to_string()))
            .collect(),
    )
}

fn params(entries: &[(&str, ParamValue)]) -> HashMap<String, ParamValue> {
    entries
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect()
}

/// One Dockerfile with two stages; the final one is built FROM the first, which installs
/// gcc. No USER, no compose file.
const TWO_STAGES: &str = "FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y gcc make
FROM build AS runtime
RUN apt-get install -y --no-install-recommends curl
CMD [\"run\"]
";

fn two_stages() -> Repo {
    repo(&[("Dockerfile", TWO_STAGES)])
}

/// A repository with one of everything: a compose service building `app/` with a healthcheck
/// and a GPU, a two-stage Dockerfile, a requirements file, Python files and `.dockerignore`.
fn estate() -> Repo {
    repo(&[
        (
            "compose.yaml",
            "services:
  api:
    build: ./app
    healthcheck:
      test: [\"CMD\", \"true\"]
  worker:
    image: redis:7
",
        ),
        (
            "app/Dockerfile",
            "FROM python:3.12-slim AS base
RUN apt-get install -y gcc
FROM base
COPY requirements.txt /tmp/
RUN pip install --no-cache-dir -r /tmp/requirements.txt
",
        ),
        ("app/requirements.txt", "flask==3.0.0\nrequests\n"),
        ("app/main.py", "import os\nfrom flask import Flask\n"),
        ("app/.dockerignore", ".git\n*.pyc\n"),
    ])
}

// ------------------------------------------------------------------ literals

#[test]
fn every_literal_kind_evaluates_and_renders() {
    let repo = two_stages();
    let messages = repo.messages(
        "  param text = \"some text\"
  for df in dockerfiles
  report df \"{7}|{-3}|{true}|{false}|{null}|{[1, 2]}|{300MB}|{512B}|{1.5GiB}|{text}|{[text, text]}\"",
    );
    assert_eq!(
        messages,
        ["7|-3|true|false|none|1, 2|300 MB|512 B|1.6 GB|some text|some text, some text"]
    );
}

#[test]
fn literals_compare_by_value() {
    let repo = two_stages();
    for condition in [
        "7 == 7",
        "-3 < 0",
        "\"a\" == \"a\"",
        "true",
        "not false",
        "null == null",
        "[1, 2] == [1, 2]",
        "[] == []",
        "1KB == 1000B",
        "1KiB == 1024B",
        "2MB == 2000KB",
        "1MiB == 1024KiB",
        "1GB == 1000MB",
        "1GiB == 1024MiB",
        "1TB == 1000GB",
        "1TiB == 1024GiB",
        "1.5GiB == 1610612736B",
        "0.5KB == 500B",
    ] {
        assert!(repo.holds(condition), "{condition}");
    }
    for condition in [
        "7 == 8",
        "false",
        "\"a\" == \"A\"",
        "1KB == 1KiB",
        "[1, 2] == [2, 1]",
        "[1] == [1, 1]",
        "null",
    ] {
        assert!(!repo.holds(condition), "{condition}");
    }
}

// ------------------------------------------------------------------ boolean operators

#[test]
fn and_or_not_follow_their_truth_tables() {
    let repo = two_stages();
    for (a, b) in [(false, false), (false, true), (true, false), (true, true)] {
        assert_eq!(repo.holds(&format!("{a} and {b}")), a && b, "{a} and {b}");
        assert_eq!(repo.holds(&format!("{a} or {b}")), a || b, "{a} or {b}");
    }
    assert!(repo.holds("not false"));
    assert!(!repo.holds("not true"));
    assert!(repo.holds("not not true"));
    assert!(!repo.holds("not not not true"));
}

#[test]
fn and_binds_tighter_than_or_and_not_wraps_a_comparison() {
    let repo = two_stages();
    // `a or b and c` is `a or (b and c)`.
    assert!(repo.holds("true or false and false"));
    assert!(!repo.holds("(true or false) and false"));
    assert!(repo.holds("false and false or true"));
    // `not a == b` is `not (a == b)`: with integers, `(not 1) == 2` would not even check.
    assert!(repo.holds("not 1 == 2"));
    assert!(!repo.holds("not 1 == 1"));
    assert!(repo.holds("not \"gcc\" in [\"make\"] and true"));
    // Parentheses group.
    assert!(!repo.holds("not (true or false)"));
    assert!(repo.holds("(not true) or true"));
}

// ------------------------------------------------------------------ comparisons

#[test]
fn every_comparison_on_integers_sizes_and_strings() {
    let repo = two_stages();
    let cases: &[(&str, bool)] = &[
        ("1 == 1", true),
        ("1 != 1", false),
        ("1 != 2", true),
        ("1 < 2", true),
        ("2 < 2", false),
        ("2 <= 2", true),
        ("3 <= 2", false),
        ("3 > 2", true),
        ("2 > 2", false),
        ("2 >= 2", true),
        ("1 >= 2", false),
        ("-5 < -4", true),
        ("300MB < 1GB", true),
        ("1GB <= 1000MB", true),
        ("1GiB > 1GB", true),
        ("1KB >= 1KiB", false),
        ("1MB != 1MiB", true),
        ("\"apple\" < \"banana\"", true),
        ("\"b\" <= \"a\"", false),
        ("\"b\" > \"a\"", true),
        ("\"a\" >= \"a\"", true),
        ("\"a\" != \"b\"", true),
        // Model values: the runtime stage is the second, and entities compare by identity.
        ("img.stage.index == 1", true),
        ("img.stage.index > 0", true),
        ("img.stage == df.final_stage", true),
        ("img.stage != df.final_stage", false),
        ("img.stage.base_stage == img.stage", false),
        ("img.stage.label == \"runtime\"", true),
        ("img.base.repository == \"debian\"", true),
        ("img.base.tag >= \"12\"", true),
    ];
    for (condition, expected) in cases {
        assert_eq!(repo.holds(condition), *expected, "{condition}");
    }
}

// ------------------------------------------------------------------ in, not in, matches

#[test]
fn in_and_not_in_on_lists_and_strings() {
    let repo = two_stages();
    let cases: &[(&str, bool)] = &[
        ("\"gcc\" in [\"gcc\", \"make\"]", true),
        ("\"cc\" in [\"gcc\", \"make\"]", false),
        ("\"cc\" not in [\"gcc\", \"make\"]", true),
        ("\"gcc\" not in [\"gcc\"]", false),
        ("1 in [1, 2]", true),
        ("3 in [1, 2]", false),
        ("3 not in [1, 2]", true),
        ("300MB in [1GB, 300MB]", true),
        ("\"x\" in []", false),
        ("\"x\" not in []", true),
        ("null in [\"a\"]", false),
        ("null in [null]", true),
        // In a string: a substring.
        ("\"cc\" in \"gcc\"", true),
        ("\"\" in \"gcc\"", true),
        ("\"gcc-12\" in \"gcc\"", false),
        ("\"x\" not in \"gcc\"", true),
        ("\"g\" not in \"gcc\"", false),
        // Model values: a string field in a list, a substring of a field.
        ("img.base.repository in [\"debian\", \"ubuntu\"]", true),
        ("\"slim\" in img.base.tag", true),
        ("\"alpine\" not in img.base.text", true),
        ("img.stage in img.stages", true),
        ("df.stages in [df.stages]", true),
    ];
    for (condition, expected) in cases {
        assert_eq!(repo.holds(condition), *expected, "{condition}");
    }
}

#[test]
fn matches_searches_anywhere_unless_anchored() {
    let repo = two_stages();
    let cases: &[(&str, bool)] = &[
        ("img.base.text matches \"slim\"", true),
        ("img.base.text matches \"^slim\"", false),
        ("img.base.text matches \"^debian:1[0-9]\"", true),
        ("img.base.text matches \"-slim$\"", true),
        ("img.base.text matches \"^debian$\"", false),
        ("img.base.text matches \"DEBIAN\"", false),
        ("img.base.text matches \"(?i)DEBIAN\"", true),
        ("\"a.b\" matches \"a\\\\.b\"", true),
        ("\"axb\" matches \"a\\\\.b\"", false),
        // A null left side never matches.
        ("img.stage.base_stage.base_stage.name matches \"\"", false),
        ("img.stage.base_stage.name matches \"\"", true),
        ("img.base.digest matches \".*\"", false),
    ];
    for (condition, expected) in cases {
        assert_eq!(repo.holds(condition), *expected, "{condition}");
    }
}

#[test]
fn an_invalid_pattern_from_configuration_stops_the_rule_with_a_diagnostic() {
    let repo = two_stages();
    let body = "  param pattern = \"slim\"
  for img in images
  where img.base.text matches pattern
  report img.base \"matched\"";
    let (findings, diagnostics) = repo.evaluate_all(&[("T1", body, HashMap::new())], None);
    assert_eq!(findings.len(), 1);
    assert!(diagnostics.is_empty());
    let broken = params(&[("pattern", ParamValue::String("(slim".into()))]);
    let (findings, diagnostics) = repo.evaluate_all(&[("T1", body, broken)], None);
    assert!(findings.is_empty());
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(
        diagnostics[0].message,
        "`(slim` is not a valid regular expression"
    );
}

#[test]
fn a_pattern_computed_at_evaluation_matches_and_an_invalid_one_stops_the_rule() {
    let repo = two_stages();
    let cases: &[(&str, bool)] = &[
        ("img.base.text matches img.base.tag", true),
        ("img.base.text matches upper(img.base.tag)", false),
        ("img.base.text matches lower(\"(?i)SLIM\")", true),
    ];
    for (condition, expected) in cases {
        assert_eq!(repo.holds(condition), *expected, "{condition}");
    }
    let body = "  for img in images
  where img.base.text matches lower(\"(SLIM\")
  report img.base \"matched\"";
    let (findings, diagnostics) = repo.evaluate_all(&[("T1", body, HashMap::new())], None);
    assert!(findings.is_empty());
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(
        diagnostics[0].message,
        "`(slim` is not a valid regular expression"
    );
}

// ------------------------------------------------------------------ functions

#[test]
fn each_function() {
    let repo = two_stages();
    let cases: &[(&str, bool)] = &[
        ("lower(\"GcC\") == \"gcc\"", true),
        ("lower(img.base.repository) == \"debian\"", true),
        ("upper(\"gcc\") == \"GCC\"", true),
        ("upper(img.stage.label) == \"RUNTIME\"", true),
        ("starts_with(\"build-essential\", \"build\")", true),
        ("starts_with(\"build-essential\", \"essential\")", false),
        ("starts_with(img.base.tag, \"12\")", true),
        ("ends_with(\"build-essential\", \"essential\")", true),
        ("ends_with(\"build-essential\", \"build\")", false),
        ("ends_with(img.base.tag, \"-slim\")", true),
        ("contains(\"gcc-12\", \"cc-1\")", true),
        ("contains(\"gcc-12\", \"clang\")", false),
        ("contains([\"gcc\", \"make\"], \"make\")", true),
        ("contains([\"gcc\", \"make\"], \"mak\")", false),
        ("contains([1, 2], 2)", true),
        ("len(\"gcc\") == 3", true),
        ("len(\"ünï\") == 3", true),
        ("len([1, 2, 3]) == 3", true),
        ("len([]) == 0", true),
        ("len(img.stages) == 2", true),
        ("len(img.packages) == 3", true),
        ("exists(img.base)", true),
        ("exists(img.user)", false),
        ("exists(null)", false),
        ("exists(\"\")", true),
        // Null arguments: strings functions give null or false, `len` gives 0.
        ("lower(img.user) == null", true),
        ("upper(img.user) == null", true),
        ("starts_with(img.user, \"\")", false),
        ("ends_with(img.user, \"\")", false),
        ("contains(img.user, \"x\")", false),
        ("len(img.user) == 0", true),
        ("path_matches(\"app/certs/a.pem\", \"*.pem\")", true),
        ("path_matches(\"app/certs/a.pem\", \"app/*.pem\")", false),
        ("path_matches(\"app/.env\", [\"*.pem\", \".env\"])", true),
        (
            "path_matches(\"app/.env.example\", [\"*.pem\", \".env\"])",
            false,
        ),
        ("path_matches(\"app/.env\", [])", false),
        ("path_matches(img.user, \"*\")", false),
    ];
    for (condition, expected) in cases {
        assert_eq!(repo.holds(condition), *expected, "{condition}");
    }
}

// ------------------------------------------------------------------ quantifiers

#[test]
fn any_all_and_count_with_and_without_where() {
    let repo = two_stages();
    let cases: &[(&str, bool)] = &[
        ("any(p in img.packages where p.name == \"gcc\")", true),
        ("any(p in img.packages where p.name == \"clang\")", false),
        ("all(p in img.packages where p.manager == \"apt\")", true),
        ("all(p in img.packages where p.name != \"curl\")", false),
        ("count(p in img.packages) == 3", true),
        (
            "count(p in img.packages where p.name in [\"gcc\", \"make\"]) == 2",
            true,
        ),
        ("count(s in img.stages where s.is_final) == 1", true),
        // Quantifiers nest and see the enclosing variables.
        (
            "any(s in img.stages where count(p in s.packages where p.stage == s) == 2)",
            true,
        ),
        (
            "all(s in img.stages where any(p in s.packages where p.stage == s))",
            true,
        ),
        // Over literal lists.
        ("any(x in [1, 2, 3] where x > 2)", true),
        ("all(x in [1, 2, 3] where x > 0)", true),
        (
            "count(x in [\"a\", \"b\", \"a\"] where x == \"a\") == 2",
            true,
        ),
        // Empty collections: any is false, all is true, count is 0.
        ("any(x in [] where true)", false),
        ("all(x in [] where false)", true),
        ("count(x in []) == 0", true),
        ("any(c in img.copies where true)", false),
        ("all(c in img.copies where false)", true),
        ("count(c in img.copies) == 0", true),
        // No compose file: the one Dockerfile's image is an implicit service.
        ("count(s in services where not s.implicit) == 0", true),
        ("count(s in services where s.implicit) == 1", true),
        // A null collection is empty.
        (
            "count(s in img.stage.base_stage.base_stage.lineage) == 0",
            true,
        ),
        (
            "all(s in img.stage.base_stage.base_stage.lineage where false)",
            true,
        ),
    ];
    for (condition, expected) in cases {
        assert_eq!(repo.holds(condition), *expected, "{condition}");
    }
}

// ------------------------------------------------------------------ null

#[test]
fn fields_of_null_are_null_and_compare_false_except_with_null() {
    let repo = two_stages();
    let cases: &[(&str, bool)] = &[
        // The first stage is built from an image: its `base_stage` is null, and so is
        // every field read through it.
        ("img.stage.base_stage.base_stage == null", true),
        ("img.stage.base_stage.base_stage.name == null", true),
        (
            "img.stage.base_stage.base_stage.dockerfile.path == null",
            true,
        ),
        ("img.stage.base_stage.base_stage.name == \"build\"", false),
        ("img.stage.base_stage.base_stage.index < 100", false),
        ("img.stage.base_stage.base_stage.index >= 0", false),
        ("img.stage.base_stage.base_stage.index > -1", false),
        ("img.stage.base_stage.base_stage.is_final", false),
        ("not img.stage.base_stage.base_stage.is_final", true),
        ("img.stage.base_stage.base_stage.is_final == false", false),
        // `!=` is the negation of `==`.
        ("img.stage.base_stage.base_stage.name != \"build\"", true),
        ("img.stage.base_stage.base_stage.name != null", false),
        // Absent fields of real entities: no USER, no digest.
        ("img.user == null", true),
        ("img.user_instruction.keyword == null", true),
        ("img.base.digest == null", true),
        ("img.base.digest != null", false),
        ("img.cmd != null", true),
        ("img.service.name == null", true),
        ("img.stage.base_stage.name == \"build\"", true),
    ];
    for (condition, expected) in cases {
        assert_eq!(repo.holds(condition), *expected, "{condition}");
    }
}

// ------------------------------------------------------------------ joins

#[test]
fn service_image_package_join() {
    let repo = repo(&[
        (
            "compose.yaml",
            "services:\n  web:\n    build: ./web\n  jobs:\n    build:\n      context: ./jobs\n      target: runtime\n  cache:\n    image: redis:7\n",
        ),
        (
            "web/Dockerfile",
            "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask pytest\n",
        ),
        (
            "jobs/Dockerfile",
            "FROM python:3.12-slim AS base\nRUN pip install --no-cache-dir black\nFROM base AS runtime\nRUN pip install --no-cache-dir celery\nFROM runtime AS tests\nRUN pip install --no-cache-dir pytest\n",
        ),
    ]);
    let found = repo.run(
        "  param dev_tools = [\"pytest\", \"black\"]
  for svc in services
  for pkg in svc.image.packages
  where pkg.name in dev_tools
  report pkg \"{svc.name} installs {pkg.name} in stage {pkg.stage.label}\"",
    );
    // `jobs` builds `runtime`: `black` from `base` ships, `pytest` of `tests` does not.
    assert_eq!(
        found,
        [
            seen("black", "jobs installs black in stage base"),
            seen("pytest", "web installs pytest in stage #0"),
        ]
    );
}

#[test]
fn image_stage_package_join_follows_the_lineage() {
    let repo = repo(&[
        ("inherits/Dockerfile", TWO_STAGES),
        (
            "copies/Dockerfile",
            "FROM debian:12-slim AS build\nRUN apt-get install -y gcc\nFROM debian:12-slim\nCOPY --from=build /out /out\n",
        ),
    ]);
    let found = repo.run(
        "  for img in images
  for stg in img.stages
  for pkg in stg.packages
  where pkg.name == \"gcc\"
  report pkg \"`{pkg.name}` reaches {img.name} (final stage {img.stage.label}) from stage {stg.label}\"",
    );
    // The final stage built FROM `build` ships gcc; the one that only copies from it does not.
    assert_eq!(
        found,
        [seen(
            "gcc",
            "`gcc` reaches inherits/Dockerfile (final stage runtime) from stage build"
        )]
    );
    let lineage = repo.run(
        "  for stg in stages
  for ancestor in stg.lineage
  where stg.is_final
  report stg.base \"{stg.label} <- {ancestor.label}\"",
    );
    assert_eq!(lineage, [seen("build", "runtime <- build")]);
}

#[test]
fn later_bindings_see_earlier_variables() {
    let repo = two_stages();
    // A self-join: pairs of distinct packages in the same RUN.
    let found = repo.run(
        "  for a in packages
  for b in packages
  where a.instruction == b.instruction and a.name < b.name
  report b \"{a.name} and {b.name}\"",
    );
    assert_eq!(found, [seen("make", "gcc and make")]);
}

#[test]
fn a_loop_over_a_list_literal_binds_each_element_in_order() {
    let repo = two_stages();
    // `[p.name, p.version]`: a name and a null version for each package; the condition
    // keeps the non-null ones, and each element is its own row of the loop.
    let found = repo.messages(
        "  for p in packages
  for x in [p.name, p.version, \"!\"]
  where x != null and p.name == \"gcc\"
  report p \"{x}\"",
    );
    assert_eq!(found, ["!", "gcc"]);
}

// ------------------------------------------------------------------ collections

#[test]
fn each_top_level_collection_yields_its_entities() {
    let repo = estate();
    let collect = |collection: &str, label: &str| -> Vec<Seen> {
        repo.run(&format!("  for x in {collection}\n  report x \"{label}\""))
    };
    assert_eq!(
        collect("dockerfiles", "{x.path}"),
        [seen("<app/Dockerfile>", "app/Dockerfile")]
    );
    assert_eq!(
        collect("stages", "{x.label} {x.index}"),
        [
            seen("FROM python:3.12-slim AS base", "base 0"),
            seen("FROM base", "#1 1"),
        ]
    );
    // The final stage, which the `api` service also builds: one image.
    assert_eq!(
        collect("images", "{x.name} {x.service.name}"),
        [seen("FROM base", "api api")]
    );
    assert_eq!(
        collect("instructions", "{x.keyword}"),
        [
            seen("FROM python:3.12-slim AS base", "FROM"),
            seen("RUN apt-get install -y gcc", "RUN"),
            seen("FROM base", "FROM"),
            seen("COPY requirements.txt /tmp/", "COPY"),
            seen(
                "RUN pip install --no-cache-dir -r /tmp/requirements.txt",
                "RUN"
            ),
        ]
    );
    assert_eq!(
        collect("commands", "{x}"),
        [
            seen("apt-get install -y gcc", "apt-get install -y gcc"),
            seen(
                "pip install --no-cache-dir -r /tmp/requirements.txt",
                "pip install --no-cache-dir -r /tmp/requirements.txt"
            ),
        ]
    );
    assert_eq!(
        collect("installs", "{x.manager}"),
        [
            seen("apt-get install -y gcc", "apt"),
            seen("pip install --no-cache-dir -r /tmp/requirements.txt", "pip"),
        ]
    );
    assert_eq!(
        collect("packages", "{x.manager} {x.name}"),
        [seen("gcc", "apt gcc")]
    );
    assert_eq!(
        collect("copies", "{x.destination}"),
        [seen("COPY requirements.txt /tmp/", "/tmp/")]
    );
    assert_eq!(collect("contexts", "{x.path}"), [seen(".git", "app")]);
    assert_eq!(
        collect("services", "{x.name} {x.image_name}"),
        [seen("api", "api none"), seen("worker", "worker redis:7")]
    );
    assert_eq!(
        collect("requirements_files", "{x.path}"),
        [seen("<app/requirements.txt>", "app/requirements.txt")]
    );
    assert_eq!(
        collect("requirements", "{x.normalized_name} {x.specifier}"),
        [
            seen("flask==3.0.0", "flask ==3.0.0"),
            seen("requests", "requests none"),
        ]
    );
    assert_eq!(
        collect("python_files", "{x.path}"),
        [seen("<app/main.py>", "app/main.py")]
    );
    assert_eq!(
        collect("imports", "{x.module}"),
        [seen("os", "os"), seen("flask", "flask")]
    );
}

// ------------------------------------------------------------------ sizes

#[test]
fn size_literals_compare_with_the_context_size() {
    let blob = "x".repeat(2_000);
    let repo = repo(&[("Dockerfile", "FROM alpine:3.19\n"), ("blob.bin", &blob)]);
    // 2,000 bytes of blob and 17 of Dockerfile.
    let over = |limit: &str| {
        repo.run(&format!(
            "  for ctx in contexts\n  where ctx.total_size > {limit}\n  report ctx \"{{ctx.total_size}} > {limit}\""
        ))
    };
    // Without a .dockerignore, a context is located at the Dockerfile's first instruction.
    assert_eq!(over("2KB"), [seen("FROM alpine:3.19", "2.0 kB > 2KB")]);
    assert_eq!(over("2000B"), [seen("FROM alpine:3.19", "2.0 kB > 2000B")]);
    assert!(over("2017B").is_empty());
    assert!(over("2KiB").is_empty());
    assert!(over("1MB").is_empty());
    let exact = repo.run(
        "  for ctx in contexts\n  where ctx.total_size == 2017B and ctx.sent_size <= ctx.total_size\n  report ctx \"exact\"",
    );
    assert_eq!(exact.len(), 1);
}

// ------------------------------------------------------------------ params

#[test]
fn params_have_defaults_that_configuration_overrides() {
    let repo = two_stages();
    let body = "  param toolchain = [\"gcc\"]
  param max_packages = 10
  param budget = 1GB
  param strict = false
  param prefix = \"m\"
  for pkg in packages
  where (pkg.name in toolchain or starts_with(pkg.name, prefix))
    and (strict or count(p in packages) < max_packages)
    and budget > 100MB
  report pkg \"{pkg.name}: {toolchain} {max_packages} {budget} {strict} {prefix}\"";
    assert_eq!(
        repo.run(body),
        [
            seen("gcc", "gcc: gcc 10 1.0 GB false m"),
            seen("make", "make: gcc 10 1.0 GB false m"),
        ]
    );
    let overridden = params(&[
        ("toolchain", strings(&["curl", "make"])),
        ("max_packages", ParamValue::Integer(2)),
        ("budget", ParamValue::Size(200_000_000)),
        ("prefix", ParamValue::String("zz".into())),
    ]);
    // Three packages are not fewer than 2 and `strict` is still false: nothing.
    assert!(repo.run_with(body, overridden.clone()).is_empty());
    let mut strict = overridden;
    strict.insert("strict".into(), ParamValue::Bool(true));
    assert_eq!(
        repo.run_with(body, strict),
        [
            seen("make", "make: curl, make 2 200 MB true zz"),
            seen("curl", "curl: curl, make 2 200 MB true zz"),
        ]
    );
    // A size param under the literal it is compared with.
    let small = params(&[("budget", ParamValue::Size(1_000))]);
    assert!(repo.run_with(body, small).is_empty());
}

// ------------------------------------------------------------------ templates

#[test]
fn templates_interpolate_every_kind_of_value() {
    let repo = estate();
    let messages = repo.messages(
        "  for img in images
  for pkg in img.packages
  report pkg \"string {pkg.name}; integer {img.stage.index}; size {img.context.total_size}; \
list {img.stage.lineage}; strings {[pkg.manager, pkg.name]}; entities {img.service}, {pkg.stage}, {img.base}; \
null {img.user}; bool {pkg.pinned}; count {count(s in img.stages)}; {{braces}}\"",
    );
    // The context's files: 151 + 22 + 34 + 11 bytes.
    assert_eq!(
        messages,
        ["string gcc; integer 1; size 218 B; list base; strings apt, gcc; entities api, base, python:3.12-slim; null none; bool false; count 2; {braces}"]
    );
}

// ------------------------------------------------------------------ related

#[test]
fn related_locations_carry_their_own_span_and_message() {
    let repo = estate();
    let found = {
        let body = "  for svc in services
  for pkg in svc.image.packages
  report pkg \"{pkg.name} in {svc.name}\"
  related svc \"the service {svc.name}\"
  related pkg.stage.base \"its base {pkg.stage.base}\"
  related svc.image.user_instruction \"never shown: there is no USER\"";
        let (findings, diagnostics) = repo.evaluate_all(&[("T1", body, HashMap::new())], None);
        assert!(diagnostics.is_empty());
        findings
    };
    assert_eq!(found.len(), 1);
    assert_eq!(repo.seen(&found[0]), seen("gcc", "gcc in api"));
    let related: Vec<Seen> = found[0]
        .related
        .iter()
        .map(|r| (repo.under(r.span), r.message.clone()))
        .collect();
    assert_eq!(
        related,
        [
            seen("api", "the service api"),
            seen("python:3.12-slim", "its base python:3.12-slim"),
        ]
    );
}

#[test]
fn a_report_target_without_a_location_falls_back_to_the_first_bound_entity() {
    let repo = two_stages();
    // `img.user` is null: the finding points at the image (its stage's FROM).
    let found = repo.run("  for img in images\n  report img.user \"user {img.user}\"");
    assert_eq!(found, [seen("FROM build AS runtime", "user none")]);
    // A string computed by a function has no span either.
    let found = repo.run("  for pkg in packages\n  where pkg.name == \"gcc\"\n  report upper(pkg.name) \"{upper(pkg.name)}\"");
    assert_eq!(found, [seen("gcc", "GCC")]);
}

// ------------------------------------------------------------------ order and duplicates

#[test]
fn findings_are_sorted_by_file_position_rule_and_message_and_deduplicated() {
    let repo = repo(&[
        (
            "b/Dockerfile",
            "FROM alpine:3.19\nRUN apk add --no-cache gcc make\n",
        ),
        (
            "a/Dockerfile",
            "FROM alpine:3.19\nRUN apk add --no-cache make gcc\n",
        ),
    ]);
    // T2 reports every package twice over (once per stage of a join that does not narrow).
    let rules = [
        (
            "T2",
            "  for pkg in packages\n  for s in stages\n  report pkg \"T2 {pkg.name}\"",
            HashMap::new(),
        ),
        (
            "T1",
            "  for pkg in packages\n  report pkg \"b {pkg.name}\"\n  related pkg.stage \"stage\"",
            HashMap::new(),
        ),
        (
            "T10",
            "  for pkg in packages\n  report pkg \"a {pkg.name}\"",
            HashMap::new(),
        ),
    ];
    let (findings, diagnostics) = repo.evaluate_all(&rules, None);
    assert!(diagnostics.is_empty());
    let listed: Vec<(String, String, String)> = findings
        .iter()
        .map(|f| {
            let path = &repo
                .loaded
                .sources
                .get(f.span.file)
                .expect("a file")
                .rel_path;
            (path.clone(), f.rule_id.to_string(), f.message.clone())
        })
        .collect();
    let expected = [
        ("a/Dockerfile", "T1", "b make"),
        ("a/Dockerfile", "T10", "a make"),
        ("a/Dockerfile", "T2", "T2 make"),
        ("a/Dockerfile", "T1", "b gcc"),
        ("a/Dockerfile", "T10", "a gcc"),
        ("a/Dockerfile", "T2", "T2 gcc"),
        ("b/Dockerfile", "T1", "b gcc"),
        ("b/Dockerfile", "T10", "a gcc"),
        ("b/Dockerfile", "T2", "T2 gcc"),
        ("b/Dockerfile", "T1", "b make"),
        ("b/Dockerfile", "T10", "a make"),
        ("b/Dockerfile", "T2", "T2 make"),
    ]
    .map(|(p, r, m)| (p.to_string(), r.to_string(), m.to_string()));
    assert_eq!(listed, expected);
    // The same again, whatever order rayon ran the rules in.
    for _ in 0..5 {
        let (again, _) = repo.evaluate_all(&rules, None);
        assert_eq!(again, findings);
    }
}

#[test]
fn the_same_location_and_message_from_two_bindings_is_one_finding() {
    let repo = two_stages();
    // Every (stage, package) pair reports the Dockerfile with the same message.
    let found = repo.run("  for s in stages\n  for p in packages\n  report s.dockerfile \"one\"");
    assert_eq!(found, [seen("<Dockerfile>", "one")]);
    // Different messages at one location stay apart.
    let found = repo.run("  for s in stages\n  report s.dockerfile \"{s.label}\"");
    assert_eq!(
        found,
        [
            seen("<Dockerfile>", "build"),
            seen("<Dockerfile>", "runtime")
        ]
    );
}

#[test]
fn duplicates_with_related_locations_are_removed_even_when_not_generated_in_a_row() {
    let repo = two_stages();
    // The outer binding repeats the inner one's sequence: (build, runtime, build, runtime)
    // related stages for one location and message.
    let body = "  for outer in stages
  for s in stages
  report s.dockerfile \"one\"
  related s \"stage {s.label}\"";
    let (findings, diagnostics) = repo.evaluate_all(&[("T1", body, HashMap::new())], None);
    assert!(diagnostics.is_empty());
    let listed: Vec<(Seen, Vec<Seen>)> = findings
        .iter()
        .map(|f| {
            let related = f
                .related
                .iter()
                .map(|r| (repo.under(r.span), r.message.clone()))
                .collect();
            (repo.seen(f), related)
        })
        .collect();
    assert_eq!(
        listed,
        [
            (
                seen("<Dockerfile>", "one"),
                vec![seen("FROM debian:12-slim AS build", "stage build")]
            ),
            (
                seen("<Dockerfile>", "one"),
                vec![seen("FROM build AS runtime", "stage runtime")]
            ),
        ]
    );
}

// ------------------------------------------------------------------ step budget

/// Pairs of packages with the same name: the self-join of the step-budget tests, which
/// `b` looks up in an index of `packages` by `a`'s name.
const NAMED_TWICE: &str = "  for a in packages
  for b in packages
  where b.name == a.name and b != a
  report a \"{a.name} twice\"";

/// `work` run on a pool of `threads` threads.
fn on_threads<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(work)
}

/// The least budget up to `limit` within which a rule `finishes` (it finishes within every
/// larger budget).
fn least_budget(mut finishes: impl FnMut(u64) -> bool, limit: u64) -> u64 {
    let (mut low, mut high) = (0, limit);
    while low < high {
        let middle = low + (high - low) / 2;
        if finishes(middle) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    low
}

#[test]
fn a_query_split_into_parts_finds_the_same_on_any_number_of_threads() {
    // 200 packages, 50 of them named twice: `packages` is split into runs of elements.
    let names: Vec<String> = (0..200).map(|i| format!("pkg{}", i % 150)).collect();
    let dockerfile = format!("FROM alpine:3.19\nRUN apk add {}\n", names.join(" "));
    let repo = repo(&[("Dockerfile", &dockerfile)]);
    let on = |threads: usize, budget: Option<u64>| {
        on_threads(threads, || {
            repo.evaluate_all(&[("T1", NAMED_TWICE, HashMap::new())], budget)
        })
    };
    let (one, problems) = on(1, None);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(one.len(), 100);
    assert_eq!(one, on(2, None).0);
    assert_eq!(one, on(4, None).0);
    // Out of steps: the same diagnostic and no findings, however the parts ran.
    for threads in [1, 2, 4] {
        let (findings, problems) = on(threads, Some(1_000));
        assert_eq!(findings.len(), 0);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }
}

#[test]
fn a_rule_that_takes_an_index_another_rule_built_counts_the_same_steps() {
    // 40 packages, each name twice: `b` looks `a`'s name up in an index of `packages`.
    let names: Vec<String> = (0..40).map(|i| format!("pkg{}", i % 20)).collect();
    let dockerfile = format!("FROM alpine:3.19\nRUN apk add {}\n", names.join(" "));
    let repo = repo(&[("Dockerfile", &dockerfile)]);
    let stopped = |rules: &[&str], budget: u64| {
        let runs: Vec<(&str, &str, HashMap<String, ParamValue>)> = rules
            .iter()
            .map(|id| (*id, NAMED_TWICE, HashMap::new()))
            .collect();
        let (findings, problems) = on_threads(1, || repo.evaluate_all(&runs, Some(budget)));
        let stopped = problems.iter().any(|p| p.message.contains("`T2`"));
        assert_eq!(findings.iter().any(|f| &*f.rule_id == "T2"), !stopped);
        stopped
    };
    // The steps T2 takes alone: the least budget it finishes within.
    let low = least_budget(|budget| !stopped(&["T2"], budget), 1_000_000);
    assert!(low > 40, "{low}");
    // After T1 has built the same index, T2 takes it and counts the steps of building it:
    // it finishes within the same budget, and not within one step less.
    assert!(!stopped(&["T1", "T2"], low));
    assert!(stopped(&["T1", "T2"], low - 1));
}

#[test]
fn a_rule_that_exceeds_its_step_budget_stops_with_a_diagnostic() {
    // 40 packages: a three-way join is 64,000 combinations, each several steps; the
    // condition is one `or`, so no part of it can prune the join early.
    let names: Vec<String> = (0..40).map(|i| format!("pkg{i}")).collect();
    let dockerfile = format!(
        "FROM alpine:3.19\nRUN apk add --no-cache {}\n",
        names.join(" ")
    );
    let repo = repo(&[("Dockerfile", &dockerfile)]);
    let join = "  for a in packages
  for b in packages
  for c in packages
  where a.name == c.name or b.name == c.name
  report a \"{a.name}\"";
    let small = "  for a in packages\n  where a.name == \"pkg7\"\n  report a \"{a.name}\"";
    let started = std::time::Instant::now();
    let (findings, diagnostics) = repo.evaluate_all(
        &[("T1", join, HashMap::new()), ("T2", small, HashMap::new())],
        Some(200_000),
    );
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0].message,
        "rule `T1` stopped after 200000 steps; its findings are left out"
    );
    assert_eq!(
        diagnostics[0].help.as_deref(),
        Some("narrow the collections it iterates, or the joins between them")
    );
    // The rule that stopped reports nothing (what its parts found before stopping would
    // depend on the threads); the other rule is unaffected.
    let messages: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (&*f.rule_id, f.message.as_str()))
        .collect();
    assert_eq!(messages, [("T2", "pkg7")]);
    // Within the default budget, the join completes.
    let (findings, diagnostics) = repo.evaluate_all(&[("T1", join, HashMap::new())], None);
    assert!(diagnostics.is_empty());
    assert_eq!(findings.len(), 40);
    // The same join with `and`-ed parts is pruned as soon as their variables are bound: it
    // finishes within the small budget, with the findings of a full evaluation.
    let pruned = "  for a in packages
  for b in packages
  for c in packages
  where a.name == b.name and b.name == c.name
  report a \"{a.name}\"";
    let (findings, diagnostics) =
        repo.evaluate_all(&[("T3", pruned, HashMap::new())], Some(200_000));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(findings.len(), 40);
}

/// The steps each bundled rule takes over each example repository, as the least budget
/// within which it finishes (SPEC.md §9: a rule's step count is part of its meaning, so the
/// evaluator's fast paths must count exactly the steps of evaluating every node). The
/// numbers were measured before the fast paths existed.
#[test]
fn the_bundled_rules_take_the_steps_they_always_took() {
    let mut sources = Sources::new();
    let (packs, diagnostics) = bundled_packs(&mut sources);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let mut steps: Vec<(&str, String)> = Vec::new();
    for example in ["acgs1", "pc2", "quickstart", "size-demo"] {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(example);
        let loaded = load(&root, &LoadOptions::default());
        let world = World::new(&loaded.repository, &loaded.sources);
        let mut rules = Vec::new();
        for rule in packs.iter().flat_map(|pack| &pack.rules) {
            let runs = [RuleRun {
                rule,
                params: HashMap::new(),
            }];
            let finishes = |budget: u64| evaluate_with_budget(&runs, &world, budget).1.is_empty();
            assert!(finishes(u64::MAX), "{}", rule.id.value);
            let low = least_budget(finishes, 1 << 32);
            rules.push(format!("{} {low}", rule.id.value));
        }
        steps.push((example, rules.join(" ")));
    }
    let expected = [
        (
            "acgs1",
            "DP5001 390 DP2001 270 DP2002 319 DP2003 593 DP2004 56 DP2005 842 DP2006 35 DP1001 606 DP1002 66 \
             DP1003 1146 DP1004 251 DP1005 125 DP1006 136 DP1007 1470 DP1008 963 DP1009 611 DP1010 727 DP1011 912 \
             DP1012 445 DP3001 206 DP3002 147 DP3003 320 DP3004 55 DP4001 1020 DP4002 2539 DP4003 95 DP3005 95",
        ),
        (
            "pc2",
            "DP5001 310 DP2001 216 DP2002 264 DP2003 470 DP2004 56 DP2005 519 DP2006 35 DP1001 661 DP1002 56 \
             DP1003 1603 DP1004 400 DP1005 151 DP1006 105 DP1007 1952 DP1008 454 DP1009 438 DP1010 947 DP1011 853 \
             DP1012 443 DP3001 152 DP3002 114 DP3003 261 DP3004 40 DP4001 2296 DP4002 2062 DP4003 105 DP3005 80",
        ),
        (
            "quickstart",
            "DP5001 62 DP2001 33 DP2002 84 DP2003 112 DP2004 28 DP2005 99 DP2006 10 DP1001 189 DP1002 22 \
             DP1003 367 DP1004 120 DP1005 45 DP1006 25 DP1007 309 DP1008 101 DP1009 113 DP1010 222 DP1011 171 \
             DP1012 76 DP3001 38 DP3002 30 DP3003 68 DP3004 10 DP4001 376 DP4002 362 DP4003 25 DP3005 20",
        ),
        (
            "size-demo",
            "DP5001 18 DP2001 6 DP2002 24 DP2003 61 DP2004 20 DP2005 38 DP2006 5 DP1001 95 DP1002 6 \
             DP1003 61 DP1004 66 DP1005 19 DP1006 15 DP1007 105 DP1008 78 DP1009 53 DP1010 120 DP1011 109 \
             DP1012 34 DP3001 18 DP3002 15 DP3003 29 DP3004 5 DP4001 22 DP4002 94 DP4003 15 DP3005 5",
        ),
    ];
    let expected: Vec<(&str, String)> = expected
        .iter()
        .map(|(example, steps)| (*example, steps.to_string()))
        .collect();
    assert_eq!(steps, expected);
}

#[test]
fn install_sources_are_located_at_each_path_or_url() {
    let repo = repo(&[(
        "Dockerfile",
        "FROM python:3.12-slim\nRUN pip install -e ./pkg \"git+https://github.com/o/r.git#egg=r\" dist/x.tar.gz flask\n",
    )]);
    let found = repo.run(
        "  for install in installs
  for source in install.sources
  report source \"{install.manager} installs from {source}\"",
    );
    assert_eq!(
        found,
        [
            seen("./pkg", "pip installs from ./pkg"),
            seen(
                "git+https://github.com/o/r.git#egg=r",
                "pip installs from git+https://github.com/o/r.git#egg=r"
            ),
            seen("dist/x.tar.gz", "pip installs from dist/x.tar.gz"),
        ]
    );
}

#[test]
fn image_ref_name_joins_registry_and_repository() {
    let repo = repo(&[(
        "Dockerfile",
        "FROM ghcr.io/acme/base:1.2@sha256:0000000000000000000000000000000000000000000000000000000000000000 AS a\nFROM python:3.12-slim\n",
    )]);
    let found = repo.run(
        "  for stage in stages
  report stage.base.name \"{stage.base.name}\"",
    );
    assert_eq!(
        found,
        [
            seen(
                "ghcr.io/acme/base:1.2@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                "ghcr.io/acme/base"
            ),
            seen("python:3.12-slim", "python"),
        ]
    );
}

#[test]
fn an_install_links_to_its_shell_command() {
    let repo = repo(&[(
        "Dockerfile",
        "FROM python:3.12-slim\nRUN apt-get install -y gcc && pip install --no-binary :all: flask\n",
    )]);
    let found = repo.run(
        "  for install in installs
  for word in install.command.words
  where starts_with(word, \"--\")
  report word \"{install.manager}: {word}\"",
    );
    assert_eq!(found, [seen("--no-binary", "pip: --no-binary")]);
}

#[test]
fn coalesce_gives_the_first_value_that_is_not_null_with_its_location() {
    let repo = repo(&[(
        "Dockerfile",
        "FROM python:3.12-slim AS base\nUSER app\nFROM base AS runtime\nFROM debian:12-slim\n",
    )]);
    // A stage built FROM a stage reports the tag of that stage's base, the others their own.
    let found = repo.run(
        "  for stage in stages
  report coalesce(stage.base_stage.base.tag, stage.base.tag) \"{coalesce(stage.name, stage.label)}\"",
    );
    assert_eq!(
        found,
        [
            seen("3.12-slim", "base"),
            seen("3.12-slim", "runtime"),
            seen("12-slim", "#2"),
        ]
    );
    assert!(repo.holds("coalesce(null, null) == null"));
    assert!(repo.holds("coalesce(img.user, \"root\") == \"root\""));
}

#[test]
fn coalesce_needs_arguments_of_one_type() {
    let mut sources = Sources::new();
    let text = rule_text(
        "T1",
        "  for stage in stages\n  report coalesce(stage.name, stage.index) \"m\"",
    );
    let file = sources.add(PathBuf::from("T1.dpl"), "T1.dpl".into(), text.clone());
    let (rule, diagnostics) = parse_rule_file(file, &text);
    assert!(diagnostics.is_empty());
    let errors = check_rule(&rule.expect("a rule"));
    let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
    assert!(
        messages.contains(
            &"`coalesce` needs arguments of one type, but this is an integer and the first is a string"
        ),
        "{messages:?}"
    );
}

#[test]
fn a_service_tells_whether_its_dockerfile_is_inline() {
    let repo = repo(&[(
        "compose.yaml",
        "services:\n  a:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM alpine:3.19\n  b:\n    build: .\n",
    )]);
    let found = repo.run(
        "  for svc in services
  report svc.name \"{svc.name}: {svc.dockerfile_inline} {svc.dockerfile_exists}\"",
    );
    assert_eq!(
        found,
        [seen("a", "a: true false"), seen("b", "b: false false")]
    );
}

/// A loop whose condition keeps `q.f == x.g` looks `x.g` up in an index of a long list that
/// it scans again and again (here `img.packages`, once per package): the rows, counts and
/// `any` answers are those of a scan (written with `lower(…)`, which is never indexed).
#[test]
fn equality_joins_on_long_lists_find_what_a_scan_finds() {
    let repo = repo(&[(
        "Dockerfile",
        "FROM debian:12-slim AS base
RUN apt-get install -y curl git make gcc wget jq
FROM base
RUN apt-get install -y git vim jq zip unzip
RUN apt-get install -y jq tree GIT
",
    )]);
    let joined = "  for img in images
  for pkg in img.packages
  for q in img.packages
  where q.normalized_name == pkg.normalized_name and q.instruction.line < pkg.instruction.line
  report pkg.name \"{pkg.name} on line {pkg.instruction.line}, also line {q.instruction.line}\"";
    let scanned = joined.replace(
        "q.normalized_name == pkg.normalized_name",
        "lower(q.normalized_name) == lower(pkg.normalized_name)",
    );
    let expected = vec![
        seen("git", "git on line 4, also line 2"),
        seen("jq", "jq on line 4, also line 2"),
        seen("jq", "jq on line 5, also line 2"),
        seen("jq", "jq on line 5, also line 4"),
        seen("GIT", "GIT on line 5, also line 2"),
        seen("GIT", "GIT on line 5, also line 4"),
    ];
    assert_eq!(repo.run(joined), expected);
    assert_eq!(repo.run(&scanned), expected);

    let quantified = "  for img in images
  for pkg in img.packages
  where any(q in img.packages where q.normalized_name == pkg.normalized_name
      and q.instruction.line < pkg.instruction.line)
    and count(q in img.packages where pkg.normalized_name == q.normalized_name) == 3
  report pkg.name \"{pkg.name}\"";
    let quantified_scan = quantified
        .replace(
            "q.normalized_name == pkg.normalized_name",
            "lower(q.normalized_name) == lower(pkg.normalized_name)",
        )
        .replace(
            "pkg.normalized_name == q.normalized_name",
            "lower(pkg.normalized_name) == lower(q.normalized_name)",
        );
    let expected = vec![
        seen("git", "git"),
        seen("jq", "jq"),
        seen("jq", "jq"),
        seen("GIT", "GIT"),
    ];
    assert_eq!(repo.run(quantified), expected);
    assert_eq!(repo.run(&quantified_scan), expected);

    // A key that is a list cannot be indexed: the loop scans and still compares lists.
    let lists = "  for img in images
  for pkg in img.packages
  where count(q in img.packages where q.extras == pkg.extras) == 14
  report pkg.name \"{pkg.name}\"";
    assert_eq!(repo.run(lists).len(), 14);
}

/// The findings of a rule with two queries are those of each query, deduplicated and sorted
/// as one list; each query binds its own variables (the same name may be used again).
#[test]
fn several_queries_report_the_union_of_their_findings() {
    let repo = two_stages();
    let body = "  for pkg in packages
  where pkg.name == \"gcc\"
  report pkg.name \"toolchain `{pkg.name}`\"
  for pkg in packages
  where pkg.name in [\"gcc\", \"curl\"]
  report pkg.name \"named `{pkg.name}`\"";
    assert_eq!(
        repo.run(body),
        vec![
            seen("gcc", "named `gcc`"),
            seen("gcc", "toolchain `gcc`"),
            seen("curl", "named `curl`"),
        ]
    );
}
