//! Benchmark: discovery + reading + parsing + linking of a generated repository.
//!
//! `cargo bench --bench parse [-- SERVICES [ITERATIONS]]` writes a corpus of SERVICES (default
//! 2,000) service folders with [`corpus::generate`] into a temporary directory, then loads it
//! ITERATIONS times (default 10) on the current thread and prints the fastest and median
//! wall-clock times with files/s and MB/s, next to the time it takes only to read the same
//! files (the floor).

mod corpus;

use std::path::Path;
use std::time::{Duration, Instant};

use dockpolicy::parse::repository::{load, LoadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let services: usize = args.first().map_or(Ok(2_000), |a| a.parse())?;
    let iterations: usize = args.get(1).map_or(Ok(10), |a| a.parse())?;

    let dir = tempfile::tempdir()?;
    let bytes = corpus::generate(dir.path(), services, 0x5eed)?;
    let files = count_files(dir.path())?;
    let dockerfile_bytes: u64 = (0..services)
        .map(|i| {
            std::fs::metadata(dir.path().join(format!("services/svc{i:04}/Dockerfile")))
                .map_or(0, |m| m.len())
        })
        .sum();
    println!(
        "corpus: {services} Dockerfiles ({:.1} MB), {files} files, {:.1} MB in all",
        dockerfile_bytes as f64 / 1e6,
        bytes as f64 / 1e6
    );

    let read_only = measure(iterations, || {
        read_all(dir.path());
    });
    let mut last = None;
    let full = measure(iterations, || {
        last = Some(load(dir.path(), &LoadOptions::default()));
    });
    if let Some(loaded) = &last {
        let repository = &loaded.repository;
        println!(
            "model: {} Dockerfiles, {} stages, {} packages, {} requirements files, {} services, {} diagnostics",
            repository.dockerfiles.len(),
            repository
                .dockerfiles
                .iter()
                .map(|d| d.dockerfile.stages.len())
                .sum::<usize>(),
            repository
                .dockerfiles
                .iter()
                .map(|d| d.packages.len())
                .sum::<usize>(),
            repository.requirements_files.len(),
            repository.services.len(),
            loaded.diagnostics.len()
        );
    }
    report("read files only", read_only, files, bytes);
    report("discover + parse + link", full, files, bytes);
    Ok(())
}

/// Runs `work` `iterations` times and returns the fastest and the median duration.
fn measure(iterations: usize, mut work: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..iterations.max(1))
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[times.len() / 2])
}

fn report(what: &str, (fastest, median): (Duration, Duration), files: usize, bytes: u64) {
    let seconds = fastest.as_secs_f64();
    println!(
        "{what:>24}: fastest {:>8.2} ms, median {:>8.2} ms, {:>9.0} files/s, {:>7.1} MB/s",
        seconds * 1e3,
        median.as_secs_f64() * 1e3,
        files as f64 / seconds,
        bytes as f64 / 1e6 / seconds
    );
}

fn count_files(dir: &Path) -> std::io::Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            count += count_files(&entry.path())?;
        } else {
            count += 1;
        }
    }
    Ok(count)
}

fn read_all(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                read_all(&path);
            } else {
                std::hint::black_box(std::fs::read(&path).ok());
            }
        }
    }
}
