//! The static size estimate: each part's figure is exactly the table rows it names, every
//! package counted once per image, unknown parts make a lower bound, and measured sizes match
//! services by name, compose image and `<project>-<service>`.

use std::path::Path;

use dockpolicy::eval::world::{SizeKind, World};
use dockpolicy::parse::repository::{load, LoadOptions};
use dockpolicy::size::tables::{tables, PypiRow, BYTECODE_PYTHONS};
use dockpolicy::size::{estimate, parse_measured_sizes, ContributorKind, Detail, Estimate};
use dockpolicy::source::FileId;

mod common;
use common::{manifest_dir, temp_files};

/// `requests` and the distributions it depends on, as the PyPI table lists them.
const REQUESTS_CLOSURE: [&str; 5] = [
    "requests",
    "certifi",
    "charset-normalizer",
    "idna",
    "urllib3",
];

/// The estimate of the final image of the only Dockerfile below `root`.
fn estimate_of(root: &Path) -> Estimate {
    let loaded = load(root, &LoadOptions::default());
    let model = &loaded.repository.dockerfiles[0];
    estimate(
        &loaded.repository,
        &loaded.sources,
        0,
        model.final_stage.unwrap(),
    )
}

fn pypi(distribution: &str) -> &'static PypiRow {
    tables().pypi(distribution).expect("a PyPI row")
}

fn installed(names: &[&str]) -> u64 {
    names.iter().map(|n| pypi(n).installed_bytes).sum()
}

/// What pip's byte-compile step writes for the distributions on CPython 3.`minor`.
fn compiled(minor: u32, names: &[&str]) -> u64 {
    let column = BYTECODE_PYTHONS.iter().position(|&m| m == minor).unwrap();
    names.iter().map(|n| pypi(n).compiled_bytes[column]).sum()
}

fn wheels(names: &[&str]) -> u64 {
    names.iter().map(|n| pypi(n).wheel_bytes).sum()
}

fn debian_closure(package: &str, recommends: bool) -> u64 {
    let row = tables()
        .debian_closure(package, recommends)
        .expect("a closure row");
    row.members
        .iter()
        .map(|m| {
            tables()
                .debian_package(m)
                .expect("a package row")
                .installed_bytes
        })
        .sum()
}

/// The size of pip's cache in the estimate of an image built from `dockerfile` alone.
fn pip_cache_bytes(dockerfile: &str) -> Option<u64> {
    let dir = temp_files(&[("Dockerfile", dockerfile)]);
    estimate_of(dir.path())
        .contributors
        .iter()
        .find(|c| c.kind == ContributorKind::PipCache)
        .and_then(|c| c.bytes)
}

fn parts(estimate: &Estimate) -> Vec<(ContributorKind, &str, Option<u64>)> {
    estimate
        .contributors
        .iter()
        .map(|c| (c.kind, c.name.as_str(), c.bytes))
        .collect()
}

/// `(name, bytes)` of the contributors of one kind, in image order.
fn parts_of(estimate: &Estimate, kind: ContributorKind) -> Vec<(&str, Option<u64>)> {
    estimate
        .contributors
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| (c.name.as_str(), c.bytes))
        .collect()
}

