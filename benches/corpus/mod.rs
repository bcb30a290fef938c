//! A deterministic generator of a realistic repository corpus for the benchmark: service
//! folders with multi-stage Dockerfiles (long continued RUNs, heredocs, package installs of
//! every manager, `COPY --from`), requirements files, `.dockerignore` files, Python sources
//! and compose files. The same seed always gives the same bytes.

use std::fmt::Write as _;
use std::path::Path;

/// A small xorshift generator: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const BASES: &[&str] = &[
    "python:3.11",
    "python:3.11-slim",
    "python:3.12-slim-bookworm",
    "ubuntu:22.04",
    "debian:bookworm",
    "debian:bookworm-slim",
    "nvidia/cuda:12.2.0-devel-ubuntu22.04",
    "nvidia/cuda:12.2.0-runtime-ubuntu22.04",
    "node:20",
    "node:20-alpine",
    "alpine:3.19",
    "golang:1.22",
    "registry.example.com:5000/platform/python-base:1.4.2",
    "python@sha256:4f2c1e7d9a0b3c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6",
];

const APT: &[&str] = &[
    "build-essential",
    "gcc",
    "g++",
    "make",
    "cmake",
    "curl",
    "wget",
    "git",
    "ca-certificates",
    "libpq-dev",
    "libssl-dev",
    "libffi-dev",
    "pkg-config",
    "ffmpeg",
    "libgl1",
    "libglib2.0-0",
    "tini",
    "postgresql-client",
    "unzip",
    "vim",
];

const PIP: &[&str] = &[
    "fastapi==0.110.0",
    "uvicorn[standard]>=0.29",
    "gunicorn",
    "requests==2.31.0",
    "pandas==2.2.1",
    "numpy>=1.26",
    "scikit-learn",
    "torch==2.2.1",
    "transformers",
    "aiohttp[speedups]",
    "pydantic>=2",
    "sqlalchemy~=2.0",
    "psycopg2-binary",
    "redis",
    "celery[redis]",
    "pytest",
    "black",
    "jupyter",
    "spacy==3.7.4",
    "Pillow",
];

const APK: &[&str] = &[
    "curl",
    "git",
    "build-base",
    "musl-dev",
    "openssl",
    "bash",
    "tzdata",
];
const NPM: &[&str] = &[
    "typescript",
    "@nestjs/cli@10",
    "pm2",
    "express@4.19.2",
    "prisma",
];
const MODULES: &[&str] = &[
    "fastapi",
    "requests",
    "pandas",
    "numpy",
    "sklearn",
    "torch",
    "redis",
    "celery",
    "os",
    "json",
    "sqlalchemy",
    "pydantic",
    "PIL",
    "yaml",
];

/// Writes `count` Dockerfiles alone, one per folder, under `root`; returns the bytes written.
pub fn generate_dockerfiles(root: &Path, count: usize, seed: u64) -> std::io::Result<u64> {
    let mut rng = Rng(seed.max(1));
    let mut bytes = 0u64;
    for index in 0..count {
        let dir = root.join(format!("images/{:02}/img{index:04}", index % 40));
        std::fs::create_dir_all(&dir)?;
        let text = dockerfile(&mut rng, index);
        bytes += text.len() as u64;
        std::fs::write(dir.join("Dockerfile"), text)?;
    }
    Ok(bytes)
}

/// Writes `services` service folders under `root` and returns the number of bytes written.
pub fn generate(root: &Path, services: usize, seed: u64) -> std::io::Result<u64> {
    let mut rng = Rng(seed.max(1));
    let mut bytes = 0u64;
    let mut compose = String::from("services:\n");
    for index in 0..services {
        let dir = root.join(format!("services/svc{index:04}"));
        std::fs::create_dir_all(dir.join("app"))?;
        let files = [
            ("Dockerfile", dockerfile(&mut rng, index)),
            ("requirements.txt", requirements(&mut rng)),
            ("app/main.py", python_source(&mut rng)),
        ];
        for (name, text) in files {
            bytes += text.len() as u64;
            std::fs::write(dir.join(name), text)?;
        }
        if rng.chance(60) {
            let ignore = ".git\n__pycache__\n*.pyc\n**/*.log\n!keep.log\nnode_modules\n.env\n";
            bytes += ignore.len() as u64;
            std::fs::write(dir.join(".dockerignore"), ignore)?;
        }
        let _ = write!(
            compose,
            "  svc{index:04}:\n    build:\n      context: ./services/svc{index:04}\n      args:\n        - PYTHON_VERSION=${{PYTHON_VERSION:-3.11}}\n    image: example/svc{index:04}:${{TAG:-latest}}\n"
        );
        if rng.chance(20) {
            compose.push_str("    deploy:\n      resources:\n        reservations:\n          devices:\n            - driver: nvidia\n              count: 1\n              capabilities: [gpu]\n");
        }
    }
    bytes += compose.len() as u64;
    std::fs::write(root.join("compose.yaml"), compose)?;
    Ok(bytes)
}

