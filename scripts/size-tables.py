#!/usr/bin/env python3
"""Generate the size tables that `dockpolicy size` and DP3005 estimate image sizes from.

Usage (from the repository root; each part can be run on its own):

    python3 scripts/size-tables.py base   [--shared ../shared/data/base-image-sizes.tsv]
    python3 scripts/size-tables.py debian            # needs Debian with `apt-get update` done
    python3 scripts/size-tables.py pypi   [--cache DIR] [--newest] [--keep-wheels]
                                  # downloads wheels with pip; needs python3.10 … python3.13

Outputs (tab-separated, `#` comment lines first, one header line; every row names its source):

- data/base-images.tsv: on-disk size of base images. Uncompressed "Virtual Size" from
  docker-library/repo-info `repos/<image>/local/<tag>.md` (transcribed with the file's commit
  into data/sources/repo-info-virtual-sizes.tsv), else the compressed registry size from the
  shared base-image table (marked `compressed`: a lower bound of the on-disk size), and the
  nvidia/cuda figures that exist only as anecdotes in GitHub issues (marked `anecdotal`).
- data/debian-packages.tsv: Installed-Size of every package in a closure below, from the
  bookworm package lists that `apt-get update` fetched (the same field `apt-cache show` shows).
- data/debian-closures.tsv: for each package a Dockerfile may install, the packages
  `apt-get install` adds on a slim base, without and with Recommends (Pre-Depends + Depends
  [+ Recommends], first satisfiable alternative, virtual packages through Provides), minus the
  packages of the slim base (Priority: required, Essential, apt and their dependencies).
- data/debian-apt-lists.tsv: what `apt-get update` leaves in /var/lib/apt/lists on a
  bookworm image (the sources of the debian:bookworm and python:3.X-bookworm images: bookworm,
  bookworm-updates, bookworm-security, main; their docker-library apt configuration keeps the
  lists compressed, `Acquire::GzipIndexes "true"`, and fetches no translations,
  `Acquire::Languages "none"`): the sizes of the InRelease and Packages files of those suites
  in this machine's lists, which must have been fetched with the same sources and
  configuration (checked). Other targets this machine may fetch (appstream's DEP-11 files)
  are not counted: those images do not install appstream.
- data/pypi-packages.tsv: for each distribution the wheel pip selects for CPython 3.11 on
  manylinux x86_64 (`pip download --no-deps --only-binary=:all:`), its compressed size, its
  installed size (the sum of the uncompressed sizes of the wheel's entries: pip unpacks the
  wheel as is) and its dependencies (Requires-Dist of the wheel's METADATA whose markers hold
  on Linux x86_64 / CPython 3.11 without extras), followed recursively. compiled_cp310 …
  compiled_cp313 are what pip's byte-compile step adds on top, with CPython 3.10 … 3.13: pip
  (pip/_internal/operations/install/wheel.py) calls `compileall.compile_file(path,
  force=True, quiet=True)` on every installed file whose name ends in `.py`, which writes
  `__pycache__/NAME.cpython-3X.pyc` (16-byte header + marshal of the code object, whose
  co_filename is the installed path) and adds the line `__pycache__/NAME.cpython-3X.pyc,,` to
  the distribution's RECORD. The script compiles each `.py` entry of the wheel the same way
  (`compile(source, path, "exec", dont_inherit=True)`, as py_compile does, with the path under
  /usr/local/lib/python3.X/site-packages of the python:3.X images), under `python3.X` itself:
  bytecode differs between minor versions. A file that does not compile gets no .pyc (pip
  ignores the error). Checked against pip installs into venvs (attrs, jinja2, pyyaml and
  requests on CPython 3.11; attrs and jinja2 on 3.10, 3.12 and 3.13): the sum equals the .pyc
  files plus their RECORD lines, byte for byte. (marshal writes back-references by reference
  count, so two runs can differ by a few bytes in a large wheel.)
  pip skips the step with `pip install --no-compile`, or with PIP_NO_COMPILE set to a *false*
  value: pip reads the variable like the config key `no-compile`, a store_false option, so
  per pip's configuration docs ("Boolean options": "To enable the boolean options
  --no-compile, ... falsy values have to be used") PIP_NO_COMPILE=0 turns compiling off and
  PIP_NO_COMPILE=1 leaves it on (seen with pip 23.2.1). PYTHONDONTWRITEBYTECODE does not
  turn it off: py_compile, which compileall calls, does not consult it (seen too).
  The rows keep the versions of the existing table (pip download NAME==VERSION) so that
  regenerating is reproducible; `--newest` takes PyPI's newest release instead; `--reuse`
  keeps the rows the table has as they are and fetches only the distributions it lacks (a
  new root and its new dependencies). Each wheel is deleted once measured unless
  `--keep-wheels`.
"""