#[test]
fn the_size_demo_is_the_sum_of_its_table_rows() {
    let estimate = estimate_of(&manifest_dir().join("examples/size-demo"));
    let app = std::fs::metadata(manifest_dir().join("examples/size-demo/app/main.py"))
        .unwrap()
        .len();
    let requirements_txt =
        std::fs::metadata(manifest_dir().join("examples/size-demo/requirements.txt"))
            .unwrap()
            .len();
    assert_eq!(
        parts(&estimate),
        vec![
            (
                ContributorKind::Base,
                "python:3.11-slim",
                Some(
                    tables()
                        .base_image("python:3.11-slim")
                        .expect("a base row")
                        .bytes
                )
            ),
            (
                ContributorKind::OsPackage,
                "build-essential",
                Some(debian_closure("build-essential", false))
            ),
            (
                ContributorKind::PythonPackage,
                "numpy",
                Some(installed(&["numpy"]))
            ),
            // numpy is counted already: pandas adds itself and its other dependencies.
            (
                ContributorKind::PythonPackage,
                "pandas",
                Some(installed(&["pandas", "python-dateutil", "tzdata"]))
            ),
            // pip byte-compiles what the install added, for the base's CPython 3.11.
            (
                ContributorKind::PythonPackage,
                "pip bytecode",
                Some(compiled(
                    11,
                    &["numpy", "pandas", "python-dateutil", "tzdata"]
                ))
            ),
            (
                ContributorKind::Copy,
                "COPY requirements.txt",
                Some(requirements_txt)
            ),
            (
                ContributorKind::PythonPackage,
                "requests",
                Some(installed(&REQUESTS_CLOSURE))
            ),
            (
                ContributorKind::PythonPackage,
                "pip bytecode",
                Some(compiled(11, &REQUESTS_CLOSURE))
            ),
            (ContributorKind::Copy, "COPY app/", Some(app)),
        ]
    );
    assert!(!estimate.is_lower_bound());
    let spans: Vec<_> = estimate
        .contributors
        .iter()
        .map(|c| c.span.is_some())
        .collect();
    assert!(spans.iter().all(|s| *s), "every part is located");
}

#[test]
fn packages_are_counted_once_and_caches_are_kept_unless_removed() {
    let dir = temp_files(&[(
        "Dockerfile",
        "FROM python:3.11-slim\n\
         RUN apt-get install -y gcc && apt-get install -y --no-install-recommends g++\n\
         RUN pip install pandas\n\
         RUN pip install --no-cache-dir numpy pandas\n",
    )]);
    let estimate = estimate_of(dir.path());
    let gcc = debian_closure("gcc", true);
    let gcc_members = &tables()
        .debian_closure("gcc", true)
        .expect("a closure row")
        .members;
    let gxx_rest: u64 = tables()
        .debian_closure("g++", false)
        .expect("a closure row")
        .members
        .iter()
        .filter(|m| !gcc_members.contains(m))
        .map(|m| {
            tables()
                .debian_package(m)
                .expect("a package row")
                .installed_bytes
        })
        .sum();
    let pandas = ["pandas", "numpy", "python-dateutil", "tzdata"];
    assert_eq!(
        parts(&estimate),
        vec![
            (
                ContributorKind::Base,
                "python:3.11-slim",
                Some(
                    tables()
                        .base_image("python:3.11-slim")
                        .expect("a base row")
                        .bytes
                )
            ),
            (ContributorKind::OsPackage, "gcc", Some(gcc)),
            // The RUN does not remove /var/lib/apt/lists: listed once, size unknown.
            (ContributorKind::OsPackage, "apt package lists", None),
            (ContributorKind::OsPackage, "g++", Some(gxx_rest)),
            (
                ContributorKind::PythonPackage,
                "pandas",
                Some(installed(&pandas))
            ),
            (
                ContributorKind::PythonPackage,
                "pip bytecode",
                Some(compiled(11, &pandas))
            ),
            (
                ContributorKind::PipCache,
                "pip cache",
                Some(wheels(&pandas))
            ),
            // Nothing new: no bytecode either.
            (ContributorKind::PythonPackage, "numpy", Some(0)),
            (ContributorKind::PythonPackage, "pandas", Some(0)),
        ]
    );
}

