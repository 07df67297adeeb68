#!/usr/bin/env bash
# Creates (or refreshes) Locust's virtual environment in target/locust-venv
# from scripts/locust-requirements.txt (every version pinned), apart from the
# peers' so that neither pins the other's packages. Prints the path of its
# `locust` on success.
set -euo pipefail
python=$("$(dirname "$0")/setup_venv.sh" scripts/locust-requirements.txt target/locust-venv)
echo "$(dirname "$python")/locust"
