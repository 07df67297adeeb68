#!/usr/bin/env bash
# Installs the load generators the runner drives when they are missing:
# wrk from the distribution (as root on Debian/Ubuntu; otherwise says how),
# and oha, the constant-arrival-rate generator of the open-model phase, into
# target/tools (nothing else outside the repository). Quick when both are
# there at the pinned version.
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

OHA_VERSION="1.16.0"
oha="target/tools/bin/oha"
if [[ -x "$oha" ]] && "$oha" --version 2>/dev/null | grep -q " $OHA_VERSION"; then
    exit 0
fi
command -v cargo >/dev/null || { echo "error: cargo not found: install Rust with rustup (https://rustup.rs)" >&2; exit 2; }
echo "==> installing oha $OHA_VERSION into target/tools (once; a few minutes)"
cargo install oha --version "$OHA_VERSION" --locked --quiet --root target/tools