/// A later `RUN` pinning another version than the one an earlier `RUN` installed counts the
/// distribution again (pip replaces the files, the earlier layer keeps them), with its
/// bytecode; a pin of the same version, an unpinned request, a second pin in the same `RUN`
/// and a pin after a range (whose version is unknown) add nothing.
#[test]
fn a_later_run_pinning_another_version_counts_the_distribution_again() {
    let numpy = &pypi("numpy").version;
    let pandas = &pypi("pandas").version;
    let dir = temp_files(&[(
        "Dockerfile",
        &format!(
            "FROM python:3.11-slim\n\
             RUN pip install --no-cache-dir --no-compile pandas\n\
             RUN pip install --no-cache-dir pandas==2.1.4 numpy\n\
             RUN pip install --no-cache-dir --no-compile pandas==2.1.4.0 numpy=={numpy}\n\
             RUN pip install --no-cache-dir --no-compile click==8.0.0 && \\\n\
             \x20   pip install --no-cache-dir --no-compile click==8.1.0\n\
             RUN pip install --no-cache-dir --no-compile click==8.1.0 'requests>=2'\n\
             RUN pip install --no-cache-dir --no-compile requests==2.0.0\n"
        ),
    )]);
    let estimate = estimate_of(dir.path());
    let python_parts = parts_of(&estimate, ContributorKind::PythonPackage);
    assert_eq!(
        python_parts,
        vec![
            (
                "pandas",
                Some(installed(&["pandas", "numpy", "python-dateutil", "tzdata"]))
            ),
            // Replaced: counted again, without the dependencies it already has.
            ("pandas", Some(installed(&["pandas"]))),
            ("numpy", Some(0)),
            ("pip bytecode", Some(compiled(11, &["pandas"]))),
            // The same version (2.1.4.0 is 2.1.4), and numpy pinned to the table's version,
            // which the unpinned install of the first RUN assumed.
            ("pandas", Some(0)),
            ("numpy", Some(0)),
            // Two pins in one RUN: one layer, counted once; the second pin is what a later
            // RUN compares with.
            ("click", Some(installed(&["click"]))),
            ("click", Some(0)),
            ("click", Some(0)),
            ("requests", Some(installed(&REQUESTS_CLOSURE))),
            // After a range the version is not known: not counted again.
            ("requests", Some(0)),
        ]
    );
    let details: Vec<String> = estimate
        .contributors
        .iter()
        .filter(|c| c.kind == ContributorKind::PythonPackage && c.name == "pandas")
        .map(|c| c.detail.to_string())
        .collect();
    assert_eq!(
        details,
        vec![
            format!("pandas {pandas} and 3 dependencies: numpy, python-dateutil, tzdata"),
            format!(
                "pandas 2.1.4 replaces pandas {pandas} installed by the RUN on line 2; that layer keeps the old files (the table's figure is for pandas {pandas})"
            ),
            format!("pandas {pandas} is counted already"),
        ]
    );
}

/// The bytecode pip writes is the row's figure for the base image's CPython; `--no-compile`
/// and a false `PIP_NO_COMPILE` (from the command or an `ENV`) turn it off, a true one does
/// not (pip reads it as its store_false option); uv compiles only when asked; without a
/// known Python version the smallest figure is a lower bound.
#[test]
fn pip_bytecode_follows_the_python_version_and_the_compile_settings() {
    let bytecode = |dockerfile: &str| {
        let dir = temp_files(&[("Dockerfile", dockerfile)]);
        let estimate = estimate_of(dir.path());
        let parts: Vec<(Option<u64>, bool)> = estimate
            .contributors
            .iter()
            .filter(|c| c.name == "pip bytecode")
            .map(|c| (c.bytes, c.at_least))
            .collect();
        (parts, estimate.is_lower_bound())
    };
    let six = |minor| Some(compiled(minor, &["six"]));
    for minor in BYTECODE_PYTHONS {
        assert_eq!(
            bytecode(&format!(
                "FROM python:3.{minor}.2-slim\nRUN pip install --no-cache-dir six\n"
            ))
            .0,
            vec![(six(minor), false)],
            "python 3.{minor}"
        );
    }
    let on = (vec![(six(11), false)], false);
    let off = (vec![], false);
    let cases = [
        ("RUN pip install --no-cache-dir --no-compile six", &off),
        ("RUN PIP_NO_COMPILE=0 pip install --no-cache-dir six", &off),
        ("RUN PIP_NO_COMPILE=1 pip install --no-cache-dir six", &on),
        ("RUN PIP_COMPILE=false pip install --no-cache-dir six", &off),
        // pip's compile step does not consult PYTHONDONTWRITEBYTECODE.
        (
            "ENV PYTHONDONTWRITEBYTECODE=1\nRUN pip install --no-cache-dir six",
            &on,
        ),
        (
            "ENV PIP_NO_COMPILE=no\nRUN pip install --no-cache-dir six",
            &off,
        ),
        (
            "ENV PIP_NO_COMPILE=no\nENV PIP_NO_COMPILE=yes\nRUN pip install --no-cache-dir six",
            &on,
        ),
        ("RUN uv pip install --system six", &off),
        ("RUN uv pip install --system --compile-bytecode six", &on),
        (
            "ENV UV_COMPILE_BYTECODE=1\nRUN uv pip install --system six",
            &on,
        ),
    ];
    for (instructions, expected) in cases {
        assert_eq!(
            &bytecode(&format!("FROM python:3.11-slim\n{instructions}\n")),
            expected,
            "{instructions}"
        );
    }
    let dir = temp_files(&[(
        "Dockerfile",
        "FROM python:3.11-slim\nENV PYTHONDONTWRITEBYTECODE=1\nRUN pip install --no-cache-dir six\n",
    )]);
    let estimate = estimate_of(dir.path());
    let detail = estimate
        .contributors
        .iter()
        .find(|c| c.name == "pip bytecode")
        .map(|c| c.detail.to_string());
    assert_eq!(
        detail.as_deref(),
        Some(
            "pip byte-compiles (no --no-compile) the .py files of the 1 distribution above into \
             __pycache__/*.pyc, for CPython 3.11 (PYTHONDONTWRITEBYTECODE does not stop pip's \
             compile step)"
        )
    );
    let smallest = pypi("six").compiled_bytes.iter().min().copied();
    assert_eq!(
        bytecode("FROM ubuntu:22.04\nRUN pip install --no-cache-dir six\n"),
        (vec![(smallest, true)], true)
    );
}

