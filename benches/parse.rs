//! Benchmark placeholder replaced by the corpus benchmark.
fn main() {}