import argparse
import datetime
import email.parser
import glob
import marshal
import os
import re
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data")
TODAY = datetime.date.today().isoformat()

# ---------------------------------------------------------------------------------------------
# Base images


def parse_size(text):
    """`1.148 GB`, `115 MB`, `127.34 Mb` -> bytes (decimal units, as docker prints them)."""
    m = re.match(r"^\s*~?\s*([0-9.]+)\s*([kKmMgG])[bB]\s*$", text)
    if not m:
        return None
    factor = {"k": 1e3, "m": 1e6, "g": 1e9}[m.group(2).lower()]
    return int(round(float(m.group(1)) * factor))


def read_tsv(path):
    rows = []
    header = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cells = line.split("\t")
            if header is None:
                header = cells
                continue
            cells += [""] * (len(header) - len(cells))
            rows.append(dict(zip(header, cells)))
    return rows


def write_tsv(path, comments, header, rows):
    with open(path, "w", encoding="utf-8") as f:
        for c in comments:
            f.write("# " + c + "\n")
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(str(row[h]) for h in header) + "\n")
    print(f"wrote {os.path.relpath(path, ROOT)}: {len(rows)} rows", file=sys.stderr)


def base(args):
    rows = {}
    for r in read_tsv(os.path.join(DATA, "sources", "repo-info-virtual-sizes.tsv")):
        size = parse_size(r["virtual_size"])
        rows[r["image"]] = {
            "image": r["image"],
            "bytes": size,
            "kind": "uncompressed",
            "source": f"docker-library/repo-info {r['path']} @{r['commit']}: {r['described_image']}, Virtual Size {r['virtual_size'].strip()}",
        }
    for r in read_tsv(args.shared):
        image = r["image"]
        if image in rows or " " in image:
            continue
        if r["compressed_bytes"]:
            rows[image] = {
                "image": image,
                "bytes": int(r["compressed_bytes"]),
                "kind": "compressed",
                "source": f"{r['source']} (compressed registry size: on disk it is larger)",
            }
        else:
            size = parse_size(r["uncompressed_reported"])
            if size is None:
                continue
            rows[image] = {
                "image": image,
                "bytes": size,
                "kind": "anecdotal",
                "source": f"{r['source']} (anecdotal `docker images` size reported in an issue)",
            }
    write_tsv(
        os.path.join(DATA, "base-images.tsv"),
        [
            "Base image sizes, generated by scripts/size-tables.py base.",
            "kind: uncompressed = on-disk size (docker image inspect Size); compressed = registry",
            "transfer size (a lower bound of the on-disk size); anecdotal = a size quoted in an issue.",
        ],
        ["image", "bytes", "kind", "source"],
        sorted(rows.values(), key=lambda r: r["image"]),
    )


# ---------------------------------------------------------------------------------------------
# Debian packages

# Packages Dockerfiles install (the examples' and the common heavy ones).
DEBIAN_ROOTS = """
build-essential gcc g++ make cmake git curl wget vim nano htop procps sudo unzip
ca-certificates gnupg python3 python3-dev python3-pip python3-venv python3.11 libpq-dev
libssl-dev libffi-dev libgmp-dev pkg-config ffmpeg libgl1 libgl1-mesa-glx libglib2.0-0
libsm6 libxext6 libxrender1 openssh-client sshpass rsync nodejs npm postgresql-client
default-libmysqlclient-dev openjdk-17-jre-headless openjdk-17-jdk-headless default-jdk
gfortran libopenblas-dev graphviz imagemagick tesseract-ocr poppler-utils chromium
texlive-latex-base golang-go rustc cargo ruby-full libmagic1 netcat-openbsd iputils-ping
jq less tini dumb-init locales tzdata
""".split()


