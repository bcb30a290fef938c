//! Runs `dockpolicy check` on the example estates and checks that together they exercise every
//! bundled rule and show the field reports' headline findings, image size budgets included.

use std::collections::BTreeSet;
use std::process::Command;

mod common;
use common::{manifest_dir, printed_findings};

/// One finding of the text output: rule ID and `file:line` of its primary label.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Finding {
    rule: String,
    location: String,
}

fn check(estate: &str) -> Vec<Finding> {
    check_with(estate, &[])
}

fn check_with(estate: &str, arguments: &[&str]) -> Vec<Finding> {
    let output = Command::new(env!("CARGO_BIN_EXE_dockpolicy"))
        .current_dir(manifest_dir())
        .args(["check", &format!("examples/{estate}")])
        .args(arguments)
        .output()
        .expect("run dockpolicy");
    assert_eq!(
        output.status.code(),
        Some(1),
        "exit code of check on {estate}"
    );
    printed_findings(&String::from_utf8_lossy(&output.stdout))
        .into_iter()
        .map(|(rule, path, line)| Finding {
            rule,
            location: format!("{path}:{line}"),
        })
        .collect()
}

fn bundled_rule_ids() -> BTreeSet<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_dockpolicy"))
        .arg("rules")
        .output()
        .expect("run dockpolicy rules");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| {
            word.len() == 6
                && word.starts_with("DP")
                && word[2..].bytes().all(|b| b.is_ascii_digit())
        })
        .map(str::to_string)
        .collect()
}

fn assert_finding(findings: &[Finding], rule: &str, location: &str) {
    assert!(
        findings
            .iter()
            .any(|f| f.rule == rule && f.location == location),
        "expected {rule} at {location}; got {findings:#?}"
    );
}

#[test]
fn examples_exercise_every_bundled_rule() {
    let fired: BTreeSet<String> = ["quickstart", "pc2", "acgs1"]
        .iter()
        .flat_map(|estate| check(estate))
        .map(|finding| finding.rule)
        .collect();
    let bundled = bundled_rule_ids();
    assert!(bundled.len() >= 26, "bundled rules: {bundled:?}");
    let missing: Vec<&String> = bundled.iter().filter(|id| !fired.contains(*id)).collect();
    assert!(missing.is_empty(), "rules no example fires: {missing:?}");
}

/// `examples/quickstart/worker/requirements.txt` shows an inline suppression: the finding it
/// silences is not printed, the summary counts it, and nothing is reported about the comment.
#[test]
fn quickstart_shows_an_inline_suppression() {
    let output = Command::new(env!("CARGO_BIN_EXE_dockpolicy"))
        .current_dir(manifest_dir())
        .args(["check", "examples/quickstart"])
        .output()
        .expect("run dockpolicy");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!printed_findings(&stdout)
        .iter()
        .any(|(_, path, _)| path == "worker/requirements.txt"));
    let summary = stdout.lines().last().unwrap_or("");
    assert!(summary.contains(" in 5 files; 1 suppressed; "), "{summary}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn acgs1_shows_the_reports_headline_findings() {
    let findings = check("acgs1");
    let gs = "services/core/governance-synthesis/gs_service";
    // The report's own "optimized" Dockerfile keeps gcc in the production stage's lineage.
    assert_finding(&findings, "DP1001", &format!("{gs}/Dockerfile.optimized:6"));
    // Build failures: missing alembic.ini and the PGC requirements.txt.
    assert_finding(
        &findings,
        "DP2003",
        "infrastructure/docker/Dockerfile.alembic:21",
    );
    assert_finding(
        &findings,
        "DP2003",
        "services/core/policy-governance/pgc_service/Dockerfile:5",
    );
    assert_finding(&findings, "DP1012", &format!("{gs}/Dockerfile:23"));
    assert_finding(
        &findings,
        "DP1006",
        "services/core/constitutional-ai/ac_service/Dockerfile.alpine:5",
    );
    // z3 is imported by the FV service: not unused.
    assert!(!findings.iter().any(|f| f.rule == "DP4002"
        && f.location == "services/core/formal-verification/fv_service/requirements.txt:3"));
}

#[test]
fn pc2_shows_the_reports_headline_findings() {
    let findings = check("pc2");
    // Duplicate fastapi in the web interface.
    assert_finding(
        &findings,
        "DP4001",
        "docker/pc2_web_interface/requirements.txt:6",
    );
    // pandas and numpy in the message broker: unused and forbidden.
    assert_finding(
        &findings,
        "DP4002",
        "docker/pc2_async_pipeline/requirements.txt:6",
    );
    assert_finding(
        &findings,
        "DP4003",
        "docker/pc2_async_pipeline/requirements.txt:6",
    );
    assert_finding(&findings, "DP3004", "docker/pc2_infra_core/Dockerfile:1");
    assert_finding(&findings, "DP2006", "compose.yaml:7");
    assert_finding(&findings, "DP5001", "compose.yaml:66");
    // The CUDA runtime base is correct: DP1002 stays silent.
    assert!(!findings.iter().any(|f| f.rule == "DP1002"));
}

#[test]
fn pc2_sizes_over_budget_from_the_estimate_and_from_measured_sizes() {
    let over = |findings: &[Finding]| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f.rule == "DP3005")
            .map(|f| f.location.clone())
            .collect()
    };
    // From the estimate alone, with the report's per-service targets: the async pipeline
    // (build-essential, pandas, numpy and the CPython 3.10 bytecode pip compiles for them: 657
    // MB against 650 MB), the memory stack (§3.3: its later RUN pins pandas and numpy to other
    // versions than the earlier RUN installed, so both are in two layers: 838 MB against 800
    // MB), the utility suite (§3.5's toolbox: ffmpeg with Recommends, and Ansible, which
    // ansible-runner drives: at least 1.3 GB against 1.2 GB), and the GPU image, whose torch
    // and CUDA wheels alone are over its 4.2 GB, in both of its Dockerfiles.
    assert_eq!(
        over(&check("pc2")),
        vec![
            "compose.yaml:5",
            "compose.yaml:19",
            "compose.yaml:31",
            "compose.yaml:35",
            "docker/pc2_vision_dream_gpu/Dockerfile.multistage:12",
        ]
    );
    // With the sizes the report measured, every service of its table is over 1 GB.
    assert_eq!(
        over(&check_with(
            "pc2",
            &["--image-sizes", "examples/pc2/image-sizes.json"]
        )),
        vec![
            "compose.yaml:5",
            "compose.yaml:13",
            "compose.yaml:19",
            "compose.yaml:27",
            "compose.yaml:31",
            "compose.yaml:35",
            "compose.yaml:52",
            "docker/pc2_vision_dream_gpu/Dockerfile.multistage:12",
        ]
    );
}