/// pip disables its cache for any value of `PIP_NO_CACHE_DIR`, false ones included, the last
/// `ENV` before the install winning over earlier ones.
#[test]
fn pip_no_cache_dir_disables_the_cache_with_any_value() {
    let cache =
        |instructions: &str| pip_cache_bytes(&format!("FROM python:3.11-slim\n{instructions}\n"));
    let six = Some(wheels(&["six"]));
    assert_eq!(cache("RUN pip install six"), six);
    assert_eq!(cache("RUN PIP_NO_CACHE_DIR=0 pip install six"), None);
    assert_eq!(
        cache("ENV PIP_NO_CACHE_DIR=false\nRUN pip install six"),
        None
    );
    assert_eq!(
        cache("ENV PIP_NO_CACHE_DIR=1\nENV PIP_NO_CACHE_DIR=\nRUN pip install six"),
        six
    );
    // A label is not an environment variable.
    assert_eq!(cache("LABEL PIP_NO_CACHE_DIR=1\nRUN pip install six"), six);
}

/// An `ARG` with a value is in the environment of the `RUN`s after it in its stage (its
/// default, or for a bare `ARG` the default of the same name before the first `FROM`), and an
/// `ENV` of the same name overrides it.
#[test]
fn an_arg_sets_the_environment_of_the_runs_of_its_stage() {
    let six = Some(wheels(&["six"]));
    let base = "FROM python:3.11-slim\n";
    assert_eq!(
        pip_cache_bytes(&format!(
            "{base}ARG PIP_NO_CACHE_DIR=1\nRUN pip install six\n"
        )),
        None
    );
    assert_eq!(
        pip_cache_bytes(&format!(
            "{base}RUN pip install six\nARG PIP_NO_CACHE_DIR=1\n"
        )),
        six
    );
    // Without a value, an ARG sets nothing.
    assert_eq!(
        pip_cache_bytes(&format!(
            "{base}ARG PIP_NO_CACHE_DIR\nRUN pip install six\n"
        )),
        six
    );
    // An ENV of the same name wins, wherever it is.
    assert_eq!(
        pip_cache_bytes(&format!(
            "{base}ENV PIP_NO_CACHE_DIR=\nARG PIP_NO_CACHE_DIR=1\nRUN pip install six\n"
        )),
        six
    );
    // The global default, for the stages that declare the ARG again.
    assert_eq!(
        pip_cache_bytes(&format!(
            "ARG PIP_NO_CACHE_DIR=1\n{base}ARG PIP_NO_CACHE_DIR\nRUN pip install six\n"
        )),
        None
    );
    assert_eq!(
        pip_cache_bytes(&format!(
            "ARG PIP_NO_CACHE_DIR=1\n{base}RUN pip install six\n"
        )),
        six
    );
    // A stage's ARG does not reach the stages built FROM it.
    assert_eq!(
        pip_cache_bytes(
            "FROM python:3.11-slim AS base\nARG PIP_NO_CACHE_DIR=1\nFROM base\nRUN pip install six\n"
        ),
        six
    );
}

