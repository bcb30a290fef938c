//! The `dockpolicy` binary end to end: `check` on the custom pack's fixture repository finds
//! exactly what the fixture's `# ruleid:` comments expect, exit codes, `rules`, `explain`,
//! and configuration that overrides params.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dockpolicy::rule_test::{parse_annotations, Expectation};

mod common;
use common::{dockpolicy, dockpolicy_in, manifest_dir, printed_findings, temp_files};

const PACK: &str = "examples/custom-pack";
const FIXTURE: &str = "examples/custom-pack/fixtures/platform-repo";

/// `(rule ID, path, line)`.
type Place = (String, String, usize);

fn findings(stdout: &str) -> Vec<Place> {
    printed_findings(stdout)
}

/// The `# ruleid: ID` and `# ok: ID` expectations of every file below `root`, read with the
/// rule test runner's annotation parser.
fn expectations(root: &Path) -> (BTreeSet<Place>, BTreeSet<Place>) {
    let mut expected = BTreeSet::new();
    let mut ok = BTreeSet::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("a folder") {
                pending.push(entry.expect("an entry").path());
            }
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a text file");
        let rel = path
            .strip_prefix(root)
            .expect("below the root")
            .to_string_lossy()
            .replace('\\', "/");
        for annotation in parse_annotations(&text) {
            let set = match annotation.expectation {
                Expectation::RuleId => &mut expected,
                Expectation::Ok => &mut ok,
                Expectation::TodoRuleId | Expectation::TodoOk => continue,
            };
            let line = annotation.line.expect("a line after the expectation");
            set.insert((annotation.rule_id, rel.clone(), line));
        }
    }
    (expected, ok)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

// ------------------------------------------------------------------ check

