#!/usr/bin/env bash
# Side by side: the Rust validation engine (criterion, in process) against
# pydantic v2 (`model_validate_json`) on the same fixture bytes.
#
#   scripts/compare_pydantic.sh [seconds per pydantic case]   (default 1)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

venv="target/pydantic-venv"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "==> creating $venv with pydantic 2"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'pydantic>=2,<3'
fi

echo "==> building the criterion bench (release)"
cargo bench --quiet -p shared --bench validation --no-run

echo "==> Rust (criterion) and pydantic, case by case"
"$venv/bin/python" scripts/pydantic_models.py "${1:-1}"
