#!/usr/bin/env bash
# Usage: need_package.sh COMMAND [HINT]
# Makes sure COMMAND is on the PATH: installs the Debian package of the same
# name when it is missing and this runs as root on Debian/Ubuntu, otherwise
# fails saying how to install it (HINT: other systems' way, if any).
set -euo pipefail
command=$1
hint=${2:-}
command -v "$command" >/dev/null && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "==> installing $command"
    apt-get update -qq && apt-get install -y -qq "$command" >/dev/null
else
    echo "error: $command is not installed: sudo apt-get install -y $command (Debian/Ubuntu)${hint:+ or $hint}" >&2
    exit 2
fi
