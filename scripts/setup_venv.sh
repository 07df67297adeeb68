#!/usr/bin/env bash
# Usage: setup_venv.sh REQUIREMENTS VENV
# Creates (or refreshes) a Python virtual environment VENV from REQUIREMENTS,
# where every version is pinned (paths relative to the repository root).
# Quick when nothing changed: a stamp holds the requirements' checksum.
# Prints the environment's python path on success.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -ne 2 ]]; then
    echo "usage: $0 REQUIREMENTS VENV" >&2
    exit 2
fi
requirements=$1
venv=$2
stamp=$venv/.requirements.sha256
python=${PYTHON:-python3}

want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "$venv/bin/python"
    exit 0
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup_venv: Python 3.11 or newer is required (set PYTHON=...)" >&2
    exit 1
fi
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv >&2
    else
        echo "setup_venv: the venv module is missing (apt-get install python3-venv)" >&2
        exit 1
    fi
fi

mkdir -p target
rm -f "$stamp"
[[ -x $venv/bin/python ]] || "$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$requirements" >&2
if ! problems=$("$venv/bin/python" -m pip check); then
    echo "$problems" >&2
    exit 1
fi
echo "$want" >"$stamp"
echo "$venv/bin/python"