/// A compose service's build arguments are the values of the `ARG`s they name, in the base
/// image and in the environment of the RUNs; a service without them gets the defaults.
#[test]
fn the_build_arguments_of_a_service_are_the_values_of_its_args() {
    let dir = temp_files(&[
        (
            "compose.yaml",
            "services:\n  tuned:\n    build:\n      context: .\n      args:\n        \
             PYTHON: '3.12'\n        PIP_NO_CACHE_DIR: '1'\n  plain:\n    build: .\n",
        ),
        (
            "Dockerfile",
            "ARG PYTHON=3.11\nFROM python:${PYTHON}-slim\nARG PIP_NO_CACHE_DIR\nRUN pip install six\n",
        ),
    ]);
    let loaded = load(dir.path(), &LoadOptions::default());
    let of = |dockerfile: usize| {
        let estimate = estimate(&loaded.repository, &loaded.sources, dockerfile, 0);
        let base = parts_of(&estimate, ContributorKind::Base)
            .first()
            .map(|(name, _)| name.to_string());
        let cache = parts_of(&estimate, ContributorKind::PipCache)
            .first()
            .and_then(|(_, bytes)| *bytes);
        (base, cache)
    };
    let services: Vec<Option<usize>> = loaded
        .repository
        .services
        .iter()
        .map(|s| s.dockerfile)
        .collect();
    assert_eq!(services, [Some(0), Some(1)]);
    assert_eq!(of(0), (Some("python:3.12-slim".to_string()), None));
    assert_eq!(
        of(1),
        (Some("python:3.11-slim".to_string()), Some(wheels(&["six"])))
    );
}

/// The apt lists a RUN leaves are the measured bookworm lists when the base's tag names
/// bookworm, and unknown otherwise.
#[test]
fn apt_lists_are_sized_for_bookworm_bases_only() {
    let lists = |base: &str| {
        let dir = temp_files(&[(
            "Dockerfile",
            format!("FROM {base}\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n")
                .as_str(),
        )]);
        let estimate = estimate_of(dir.path());
        let part = estimate
            .contributors
            .iter()
            .find(|c| c.name == "apt package lists")
            .expect("the lists are a part");
        (part.bytes, part.row.as_ref().map(|r| r.key.to_string()))
    };
    let bookworm = Some(
        tables()
            .release_apt_lists("bookworm")
            .expect("a lists row")
            .bytes,
    );
    for base in [
        "python:3.11-slim-bookworm",
        "debian:bookworm-slim",
        "debian:12",
    ] {
        assert_eq!(lists(base), (bookworm, Some("bookworm".into())), "{base}");
    }
    for base in ["python:3.11-slim", "ubuntu:22.04", "debian:trixie-slim"] {
        assert_eq!(lists(base), (None, None), "{base}");
    }
}

#[test]
fn unknown_parts_make_a_lower_bound() {
    let dir = temp_files(&[(
        "Dockerfile",
        "FROM registry.example.com/base:1\n\
             RUN apk add --no-cache curl\n\
             RUN pip install --no-cache-dir git+https://example.com/x.git numpy\n\
             COPY --from=golang:1.22 /usr/local/go /usr/local/go\n",
    )]);
    let estimate = estimate_of(dir.path());
    let smallest_bytecode = BYTECODE_PYTHONS
        .iter()
        .map(|&minor| compiled(minor, &["numpy"]))
        .min()
        .unwrap();
    assert_eq!(
        parts(&estimate),
        vec![
            (ContributorKind::Base, "registry.example.com/base:1", None),
            (ContributorKind::OsPackage, "curl", None),
            (
                ContributorKind::PythonPackage,
                "numpy",
                Some(installed(&["numpy"]))
            ),
            (
                ContributorKind::PythonPackage,
                "git+https://example.com/x.git",
                None
            ),
            // The base does not tell its Python: the smallest of the versions' figures.
            (
                ContributorKind::PythonPackage,
                "pip bytecode",
                Some(smallest_bytecode)
            ),
            (
                ContributorKind::CopyFrom,
                "COPY --from=golang:1.22 /usr/local/go",
                None
            ),
        ]
    );
    assert!(estimate.is_lower_bound());
    assert_eq!(estimate.total(), installed(&["numpy"]) + smallest_bytecode);
}

