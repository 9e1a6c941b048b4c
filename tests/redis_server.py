"""A real redis-server for the tests: our own process, on a free loopback port.

Started once per session (the ``redis_url`` fixture), with no persistence and
its own directory, and stopped after. A system Redis (say one apt started on
6379) is never used. The binary is the one ``scripts/ensure-redis.sh`` built
next to this Python (``.venv/bin/redis-server``, where apt's is too old), else
the one on PATH. None is an error, never a skip: ``make test`` runs that script.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: Where ``scripts/ensure-redis.sh`` puts the redis-server it builds.
BUILT_BINARY = Path(sys.executable).parent / "redis-server"

INSTALL_HINT = (
    "redis-server (>= 6.2) is neither in the virtualenv nor on PATH: run scripts/ensure-redis.sh "
    "(make test does), or install it (apt-get install redis-server)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _start(binary: str, directory: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(directory), "--daemonize", "no"]
    args += ["--logfile", str(directory / f"redis-{port}.log")]
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None  # the port was taken meanwhile: try another
        if answers_ping(port):
            return process, port
        time.sleep(0.02)
    process.kill()
    process.wait()
    return None


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """``redis://127.0.0.1:<port>/0`` while our redis-server runs; stopped after."""
    binary = str(BUILT_BINARY) if BUILT_BINARY.is_file() else shutil.which("redis-server")
    if binary is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    for _ in range(3):
        started = _start(binary, directory)
        if started is not None:
            break
    else:
        pytest.fail(f"redis-server did not start (see the logs in {directory})", pytrace=False)
    process, port = started
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
