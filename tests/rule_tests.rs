//! Rule tests (`dockpolicy test`): the bundled packs and the custom example pack pass their
//! fixtures, and the runner fails when a rule is broken — a rule that misses an annotated
//! line, one that fires on an `# ok:` line, one without fixtures — with the `todoruleid` and
//! `todook` semantics, pack-level `fixtures/` folders and `*.fixture.*` files; then the
//! command's output and exit codes.

use std::path::Path;

use dockpolicy::cli::{load_rules, RuleOptions};
use dockpolicy::lang::pack::{Pack, PackOrigin};
use dockpolicy::rule_test::{test_packs, Place, TestReport};

mod common;
use common::{dockpolicy_in, manifest_dir, temp_files};

/// Runs the fixtures of the pack folder `pack` (without the bundled packs).
fn run_pack(pack: &Path) -> TestReport {
    let options = RuleOptions {
        packs: vec![pack.to_path_buf()],
        no_default_rules: true,
        config: None,
    };
    let rule_set = load_rules(&options, None);
    assert!(
        rule_set.diagnostics.is_empty(),
        "{:?}",
        rule_set.diagnostics
    );
    let packs: Vec<&Pack> = rule_set.packs.iter().collect();
    test_packs(&packs, &rule_set.sources, manifest_dir())
}

fn place(pack: &Path, rel: &str, line: usize) -> Place {
    Place {
        file: format!("{}/{rel}", pack.to_string_lossy().replace('\\', "/")),
        line,
    }
}

/// A rule reporting every apt install (at the program), with its fixture folder.
const APT_RULE: &str = r#"rule DP9001 apt-anything {
  severity warning
  summary "apt install"
  doc "Reports apt installs."
  for install in installs
  where install.manager == "apt"
  report install.program "apt install"
}
"#;

const PIP_RULE: &str = r#"rule DP9002 pip-anything {
  severity note
  summary "pip install"
  doc "Reports pip installs."
  for install in installs
  where install.manager == "pip"
  report install.program "pip install"
}
"#;

// ---------------------------------------------------------------- bundled and examples

#[test]
fn every_bundled_rule_passes_its_fixtures() {
    let rule_set = load_rules(&RuleOptions::default(), None);
    assert!(
        rule_set.diagnostics.is_empty(),
        "{:?}",
        rule_set.diagnostics
    );
    let bundled: Vec<&Pack> = rule_set
        .packs
        .iter()
        .filter(|p| p.origin == PackOrigin::Bundled)
        .collect();
    let report = test_packs(&bundled, &rule_set.sources, manifest_dir());
    assert!(report.passed(), "{}", report.render());
    let rules = rule_set.rules().count();
    assert!(rules >= 3, "only {rules} bundled rules");
    assert_eq!(report.results.len(), rules, "every rule is tested");
    for result in &report.results {
        assert!(!result.expected.is_empty(), "{}", result.rule_id);
        assert_eq!(result.reported, result.expected, "{}", result.rule_id);
    }
}

#[test]
fn the_custom_pack_passes_through_its_pack_level_fixture() {
    let pack = Path::new("examples/custom-pack");
    let report = run_pack(&manifest_dir().join(pack));
    assert!(report.passed(), "{}", report.render());
    let ids: Vec<&str> = report.results.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(ids, ["PT001", "PT002", "PT003"]);
    let pt003 = &report.results[2];
    assert_eq!(
        pt003.expected.iter().next().map(|p| (
            p.file.ends_with("fixtures/platform-repo/web/Dockerfile"),
            p.line
        )),
        Some((true, 4))
    );
}