#[test]
fn a_stage_copy_counts_what_that_stage_copied_in() {
    let dir = temp_files(&[
        (
            "Dockerfile",
            "FROM python:3.11-slim AS builder\n\
             COPY app/ /src/app/\n\
             FROM python:3.11-slim\n\
             COPY --from=builder /src /app\n",
        ),
        ("app/main.py", "print('hello')\n"),
    ]);
    let estimate = estimate_of(dir.path());
    assert_eq!(
        parts(&estimate),
        vec![
            (
                ContributorKind::Base,
                "python:3.11-slim",
                Some(
                    tables()
                        .base_image("python:3.11-slim")
                        .expect("a base row")
                        .bytes
                )
            ),
            (
                ContributorKind::CopyFrom,
                "COPY --from=builder /src",
                Some(15)
            ),
        ]
    );
    assert!(!estimate.is_lower_bound());
}

#[test]
fn measured_sizes_match_services_by_name_image_and_compose_name() {
    let dir = temp_files(&[
        (
            "compose.yaml",
            "name: shop\nservices:\n  api:\n    build: ./api\n    image: acme/api:2\n  worker:\n    build: ./worker\n  web:\n    build: ./web\n",
        ),
        ("api/Dockerfile", "FROM python:3.11-slim\n"),
        ("worker/Dockerfile", "FROM python:3.11-slim\n"),
        ("web/Dockerfile", "FROM python:3.11-slim\n"),
        ("tools/Dockerfile", "FROM python:3.11-slim\n"),
    ]);
    let loaded = load(dir.path(), &LoadOptions::default());
    let mut world = World::new(&loaded.repository, &loaded.sources);
    let text = "acme/api:2: 1GB\nshop-worker: 2GB\nweb: 3GB\ntools: 4GB\nmissing: 5GB\n";
    let (sizes, diagnostics) = parse_measured_sizes(FileId(99), text);
    assert!(diagnostics.is_empty());
    let warnings = world.apply_measured_sizes(&sizes);
    let sizes: Vec<(String, Option<(u64, SizeKind)>)> = (0..world.service_count())
        .map(|s| {
            (
                world.service_name(s).unwrap().to_string(),
                world.service_size(s),
            )
        })
        .collect();
    assert_eq!(
        sizes,
        vec![
            ("api".into(), Some((1_000_000_000, SizeKind::Measured))),
            ("worker".into(), Some((2_000_000_000, SizeKind::Measured))),
            ("web".into(), Some((3_000_000_000, SizeKind::Measured))),
            ("tools".into(), Some((4_000_000_000, SizeKind::Measured))),
        ]
    );
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        warnings[0].message,
        "the measured size of `missing` matches no service"
    );
    assert_eq!(
        warnings[0].span.map(|s| s.range()),
        Some(text.find("missing").map(|i| i..i + 12).unwrap())
    );
}

