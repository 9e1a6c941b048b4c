"""Target 4 and the inbox modes: the receiver under HTTP load, against bare endpoints.

Every app (``benchmarks/receiver_server.py``) is served by 1 uvicorn worker in
its own process on the server core, with the same settings; the load
generator (wrk, 2 threads and 32 connections, else ``benchmarks/_load.py``)
runs on the client core and posts an inbound SMS signed with the shared code,
a unique refid per request. Target 4's apps run first, interleaved
round-robin, then the inbox modes likewise; before each run the server core
is left to go quiet (a queued receiver's workers drain what the previous run
left them). Figures: requests answered per second (all 200) and p99 latency.
Target 4's three apps run 3 s a run; the inbox modes 1 s (each queued run
leaves a backlog its workers take seconds to drain before the next run may
start: shorter runs keep `make bench` under 5 minutes).

* target 4: the receiver (SharedCode, a no-op handler, inline, `MemoryStore`)
  against a bare Starlette endpoint that parses the JSON (>= 1.0x the req/s,
  p99 <= 1.0x) and against a raw ASGI callable doing the same (>= 0.6x);
* the inbox modes (no target): queued with `SqliteInbox` and `RedisInbox`, and
  inline with `SqliteStore` and `RedisStore`, each against inline `MemoryStore`
  measured in the same invocation (in target 4's rounds). Redis runs on the
  server core too, with ``appendfsync always``; SQLite commits with
  ``synchronous=FULL``: each 200 is on disk.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ._harness import Bench, Measure, Row, Server, find_wrk
from ._load import python_load, warm_up, wrk
from .receiver_server import APPS

TITLE = "receiver (target 4, inbox modes)"
CONNECTIONS = 32
WARM_UP = 300  # posts to each app before any measured run
#: The inbox rows: app name -> what the row calls it.
MODES = {
    "sqlite-inbox": "queued, SqliteInbox",
    "redis-inbox": "queued, RedisInbox",
    "sqlite-store": "inline, SqliteStore",
    "redis-store": "inline, RedisStore",
}


def _settle(processes: list[Callable[[], float]], *, limit: float = 30.0) -> float:
    """Wait until the server core is quiet (its processes use < 5% of it over 0.2 s);
    the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        before = sum(cpu() for cpu in processes)
        time.sleep(0.2)
        if sum(cpu() for cpu in processes) - before < 0.01:
            break
    return time.perf_counter() - started


def _rate(results: list[dict[str, Any]]) -> list[float]:
    return [r["requests"] / r["seconds"] for r in results]


def _p99(results: list[dict[str, Any]]) -> list[float]:
    return [r["p99_ms"] for r in results]


#: The apps of target 4 (the rest are the inbox modes).
TARGET_4 = ("receiver", "starlette", "raw")


def run(bench: Bench) -> list[Row]:
    seconds = {name: bench.size(3 if name in TARGET_4 else 1, 1) for name in APPS}
    binary = find_wrk()
    generator = "wrk" if binary else "benchmarks/_load.py (wrk not available)"
    runs = 0

    def load(server: Server, name: str, duration: int) -> dict[str, Any]:
        nonlocal runs
        runs += 1
        prefix = f"{name}-{runs}-{time.time_ns()}"  # refids never seen by any earlier run
        if binary:
            return wrk(binary, server.url + "/", duration, CONNECTIONS, prefix)
        return python_load(server.url + "/", duration, CONNECTIONS, prefix)

    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        redis = stack.enter_context(bench.redis(Path(scratch)))
        servers = {
            name: stack.enter_context(
                bench.server(
                    [
                        "-m",
                        "benchmarks.receiver_server",
                        name,
                        "--dir",
                        scratch,
                        "--redis",
                        redis.url,
                    ]
                )
            )
            for name in APPS
        }
        quiet = [server.cpu for server in [redis, *servers.values()]]
        settled: list[float] = []

        def measure(name: str) -> Measure:
            def one() -> dict[str, Any]:
                settled.append(_settle(quiet))
                return load(servers[name], name, seconds[name])

            return one

        def rounds(names: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
            for name in names:  # warm up: first-request imports, caches
                answered = warm_up(servers[name].url + "/", f"warm-{time.time_ns()}", WARM_UP)
                if answered != WARM_UP:
                    raise RuntimeError(f"{name}: {WARM_UP - answered} warm-up posts not 2xx")
            return bench.interleaved({name: measure(name) for name in names})

        # Target 4's apps first, by themselves: the inbox modes leave disk writes
        # (fsyncs, checkpoints) that the quiet check on the server's processes
        # cannot see, and they would fall on whichever app ran next.
        results = rounds(TARGET_4)
        results.update(rounds(MODES))
        settled.append(_settle(quiet))
    failures = sum(r["status_errors"] + r["socket_errors"] for rs in results.values() for r in rs)
    rx, bare, raw = results["receiver"], results["starlette"], results["raw"]

    def summary(name: str) -> str:
        rs = results[name]
        return (
            f"{statistics.median(_rate(rs)):,.0f} req/s, p99 {statistics.median(_p99(rs)):.1f} ms"
        )

    load_note = (
        f"load: {generator}, {CONNECTIONS} connections, {seconds['receiver']} s a run"
        f" ({seconds['sqlite-inbox']} s for the inbox modes); 1 uvicorn worker"
        f" per app; non-200 answers or socket errors in all runs: {failures}"
    )
    rows = [
        Row(
            "4",
            "receiver (SharedCode, no-op handler) / bare Starlette endpoint parsing the JSON",
            "req/s",
            _rate(rx),
            _rate(bare),
            ">= 1.0",
            note=load_note,
        ),
        Row(
            "4",
            "receiver p99 latency / bare Starlette endpoint's",
            "ms",
            _p99(rx),
            _p99(bare),
            "<= 1.0",
        ),
        Row(
            "4",
            "receiver / raw ASGI callable parsing the JSON",
            "req/s",
            _rate(rx),
            _rate(raw),
            ">= 0.6",
            note=f"raw ASGI: {summary('raw')}; Starlette: {summary('starlette')}",
        ),
    ]
    for name, label in MODES.items():
        rows.append(
            Row(
                "inbox",
                f"receiver {label} / inline MemoryStore",
                "req/s",
                _rate(results[name]),
                _rate(rx),
                "none",
                note=f"{summary(name)} (inline MemoryStore: {summary('receiver')})",
            )
        )
    rows[-1].note += (
        f"; the server core took up to {max(settled):.1f} s to go quiet after a run"
        " (queued modes: the workers draining the backlog)"
    )
    return rows