fn dockerfile(rng: &mut Rng, index: usize) -> String {
    let mut out = String::new();
    if rng.chance(30) {
        out.push_str("# syntax=docker/dockerfile:1.7\n");
    }
    out.push_str("ARG PYTHON_VERSION=3.11\nARG BASE=python\n\n");
    let stages = 1 + rng.below(3);
    for stage in 0..stages {
        let last = stage + 1 == stages;
        let base = if stage > 0 && rng.chance(30) {
            format!("stage{}", stage - 1)
        } else if rng.chance(20) {
            "${BASE}:${PYTHON_VERSION}-slim".to_string()
        } else {
            rng.pick(BASES).to_string()
        };
        let _ = writeln!(out, "FROM {base} AS stage{stage}");
        out.push_str("LABEL org.opencontainers.image.source=\"https://example.com/repo\" \\\n      maintainer=\"platform@example.com\"\n");
        let _ = writeln!(
            out,
            "ENV PYTHONDONTWRITEBYTECODE=1 \\\n    PYTHONUNBUFFERED=1 \\\n    APP_HOME=/srv/svc{index}"
        );
        out.push_str("WORKDIR /srv/app\n");
        // A long continued apt-get RUN with comments and an empty continuation line.
        out.push_str("RUN apt-get update \\\n");
        if rng.chance(50) {
            out.push_str("    && apt-get install -y --no-install-recommends \\\n");
        } else {
            out.push_str("    && apt-get install -y \\\n");
        }
        for _ in 0..(8 + rng.below(16)) {
            let _ = writeln!(out, "        {} \\", rng.pick(APT));
        }
        if rng.chance(30) {
            out.push_str("    # keep the lists for the next step\n");
        }
        out.push_str("    && rm -rf /var/lib/apt/lists/*\n");
        if rng.chance(30) {
            out.push_str("RUN apk add --no-cache");
            for _ in 0..3 {
                let _ = write!(out, " {}", rng.pick(APK));
            }
            out.push('\n');
        }
        out.push_str("COPY requirements.txt .\n");
        if rng.chance(50) {
            out.push_str("RUN pip install --no-cache-dir -r requirements.txt\n");
        } else {
            out.push_str("RUN --mount=type=cache,target=/root/.cache/pip \\\n    pip install -r requirements.txt");
            for _ in 0..3 {
                let _ = write!(out, " \\\n      \"{}\"", rng.pick(PIP));
            }
            out.push('\n');
        }
        if rng.chance(40) {
            out.push_str("RUN <<EOF\nset -eux\npython -m pip install --upgrade pip\n");
            for _ in 0..3 {
                let _ = writeln!(out, "pip install {}", rng.pick(PIP));
            }
            out.push_str("EOF\n");
        }
        if rng.chance(30) {
            out.push_str("COPY <<-EOT /etc/app.conf\n\tlisten=0.0.0.0\n\tworkers=4\n\tEOT\n");
        }
        if rng.chance(25) {
            let _ = writeln!(
                out,
                "RUN npm install -g {} && npm cache clean --force",
                rng.pick(NPM)
            );
        }
        if rng.chance(20) {
            out.push_str("RUN sh -c 'python -m spacy download en_core_web_sm && echo done'\n");
        }
        if stage > 0 {
            let _ = writeln!(
                out,
                "COPY --from=stage{} /srv/app/dist /srv/app/dist",
                stage - 1
            );
        }
        if last {
            out.push_str("COPY . .\n");
            if rng.chance(50) {
                out.push_str("HEALTHCHECK --interval=30s --timeout=3s \\\n  CMD curl -f http://localhost:8000/health || exit 1\n");
            }
            if rng.chance(50) {
                out.push_str("USER 10001\n");
            }
            out.push_str("EXPOSE 8000\n");
            out.push_str(
                "CMD [\"gunicorn\", \"-k\", \"uvicorn.workers.UvicornWorker\", \"app.main:app\"]\n",
            );
        }
        out.push('\n');
    }
    out
}

fn requirements(rng: &mut Rng) -> String {
    let mut out = String::from("# generated\n");
    for _ in 0..(5 + rng.below(10)) {
        let _ = writeln!(out, "{}", rng.pick(PIP));
    }
    if rng.chance(20) {
        out.push_str("numpy==1.26.4 \\\n    --hash=sha256:aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44\n");
    }
    out
}

fn python_source(rng: &mut Rng) -> String {
    let mut out = String::from("\"\"\"Service entry point.\n\nimport notreal\n\"\"\"\n");
    for _ in 0..(3 + rng.below(6)) {
        let _ = writeln!(out, "import {}", rng.pick(MODULES));
    }
    let _ = writeln!(out, "from {} import something", rng.pick(MODULES));
    out.push_str("\n\ndef main():\n    return 0\n");
    out
}