/// Copies the bundled pack `rules/dockerfile` and breaks DP1005 by dropping its
/// `--no-install-recommends` condition: the copy fails where the original passes.
#[test]
fn a_broken_copy_of_a_bundled_rule_fails() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let pack = dir.path().join("dockerfile");
    let source = manifest_dir().join("rules/dockerfile");
    copy_tree(&source, &pack);
    assert!(
        run_pack(&pack).passed(),
        "the copy passes before the change"
    );
    let rule = pack.join("DP1005.dpl");
    let text = std::fs::read_to_string(&rule).expect("DP1005");
    let broken = text.replace(r#" and "--no-install-recommends" not in install.flags"#, "");
    assert_ne!(broken, text, "the condition is in the rule");
    std::fs::write(&rule, broken).expect("written");
    let report = run_pack(&pack);
    assert!(!report.passed());
    let failed: Vec<&str> = report
        .results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.rule_id.as_str())
        .collect();
    assert_eq!(failed, ["DP1005"]);
    let dp1005 = report
        .results
        .iter()
        .find(|r| r.rule_id == "DP1005")
        .expect("DP1005 was tested");
    let unexpected: Vec<usize> = dp1005.unexpected.iter().map(|p| p.line).collect();
    assert_eq!(
        unexpected,
        [6],
        "the `# ok:` line with --no-install-recommends"
    );
    assert!(dp1005.silent.iter().any(|p| p.line == 6));
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a folder") {
        let path = entry.expect("an entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copied");
        }
    }
}

// ---------------------------------------------------------------- failures

#[test]
fn a_rule_that_misses_an_annotated_line_fails() {
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            "p/DP9001/Dockerfile",
            "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\n# ruleid: DP9001\nRUN apk add musl\n",
        ),
    ]);
    let pack = dir.path().join("p");
    let report = run_pack(&pack);
    assert!(!report.passed());
    assert_eq!((report.passed_count(), report.failed_count()), (0, 1));
    let result = &report.results[0];
    assert_eq!(
        result.missing.iter().cloned().collect::<Vec<_>>(),
        [place(&pack, "DP9001/Dockerfile", 5)]
    );
    assert!(result.unexpected.is_empty());
    let text = report.render();
    assert!(
        text.starts_with("FAIL DP9001 apt-anything (2 expected, 0 silent)\n"),
        "{text}"
    );
    assert!(text.contains("    missing:    "), "{text}");
    assert!(text.ends_with("0 passed, 1 failed\n"), "{text}");
}

#[test]
fn a_rule_that_fires_on_an_ok_line_fails() {
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            "p/DP9001/Dockerfile",
            "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\n# ok: DP9001\n# (recommends are off)\n\nRUN apt-get install -y --no-install-recommends curl\n",
        ),
    ]);
    let pack = dir.path().join("p");
    let report = run_pack(&pack);
    let result = &report.results[0];
    assert!(!result.passed());
    let ok_line = place(&pack, "DP9001/Dockerfile", 7);
    assert_eq!(result.unexpected.iter().collect::<Vec<_>>(), [&ok_line]);
    assert!(result.silent.contains(&ok_line));
    assert!(result.missing.is_empty());
    assert!(
        report
            .render()
            .contains(&format!("unexpected: {ok_line} (annotated `ok`)")),
        "{}",
        report.render()
    );
}

#[test]
fn a_finding_on_a_line_without_annotation_fails() {
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            "p/DP9001/Dockerfile",
            "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\nRUN apt-get install -y make\n",
        ),
    ]);
    let report = run_pack(&dir.path().join("p"));
    let lines: Vec<usize> = report.results[0]
        .unexpected
        .iter()
        .map(|p| p.line)
        .collect();
    assert_eq!(lines, [4]);
}

#[test]
fn a_rule_without_fixtures_fails_with_a_clear_message() {
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            "p/DP9001/Dockerfile",
            "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\n",
        ),
        ("p/DP9002.dpl", PIP_RULE),
    ]);
    let report = run_pack(&dir.path().join("p"));
    assert_eq!((report.passed_count(), report.failed_count()), (1, 1));
    let text = report.render();
    assert!(
        text.contains(
            "FAIL DP9002 pip-anything (0 expected, 0 silent)\n    error: no `# ruleid: DP9002` \
             annotation in any fixture of pack `p`"
        ),
        "{text}"
    );
}

