#!/usr/bin/env bash
# Installs the load generators the runner drives when they are missing:
# wrk from the distribution (as root on Debian/Ubuntu; otherwise says how),
# and oha, the constant-arrival-rate generator of the open-model phase, into
# target/tools (nothing else outside the repository). Quick when both are
# there at the pinned version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

scripts/need_package.sh wrk "brew install wrk (macOS)"

OHA_VERSION="1.16.0"
oha="target/tools/bin/oha"
if [[ -x "$oha" ]] && "$oha" --version 2>/dev/null | grep -q " $OHA_VERSION"; then
    exit 0
fi
command -v cargo >/dev/null || { echo "error: cargo not found: install Rust with rustup (https://rustup.rs)" >&2; exit 2; }
echo "==> installing oha $OHA_VERSION into target/tools (once; a few minutes)"
cargo install oha --version "$OHA_VERSION" --locked --quiet --root target/tools
