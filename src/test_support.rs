//! What the tests of several modules share.

use std::path::Path;

/// Checks that the committed file `path` (relative to the repository) is `generated`, or,
/// with `DOCKPOLICY_GENERATE` set, writes it.
pub fn check_generated_file(path: &str, generated: &str) {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("DOCKPOLICY_GENERATE").is_some() {
        std::fs::write(&full, generated).expect("writes the generated file");
        return;
    }
    let committed = std::fs::read_to_string(&full).expect("reads the generated file");
    assert!(
        committed == generated,
        "{path} is not what the bundled rules generate; run \
         `DOCKPOLICY_GENERATE=1 cargo test generated` and commit it"
    );
}
