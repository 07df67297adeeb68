#!/usr/bin/env bash
# Fuzzes the suite's input parsers with cargo-fuzz (libFuzzer), each target
# for a bounded time, starting from the committed corpora in fuzz/corpus/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default: 60 s, all)
#   scripts/fuzz.sh --minimize                          (shrink the corpora)
#
# Needs a nightly toolchain (installed when missing) and cargo-fuzz
# (installed when missing). A crash stops the script with the failing input
# under fuzz/artifacts/TARGET/; reproduce it with
#   cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-…
# and turn it into a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

minimize=false
if [[ "${1:-}" == "--minimize" ]]; then
    minimize=true
    shift
fi
seconds=60
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi

cargo +nightly fuzz build -O --fuzz-dir fuzz
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    if $minimize; then
        echo "== minimizing the corpus of $t"
        cargo +nightly fuzz cmin -O --fuzz-dir fuzz "$t" "fuzz/corpus/$t"
        continue
    fi
    echo "== fuzzing $t for ${seconds}s"
    # -rss_limit_mb: a leak or a runaway allocation is a finding too;
    # -timeout: one input taking more than 10 s is a hang; -max_len keeps
    # inputs (and the corpus) to sizes that explore rules, not bulk.
    cargo +nightly fuzz run -O --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=16384 \
        -print_final_stats=1
done
if $minimize; then
    echo "corpora minimized: ${targets[*]}"
else
    echo "fuzzing done: ${#targets[@]} target(s), ${seconds}s each, no crash"
fi