#[test]
fn the_custom_pack_finds_exactly_what_its_fixture_expects() {
    let (expected, ok) = expectations(&manifest_dir().join(FIXTURE));
    assert!(expected.len() >= 3, "{expected:?}");
    assert!(!ok.is_empty());
    let run = dockpolicy(&["check", "--rules", PACK, "--no-default-rules", FIXTURE]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let found = findings(&run.stdout);
    let places: BTreeSet<Place> = found.iter().cloned().collect();
    assert_eq!(places, expected, "{}", run.stdout);
    assert!(places.is_disjoint(&ok), "{}", run.stdout);
    // Two images (the Dockerfile's final stage and the service's target) share the base.
    assert_eq!(found.len(), 4, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("4 findings (2 errors, 1 warning, 1 note)"),
        "{}",
        run.stdout
    );
}

#[test]
fn findings_show_the_source_line_the_rule_and_related_locations() {
    let run = dockpolicy(&["check", "--rules", PACK, "--no-default-rules", FIXTURE]);
    let expected =
        "warning[PT002]: service `jobs` runs an image that installs `pytest` (stage `base`)
  ┌─ jobs/Dockerfile:4:32
  │
4 │ RUN pip install --no-cache-dir pytest==8.1.1
  │                                ^^^^^^ dev-tools-in-service
  │
  ┌─ compose.yaml:4:3
  │
4 │   jobs:
  │   ---- the service is defined here
  │
  = help: A compose service runs an image that installs development tools
  = `dockpolicy explain PT002` tells why and what to do instead
";
    assert!(run.stdout.contains(expected), "{}", run.stdout);
}

#[test]
fn exit_0_without_findings() {
    let repo = temp_files(&[(
        "Dockerfile",
        "FROM registry.example.com/platform/python:3.12-slim\nRUN pip install --no-cache-dir flask==3.0.3\n",
    )]);
    let run = dockpolicy(&[
        "check",
        "--rules",
        PACK,
        "--no-default-rules",
        path_str(repo.path()),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("0 findings"), "{}", run.stdout);
}

#[test]
fn fail_on_sets_the_lowest_severity_that_fails() {
    // Only a note (an unpinned pip install).
    let notes = temp_files(&[(
        "Dockerfile",
        "FROM registry.example.com/platform/python:3.12-slim\nRUN pip install --no-cache-dir flask\n",
    )]);
    // Only a warning (a service image with pytest).
    let warnings = temp_files(&[
        ("compose.yaml", "services:\n  app:\n    build: .\n"),
        (
            "Dockerfile",
            "FROM registry.example.com/platform/python:3.12-slim\nRUN pip install --no-cache-dir pytest==8.1.1\n",
        ),
    ]);
    let code = |repo: &Path, fail_on: Option<&str>| {
        let mut args = vec!["check", "--rules", PACK, "--no-default-rules"];
        if let Some(level) = fail_on {
            args.extend(["--fail-on", level]);
        }
        args.push(path_str(repo));
        let run = dockpolicy(&args);
        assert!(run.stderr.is_empty(), "{}", run.stderr);
        run.code
    };
    let cases: &[(&Path, Option<&str>, i32)] = &[
        (notes.path(), None, 1),
        (notes.path(), Some("note"), 1),
        (notes.path(), Some("warning"), 0),
        (notes.path(), Some("error"), 0),
        (notes.path(), Some("none"), 0),
        (warnings.path(), None, 1),
        (warnings.path(), Some("warning"), 1),
        (warnings.path(), Some("error"), 0),
        (warnings.path(), Some("none"), 0),
    ];
    for (repo, fail_on, expected) in cases {
        assert_eq!(code(repo, *fail_on), *expected, "{fail_on:?} on {repo:?}");
    }
    // Errors fail unless `--fail-on none`.
    let fixture = |level: &str| {
        dockpolicy(&[
            "check",
            "--rules",
            PACK,
            "--no-default-rules",
            "--fail-on",
            level,
            FIXTURE,
        ])
    };
    assert_eq!(fixture("error").code, 1);
    let none = fixture("none");
    assert_eq!(none.code, 0);
    assert_eq!(
        findings(&none.stdout).len(),
        4,
        "findings are still printed"
    );
}

#[test]
fn with_several_paths_files_are_named_after_their_path() {
    let dir = temp_files(&[
        ("a/Dockerfile", "FROM debian:12-slim\nFOO bar\n"),
        ("b/Dockerfile", "FROM debian:12-slim\nFOO bar\n"),
    ]);
    let run = dockpolicy_in(dir.path(), &["check", "a", "b"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // Input diagnostics on standard error, like findings, name `a/Dockerfile` and
    // `b/Dockerfile`, not `Dockerfile` twice.
    let places: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("┌─ "))
        .collect();
    assert_eq!(places, ["a/Dockerfile:2:1", "b/Dockerfile:2:1"]);
    let files: BTreeSet<String> = printed_findings(&run.stdout)
        .into_iter()
        .map(|(_, path, _)| path)
        .collect();
    assert_eq!(
        files,
        BTreeSet::from(["a/Dockerfile".to_string(), "b/Dockerfile".to_string()])
    );
}

#[test]
fn exit_2_for_a_missing_path() {
    let run = dockpolicy(&[
        "check",
        "--rules",
        PACK,
        "--no-default-rules",
        "no/such/folder",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no/such/folder: cannot read the path"),
        "{}",
        run.stderr
    );
}

#[test]
fn exit_2_for_a_broken_configuration() {
    let dir = temp_files(&[
        ("unknown-key.yaml", "rule: [policy/]\n"),
        ("not-yaml.yaml", "params: [unclosed\n"),
        (
            "wrong-param.yaml",
            "params:\n  PT001:\n    allowed_registries: registry.example.com\n",
        ),
        ("missing-pack.yaml", "rules: [no-such-pack/]\n"),
        ("wrong-build-arg.yaml", "build_args: {BASE: [python]}\n"),
    ]);
    for (file, message, code) in [
        ("unknown-key.yaml", "unknown configuration key `rule`", 2),
        ("not-yaml.yaml", "error: invalid YAML", 2),
        (
            "wrong-param.yaml",
            "`allowed_registries` of `PT001` must be a list",
            2,
        ),
        // A pack folder that is not there is a configuration mistake.
        (
            "missing-pack.yaml",
            "no-such-pack/: cannot read the folder",
            2,
        ),
        (
            "wrong-build-arg.yaml",
            "build argument `BASE` must be a single value, a string or a number",
            2,
        ),
    ] {
        let config = dir.path().join(file);
        let run = dockpolicy(&[
            "check",
            "--rules",
            PACK,
            "--no-default-rules",
            "--config",
            path_str(&config),
            FIXTURE,
        ]);
        assert_eq!(run.code, code, "{file}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{file}: {}", run.stderr);
        // The rules still run.
        assert_eq!(findings(&run.stdout).len(), 4, "{file}: {}", run.stdout);
    }
    // A configuration file that does not exist.
    let run = dockpolicy(&[
        "check",
        "--rules",
        PACK,
        "--no-default-rules",
        "--config",
        "no-such-config.yaml",
        FIXTURE,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// A rule that stops on the input (here a configured pattern that does not compile) leaves
/// its findings out; the others are reported, and the run is an input error whatever
/// `--fail-on` says.
#[test]
fn exit_2_when_a_rule_stops_but_the_other_rules_still_run() {
    let dir = temp_files(&[(
        "broken-pattern.yaml",
        "params:\n  DP1001:\n    versioned_toolchain: \"(gcc\"\n",
    )]);
    let config = dir.path().join("broken-pattern.yaml");
    let args = ["check", "--config", path_str(&config), "examples/pc2"];
    for fail_on in ["note", "none"] {
        let run = dockpolicy(&[&args[..], &["--fail-on", fail_on]].concat());
        assert_eq!(run.code, 2, "--fail-on {fail_on}: {}", run.stderr);
        for expected in [
            "error: `(gcc` is not a valid regular expression",
            "rules/dockerfile/DP1001.dpl:58:74",
        ] {
            assert!(run.stderr.contains(expected), "{}", run.stderr);
        }
        let rules: BTreeSet<String> = findings(&run.stdout).into_iter().map(|f| f.0).collect();
        assert!(
            !rules.contains("DP1001") && rules.contains("DP1003"),
            "{rules:?}"
        );
    }
}

#[test]
fn exit_3_for_broken_packs_but_the_valid_rules_still_run() {
    let dir = temp_files(&[
        (
            "syntax/broken.dpl",
            "rule XX001 broken {\n  severity error\n  for img in images\n  report img\n}\n",
        ),
        (
            "types/typed.dpl",
            "rule XX002 typed {\n  severity error\n  summary \"s\"\n  doc \"d\"\n  for img in images\n  where img.base.registry > 3\n  report img \"m\"\n}\n",
        ),
    ]);
    let syntax = dir.path().join("syntax");
    let types = dir.path().join("types");
    let run = dockpolicy(&[
        "check",
        "--rules",
        PACK,
        "--rules",
        path_str(&syntax),
        "--rules",
        path_str(&types),
        "--no-default-rules",
        FIXTURE,
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("expected a message string after the reported value"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cannot order a string and an integer"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("broken.dpl:5:1"), "{}", run.stderr);
    assert!(run.stderr.contains("typed.dpl:6:9"), "{}", run.stderr);
    let places: BTreeSet<Place> = findings(&run.stdout).into_iter().collect();
    let (expected, _) = expectations(&manifest_dir().join(FIXTURE));
    assert_eq!(places, expected, "{}", run.stdout);
    assert!(run.stdout.contains("3 rules over"), "{}", run.stdout);
}

// ------------------------------------------------------------------ configuration

#[test]
fn configured_params_change_the_findings() {
    let dir = temp_files(&[(
        "policy.yaml",
        "params:\n  PT001:\n    allowed_registries: [mirror.example.com]\n",
    )]);
    let run = dockpolicy(&[
        "check",
        "--rules",
        PACK,
        "--no-default-rules",
        "--config",
        path_str(&dir.path().join("policy.yaml")),
        FIXTURE,
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let places: BTreeSet<Place> = findings(&run.stdout).into_iter().collect();
    let (mut expected, _) = expectations(&manifest_dir().join(FIXTURE));
    // The web image's base, from registry.example.com, is no longer approved.
    expected.insert(("PT001".into(), "web/Dockerfile".into(), 2));
    assert_eq!(places, expected, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "`web` is built on `registry.example.com/platform/python:3.12-slim`, which is not from an approved registry (mirror.example.com)"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn the_configuration_at_the_scanned_root_loads_its_packs() {
    let pack = manifest_dir().join(PACK);
    let config = format!(
        "packs: [{}]\ndefault_rules: false\nparams:\n  PT001:\n    allowed_registries: [registry.example.com, docker.io]\n",
        path_str(&pack)
    );
    let repo = temp_files(&[
        (".dockpolicy.yaml", &config),
        (
            "Dockerfile",
            "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask\n",
        ),
    ]);
    let run = dockpolicy(&["check", path_str(repo.path())]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let places: Vec<Place> = findings(&run.stdout);
    assert_eq!(
        places,
        [
            ("PT001".to_string(), "Dockerfile".to_string(), 1),
            ("PT003".to_string(), "Dockerfile".to_string(), 2),
        ],
        "{}",
        run.stdout
    );
}

/// The configuration's `build_args` build every Dockerfile, as `--build-arg`, which wins over
/// them.
#[test]
fn configured_build_args_choose_the_base_image() {
    let repo = temp_files(&[
        (".dockpolicy.yaml", "build_args:\n  FLAVOR: cudnn8-devel\n"),
        (
            "Dockerfile",
            "ARG FLAVOR=runtime\nFROM nvidia/cuda:12.3.1-${FLAVOR}-ubuntu22.04\nUSER app\n\
             HEALTHCHECK CMD true\n",
        ),
    ]);
    let root = path_str(repo.path());
    let devel = |run: &common::Run| -> Vec<Place> {
        findings(&run.stdout)
            .into_iter()
            .filter(|(id, ..)| id == "DP1002")
            .collect()
    };
    let configured = dockpolicy(&["check", root]);
    assert_eq!(
        devel(&configured),
        [("DP1002".to_string(), "Dockerfile".to_string(), 2)],
        "{}{}",
        configured.stdout,
        configured.stderr
    );
    assert!(
        configured
            .stdout
            .contains("nvidia/cuda:12.3.1-cudnn8-devel-ubuntu22.04"),
        "{}",
        configured.stdout
    );
    let overridden = dockpolicy(&["check", root, "--build-arg", "FLAVOR=cudnn8-runtime"]);
    assert_eq!(devel(&overridden), [], "{}", overridden.stdout);
}

// ------------------------------------------------------------------ rules and explain

#[test]
fn rules_lists_bundled_and_user_rules() {
    let mut sources = dockpolicy::source::Sources::new();
    let (bundled, problems) = dockpolicy::lang::pack::bundled_packs(&mut sources);
    assert!(problems.is_empty());
    let bundled_ids: Vec<String> = bundled
        .iter()
        .flat_map(|p| p.rules.iter().map(|r| r.id.value.clone()))
        .collect();
    let run = dockpolicy(&["rules", "--rules", PACK]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), bundled_ids.len() + 3, "{}", run.stdout);
    for id in &bundled_ids {
        assert!(lines.iter().any(|l| l[0] == id), "{id}: {}", run.stdout);
    }
    let line = |id: &str| -> String {
        run.stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} is not listed: {}", run.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("PT001"),
        "PT001 approved-registry error The image is not built on a base from an approved registry"
    );
    assert_eq!(
        line("PT002"),
        "PT002 dev-tools-in-service warning A compose service runs an image that installs development tools"
    );
    assert_eq!(
        line("PT003"),
        "PT003 unpinned-pip-install note A pip install in a Dockerfile does not pin the package's version"
    );
    // Sorted by ID.
    let ids: Vec<&str> = lines.iter().map(|l| l[0]).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    // Without the bundled packs, only the user's.
    let run = dockpolicy(&["rules", "--rules", PACK, "--no-default-rules"]);
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
}

#[test]
fn explain_prints_the_documentation_by_id_in_any_case_or_by_name() {
    let run = dockpolicy(&["explain", "PT002", "--rules", PACK]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = &run.stdout;
    assert!(
        text.starts_with(
            "PT002 dev-tools-in-service (warning)\n\nA compose service runs an image that installs development tools\n"
        ),
        "{text}"
    );
    assert!(text.contains("Tags: size, security"), "{text}");
    assert!(
        text.contains("## What it does\nFollows each compose service"),
        "{text}"
    );
    assert!(text.contains("## Use instead"), "{text}");
    assert!(text.contains("- `dev_tools`"), "{text}");
    for other in ["pt002", "Pt002", "dev-tools-in-service"] {
        let again = dockpolicy(&["explain", other, "--rules", PACK]);
        assert_eq!(again.code, 0, "{other}");
        assert_eq!(&again.stdout, text, "{other}");
    }
}

#[test]
fn explain_an_unknown_rule_exits_2_with_a_suggestion() {
    let run = dockpolicy(&["explain", "PT02", "--rules", PACK]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .contains("no loaded rule has the ID or name `PT02` (did you mean `PT002`?)"),
        "{}",
        run.stderr
    );
    let run = dockpolicy(&["explain", "ZZ999", "--rules", PACK]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("error: no loaded rule has the ID or name `ZZ999`\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_fixture_expectations_are_read_from_every_file() {
    let (expected, ok) = expectations(&manifest_dir().join(FIXTURE));
    let files: BTreeSet<&str> = expected.iter().chain(&ok).map(|p| p.1.as_str()).collect();
    assert_eq!(
        files,
        BTreeSet::from(["jobs/Dockerfile", "web/Dockerfile"]),
        "{expected:?}"
    );
    let ids: BTreeSet<PathBuf> = expected.iter().map(|p| PathBuf::from(&p.0)).collect();
    assert_eq!(ids.len(), 3);
}
