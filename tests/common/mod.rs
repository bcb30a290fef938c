//! Helpers shared by the integration tests: the crate's folder, temporary repositories, and
//! reading the findings `dockpolicy check` prints.
// Each test crate uses only some of these.
#![allow(dead_code)]

use std::path::Path;

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