def parse_packages_lists():
    """Every package stanza of the apt lists: name -> fields (the newest version wins)."""
    packages = {}
    provides = {}
    paths = sorted(glob.glob("/var/lib/apt/lists/*_binary-amd64_Packages*"))
    if not paths:
        sys.exit("no apt package lists: run `apt-get update` first")
    for path in paths:
        # apt stores the lists compressed (lz4); apt-helper prints them decompressed.
        text = subprocess.run(
            ["/usr/lib/apt/apt-helper", "cat-file", path], capture_output=True, check=True
        ).stdout.decode("utf-8", "replace")
        for stanza in text.split("\n\n"):
            fields = {}
            key = None
            for line in stanza.split("\n"):
                if line.startswith((" ", "\t")) and key:
                    fields[key] += " " + line.strip()
                elif ":" in line:
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
            name = fields.get("Package")
            if not name:
                continue
            old = packages.get(name)
            if old is None or version_newer(fields.get("Version", ""), old.get("Version", "")):
                packages[name] = fields
            for p in split_relations(fields.get("Provides", "")):
                provides.setdefault(p[0][0], set()).add(name)
    return packages, provides, paths


def version_newer(a, b):
    if a == b:
        return False
    result = subprocess.run(["dpkg", "--compare-versions", a, "gt", b])
    return result.returncode == 0


def split_relations(text):
    """`a (>= 1) | b, c:any` -> [[("a", ...), ("b", ...)], [("c", ...)]]."""
    out = []
    for group in text.split(","):
        group = group.strip()
        if not group:
            continue
        alts = []
        for alt in group.split("|"):
            m = re.match(r"\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9]+)?", alt.strip())
            if m:
                alts.append((m.group(1), alt.strip()))
        if alts:
            out.append(alts)
    return out


def closure(roots, packages, provides, recommends, installed):
    """Packages `apt-get install roots` adds to a system that has `installed`."""
    added = []
    seen = set(installed)
    pending = list(roots)
    fields_of = ["Pre-Depends", "Depends"] + (["Recommends"] if recommends else [])
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        if name not in packages:
            real = sorted(provides.get(name, ()))
            if not real:
                continue
            name = real[0]
            if name in seen:
                continue
        seen.add(name)
        added.append(name)
        for field in fields_of:
            for alts in split_relations(packages[name].get(field, "")):
                names = [a for a, _ in alts]
                if any(n in seen or any(p in seen for p in provides.get(n, ())) for n in names):
                    continue
                choice = next(
                    (n for n in names if n in packages or provides.get(n)),
                    None,
                )
                if choice:
                    pending.append(choice)
    return added


# The suites of the debian:bookworm images' /etc/apt/sources.list.d/debian.sources, as the
# prefixes of the file names apt stores their lists under.
BOOKWORM_LISTS = [
    "deb.debian.org_debian_dists_bookworm",
    "deb.debian.org_debian_dists_bookworm-updates",
    "deb.debian.org_debian-security_dists_bookworm-security",
]


def apt_lists_row():
    """The bytes `apt-get update` leaves in /var/lib/apt/lists on a bookworm image."""
    config = subprocess.run(["apt-config", "dump"], capture_output=True, text=True, check=True).stdout
    if 'Acquire::GzipIndexes "true";' not in config or 'Acquire::Languages:: "none";' not in config:
        sys.exit("apt is not configured like the docker-library images (GzipIndexes, Languages none)")
    lists = "/var/lib/apt/lists"
    releases = sorted(f[: -len("_InRelease")] for f in os.listdir(lists) if f.endswith("_InRelease"))
    if releases != sorted(BOOKWORM_LISTS):
        sys.exit(f"the apt sources are not those of the bookworm images: {releases}")
    files = sorted(
        f for f in os.listdir(lists)
        for prefix in BOOKWORM_LISTS
        if f == prefix + "_InRelease" or f.startswith(prefix + "_main_binary-amd64_Packages")
    )
    size = sum(os.path.getsize(os.path.join(lists, f)) for f in files)
    sizes = ", ".join(f"{f} {os.path.getsize(os.path.join(lists, f))}" for f in files)
    return {
        "release": "bookworm",
        "bytes": size,
        "files": len(files),
        "source": f"apt-get update on Debian bookworm amd64 with the bookworm images' sources and apt configuration, {TODAY}: {sizes}",
    }


