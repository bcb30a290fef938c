//! The configuration applied to `check` (exclude, per-rule settings, overrides by path and by
//! service with their own params) and inline suppressions, end to end on small repositories.

use dockpolicy::cli::{check, CheckOptions, RuleOptions, EXIT_FINDINGS, EXIT_INPUT_ERROR, EXIT_OK};
use dockpolicy::parse::repository::LoadOptions;

mod common;
use common::{printed_findings, temp_files};

struct Checked {
    code: u8,
    stdout: String,
    stderr: String,
}

/// Runs `check` in-process on a temporary repository holding `files` (the configuration is
/// its `.dockpolicy.yaml`, if given).
fn check_files(files: &[(&str, &str)]) -> Checked {
    let dir = temp_files(files);
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = check(
        &[dir.path().to_path_buf()],
        &RuleOptions::default(),
        &LoadOptions::default(),
        &CheckOptions::default(),
        &mut out,
        &mut err,
    );
    let root = format!("{}/", dir.path().display());
    Checked {
        code,
        stdout: String::from_utf8(out).expect("UTF-8").replace(&root, ""),
        stderr: String::from_utf8(err).expect("UTF-8").replace(&root, ""),
    }
}

/// `(rule ID, path, line)` of the printed findings, sorted.
fn places(checked: &Checked) -> Vec<(String, String, usize)> {
    let mut places = printed_findings(&checked.stdout);
    places.sort();
    places
}

fn place(id: &str, path: &str, line: usize) -> (String, String, usize) {
    (id.to_string(), path.to_string(), line)
}

/// The summary line, without its timing.
/// The summary line without its last part (`N rules over N files in T s`).
fn summary(checked: &Checked) -> &str {
    let last = checked.stdout.lines().last().unwrap_or("");
    last.rsplit_once("; ").map_or(last, |(summary, _)| summary)
}

const DOCKERIGNORE: &str = ".git\n__pycache__\n*.pyc\n.env\nnode_modules\n";

const APT_DOCKERFILE: &str = "FROM debian:12-slim\nRUN apt-get update && apt-get install -y curl\nUSER app\nHEALTHCHECK CMD true\n";

#[test]
fn excluded_paths_are_neither_read_nor_reported() {
    let checked = check_files(&[
        (
            ".dockpolicy.yaml",
            "exclude: [\"vendor/**\", third_party]\n",
        ),
        ("vendor/lib/Dockerfile", APT_DOCKERFILE),
        ("third_party/x/Dockerfile", APT_DOCKERFILE),
        ("svc/Dockerfile", APT_DOCKERFILE),
        ("svc/.dockerignore", DOCKERIGNORE),
    ]);
    assert_eq!(checked.stderr, "");
    assert_eq!(
        places(&checked),
        [
            place("DP1004", "svc/Dockerfile", 2),
            place("DP1005", "svc/Dockerfile", 2)
        ]
    );
}

#[test]
fn rules_are_turned_off_and_get_another_severity() {
    let checked = check_files(&[
        (
            ".dockpolicy.yaml",
            "rules:\n  DP1005: off\n  DP1004: {severity: error}\n  DP2001: {enabled: false}\n",
        ),
        ("Dockerfile", APT_DOCKERFILE),
    ]);
    assert_eq!(checked.stderr, "");
    assert_eq!(places(&checked), [place("DP1004", "Dockerfile", 2)]);
    assert!(
        checked.stdout.starts_with("error[DP1004]"),
        "{}",
        checked.stdout
    );
    assert_eq!(checked.code, EXIT_FINDINGS);
}

#[test]
fn the_old_list_form_of_rules_still_names_packs() {
    let checked = check_files(&[(".dockpolicy.yaml", "rules: [missing-pack]\n")]);
    assert!(
        checked
            .stderr
            .contains("missing-pack: cannot read the folder"),
        "{}",
        checked.stderr
    );
    assert_eq!(checked.code, EXIT_INPUT_ERROR);
}

