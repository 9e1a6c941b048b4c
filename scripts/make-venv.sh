#!/usr/bin/env bash
# make's virtualenv step: VENV (re)made with PYTHON, which must be >= 3.11.
#
# A fresh Debian or Ubuntu has python3 without venv/ensurepip (they are in the
# python3-venv package): as root with apt, this installs it; otherwise it says
# so in one line. So does a python3 older than 3.11 (Debian 11: 3.9).
# Usage: scripts/make-venv.sh PYTHON VENV
set -euo pipefail

PYTHON=${1:?usage: make-venv.sh PYTHON VENV}
VENV=${2:?usage: make-venv.sh PYTHON VENV}

fail() {
    echo "make: $*" >&2
    exit 1
}

command -v "$PYTHON" >/dev/null 2>&1 ||
    fail "no $PYTHON on PATH: install Python >= 3.11, or name it: make PYTHON=/path/to/python3.11"
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) ||
    fail "$PYTHON does not run"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    fail "$PYTHON is Python $version; intelepeer-async needs Python >= 3.11 (make PYTHON=python3.11)"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rm -rf "$VENV"
if "$PYTHON" -m venv "$VENV" >"$log" 2>&1; then
    exit 0
fi
rm -rf "$VENV"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    cat "$log" >&2
    fail "$PYTHON cannot make a virtualenv (Debian/Ubuntu: apt-get install python${version}-venv)"
fi
echo "make: $PYTHON cannot make a virtualenv (no venv/ensurepip): installing python${version}-venv" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "python${version}-venv" >/dev/null 2>&1 ||
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
"$PYTHON" -m venv "$VENV" >"$log" 2>&1 || {
    rm -rf "$VENV"
    cat "$log" >&2
    fail "$PYTHON still cannot make a virtualenv after installing python${version}-venv"
}