def debian(_args):
    write_tsv(
        os.path.join(DATA, "debian-apt-lists.tsv"),
        [
            "What `apt-get update` leaves in /var/lib/apt/lists when a RUN does not remove it, generated",
            f"by scripts/size-tables.py debian on {TODAY}: the InRelease and Packages files (kept",
            "compressed, no translations: the docker-library apt configuration) of the image's sources.",
        ],
        ["release", "bytes", "files", "source"],
        [apt_lists_row()],
    )
    packages, provides, paths = parse_packages_lists()
    base_roots = [
        n
        for n, f in packages.items()
        if f.get("Priority") == "required" or f.get("Essential") == "yes"
    ] + ["apt"]
    baseline = closure(base_roots, packages, provides, False, ())
    lists = ", ".join(os.path.basename(p) for p in paths)
    closure_rows = []
    members = set()
    for root in DEBIAN_ROOTS:
        if root not in packages:
            print(f"skip {root}: not in the lists", file=sys.stderr)
            continue
        for recommends in (False, True):
            added = sorted(closure([root], packages, provides, recommends, baseline))
            members.update(added)
            closure_rows.append(
                {
                    "package": root,
                    "recommends": "yes" if recommends else "no",
                    "count": len(added),
                    "members": ",".join(added),
                    "source": f"Depends closure of {root} {packages[root].get('Version', '')} in the Debian bookworm amd64 lists, {TODAY}",
                }
            )
    write_tsv(
        os.path.join(DATA, "debian-closures.tsv"),
        [
            "Debian bookworm amd64: what `apt-get install PACKAGE` adds on a slim base, generated by",
            f"scripts/size-tables.py debian on {TODAY} from the apt lists ({lists}).",
            f"Slim base = Priority: required + Essential + apt and their dependencies ({len(baseline)} packages).",
            "recommends=no is `--no-install-recommends`; sizes of the members: debian-packages.tsv.",
        ],
        ["package", "recommends", "count", "members", "source"],
        closure_rows,
    )
    size_rows = [
        {
            "package": name,
            "version": packages[name].get("Version", ""),
            "installed_kib": packages[name].get("Installed-Size", "0"),
            "source": f"Installed-Size of {name} {packages[name].get('Version', '')} in the Debian bookworm amd64 lists, {TODAY}",
        }
        for name in sorted(members)
    ]
    write_tsv(
        os.path.join(DATA, "debian-packages.tsv"),
        [
            "Debian bookworm amd64 Installed-Size (KiB) of every package in debian-closures.tsv,",
            f"generated by scripts/size-tables.py debian on {TODAY} (the field `apt-cache show` prints).",
            "Installed-Size counts docs, man pages and locales that slim images drop, so it can overestimate.",
        ],
        ["package", "version", "installed_kib", "source"],
        size_rows,
    )


# ---------------------------------------------------------------------------------------------
# PyPI wheels

PYPI_ROOTS = """
numpy pandas scipy scikit-learn torch torchvision tensorflow transformers diffusers spacy nltk
langchain opencv-python opencv-python-headless pillow matplotlib fastapi uvicorn aiohttp
pydantic sqlalchemy alembic psycopg2-binary redis pyzmq pyyaml requests httpx cryptography
psutil prometheus-client paramiko ansible-runner ffmpeg-python jupyter ipython pytest black
mypy z3-solver boto3 pyarrow polars xgboost lightgbm sentence-transformers pip setuptools wheel
ansible
""".split()
# Extras the examples ask for.
PYPI_ROOTS_WITH_EXTRAS = ["uvicorn[standard]", "aiohttp[speedups]"]

# pip does not widen `--platform manylinux_2_28_x86_64` to older glibc tags: list them all.
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)] + [
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64",
]
MAX_DISTRIBUTIONS = 600


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def download_wheel(name, version, cache):
    """The wheel pip selects for `name` (`version`, or the newest release), downloaded into
    `cache`."""
    before = set(os.listdir(cache))
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
        "--abi", "cp311", "--abi", "abi3", "--abi", "none",
    ]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    command += ["--dest", cache, f"{name}=={version}" if version else name]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"skip {name}: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    new = set(os.listdir(cache)) - before
    candidates = new or {
        f for f in os.listdir(cache)
        if f.endswith(".whl") and normalize(f.split("-")[0]) == normalize(name)
    }
    wheels = sorted(f for f in candidates if f.endswith(".whl"))
    return os.path.join(cache, wheels[-1]) if wheels else None


# The CPython versions whose bytecode the table gives: pip compiles with the image's Python,
# so a python:3.10 image gets 3.10 bytecode. Each runs as `python3.X` (pyenv: set
# PYENV_VERSION to list them all, e.g. `3.11.7:3.10.13:3.12.1:3.13.0`).
PYTHON_VERSIONS = ["3.10", "3.11", "3.12", "3.13"]


