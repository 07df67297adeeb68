#!/usr/bin/env bash
# The suite's tests: installs what they need and a fresh machine lacks (wrk
# from the distribution when run as root, oha into target/tools), then runs
# every test of the workspace. Extra arguments go to `cargo test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v wrk >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "==> installing wrk"
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    else
        echo "error: wrk is not installed: sudo apt-get install -y wrk (Debian/Ubuntu) or brew install wrk (macOS)" >&2
        exit 2
    fi
fi
scripts/setup_tools.sh
cargo test --workspace --locked "$@"
