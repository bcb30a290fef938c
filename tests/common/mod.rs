//! Helpers shared by the integration tests: the crate's folder, temporary repositories,
//! running the binary, and reading the findings `dockpolicy check` prints.
// Each test crate uses only some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// What a run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `dockpolicy` binary in `dir`, without colour.
pub fn dockpolicy_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_dockpolicy"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    Run {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8"),
    }
}

/// Runs the binary from the crate's folder.
pub fn dockpolicy(args: &[&str]) -> Run {
    dockpolicy_in(manifest_dir(), args)
}

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary folder with the given files.
pub fn temp_files(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
        std::fs::write(path, text).expect("a file");
    }
    dir
}

/// The findings `check` printed, as `(rule ID, path, line)`: the rule ID of each
/// `severity[ID]: message` header and the `path:line:column` of the first location after it
/// (the primary one).
pub fn printed_findings(stdout: &str) -> Vec<(String, String, usize)> {
    let mut found = Vec::new();
    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        let header = ["error[", "warning[", "note["]
            .iter()
            .find_map(|prefix| line.strip_prefix(prefix));
        let Some(rest) = header else { continue };
        let id = rest.split(']').next().expect("an ID").to_string();
        let location = lines
            .by_ref()
            .find_map(|l| l.trim_start().strip_prefix("┌─ "))
            .expect("a location after the header");
        let mut parts = location.rsplitn(3, ':');
        let _column = parts.next();
        let line_number: usize = parts.next().expect("a line").parse().expect("a number");
        let path = parts.next().expect("a path").to_string();
        found.push((id, path, line_number));
    }
    found
}