#[test]
fn overrides_by_path_apply_only_below_their_globs() {
    let checked = check_files(&[
        (
            ".dockpolicy.yaml",
            concat!(
                "rules: {DP2001: off}\n",
                "overrides:\n",
                "  - paths: [\"legacy/**\"]\n",
                "    rules: {DP1005: off, DP1004: {severity: note}}\n",
                "  - paths: [\"legacy/old/**\"]\n",
                "    rules: {DP1005: on}\n",
            ),
        ),
        ("legacy/Dockerfile", APT_DOCKERFILE),
        ("legacy/old/Dockerfile", APT_DOCKERFILE),
        ("current/Dockerfile", APT_DOCKERFILE),
    ]);
    assert_eq!(checked.stderr, "");
    assert_eq!(
        places(&checked),
        [
            place("DP1004", "current/Dockerfile", 2),
            place("DP1004", "legacy/Dockerfile", 2),
            place("DP1004", "legacy/old/Dockerfile", 2),
            place("DP1005", "current/Dockerfile", 2),
            place("DP1005", "legacy/old/Dockerfile", 2),
        ]
    );
    assert_eq!(
        summary(&checked),
        "5 findings (0 errors, 3 warnings, 2 notes) in 3 files"
    );
}

/// Two compose services whose contexts are the same size: a budget set for one service
/// reports that one only, though the global budget reports neither (the rule runs once per
/// param set and keeps each run's findings in its scope).
#[test]
fn overrides_by_service_give_a_rule_other_params() {
    let data = "x".repeat(3000);
    let files = |config: &'static str| {
        vec![
            (".dockpolicy.yaml", config),
            (
                "compose.yaml",
                "services:\n  api:\n    build: ./api\n  worker:\n    build: ./worker\n",
            ),
            ("api/Dockerfile", APT_DOCKERFILE),
            ("api/.dockerignore", DOCKERIGNORE),
            ("api/data.txt", data.as_str()),
            ("worker/Dockerfile", APT_DOCKERFILE),
            ("worker/.dockerignore", DOCKERIGNORE),
            ("worker/data.txt", data.as_str()),
        ]
    };
    let base =
        "rules: {DP1004: off, DP1005: off, DP3001: off}\nparams: {DP2006: {max_size: 1MB}}\n";
    let checked = check_files(&files(base));
    assert_eq!(checked.stderr, "");
    assert_eq!(places(&checked), []);
    let config = concat!(
        "rules: {DP1004: off, DP1005: off, DP3001: off}\n",
        "params: {DP2006: {max_size: 1MB}}\n",
        "overrides:\n",
        "  - services: [api]\n",
        "    params: {DP2006: {max_size: 2KB}}\n",
    );
    let checked = check_files(&files(config));
    assert_eq!(checked.stderr, "");
    assert_eq!(places(&checked), [place("DP2006", "api/.dockerignore", 1)]);
    assert!(checked.stdout.contains("over the budget of 2.0 kB"));
    // The other way round: the global budget reports both, the override spares `worker`.
    let config = concat!(
        "rules: {DP1004: off, DP1005: off, DP3001: off}\n",
        "params: {DP2006: {max_size: 2KB}}\n",
        "overrides:\n",
        "  - services: [worker]\n",
        "    params: {DP2006: {max_size: 1MB}}\n",
    );
    let checked = check_files(&files(config));
    assert_eq!(places(&checked), [place("DP2006", "api/.dockerignore", 1)]);
}

#[test]
fn without_compose_a_dockerfile_is_the_service_of_its_folder() {
    let checked = check_files(&[
        (
            ".dockpolicy.yaml",
            "overrides:\n  - services: [tools]\n    rules: {DP1004: off, DP1005: off}\n",
        ),
        ("tools/Dockerfile", APT_DOCKERFILE),
        ("tools/.dockerignore", DOCKERIGNORE),
        ("api/Dockerfile", APT_DOCKERFILE),
        ("api/.dockerignore", DOCKERIGNORE),
    ]);
    assert_eq!(
        places(&checked),
        [
            place("DP1004", "api/Dockerfile", 2),
            place("DP1005", "api/Dockerfile", 2)
        ]
    );
}

#[test]
fn an_override_for_a_service_the_repository_lacks_is_a_warning() {
    let checked = check_files(&[
        (
            ".dockpolicy.yaml",
            "overrides:\n  - services: [tool]\n    rules: {DP1004: off}\n",
        ),
        ("tools/Dockerfile", APT_DOCKERFILE),
        ("tools/.dockerignore", DOCKERIGNORE),
    ]);
    insta::assert_snapshot!("unknown_override_service", checked.stderr);
    assert_eq!(checked.code, EXIT_FINDINGS);
}

