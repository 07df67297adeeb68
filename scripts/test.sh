#!/usr/bin/env bash
# The suite's tests: installs the load generators they drive when a fresh
# machine lacks them (scripts/setup_tools.sh: wrk, oha) and strace (the
# equal-work tests count fsyncs with it), then runs every test of the
# workspace, then the Python peers' own tests (pytest in target/peers-venv,
# made by scripts/setup_peers.sh); Locust goes into target/locust-venv
# (scripts/setup_locust.sh) for the distributed test; PostgreSQL (the
# project's own cluster under target/postgres, scripts/setup_postgres.sh)
# for the database category's tests, which skip with a reason where it
# cannot be started unless BENCH_REQUIRE_POSTGRES is set. Extra arguments go
# to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_tools.sh
scripts/need_package.sh strace
scripts/setup_locust.sh >/dev/null
python=$(scripts/setup_peers.sh)
scripts/setup_postgres.sh >/dev/null ||
    echo "PostgreSQL cannot be started here: the database tests on it will say so and skip" >&2
cargo test --workspace --locked "$@"
"$python" -m pytest peers/python/tests