#[test]
fn ok_annotations_alone_do_not_make_a_test() {
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            "p/DP9001/Dockerfile",
            "FROM debian\n# ok: DP9001\nRUN apk add gcc\n",
        ),
    ]);
    let report = run_pack(&dir.path().join("p"));
    assert!(!report.passed());
    assert_eq!(report.results[0].problems.len(), 1);
}

#[test]
fn a_pack_without_rules_and_unknown_rule_ids_fail() {
    let empty = temp_files(&[("p/README.md", "no rules\n")]);
    let report = run_pack(&empty.path().join("p"));
    assert!(!report.passed());
    assert_eq!(report.problems, ["pack `p` has no rules to test"]);

    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            "p/DP9001/Dockerfile",
            "FROM debian\n# ruleid: DP9001, DP9999\nRUN apt-get install -y gcc\n",
        ),
    ]);
    let report = run_pack(&dir.path().join("p"));
    assert_eq!(report.failed_count(), 0);
    assert!(!report.passed());
    assert_eq!(report.problems.len(), 1);
    assert!(
        report.problems[0].ends_with(
            "DP9001/Dockerfile:2: `DP9999` is not a rule of pack `p` (or it did not load)"
        ),
        "{:?}",
        report.problems
    );
}

// ---------------------------------------------------------------- todo annotations

#[test]
fn todoruleid_passes_when_absent_and_is_noted_when_reported() {
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            "p/DP9001/Dockerfile",
            "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\n\
             # todoruleid: DP9001\nRUN apk add gcc\n\
             # todoruleid: DP9001\nRUN apt-get install -y make\n",
        ),
    ]);
    let pack = dir.path().join("p");
    let report = run_pack(&pack);
    assert!(report.passed(), "{}", report.render());
    let result = &report.results[0];
    assert_eq!(
        result.fixed_false_negatives.iter().collect::<Vec<_>>(),
        [&place(&pack, "DP9001/Dockerfile", 7)]
    );
    assert!(
        report.render().contains("    fixed?:     "),
        "{}",
        report.render()
    );
    assert_eq!(
        result.expected.len(),
        1,
        "todoruleid lines are not expected"
    );
}

#[test]
fn todook_tolerates_a_finding_and_is_noted_when_gone() {
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            "p/DP9001/Dockerfile",
            "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\n\
             # todook: DP9001\nRUN apt-get install -y --no-install-recommends curl\n\
             # todook: DP9001\nRUN apk add curl\n",
        ),
    ]);
    let pack = dir.path().join("p");
    let report = run_pack(&pack);
    assert!(report.passed(), "{}", report.render());
    let result = &report.results[0];
    assert!(result.unexpected.is_empty());
    assert!(result
        .reported
        .contains(&place(&pack, "DP9001/Dockerfile", 5)));
    assert_eq!(
        result.fixed_false_positives.iter().collect::<Vec<_>>(),
        [&place(&pack, "DP9001/Dockerfile", 7)]
    );
}

// ---------------------------------------------------------------- fixture kinds

#[test]
fn pack_level_fixtures_test_every_rule_of_the_pack() {
    let repo = "p/fixtures/repo";
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        ("p/DP9002.dpl", PIP_RULE),
        (
            &format!("{repo}/api/Dockerfile"),
            "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\n# ruleid: DP9002\nRUN pip install flask\n",
        ),
    ]);
    let pack = dir.path().join("p");
    let report = run_pack(&pack);
    assert!(report.passed(), "{}", report.render());
    assert_eq!(report.results.len(), 2);

    // A finding of a rule the fixture does not mention still counts against it.
    std::fs::write(
        dir.path().join(repo).join("api/Dockerfile"),
        "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\nRUN pip install flask\n",
    )
    .expect("written");
    let report = run_pack(&pack);
    let dp9002 = &report.results[1];
    assert_eq!(dp9002.rule_id, "DP9002");
    assert_eq!(
        dp9002.unexpected.iter().collect::<Vec<_>>(),
        [&place(&pack, "fixtures/repo/api/Dockerfile", 4)]
    );
}

