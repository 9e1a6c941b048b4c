#!/usr/bin/env bash
# Make sure a redis-server >= 6.2 (XAUTOCLAIM) is on PATH for the test suite.
#
# The tests start their own redis-server on a free loopback port and stop it
# after the session; this script only makes the binary available. Found on
# PATH: nothing to do. Missing or too old, as root with apt (CI's machine):
# install Debian's package. Otherwise: one line saying what to install.
set -euo pipefail

MIN_MAJOR=6
MIN_MINOR=2

version_ok() {
    local version major minor
    version=$(redis-server --version 2>/dev/null | sed -n 's/.* v=\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')
    [ -n "$version" ] || return 1
    major=${version%%.*}
    minor=${version#*.}
    [ "$major" -gt "$MIN_MAJOR" ] || { [ "$major" -eq "$MIN_MAJOR" ] && [ "$minor" -ge "$MIN_MINOR" ]; }
}

if command -v redis-server >/dev/null 2>&1 && version_ok; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-redis: installing Debian's redis-server (needed by the Redis tests)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    # The package may start a system service on 6379; the tests never use it.
    if command -v redis-server >/dev/null 2>&1 && version_ok; then
        exit 0
    fi
    echo "ensure-redis: Debian's redis-server is older than ${MIN_MAJOR}.${MIN_MINOR}" >&2
    exit 1
fi

echo "ensure-redis: the tests need redis-server >= ${MIN_MAJOR}.${MIN_MINOR} on PATH: install it (e.g. 'apt-get install redis-server' or 'brew install redis') and run again" >&2
exit 1
