//! Benchmark: discovery + reading + parsing + linking of a generated repository.
//!
//! `cargo bench --bench parse [-- COUNT [ITERATIONS]]` first times loading the bundled packs
//! (building their syntax trees, which every run pays), then runs its scenarios: the
//! repositories of the two seed reports (`examples/pc2`, `examples/acgs1`, ITERATIONS × 10
//! times: the size most users check), and two corpora written into a temporary directory:
//! COUNT (default 2,000) Dockerfiles alone
//! ([`corpus::generate_dockerfiles`]), and a repository of COUNT service folders with
//! requirements, Python sources, `.dockerignore` files and a compose file
//! ([`corpus::generate`]). Each is timed in ITERATIONS rounds (default 10): a round loads it on
//! one thread and on every core (loading parses Dockerfiles, RUN bodies and Python imports in
//! parallel), then evaluates the bundled packs over the loaded model on one thread and on every
//! core, and the rules of `examples/custom-pack` on one thread. The fastest and median
//! wall-clock times are printed (loading with files/s and MB/s, next to the time it takes only
//! to read the same files, the floor), and each evaluation's ratio to loading on as many
//! threads is the median of the rounds' ratios: times taken moments apart, since a shared
//! machine's speed drifts between phases. With `BENCH_PER_RULE=1` set, each rule is also timed
//! alone over the loaded model (a new `World`, then the rule; fastest of ITERATIONS), slowest
//! first. With `BENCH_CORPUS_DIR=DIR` set, the two corpora are written to `DIR/dockerfiles`
//! and `DIR/repository` and kept, for profiling, and nothing is timed.

mod corpus;

/// The allocator of the `dockpolicy` binary, so that the benchmark measures what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::{Duration, Instant};

use dockpolicy::cli::{load_rules, RuleOptions, RuleSet};
use dockpolicy::eval::engine::{evaluate, RuleRun};
use dockpolicy::eval::world::World;
use dockpolicy::parse::repository::{load, LoadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let count: usize = args.first().map_or(Ok(2_000), |a| a.parse())?;
    let iterations: usize = args.get(1).map_or(Ok(10), |a| a.parse())?;

    if let Some(dir) = std::env::var_os("BENCH_CORPUS_DIR") {
        // Write the corpora to keep, for profiling the CLI on them, and stop.
        let dir = Path::new(&dir);
        corpus::generate_dockerfiles(&dir.join("dockerfiles"), count, 0x5eed)?;
        corpus::generate(&dir.join("repository"), count, 0x5eed)?;
        println!("corpora written to {}", dir.display());
        return Ok(());
    }
    // What every run pays whatever the repository: loading the bundled packs.
    let packs = measure(iterations, || load_rules(&RuleOptions::default(), None));
    println!();
    report_against(
        "load the bundled packs",
        packs,
        "once per run, whatever the repository",
    );

    // The repositories of the two seed reports: the size most users check.
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for name in ["pc2", "acgs1"] {
        let root = examples.join(name);
        let (files, bytes) = count_files(&root)?;
        println!("\nscenario: examples/{name} (a seed report's repository), {files} files");
        scenario(&root, files, bytes, iterations * 10);
    }

    let dockerfiles = tempfile::tempdir()?;
    let bytes = corpus::generate_dockerfiles(dockerfiles.path(), count, 0x5eed)?;
    println!(
        "\nscenario 1: {count} Dockerfiles alone, {:.1} MB",
        bytes as f64 / 1e6
    );
    scenario(dockerfiles.path(), count, bytes, iterations);

    let repository = tempfile::tempdir()?;
    let bytes = corpus::generate(repository.path(), count, 0x5eed)?;
    let (files, _) = count_files(repository.path())?;
    println!(
        "\nscenario 2: a repository of {count} services (Dockerfile, requirements.txt, Python \
         source, .dockerignore for 60%, one compose file), {files} files, {:.1} MB",
        bytes as f64 / 1e6
    );
    scenario(repository.path(), files, bytes, iterations);
    Ok(())
}

