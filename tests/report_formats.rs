//! `check`'s output formats end to end: snapshots of text, JSON, SARIF and GitHub workflow
//! commands on the examples, fingerprints that survive unrelated edits, UTF-16 columns,
//! baselines, several outputs at once, and every exit code of the output options.

use std::path::Path;

use serde_json::Value;

mod common;
use common::{dockpolicy, dockpolicy_in, temp_files, Run};

const QUICKSTART: &str = "examples/quickstart";
const PACK: &str = "examples/custom-pack";
const FIXTURE: &str = "examples/custom-pack/fixtures/platform-repo";

/// The output with what changes from run to run or release to release replaced.
fn redact(text: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let text = text.replace(&format!("\"{version}\""), "\"[VERSION]\"");
    let time = regex::Regex::new(r"in \d+\.\d\d s").expect("a regex");
    time.replace_all(&text, "in [TIME] s").into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

/// The SARIF log with each rule's long help text replaced by a marker, after checking
/// that the help is what `explain` prints (the rule docs are pinned by their own tests).
fn sarif_without_rule_docs(text: &str) -> Value {
    let mut log = json(text);
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array_mut()
        .expect("rules");
    for rule in rules {
        let id = rule["id"].as_str().expect("an id").to_string();
        let explained = dockpolicy(&["explain", &id, "--rules", PACK]);
        assert_eq!(rule["help"]["text"], explained.stdout.as_str(), "{id}");
        let markdown = rule["help"]["markdown"].as_str().expect("markdown");
        assert!(markdown.starts_with(&format!("# {id} ")), "{markdown}");
        rule["help"] = Value::from(format!("[`dockpolicy explain {id}`]"));
    }
    log
}

fn pretty(value: &Value) -> String {
    redact(&serde_json::to_string_pretty(value).expect("JSON"))
}

// ------------------------------------------------------------------ snapshots

/// `dockpolicy check` of the custom pack's fixture with that pack alone, and `extra` args.
fn check_fixture(extra: &[&str]) -> Run {
    let mut args = vec!["check", "--rules", PACK, "--no-default-rules", FIXTURE];
    args.extend_from_slice(extra);
    dockpolicy(&args)
}

#[test]
fn text_on_the_custom_pack_fixture() {
    let run = check_fixture(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(redact(&run.stdout));
}

#[test]
fn text_on_the_quickstart() {
    let run = dockpolicy(&["check", QUICKSTART]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(redact(&run.stdout));
}

#[test]
fn json_on_the_custom_pack_fixture() {
    let run = check_fixture(&["--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(redact(&run.stdout));
}

#[test]
fn json_on_the_quickstart() {
    let run = dockpolicy(&["check", QUICKSTART, "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(redact(&run.stdout));
}

#[test]
fn sarif_on_the_custom_pack_fixture() {
    let run = check_fixture(&["--format", "sarif"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(pretty(&sarif_without_rule_docs(&run.stdout)));
}

#[test]
fn sarif_on_the_quickstart() {
    let run = dockpolicy(&["check", QUICKSTART, "--format", "sarif"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(pretty(&sarif_without_rule_docs(&run.stdout)));
}

#[test]
fn github_on_the_custom_pack_fixture() {
    let run = check_fixture(&["--format", "github"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn github_on_the_quickstart() {
    let run = dockpolicy(&["check", QUICKSTART, "--format", "github"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn quiet_leaves_out_the_summary() {
    let loud = dockpolicy(&["check", QUICKSTART]);
    let quiet = dockpolicy(&["check", QUICKSTART, "--quiet"]);
    assert_eq!(quiet.code, 1);
    let summary = loud.stdout.lines().last().expect("a summary");
    assert!(summary.starts_with("19 findings"), "{summary}");
    assert_eq!(
        quiet.stdout,
        loud.stdout.replace(&format!("{summary}\n"), "")
    );
}

// ------------------------------------------------------------------ fingerprints and columns

/// `(dockpolicy key, primaryLocationLineHash, rule ID, start line)` of every SARIF result.
fn fingerprints(dir: &Path) -> Vec<(String, String, String, u64)> {
    let run = dockpolicy_in(dir, &["check", ".", "--format", "sarif"]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let log = json(&run.stdout);
    log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| {
            let fingerprint = |key: &str| {
                result["partialFingerprints"][key]
                    .as_str()
                    .expect("a fingerprint")
                    .to_string()
            };
            (
                fingerprint("dockpolicy/v1"),
                fingerprint("primaryLocationLineHash"),
                result["ruleId"].as_str().expect("a rule").to_string(),
                result["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .expect("a line"),
            )
        })
        .collect()
}

const DOCKERFILE: &str = "FROM python:3.12-slim\nRUN pip install flask==3.0.3\n";

#[test]
fn fingerprints_survive_lines_inserted_above_and_change_with_the_token() {
    let before = temp_files(&[("Dockerfile", DOCKERFILE)]);
    let shifted = temp_files(&[(
        "Dockerfile",
        "# syntax=docker/dockerfile:1\n\n# the web image\nFROM python:3.12-slim\nRUN pip install flask==3.0.3\n",
    )]);
    let changed = temp_files(&[(
        "Dockerfile",
        "FROM python:3.12-slim\nRUN pip3 install flask==3.0.3\n",
    )]);
    let before = fingerprints(before.path());
    let shifted = fingerprints(shifted.path());
    let changed = fingerprints(changed.path());
    assert!(!before.is_empty());
    let without_lines = |found: &[(String, String, String, u64)]| {
        found
            .iter()
            .map(|(key, hash, rule, _)| (key.clone(), hash.clone(), rule.clone()))
            .collect::<Vec<_>>()
    };
    // The findings moved down three lines, and kept both fingerprints (GitHub's line hash
    // reads the line and the text after it, so it too ignores what is above).
    assert_eq!(without_lines(&before), without_lines(&shifted));
    assert!(before.iter().zip(&shifted).all(|(b, s)| s.3 == b.3 + 3));
    // `pip3` instead of `pip`: the pip finding is another one.
    let pip = |found: &[(String, String, String, u64)]| {
        found
            .iter()
            .find(|f| f.2 == "DP1003")
            .cloned()
            .expect("a DP1003 finding")
    };
    assert_ne!(pip(&before).0, pip(&changed).0);
    assert_ne!(pip(&before).1, pip(&changed).1);
}

#[test]
fn sarif_columns_count_utf16_code_units() {
    let repo = temp_files(&[(
        "Dockerfile",
        "FROM python:3.12-slim\nRUN echo \"héllo 😀\" && pip install flask==3.0.3\n",
    )]);
    let sarif = json(&dockpolicy_in(repo.path(), &["check", ".", "--format", "sarif"]).stdout);
    let result = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == "DP1003")
        .expect("DP1003 at `pip`")
        .clone();
    let region = &result["locations"][0]["physicalLocation"]["region"];
    // 22 characters precede `pip`; the emoji is two UTF-16 code units.
    assert_eq!(region["startLine"], 2);
    assert_eq!(region["startColumn"], 24);
    assert_eq!(region["endColumn"], 27);
    assert_eq!(region["snippet"]["text"], "pip");
    assert_eq!(sarif["runs"][0]["columnKind"], "utf16CodeUnits");
    // JSON counts Unicode scalar values, as `dump` does.
    let json_output = json(&dockpolicy_in(repo.path(), &["check", ".", "--format", "json"]).stdout);
    let finding = json_output["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule_id"] == "DP1003")
        .expect("DP1003")
        .clone();
    assert_eq!(finding["start_column"], 23);
    assert_eq!(finding["text"], "pip");
}

// ------------------------------------------------------------------ baseline

#[test]
fn a_baseline_hides_the_findings_it_holds_and_shows_new_ones() {
    let repo = temp_files(&[("Dockerfile", DOCKERFILE)]);
    let baseline = repo.path().join("baseline.sarif");
    let first = dockpolicy_in(
        repo.path(),
        &[
            "check",
            ".",
            "--format",
            "sarif",
            "--output",
            "baseline.sarif",
        ],
    );
    assert_eq!(first.code, 1, "{}", first.stderr);
    let known = fingerprints(repo.path()).len();
    assert!(known > 0);
    // Nothing new: exit 0, and the summary says what the baseline hid.
    let same = dockpolicy_in(repo.path(), &["check", ".", "--baseline", "baseline.sarif"]);
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
    assert!(
        same.stdout
            .starts_with(&format!("0 findings (0 errors, 0 warnings, 0 notes) in 0 files; {known} hidden by the baseline;")),
        "{}",
        same.stdout
    );
    // The fallback on GitHub's line hash when the log has no key of ours.
    let log = std::fs::read_to_string(&baseline).expect("the baseline");
    let ours = repo.path().join("ours.sarif");
    std::fs::copy(&baseline, &ours).expect("copy");
    let foreign = regex::Regex::new(r#""dockpolicy/v1": "[0-9a-f]+:\d+",?"#).expect("a regex");
    assert!(foreign.is_match(&log));
    std::fs::write(&baseline, foreign.replace_all(&log, "").as_ref()).expect("write");
    let fallback = dockpolicy_in(
        repo.path(),
        &[
            "check",
            ".",
            "--baseline",
            "baseline.sarif",
            "--format",
            "json",
        ],
    );
    assert_eq!(json(&fallback.stdout)["summary"]["baseline_hidden"], known);
    // Lines inserted above (the line hashes change with the text after a line, so only our
    // key follows the findings), and a new install, which is reported.
    std::fs::write(
        repo.path().join("Dockerfile"),
        "# web\nFROM python:3.12-slim\nRUN pip install flask==3.0.3\nRUN pip install gunicorn==22.0.0\n",
    )
    .expect("write");
    let new = dockpolicy_in(
        repo.path(),
        &["check", ".", "--baseline", "ours.sarif", "--format", "json"],
    );
    assert_eq!(new.code, 1, "{}", new.stderr);
    let document = json(&new.stdout);
    let findings = document["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f["start_line"] == 4),
        "{findings:#?}"
    );
    assert_eq!(document["summary"]["baseline_hidden"], known);
}

#[test]
fn an_unreadable_or_invalid_baseline_exits_2() {
    let repo = temp_files(&[("Dockerfile", DOCKERFILE), ("bad.sarif", "{\"runs\": 3}")]);
    let missing = dockpolicy_in(repo.path(), &["check", ".", "--baseline", "none.sarif"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .starts_with("error: cannot read the baseline none.sarif:"),
        "{}",
        missing.stderr
    );
    assert!(missing.stdout.is_empty());
    let invalid = dockpolicy_in(repo.path(), &["check", ".", "--baseline", "bad.sarif"]);
    assert_eq!(invalid.code, 2);
    assert_eq!(
        invalid.stderr,
        "error: the baseline bad.sarif is not a SARIF log: it has no `runs` array\n"
    );
}

// ------------------------------------------------------------------ outputs and exit codes

#[test]
fn each_format_goes_to_its_own_output() {
    let repo = temp_files(&[("Dockerfile", DOCKERFILE)]);
    let run = dockpolicy_in(
        repo.path(),
        &[
            "check",
            ".",
            "--format",
            "sarif",
            "--output",
            "out.sarif",
            "--format",
            "text",
            "--format",
            "json",
            "-o",
            "out.json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.starts_with("warning["), "{}", run.stdout);
    let sarif = json(&std::fs::read_to_string(repo.path().join("out.sarif")).expect("SARIF"));
    let document = json(&std::fs::read_to_string(repo.path().join("out.json")).expect("JSON"));
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        document["findings"].as_array().map(Vec::len)
    );
    assert_eq!(sarif["runs"][0]["invocations"][0]["exitCode"], 1);
}

#[test]
fn output_options_that_do_not_fit_are_usage_errors() {
    let two_on_stdout = dockpolicy(&["check", QUICKSTART, "--format", "json", "--format", "sarif"]);
    assert_eq!(two_on_stdout.code, 2);
    assert!(
        two_on_stdout
            .stderr
            .contains("only one format can go to standard output"),
        "{}",
        two_on_stdout.stderr
    );
    let output_first = dockpolicy(&["check", QUICKSTART, "-o", "x.json", "--format", "json"]);
    assert_eq!(output_first.code, 2);
    assert!(output_first.stderr.contains("comes before any `--format`"));
    let two_files = dockpolicy(&[
        "check", QUICKSTART, "--format", "json", "-o", "a", "-o", "b",
    ]);
    assert_eq!(two_files.code, 2);
    assert!(two_files.stderr.contains("two `--output` files (a and b)"));
    let unknown = dockpolicy(&["check", QUICKSTART, "--format", "xml"]);
    assert_eq!(unknown.code, 2);
}

#[test]
fn an_unwritable_output_exits_2() {
    let repo = temp_files(&[("Dockerfile", DOCKERFILE)]);
    let run = dockpolicy_in(
        repo.path(),
        &[
            "check",
            ".",
            "--format",
            "sarif",
            "-o",
            "no/such/folder/out.sarif",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: cannot write no/such/folder/out.sarif:"),
        "{}",
        run.stderr
    );
}

#[test]
fn exit_codes_follow_fail_on_in_every_format() {
    for format in ["text", "json", "sarif", "github"] {
        let fails = dockpolicy(&["check", QUICKSTART, "--format", format]);
        assert_eq!(fails.code, 1, "{format}");
        let passes = dockpolicy(&["check", QUICKSTART, "--format", format, "--fail-on", "none"]);
        assert_eq!(passes.code, 0, "{format}");
    }
    let clean = temp_files(&[(
        "Dockerfile",
        "FROM python:3.12-slim@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    )]);
    let run = dockpolicy_in(clean.path(), &["check", ".", "--format", "sarif"]);
    let log = json(&run.stdout);
    assert_eq!(run.code, log["runs"][0]["invocations"][0]["exitCode"]);
}

#[test]
fn input_errors_exit_2_and_become_tool_notifications() {
    let repo = temp_files(&[("Dockerfile", "FROM python:3.12-slim\nFOO bar\n")]);
    let run = dockpolicy_in(repo.path(), &["check", ".", "--format", "sarif"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let invocation = &json(&run.stdout)["runs"][0]["invocations"][0];
    assert_eq!(invocation["exitCode"], 2);
    assert_eq!(invocation["executionSuccessful"], false);
    let notification = &invocation["toolExecutionNotifications"][0];
    assert_eq!(notification["level"], "error");
    let location = &notification["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "Dockerfile");
    assert_eq!(location["region"]["startLine"], 2);
    assert_eq!(location["region"]["snippet"]["text"], "FOO");
}

#[test]
fn rule_pack_errors_exit_3_in_every_format() {
    let pack = temp_files(&[("BAD1.dpl", "rule BAD1 broken {")]);
    let pack_path = pack.path().to_str().expect("UTF-8");
    for format in ["text", "json", "sarif", "github"] {
        let run = dockpolicy(&[
            "check", QUICKSTART, "--rules", pack_path, "--format", format,
        ]);
        assert_eq!(run.code, 3, "{format}: {}", run.stderr);
    }
}

#[test]
fn several_paths_are_named_from_the_current_folder() {
    let run = dockpolicy(&[
        "check",
        "examples/quickstart/api",
        "examples/quickstart/worker",
        "--format",
        "sarif",
    ]);
    let log = json(&run.stdout);
    let uris: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(
        uris.contains(&"examples/quickstart/api/Dockerfile"),
        "{uris:?}"
    );
    assert!(
        uris.contains(&"examples/quickstart/worker/Dockerfile"),
        "{uris:?}"
    );
}

/// An inline suppression keeps its finding out of SARIF by default (GitHub code scanning
/// ignores `suppressions`); `--include-suppressed` lists it with the comment's reason.
#[test]
fn suppressed_findings_reach_sarif_only_when_asked() {
    let is_suppressed_dp4002 = |result: &&Value| {
        result["ruleId"] == "DP4002"
            && result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "worker/requirements.txt"
    };
    let default_run = dockpolicy(&["check", QUICKSTART, "--format", "sarif"]);
    let default = json(&default_run.stdout);
    let results = default["runs"][0]["results"].as_array().expect("results");
    assert!(!results.iter().any(|r| is_suppressed_dp4002(&r)));
    assert!(results.iter().all(|r| r.get("suppressions").is_none()));

    let run = dockpolicy(&[
        "check",
        QUICKSTART,
        "--format",
        "sarif",
        "--include-suppressed",
    ]);
    let log = json(&run.stdout);
    let results = log["runs"][0]["results"].as_array().expect("results");
    let suppressed = results
        .iter()
        .find(is_suppressed_dp4002)
        .expect("the suppressed DP4002 finding");
    assert_eq!(suppressed["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        suppressed["suppressions"][0]["justification"],
        "torch loads numpy at run time; the worker never imports it itself"
    );
    assert_eq!(
        results.len(),
        default["runs"][0]["results"].as_array().map_or(0, Vec::len) + 1
    );
    assert_eq!(run.code, default_run.code);
}