#[test]
fn an_override_service_is_unknown_only_if_no_scanned_path_has_it() {
    // The configuration is read from the first PATH; `api` is a service of the second.
    let dir = temp_files(&[
        (
            "first/.dockpolicy.yaml",
            "overrides:\n  - services: [api, tool]\n    rules: {DP1004: off}\n",
        ),
        ("first/web/Dockerfile", APT_DOCKERFILE),
        ("first/web/.dockerignore", DOCKERIGNORE),
        ("second/api/Dockerfile", APT_DOCKERFILE),
        ("second/api/.dockerignore", DOCKERIGNORE),
    ]);
    let mut out = Vec::new();
    let mut err = Vec::new();
    check(
        &[dir.path().join("first"), dir.path().join("second")],
        &RuleOptions::default(),
        &LoadOptions::default(),
        &CheckOptions::default(),
        &mut out,
        &mut err,
    );
    let stderr = String::from_utf8(err).expect("UTF-8");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("warning: no service"))
        .collect();
    // Once, not once per PATH; `api` is known.
    assert_eq!(
        warnings,
        ["warning: no service of the scanned repository is named `tool`"]
    );
    // The override applies to `api` in the second PATH: its DP1004 is off there.
    let stdout = String::from_utf8(out).expect("UTF-8");
    let root = format!("{}/", dir.path().display());
    let places: Vec<(String, String, usize)> = printed_findings(&stdout.replace(&root, ""))
        .into_iter()
        .filter(|(rule, _, _)| rule == "DP1004")
        .collect();
    // The text report names files as the JSON and SARIF ones do: after their PATH.
    assert_eq!(places, [place("DP1004", "first/web/Dockerfile", 2)]);
}

#[test]
fn configuration_errors_exit_2() {
    let checked = check_files(&[
        (
            ".dockpolicy.yaml",
            "rules: {DP1055: off}\noverrides:\n  - paths: [x]\n    params: {DP2006: {max_size: big}}\n",
        ),
        ("Dockerfile", APT_DOCKERFILE),
    ]);
    assert_eq!(checked.code, EXIT_INPUT_ERROR);
    insta::assert_snapshot!("configuration_errors", checked.stderr);
}

const SUPPRESSED_DOCKERFILE: &str = r#"# dockpolicy ignore-file=DP3002 -- runs as root in a sandbox
# dockpolicy ignore-stage=DP1004,apt-install-recommends -- the build stage is thrown away
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y gcc
FROM debian:12-slim
# dockpolicy ignore=DP1005 -- curl needs its recommended CA certificates
# (comment lines in between are fine)
RUN apt-get update && \
    # dockpolicy ignore=DP1004 -- a comment in a continuation refers to the next instruction
    apt-get install -y curl
RUN apt-get update && apt-get install -y wget
HEALTHCHECK CMD true
"#;

#[test]
fn suppressions_silence_the_next_instruction_the_stage_or_the_file() {
    let checked = check_files(&[
        ("Dockerfile", SUPPRESSED_DOCKERFILE),
        (
            ".dockerignore",
            "# dockpolicy ignore=DP2004 -- .env and node_modules never exist here\n.git\n",
        ),
        (
            "requirements.txt",
            "flask\n# dockpolicy ignore=DP4001 -- pinned twice on purpose\n\nflask==3.0\nrequests\nrequests\n",
        ),
    ]);
    assert_eq!(
        places(&checked),
        [
            place("DP1004", "Dockerfile", 10),
            place("DP1005", "Dockerfile", 11),
            place("DP4001", "requirements.txt", 6),
        ]
    );
    assert_eq!(
        summary(&checked),
        "3 findings (0 errors, 3 warnings, 0 notes) in 2 files; 6 suppressed"
    );
    insta::assert_snapshot!("suppressions_used_and_unused", checked.stderr);
}

#[test]
fn suppressed_findings_do_not_count_for_the_exit_code() {
    let checked = check_files(&[
        (
            "Dockerfile",
            "# dockpolicy ignore-file=DP1004,DP1005 -- a throwaway image\nFROM debian:12-slim\nRUN apt-get update && apt-get install -y curl\nUSER app\nHEALTHCHECK CMD true\n",
        ),
    ]);
    assert_eq!(checked.stdout.lines().count(), 1, "{}", checked.stdout);
    assert_eq!(
        summary(&checked),
        "0 findings (0 errors, 0 warnings, 0 notes) in 0 files; 2 suppressed"
    );
    assert_eq!(checked.stderr, "");
    assert_eq!(checked.code, EXIT_OK);
}

