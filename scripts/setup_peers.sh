#!/usr/bin/env bash
# Creates (or refreshes) the Python peers' virtual environment in
# target/peers-venv from peers/python/requirements.txt (every version
# pinned). Prints the environment's python path on success.
exec "$(dirname "$0")/setup_venv.sh" peers/python/requirements.txt target/peers-venv