def compiled_size(wheel, info, site_packages):
    """Bytes pip's compile step adds for one `.py` entry of a wheel, on the running interpreter:
    the .pyc py_compile writes (16-byte header + marshalled code object) and its RECORD line;
    0 if it does not compile."""
    entry = re.sub(r"^[^/]+\.data/(purelib|platlib)/", "", info.filename)
    try:
        code = compile(wheel.read(info), site_packages + entry, "exec", dont_inherit=True)
    except Exception:  # py_compile turns any error into PyCompileError, which pip ignores
        return 0
    directory, _, file_name = entry.rpartition("/")
    cache_tag = sys.implementation.cache_tag
    pyc = f"{directory + '/' if directory else ''}__pycache__/{file_name[:-3]}.{cache_tag}.pyc"
    return 16 + len(marshal.dumps(code)) + len(pyc) + len(",,\n")


def compiled(args):
    """`compiled VERSION WHEEL` (run by `pypi` under each interpreter): prints what pip's
    compile step adds for the wheel on this interpreter, which must be CPython VERSION."""
    import warnings

    running = "%d.%d" % sys.version_info[:2]
    if sys.implementation.name != "cpython" or running != args.version:
        sys.exit(f"compiled: asked for CPython {args.version}, running {running}")
    # Where the python:X.Y images install distributions: co_filename of the compiled code.
    site_packages = f"/usr/local/lib/python{running}/site-packages/"
    with zipfile.ZipFile(args.wheel) as wheel, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print(
            sum(
                compiled_size(wheel, info, site_packages)
                for info in wheel.infolist()
                if info.filename.endswith(".py") and not info.is_dir()
            )
        )