/// Times reading every file of `root`, then loading it, and prints both.
fn scenario(root: &Path, files: usize, bytes: u64, iterations: usize) {
    let read_only = measure(iterations, || {
        read_all(root);
    });
    // The bundled packs, evaluated over the loaded model; then the example platform pack.
    let bundled = load_rules(&RuleOptions::default(), None);
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/custom-pack");
    let platform = load_rules(
        &RuleOptions {
            packs: vec![pack],
            no_default_rules: true,
            ..RuleOptions::default()
        },
        None,
    );
    let runs = runs_of(&bundled);
    let platform_runs = runs_of(&platform);
    let loaded = load(root, &LoadOptions::default());
    // Evaluation alone over the loaded model, on one thread and on every core: a new world
    // each time, since the lists it derives are computed on first use.
    let evaluate_once = |runs: &[RuleRun<'_>]| {
        let world = World::new(&loaded.repository, &loaded.sources);
        evaluate(runs, &world).0.len()
    };
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().ok();
    let one_thread = one_thread.as_ref();
    let load_once = || load(root, &LoadOptions::default());
    // Rounds: each loads the repository and evaluates once each way, so that a ratio
    // compares times taken moments apart (on a shared VM the machine's speed drifts, up to
    // 2× between one phase and the next).
    let rounds: Vec<[Duration; 5]> = (0..iterations.max(1))
        .map(|_| {
            [
                time(|| install(one_thread, load_once)),
                time(load_once),
                time(|| install(one_thread, || evaluate_once(&runs))),
                time(|| evaluate_once(&runs)),
                time(|| install(one_thread, || evaluate_once(&platform_runs))),
            ]
        })
        .collect();
    let column = |c: usize| fastest_and_median(rounds.iter().map(|round| round[c]).collect());
    // The median of the rounds' ratios of column `c` to their own loading time in column
    // `load` (on as many threads).
    let ratio = |c: usize, load: usize| {
        let mut ratios: Vec<f64> = rounds
            .iter()
            .map(|round| round[c].as_secs_f64() / round[load].as_secs_f64().max(1e-9))
            .collect();
        ratios.sort_by(f64::total_cmp);
        format!(
            "{:.2}× loading (median of the rounds' ratios)",
            ratios[ratios.len() / 2]
        )
    };
    let loaded_alone = column(0);
    let loaded_parallel = column(1);
    let evaluated_alone = column(2);
    let evaluated_parallel = column(3);
    let platform_alone = column(4);
    {
        let repository = &loaded.repository;
        println!(
            "model: {} Dockerfiles, {} instructions, {} stages, {} packages, {} contexts, \
             {} requirements files, {} Python files, {} services, {} diagnostics",
            repository.dockerfiles.len(),
            repository
                .dockerfiles
                .iter()
                .map(|d| d.dockerfile.instructions.len())
                .sum::<usize>(),
            repository
                .dockerfiles
                .iter()
                .map(|d| d.dockerfile.stages.len())
                .sum::<usize>(),
            repository
                .dockerfiles
                .iter()
                .map(|d| d.packages().count())
                .sum::<usize>(),
            repository.contexts.len(),
            repository.requirements_files.len(),
            repository.python_files.len(),
            repository.services.len(),
            loaded.diagnostics.len()
        );
    }
    report("read files only", read_only, files, bytes);
    let threads = rayon::current_num_threads();
    report(
        "discover + parse + link, 1 thread",
        loaded_alone,
        files,
        bytes,
    );
    report(
        &format!("discover + parse + link, {threads} threads"),
        loaded_parallel,
        files,
        bytes,
    );
    report_against(
        &format!("bundled packs ({} rules), 1 thread", runs.len()),
        evaluated_alone,
        &ratio(2, 0),
    );
    report_against(
        &format!("bundled packs, {threads} threads"),
        evaluated_parallel,
        &ratio(3, 1),
    );
    report_against(
        &format!("custom-pack ({} rules), 1 thread", platform_runs.len()),
        platform_alone,
        &ratio(4, 0),
    );
    if std::env::var_os("BENCH_PER_RULE").is_some() {
        let mut per_rule: Vec<(Duration, &str)> = runs
            .iter()
            .chain(&platform_runs)
            .map(|run| {
                // A new world each time: the lists it derives are computed on first use.
                let (fastest, _) = measure(iterations, || {
                    let world = World::new(&loaded.repository, &loaded.sources);
                    evaluate(std::slice::from_ref(run), &world).0.len()
                });
                (fastest, run.rule.id.value.as_str())
            })
            .collect();
        per_rule.sort_by(|a, b| b.cmp(a));
        let line: Vec<String> = per_rule
            .iter()
            .map(|(time, id)| format!("{id} {:.1}", time.as_secs_f64() * 1e3))
            .collect();
        println!("per rule (ms, fastest): {}", line.join(", "));
    }
}

/// Runs `work` `iterations` times and returns the fastest and the median duration. What
/// `work` returns is dropped outside the timing.
fn measure<T>(iterations: usize, mut work: impl FnMut() -> T) -> (Duration, Duration) {
    fastest_and_median((0..iterations.max(1)).map(|_| time(&mut work)).collect())
}

/// How long `work` takes; what it returns is dropped outside the timing.
/// `work`'s result, computed on `pool` (`None`: the global pool, every core).
fn install<T: Send>(pool: Option<&rayon::ThreadPool>, work: impl FnOnce() -> T + Send) -> T {
    match pool {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

fn time<T>(work: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    let result = work();
    let elapsed = start.elapsed();
    drop(result);
    elapsed
}

/// The fastest and the median of `times` (at least one).
fn fastest_and_median(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[0], times[times.len() / 2])
}

fn report(what: &str, (fastest, median): (Duration, Duration), files: usize, bytes: u64) {
    let seconds = fastest.as_secs_f64();
    println!(
        "{what:>29}: fastest {:>8.2} ms, median {:>8.2} ms, {:>9.0} files/s, {:>7.1} MB/s",
        seconds * 1e3,
        median.as_secs_f64() * 1e3,
        files as f64 / seconds,
        bytes as f64 / 1e6 / seconds
    );
}

/// A timing without throughput, next to what it is compared with.
fn report_against(what: &str, (fastest, median): (Duration, Duration), against: &str) {
    println!(
        "{what:>29}: fastest {:>8.2} ms, median {:>8.2} ms, {against}",
        fastest.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
    );
}

/// Every rule of `rule_set`, with its default params.
fn runs_of(rule_set: &RuleSet) -> Vec<RuleRun<'_>> {
    rule_set
        .rules()
        .map(|rule| RuleRun {
            rule,
            params: Default::default(),
        })
        .collect()
}

/// The number of files under `dir` and their total size in bytes.
fn count_files(dir: &Path) -> std::io::Result<(usize, u64)> {
    let (mut count, mut bytes) = (0, 0);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            let (files, size) = count_files(&entry.path())?;
            count += files;
            bytes += size;
        } else {
            count += 1;
            bytes += entry.metadata()?.len();
        }
    }
    Ok((count, bytes))
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
