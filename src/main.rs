//! The `dockpolicy` command line.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

fn main() {
    println!("dockpolicy {}", env!("CARGO_PKG_VERSION"));
}