#[test]
fn a_suppression_needs_a_reason_and_known_rules() {
    let checked = check_files(&[
        (
            "Dockerfile",
            "FROM debian:12-slim\n# dockpolicy ignore=DP1004\nRUN apt-get update && apt-get install -y curl\n# dockpolicy ignore=DP1050,apt-install-recomends -- typos\nUSER app\n# dockpolicy ignore-stage=DP3001 -- not before a FROM\nHEALTHCHECK CMD true\n# dockpolicy ignor=DP1004 -- a typo in the form\n",
        ),
        (".dockerignore", DOCKERIGNORE),
        (
            "compose.yaml",
            "services:\n  # dockpolicy ignore=DP3001 -- on the service's line\n  app:\n    build: .\n",
        ),
    ]);
    assert_eq!(checked.code, EXIT_INPUT_ERROR);
    assert_eq!(
        places(&checked),
        [
            place("DP1004", "Dockerfile", 3),
            place("DP1005", "Dockerfile", 3)
        ]
    );
    insta::assert_snapshot!("suppression_errors", checked.stderr);
}

/// Only a comment line whose text starts with `dockpolicy` is a suppression: the word
/// elsewhere in a line (an instruction, later in a comment) is not, and the last line of a
/// file is read without its newline.
#[test]
fn only_comment_lines_that_start_with_dockpolicy_suppress() {
    let checked = check_files(&[
        (
            "Dockerfile",
            "FROM debian:12-slim\nRUN echo dockpolicy && echo \"# dockpolicy ignore=DP1004 -- in a command\"\n# see dockpolicy; # dockpolicy ignore=DP1004 -- not where the comment starts\nRUN apt-get update && apt-get install -y curl\nUSER app\nHEALTHCHECK CMD true\n \t#\tdockpolicy ignore-file=DP1005 -- written last, indented, without a newline",
        ),
        (".dockerignore", DOCKERIGNORE),
    ]);
    assert_eq!(checked.stderr, "");
    assert_eq!(places(&checked), [place("DP1004", "Dockerfile", 4)]);
    assert_eq!(
        summary(&checked),
        "1 finding (0 errors, 1 warning, 0 notes) in 1 file; 1 suppressed"
    );
}

/// A silenced finding keeps its place in the list, with the reason and the comment's span
/// (what SARIF reports as its suppression).
#[test]
fn a_silenced_finding_carries_its_suppression() {
    use dockpolicy::cli::load_rules;
    use dockpolicy::eval::engine::SuppressionKind;
    use dockpolicy::eval::suppression::apply_suppressions;
    use dockpolicy::eval::world::World;
    use dockpolicy::parse::repository::load;
    use dockpolicy::policy::Policy;

    let dir = temp_files(&[
        (
            "compose.yaml",
            "services:\n  # dockpolicy ignore=missing-healthcheck -- probed by the load balancer\n  app:\n    build: .\n",
        ),
        ("Dockerfile", "FROM debian:12-slim\nUSER app\n"),
        (".dockerignore", DOCKERIGNORE),
    ]);
    let rule_set = load_rules(&RuleOptions::default(), None);
    let rules: Vec<_> = rule_set.rules().collect();
    let (policy, diagnostics) = Policy::new(&rule_set.config, &rules);
    assert!(diagnostics.is_empty());
    let loaded = load(dir.path(), &LoadOptions::default());
    let world = World::new(&loaded.repository, &loaded.sources);
    let services = policy.service_map(&loaded.repository);
    let (mut findings, _) = policy.evaluate(&world, services.as_ref());
    let problems = apply_suppressions(&mut findings, &loaded.repository, &loaded.sources, &rules);
    assert!(problems.is_empty(), "{problems:?}");
    let [finding] = findings.as_slice() else {
        panic!("one finding: {findings:?}");
    };
    assert_eq!(&*finding.rule_id, "DP3001");
    let suppression = finding.suppression.as_ref().expect("suppressed");
    assert_eq!(suppression.kind, SuppressionKind::InSource);
    assert_eq!(suppression.justification, "probed by the load balancer");
    let span = suppression.span.expect("a span");
    let file = loaded.sources.get(span.file).expect("the compose file");
    assert_eq!(file.rel_path, "compose.yaml");
    assert_eq!(file.line_column(span.start as usize), (2, 3));
    assert_eq!(
        loaded.sources.slice(span),
        "# dockpolicy ignore=missing-healthcheck -- probed by the load balancer"
    );
}
