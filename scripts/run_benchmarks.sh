#!/usr/bin/env bash
# Builds the suite in release mode, starts a category's reference server on a
# free port, verifies it against its contract and stops it again.
#
#   scripts/run_benchmarks.sh [category]      (default: basic)
set -euo pipefail

category="${1:-basic}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

declare -A binary=([basic]=basic)
bin="${binary[$category]:-}"
if [[ -z "$bin" ]]; then
    echo "error: no reference server for category '$category' (available: ${!binary[*]})" >&2
    exit 2
fi
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust from rustup" >&2; exit 2; }

echo "==> building (release)"
cargo build --release --quiet -p "$bin" -p runner

log="$(mktemp)"
"target/release/$bin" --port 0 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

url=""
for _ in $(seq 1 100); do
    url="$(sed -n 's/^listening on //p' "$log")"
    [[ -n "$url" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "error: $bin exited at start" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$url" ]] || { echo "error: $bin did not start listening" >&2; exit 1; }

echo "==> $bin listening on $url; verifying against shared-endpoints/$category.json"
target/release/runner verify --category "$category" --url "$url"
