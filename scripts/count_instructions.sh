#!/usr/bin/env bash
# Instructions per validated item for each case of the validation engine,
# counted by callgrind (steady where wall time is not): each case runs 1 and
# 1+N times and the difference is divided by N × items, so start-up and
# fixture loading cancel out.
#
#   scripts/count_instructions.sh [CASE ...]     (default: every case)
#   REPEATS=20 scripts/count_instructions.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install -y valgrind)" >&2; exit 2; }
repeats="${REPEATS:-20}"

cargo build --quiet --release -p shared --example validate_repeat
bin="target/release/examples/validate_repeat"
cases=("$@")
if [[ ${#cases[@]} -eq 0 ]]; then
    mapfile -t cases < <("$bin" --list)
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

count() { # case repeats -> instructions
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" "$1" "$2" >"$out/items" 2>/dev/null
    awk '/^(summary|totals):/ { print $2; exit }' "$out/cg"
}

echo "| case | instructions per item |"
echo "|---|---:|"
for c in "${cases[@]}"; do
    once="$(count "$c" 1)"
    many="$(count "$c" $((repeats + 1)))"
    items="$(cat "$out/items")"
    echo "| $c | $(( (many - once) / (repeats * items) )) |"
done