#[test]
fn requested_extras_and_included_requirement_files_are_followed() {
    let dir = temp_files(&[
        (
            "Dockerfile",
            "FROM python:3.11-slim\nCOPY requirements.txt base.txt ./\nRUN pip install --no-cache-dir -r requirements.txt\n",
        ),
        ("requirements.txt", "-r base.txt\nuvicorn[standard]==0.24.0\n"),
        ("base.txt", "click\n"),
    ]);
    let estimate = estimate_of(dir.path());
    let standard = pypi("uvicorn")
        .extras
        .iter()
        .find(|(extra, _)| *extra == "standard")
        .map(|(_, requirements)| *requirements)
        .expect("uvicorn[standard]");
    // uvicorn, its dependencies and what its `standard` extra adds (each with its own
    // dependencies). The including file's requirements come before the included file's, so
    // click, a dependency of uvicorn, is counted with uvicorn and base.txt adds nothing.
    let mut names: Vec<&str> = vec!["uvicorn"];
    let mut pending: Vec<&str> = pypi("uvicorn")
        .requires
        .iter()
        .chain(standard)
        .copied()
        .collect();
    while let Some(name) = pending.pop() {
        let name = name.split('[').next().unwrap();
        if names.contains(&name) {
            continue;
        }
        pending.extend(pypi(name).requires.iter().copied());
        names.push(name);
    }
    let requirement_parts = parts_of(&estimate, ContributorKind::PythonPackage);
    assert_eq!(
        requirement_parts,
        vec![
            ("uvicorn", Some(installed(&names))),
            ("click", Some(0)),
            ("pip bytecode", Some(compiled(11, &names))),
        ]
    );
}

/// Commands that write files no table sizes (downloads, clones, unpacked archives, builds,
/// model downloads) are unknown parts at the command, so the estimate is a lower bound;
/// commands that write nothing of note are not parts.
#[test]
fn files_a_run_writes_are_unknown_parts() {
    let dir = temp_files(&[(
        "Dockerfile",
        "FROM python:3.11-slim\n\
         RUN python -m spacy download en_core_web_sm \\\n \
         && tar -xzf /tmp/a.tgz -C /opt && tar -czf /tmp/b.tgz /opt \\\n \
         && curl -fsSLo /tmp/x.bin https://example.com/x.bin && curl -fsSL https://example.com/ping \\\n \
         && git clone https://example.com/repo.git && echo done && mkdir -p /app\n",
    )]);
    let estimate = estimate_of(dir.path());
    let parts = parts_of(&estimate, ContributorKind::RunOutput);
    assert_eq!(
        parts,
        [
            ("python -m spacy", None),
            ("tar -xzf /tmp/a.tgz", None),
            ("curl -fsSLo /tmp/x.bin", None),
            ("git clone https://example.com/repo.git", None),
        ]
    );
    assert!(estimate.is_lower_bound());
    let loaded = load(dir.path(), &LoadOptions::default());
    let spacy = estimate
        .contributors
        .iter()
        .find(|c| c.kind == ContributorKind::RunOutput)
        .and_then(|c| c.span)
        .expect("a span");
    assert_eq!(
        loaded.sources.slice(spacy),
        "python -m spacy download en_core_web_sm"
    );
}

/// A dependency counted already still brings what the extras it is asked with add:
/// nbconvert requires `bleach[css]`, so after `bleach` alone, nbconvert adds its closure but
/// bleach and webencodings, and still adds tinycss2 (bleach's `css` extra).
#[test]
fn extras_asked_of_a_counted_dependency_are_followed() {
    // The bytes of part `name` and the distributions it added.
    let part = |packages: &str, name: &str| {
        let dir = temp_files(&[(
            "Dockerfile",
            &format!("FROM python:3.11-slim\nRUN pip install --no-cache-dir {packages}\n"),
        )]);
        let estimate = estimate_of(dir.path());
        let part = estimate
            .contributors
            .iter()
            .find(|c| c.name == name)
            .expect("the part");
        let Detail::PythonRequirement { added, .. } = &part.detail else {
            panic!("a Python requirement: {:?}", part.detail);
        };
        (part.bytes.expect("a size"), added.clone())
    };
    let (alone, added_alone) = part("nbconvert", "nbconvert");
    assert!(added_alone.contains(&"tinycss2"));
    let bleach = installed(&["bleach", "webencodings"]);
    assert_eq!(
        part("bleach nbconvert", "bleach"),
        (bleach, vec!["bleach", "webencodings"])
    );
    let (after_bleach, added) = part("bleach nbconvert", "nbconvert");
    assert_eq!(after_bleach, alone - bleach);
    assert!(added.contains(&"tinycss2"));
    assert!(!added.contains(&"bleach") && !added.contains(&"webencodings"));
}
