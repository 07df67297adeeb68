#!/usr/bin/env bash
# The suite's tests: installs the load generators they drive when a fresh
# machine lacks them (scripts/setup_tools.sh: wrk, oha), then runs every test
# of the workspace; Locust goes into target/locust-venv
# (scripts/setup_locust.sh) for the distributed test. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_tools.sh
scripts/setup_locust.sh >/dev/null
cargo test --workspace --locked "$@"