def compiled_sizes(path):
    """What pip's compile step adds for the wheel at `path`, for each of PYTHON_VERSIONS."""
    sizes = {}
    for version in PYTHON_VERSIONS:
        result = subprocess.run(
            [f"python{version}", os.path.abspath(__file__), "compiled", version, path],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            sys.exit(f"python{version} could not compile {path}: {result.stderr.strip()}")
        sizes[version] = int(result.stdout)
    return sizes


def wheel_facts(path):
    from pip._vendor.packaging.markers import Marker
    from pip._vendor.packaging.requirements import Requirement

    environment = {
        "python_version": "3.11", "python_full_version": "3.11.9",
        "implementation_name": "cpython", "platform_python_implementation": "CPython",
        "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
        "platform_machine": "x86_64", "extra": "",
    }
    with zipfile.ZipFile(path) as wheel:
        installed = sum(info.file_size for info in wheel.infolist())
        metadata_name = next(
            n for n in wheel.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1
        )
        metadata = email.parser.Parser().parsestr(wheel.read(metadata_name).decode("utf-8", "replace"))
    base = []
    extras = {}
    for text in metadata.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(text)
        except Exception:
            continue
        entry = normalize(requirement.name)
        if requirement.extras:
            entry += "[" + ",".join(sorted(requirement.extras)) + "]"
        if requirement.marker is None:
            base.append(entry)
            continue
        for extra in [""] + sorted(metadata.get_all("Provides-Extra") or []):
            try:
                holds = requirement.marker.evaluate(dict(environment, extra=extra))
            except Exception:
                holds = False
            if holds:
                (base if extra == "" else extras.setdefault(normalize(extra), [])).append(entry)
                if extra == "":
                    break
    return {
        "name": metadata["Name"],
        "version": metadata["Version"],
        "installed": installed,
        "compiled": compiled_sizes(path),
        "requires": sorted(set(base)),
        "extras": {k: sorted(set(v)) for k, v in extras.items()},
    }


def split_entry(entry):
    """`b[x,y]` -> (`b`, [`x`, `y`]); `a` -> (`a`, [])."""
    name, _, extras = entry.partition("[")
    return name, [e for e in extras.rstrip("]").split(",") if e]


def pypi(args):
    os.makedirs(args.cache, exist_ok=True)
    table = os.path.join(DATA, "pypi-packages.tsv")
    pinned = {}
    if not args.newest and os.path.exists(table):
        pinned = {r["distribution"]: r["version"] for r in read_tsv(table)}
    # --reuse: the table's rows stand as they are; only the distributions it lacks are fetched.
    existing = {r["distribution"]: r for r in read_tsv(table)} if args.reuse else {}
    rows = {}
    # Each pending entry is a distribution with the extras something asked for
    # (`uvicorn[standard]`, torch's `cuda-toolkit[cublas,...]`): those extras are followed too.
    pending = [split_entry(normalize(n)) for n in PYPI_ROOTS + PYPI_ROOTS_WITH_EXTRAS]
    extras_followed = set()
    missing = []
    while pending and len(rows) < MAX_DISTRIBUTIONS:
        name, asked = pending.pop(0)
        if name in missing:
            continue
        if name in rows:
            for extra in asked:
                if (name, extra) not in extras_followed:
                    extras_followed.add((name, extra))
                    pending.extend(map(split_entry, rows[name]["extras_of"].get(extra, [])))
            continue
        if name in existing:
            row = dict(existing[name])
            row["extras_of"] = {
                extra: deps.split()
                for extra, _, deps in (e.partition("=") for e in row["extras"].split(";") if e)
            }
            rows[name] = row
            pending.extend(map(split_entry, row["requires"].split()))
            pending.append((name, asked))
            continue
        path = download_wheel(name, pinned.get(name), args.cache)
        if path is None:
            missing.append(name)
            continue
        facts = wheel_facts(path)
        wheel_bytes = os.path.getsize(path)
        if not args.keep_wheels:
            os.remove(path)
        rows[name] = {
            "distribution": normalize(facts["name"]),
            "version": facts["version"],
            "wheel_bytes": wheel_bytes,
            "installed_bytes": facts["installed"],
            **{f"compiled_cp{v.replace('.', '')}": facts["compiled"][v] for v in PYTHON_VERSIONS},
            "requires": " ".join(facts["requires"]),
            "extras": ";".join(f"{k}=" + " ".join(v) for k, v in sorted(facts["extras"].items())),
            "source": f"pip download --no-deps {os.path.basename(path)} (CPython 3.11, manylinux x86_64), {TODAY}",
            "extras_of": facts["extras"],
        }
        print(f"{name} {facts['version']} {facts['installed']} {facts['compiled']}", file=sys.stderr)
        pending.extend(map(split_entry, facts["requires"]))
        pending.append((name, asked))
    write_tsv(
        os.path.join(DATA, "pypi-packages.tsv"),
        [
            "PyPI wheels, generated by scripts/size-tables.py pypi: the wheel pip selects for CPython 3.11",
            "on manylinux x86_64; installed_bytes = sum of the uncompressed sizes of the wheel's entries",
            "(what pip unpacks into site-packages); requires = Requires-Dist whose markers hold on Linux",
            "x86_64 / CPython 3.11 (space-separated; `name[x,y]` asks for extras x and y of name);",
            "extras = what each extra adds (`extra=dep dep;extra2=dep`). Newest release on the day:",
            "pinned versions may differ. compiled_cp3X = what pip's byte-compile step adds on CPython 3.X:",
            "for every `.py` entry, the __pycache__/NAME.cpython-3X.pyc that py_compile writes (path",
            "under /usr/local/lib/python3.X/site-packages) and its RECORD line; pip --no-compile skips it.",
            "Not available as a wheel for that platform: " + (", ".join(sorted(missing)) or "none") + ".",
        ],
        [
            "distribution", "version", "wheel_bytes", "installed_bytes",
            *(f"compiled_cp{v.replace('.', '')}" for v in PYTHON_VERSIONS),
            "requires", "extras", "source",
        ],
        sorted(rows.values(), key=lambda r: r["distribution"]),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    b = sub.add_parser("base")
    b.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "data", "base-image-sizes.tsv"))
    sub.add_parser("debian")
    p = sub.add_parser("pypi")
    p.add_argument("--cache", default="/tmp/size-tables-wheels")
    p.add_argument("--newest", action="store_true", help="newest releases, not the table's versions")
    p.add_argument("--keep-wheels", action="store_true", help="keep the downloaded wheels")
    p.add_argument("--reuse", action="store_true", help="keep the table's rows; fetch only what it lacks")
    c = sub.add_parser("compiled")
    c.add_argument("version")
    c.add_argument("wheel")
    args = parser.parse_args()
    {"base": base, "debian": debian, "pypi": pypi, "compiled": compiled}[args.part](args)


if __name__ == "__main__":
    main()
