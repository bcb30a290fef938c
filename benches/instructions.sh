#!/usr/bin/env bash
# Counts the instructions `dockpolicy check` spends loading a repository and evaluating the
# bundled packs over it, with callgrind (exact and repeatable, unlike wall time on a shared
# machine). The README's instruction counts come from this script.
#
# usage: benches/instructions.sh [DIR...]
#   Without DIR, the benchmark's generator writes 300-service corpora (`dockerfiles`, and
#   `repository`) to a temporary folder and both are counted.
#
# One rayon thread, threads counted apart:
#   load  the whole of `parse::repository::load` (discovery, reading, parsing, linking): the
#         main thread's, plus the parts it runs on the rayon worker (parsing Dockerfiles,
#         `parse_dockerfile_with_args`, splitting RUNs, `run_model`, and finding the imports
#         of Python files, `parse_imports`);
#   packs `cli::load_packs`: loading the bundled packs (building their prebuilt syntax trees;
#         parsing and checking any rule file that has none): a fixed cost per run;
#   eval  evaluation: the rayon worker, less the packs' parsing and the loading done there,
#         plus the main thread's share (`World::new` and the sequential part of
#         `Policy::evaluate`).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || {
    echo "instructions.sh needs valgrind (callgrind and callgrind_annotate)" >&2
    exit 2
}
cargo build --release --quiet
bin=target/release/dockpolicy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -eq 0 ]; then
    BENCH_CORPUS_DIR="$work/corpus" cargo bench --quiet --bench parse -- 300 >/dev/null
    set -- "$work/corpus/dockerfiles" "$work/corpus/repository"
fi

# The largest inclusive count of the functions matching $2 in callgrind file $1.
inclusive() {
    callgrind_annotate --inclusive=yes "$1" 2>/dev/null | { grep -E "$2" || true; } |
        awk 'BEGIN { m = 0 } { gsub(",", "", $1); if ($1 + 0 > m) m = $1 + 0 } END { print m }'
}
total() {
    callgrind_annotate "$1" 2>/dev/null |
        awk '/PROGRAM TOTALS/ && !found { gsub(",", "", $1); print $1; found = 1 }'
}
packs_in() {
    echo $(($(inclusive "$1" 'cli::load_packs( \[|$)') + $(inclusive "$1" 'lang::parser::parse_rule_file( \[|$)') + $(inclusive "$1" 'lang::check::check_rule( \[|$)')))
}
millions() { awk -v n="$1" 'BEGIN { printf "%.1fM", n / 1e6 }'; }

for corpus in "$@"; do
    out="$work/$(basename "$corpus")"
    mkdir -p "$out"
    RAYON_NUM_THREADS=1 valgrind --tool=callgrind --separate-threads=yes \
        --callgrind-out-file="$out/cg.out" "$bin" check "$corpus" --format json --fail-on none \
        >/dev/null 2>"$out/valgrind.log"
    main="$out/cg.out-01"
    load=$(inclusive "$main" 'dockpolicy::parse::repository::load( \[|$)')
    packs=$(packs_in "$main")
    worker=0
    worker_other=0
    for file in "$out"/cg.out-*; do
        [ "$file" = "$main" ] && continue
        count=$(total "$file")
        in_file=$(packs_in "$file")
        packs=$((packs + in_file))
        loading=$(($(inclusive "$file" 'parse::dockerfile::parse_dockerfile_with_args( \[|$)') + $(inclusive "$file" 'parse::repository::run_model( \[|$)') + $(inclusive "$file" 'parse::python_imports::parse_imports( \[|$)')))
        load=$((load + loading))
        # The worker that evaluates is the busiest one.
        if [ "$count" -gt "$worker" ]; then
            worker=$count
            worker_other=$((in_file + loading))
        fi
    done
    main_share=$(($(inclusive "$main" 'policy::Policy::evaluate( \[|$)') + $(inclusive "$main" 'eval::world::World::new( \[|$)')))
    eval=$((worker - worker_other + main_share))
    ratio=$(awk -v e="$eval" -v l="$load" 'BEGIN { printf "%.2f", e / l }')
    echo "$corpus: load $(millions "$load"), eval $(millions "$eval") (${ratio}× load), packs $(millions "$packs")"
done