/// A fixture's `.dockpolicy.yaml` (excluded paths, overrides) and inline suppressions apply
/// as `check` applies them, so a fixture can show that they silence a rule.
#[test]
fn fixtures_apply_their_configuration_and_suppressions() {
    let repo = "p/fixtures/repo";
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            &format!("{repo}/.dockpolicy.yaml"),
            "exclude: [vendor]\noverrides:\n  - paths: [\"legacy/**\"]\n    rules: {DP9001: off}\n",
        ),
        (
            &format!("{repo}/api/Dockerfile"),
            "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\n# dockpolicy ignore=DP9001 -- needed to build wheels\n# ok: DP9001\nRUN apt-get install -y g++\n",
        ),
        (
            &format!("{repo}/legacy/Dockerfile"),
            "FROM debian\n# ok: DP9001\nRUN apt-get install -y gcc\n",
        ),
        (
            &format!("{repo}/vendor/Dockerfile"),
            "FROM debian\n# ok: DP9001\nRUN apt-get install -y gcc\n",
        ),
    ]);
    let report = run_pack(&dir.path().join("p"));
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn fixture_files_and_annotations_in_other_inputs() {
    let dir = temp_files(&[
        ("p/DP9002.dpl", PIP_RULE),
        (
            "p/DP9002.fixture.Dockerfile",
            "FROM python:3.12\n# ruleid: DP9002\nRUN pip install flask\n",
        ),
        ("p/DP9001.dpl", APT_RULE),
        // The apt rule's folder also names the pip rule, in a compose file's comment.
        (
            "p/DP9001/compose.yaml",
            "services:\n  # ok: DP9002\n  api:\n    build: ./api\n",
        ),
        (
            "p/DP9001/api/Dockerfile",
            "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\n",
        ),
    ]);
    let pack = dir.path().join("p");
    let report = run_pack(&pack);
    assert!(report.passed(), "{}", report.render());
    let dp9002 = report
        .results
        .iter()
        .find(|r| r.rule_id == "DP9002")
        .expect("DP9002");
    assert_eq!(
        dp9002.expected.iter().collect::<Vec<_>>(),
        [&place(&pack, "DP9002.fixture.Dockerfile", 3)]
    );
    assert!(dp9002
        .silent
        .contains(&place(&pack, "DP9001/compose.yaml", 3)));
}

#[test]
fn only_the_top_level_fixtures_folder_holds_pack_fixtures() {
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        ("p/fixtures/repo/Dockerfile", "FROM debian\n"),
        ("p/fixtures/repo/not-a-rule.dpl", "not a rule"),
        (
            "p/fixtures/notes.md",
            "a file beside the repositories is no fixture",
        ),
        ("p/nested/fixtures/DP9002.dpl", PIP_RULE),
    ]);
    let pack = dir.path().join("p");
    let mut sources = dockpolicy::source::Sources::new();
    let (loaded, diagnostics) = dockpolicy::lang::pack::load_pack_dir(&pack, &mut sources);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let ids: Vec<&str> = loaded.rules.iter().map(|r| r.id.value.as_str()).collect();
    assert_eq!(ids, ["DP9001", "DP9002"]);
    assert_eq!(loaded.fixtures, [pack.join("fixtures/repo")]);
}

// ---------------------------------------------------------------- the command

