#!/usr/bin/env bash
# Side by side, case by case: the Rust validation engine, pydantic v2
# (`model_validate_json`) and msgspec (`Struct` decoders) on the same fixture
# bytes, each timed by the same loop, in interleaved rounds (the best round of
# each counts, so a noisy moment does not favour either side), all pinned to
# one CPU (CPU=N, default 0): a Rust round runs in a child process, which the
# scheduler would otherwise put on the other, idle, CPU — and on a virtual
# machine two CPUs need not run at the same speed.
#
#   scripts/compare_pydantic.sh [seconds per round] [rounds]   (default 0.1 20)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

venv="target/pydantic-venv"
requirements="scripts/compare-requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "==> preparing $venv (pydantic, msgspec)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$requirements"
    echo "$want" >"$stamp"
fi

echo "==> building the Rust loop (release)"
cargo build --quiet --release -p shared --example validate_repeat

pin=()
if command -v taskset >/dev/null; then
    pin=(taskset -c "${CPU:-0}")
fi
"${pin[@]}" "$venv/bin/python" scripts/pydantic_models.py "${1:-0.1}" "${2:-20}"
