#!/usr/bin/env bash
# The suite's main job: build in release mode, check dependencies, then for
# every framework in frameworks.toml start its server per category, verify it
# against the contract, benchmark it with wrk beside the ceiling server, and
# write results JSON plus a Markdown report with charts. Installs wrk and oha
# when missing (scripts/setup_tools.sh).
#
#   scripts/run_benchmarks.sh [category|all] [--quick|--fixed] [extra runner flags…]
#
# Full (the default): every target sampled in 1 s runs after one 1 s
# warm-up per server start, at the contract's 64 connections, until the 95 %
# interval of its median good req/s and CPU per answer is within ±5 % (6 to
# 9 runs, fewer when the runs so far show it cannot get there; a figure still
# wider is flagged `unsettled` in the results and the report), a category's
# servers side by side with each target's runs alternating between the
# frameworks (`--sequential` for one after another); then the open-model
# phase of the basic category (oha at 50, 75 and
# 90 % of each framework's maximum and at 1,000 req/s, 2 s each). All seven
# frameworks and the first five categories take 1 h 49 min on a 2-core
# machine; the database category adds 2 to 2.2 min per Rust framework on
# SQLite (add --database postgres for PostgreSQL; a --quick database run of
# all seven takes 6.5 min on either engine).
# --quick: a smoke run — every target once for 1 s after a 1 s warm-up, 64
# connections, no open-model phase: it proves that everything starts,
# verifies and answers under load, not how fast (one sample has no interval;
# a Python server's figure moves by a third between runs).
# --fixed: the earlier fixed design — 10 s per run, 3 runs, 3 s warm-ups, at
# 16 and 256 connections, 5 s open-model points (about 13 hours for all).
# Extra flags go to `runner run` (e.g. --framework reference --connections
# 16,64,256 --cpus server=0,load=1 --open-model all).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

category="all"
if [[ $# -gt 0 && "$1" != --* ]]; then
    category="$1"
    shift
fi
params=(--precision 5% --min-samples 6 --max-samples 9 --duration 1s --warmup 1s --connections 64 --open-duration 2s)
extra=()
for arg in "$@"; do
    case "$arg" in
        --quick) params=(--duration 1s --warmup 1s --repeat 1 --connections 64 --open-model none) ;;
        --fixed) params=(--duration 10s --warmup 3s --repeat 3 --connections 16,256 --open-duration 5s) ;;
        *) extra+=("$arg") ;;
    esac
done

command -v cargo >/dev/null || { echo "error: cargo not found: install Rust with rustup (https://rustup.rs)" >&2; exit 2; }

echo "==> building (release; the first build takes a few minutes)"
cargo build --release --quiet --workspace --bins
scripts/setup_tools.sh   # wrk and oha, when missing

output="results"
mkdir -p "$output"
echo "==> running category '$category'"
set +e
target/release/runner run --category "$category" --scenarios --output "$output" "${params[@]}" "${extra[@]}" | tee "$output/.last-run"
status=${PIPESTATUS[0]}
set -e
results="$(sed -n 's/^results: //p' "$output/.last-run")"
rm -f "$output/.last-run"
if [[ -z "$results" ]]; then
    exit "$status"
fi

report_dir="${results%.json}-report"
target/release/runner report "$results" --output "$report_dir"
echo "==> results: $results"
echo "==> report:  $report_dir/report.md"
exit "$status"