#[test]
fn test_runs_the_bundled_packs_by_default() {
    let run = dockpolicy_in(manifest_dir(), &["test"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let (summary, results) = lines.split_last().expect("output");
    assert!(results.len() >= 3);
    for line in results {
        let words: Vec<&str> = line.splitn(4, ' ').collect();
        assert_eq!(words[0], "PASS", "{line}");
        assert!(words[1].starts_with("DP"), "{line}");
        assert!(
            words[3].starts_with('(') && words[3].ends_with(" silent)"),
            "{line}"
        );
    }
    assert_eq!(*summary, format!("{} passed, 0 failed", results.len()));
    let by_name = dockpolicy_in(manifest_dir(), &["test", "dockerfile"]);
    assert_eq!(by_name.code, 0);
    assert!(by_name
        .stdout
        .contains("PASS DP1005 apt-install-recommends ("));
    // The same pack as a folder: its rules do not clash with the embedded copies.
    let by_path = dockpolicy_in(manifest_dir(), &["test", "rules/dockerfile"]);
    assert_eq!(by_path.code, 0, "{}", by_path.stderr);
    assert_eq!(by_path.stdout, by_name.stdout);
}

#[test]
fn test_of_the_custom_pack_prints_one_line_per_rule() {
    let run = dockpolicy_in(manifest_dir(), &["test", "examples/custom-pack"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "PASS PT001 approved-registry (1 expected, 1 silent)\n\
         PASS PT002 dev-tools-in-service (1 expected, 2 silent)\n\
         PASS PT003 unpinned-pip-install (1 expected, 0 silent)\n\
         3 passed, 0 failed\n"
    );
}

#[test]
fn test_prints_the_failures_and_exits_1() {
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            "p/DP9001/Dockerfile",
            "FROM debian\n# ruleid: DP9001\nRUN apk add gcc\n# ok: DP9001\nRUN apt-get install -y curl\n",
        ),
        ("p/DP9002.dpl", PIP_RULE),
        (
            "p/DP9002/Dockerfile",
            "FROM python\n# ruleid: DP9002\nRUN pip install flask\n",
        ),
    ]);
    let run = dockpolicy_in(dir.path(), &["test", "--no-default-rules", "p"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "FAIL DP9001 apt-anything (1 expected, 1 silent)\n\
         \x20   expected:   p/DP9001/Dockerfile:3\n\
         \x20   reported:   p/DP9001/Dockerfile:5\n\
         \x20   missing:    p/DP9001/Dockerfile:3\n\
         \x20   unexpected: p/DP9001/Dockerfile:5 (annotated `ok`)\n\
         PASS DP9002 pip-anything (1 expected, 0 silent)\n\
         1 passed, 1 failed\n"
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn test_exit_codes_for_usage_and_pack_errors() {
    let dir = temp_files(&[
        ("p/DP9001.dpl", APT_RULE),
        (
            "p/DP9001/Dockerfile",
            "FROM debian\n# ruleid: DP9001\nRUN apt-get install -y gcc\n",
        ),
        ("p/DP9003.dpl", "rule DP9003 broken {\n"),
    ]);
    let missing = dockpolicy_in(dir.path(), &["test", "nowhere"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("nowhere: there is no rule pack folder"),
        "{}",
        missing.stderr
    );
    let nothing = dockpolicy_in(dir.path(), &["test", "--no-default-rules"]);
    assert_eq!(nothing.code, 2);
    assert!(
        nothing.stderr.contains("nothing to test"),
        "{}",
        nothing.stderr
    );
    let unknown_flag = dockpolicy_in(dir.path(), &["test", "--frobnicate"]);
    assert_eq!(unknown_flag.code, 2);

    // A broken rule file: exit 3, and the valid rule's test still runs.
    let broken = dockpolicy_in(dir.path(), &["test", "--no-default-rules", "p"]);
    assert_eq!(broken.code, 3, "{}{}", broken.stdout, broken.stderr);
    assert!(broken.stderr.contains("p/DP9003.dpl"), "{}", broken.stderr);
    assert_eq!(
        broken.stdout,
        "PASS DP9001 apt-anything (1 expected, 0 silent)\n1 passed, 0 failed\n"
    );
}
