//! `dockpolicy size`: the breakdown of the size demo (snapshot), JSON output, measured sizes
//! from `--image-sizes` and from the configuration, configured services, and the warnings
//! and errors with their file and line.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{manifest_dir, temp_files};

fn run(dir: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockpolicy"))
        .current_dir(dir)
        .args(arguments)
        .output()
        .expect("run dockpolicy")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_size_demo_breaks_down_into_table_rows() {
    let output = run(manifest_dir(), &["size", "examples/size-demo"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn json_lists_every_part_with_its_row_and_location() {
    let output = run(
        manifest_dir(),
        &["size", "examples/size-demo", "--format", "json"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let service = &json[0];
    assert_eq!(service["service"], "size-demo");
    assert_eq!(service["size_kind"], "estimated");
    assert_eq!(service["budget"], 1_000_000_000u64);
    let parts = service["contributors"].as_array().unwrap();
    let sum: u64 = parts.iter().map(|p| p["size"].as_u64().unwrap()).sum();
    assert_eq!(service["size"].as_u64(), Some(sum));
    let essential = parts
        .iter()
        .find(|p| p["name"] == "build-essential")
        .unwrap();
    assert_eq!(essential["location"], "Dockerfile:5");
    assert_eq!(essential["table"], "data/debian-closures.tsv");
    assert_eq!(essential["row"], "build-essential (without Recommends)");
}

#[test]
fn unmatched_measured_sizes_are_warnings_at_their_line() {
    let dir = temp_files(&[
        ("api/Dockerfile", "FROM python:3.11-slim\n"),
        (
            "sizes.json",
            "{\"Repository\":\"api\",\"Tag\":\"latest\",\"Size\":\"1.5GB\"}\n{\"Repository\":\"old-worker\",\"Tag\":\"3\",\"Size\":\"80MB\"}\n",
        ),
    ]);
    let output = run(dir.path(), &["size", ".", "--image-sizes", "sizes.json"]);
    let err = stderr(&output);
    assert!(
        err.contains("warning: the measured size of `old-worker:3` matches no service"),
        "{err}"
    );
    assert!(err.contains("sizes.json:2:1"), "{err}");
    // api is measured (1.5 GB) and over the default 1 GB budget.
    assert_eq!(output.status.code(), Some(1), "{err}");
    let out = stdout(&output);
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("api      1.5 GB  measured  1.0 GB (over)")),
        "{out}"
    );
}

#[test]
fn configured_services_and_image_sizes_reach_check_and_size() {
    let dir = temp_files(&[
        (
            "docker/Dockerfile",
            "FROM python:3.11-slim AS build\nRUN pip install --no-cache-dir numpy\n\nFROM python:3.11-slim AS prod\nCOPY --from=build /usr/local/lib /usr/local/lib\n",
        ),
        (
            ".dockpolicy.yaml",
            "image_sizes: sizes.yaml\nparams:\n  DP3005: {budget: 300MB}\nservices:\n  web: {dockerfile: docker/Dockerfile, target: build}\n",
        ),
        ("sizes.yaml", "web: 2GB\n"),
    ]);
    let output = run(dir.path(), &["size", "."]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines: Vec<&str> = out.lines().take(3).collect();
    assert_eq!(
        lines,
        vec![
            "SERVICE  SIZE      KIND         BUDGET         LARGEST PARTS",
            "docker   ≥ 125 MB  lower bound  300 MB         python:3.11-slim 125 MB",
            "web      2.0 GB    measured     300 MB (over)  python:3.11-slim 125 MB, numpy 57.4 MB, pip bytecode 14.0 MB",
        ]
    );
    let check = run(dir.path(), &["check", "."]);
    let text = stdout(&check);
    assert!(
        text.contains("`web` is 2.0 GB (measured), over its budget of 300 MB"),
        "{text}"
    );
}

#[test]
fn a_configured_service_without_its_dockerfile_is_an_error_at_the_setting() {
    let dir = temp_files(&[
        ("Dockerfile", "FROM python:3.11-slim\n"),
        (
            ".dockpolicy.yaml",
            "services:\n  web: {dockerfile: web/Dockerfile}\n",
        ),
    ]);
    let output = run(dir.path(), &["size", "."]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: service `web`: no Dockerfile was found at"),
        "{err}"
    );
    assert!(err.contains(".dockpolicy.yaml:2:21"), "{err}");
}

/// `size` reads the configuration as `check` does: excluded paths are not services, and a
/// per-service override sets that service's budget.
#[test]
fn size_honours_exclude_and_per_service_budgets() {
    let dir = temp_files(&[
        ("api/Dockerfile", "FROM python:3.11-slim\n"),
        ("legacy/Dockerfile", "FROM python:3.11-slim\n"),
        (
            ".dockpolicy.yaml",
            "exclude: [legacy]\noverrides:\n  - services: [api]\n    params: {DP3005: {budget: 100MB}}\n",
        ),
    ]);
    let output = run(dir.path(), &["size", ".", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let services: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["api"]);
    assert_eq!(json[0]["budget"], 100_000_000u64);
    assert_eq!(json[0]["over_budget"], true);
}
