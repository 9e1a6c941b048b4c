"""Targets 1 and 3: CPU per call against bare httpx, and the fast transport's throughput.

Every client sends the same SmartFlows trigger to the simulator (its own
process, its own core), with the same pool size (64):

* target 1: client CPU seconds per call, SDK (default transport) / bare
  ``httpx.AsyncClient.post``, at concurrency 1 and 64 (<= 1.10);
* target 3: calls/s at concurrency 64, SDK on aiohttp / SDK on httpx (>= 4)
  and SDK on aiohttp / bare ``aiohttp`` (>= 0.5).

The server's share of its core is noted: at 1.0 it, not the client, sets the pace.
"""

from __future__ import annotations

import statistics
from typing import Any

from ._harness import Bench, Measure, Row, server_share

TITLE = "client calls (targets 1, 3)"


def _cpu_ms(results: list[dict[str, Any]]) -> list[float]:
    return [r["cpu"] / r["calls"] * 1000 for r in results]


def _per_second(results: list[dict[str, Any]]) -> list[float]:
    return [r["calls"] / r["wall"] for r in results]


def _errors(results: dict[str, list[dict[str, Any]]]) -> int:
    return sum(r["errors"] for runs in results.values() for r in runs)


def run(bench: Bench) -> list[Row]:
    n1 = bench.size(300, 20)
    n64 = bench.size(1000, 40)  # ~2 s on the default transport
    fast = bench.size(2000, 40)  # ~1 s on aiohttp
    # Short runs (about 40 s for the suite), so that `make bench` fits in 5 minutes;
    # the figures are CPU per call and interleaved, which a busy moment skews least.
    rounds = bench.runs
    with bench.sandbox() as server:

        def calls(client: str, n: int, concurrency: int) -> Measure:
            spec = {"kind": "calls", "url": server.url, "client": client, "n": n}
            return lambda: bench.measure({**spec, "concurrency": concurrency}, server)

        results = bench.interleaved(
            rounds=rounds,
            variants={
                "sdk-httpx c1": calls("sdk-httpx", n1, 1),
                "bare-httpx c1": calls("bare-httpx", n1, 1),
                "sdk-httpx c64": calls("sdk-httpx", n64, 64),
                "bare-httpx c64": calls("bare-httpx", n64, 64),
                "sdk-aiohttp c64": calls("sdk-aiohttp", fast, 64),
                "bare-aiohttp c64": calls("bare-aiohttp", fast, 64),
            },
        )
    errors = _errors(results)
    shares = {name: server_share(runs) for name, runs in results.items()}

    def rate(name: str) -> str:
        return f"{statistics.median(_per_second(results[name])):,.0f}/s"

    busy = ", ".join(f"{name} {share:.0%}" for name, share in shares.items() if "c64" in name)
    cpu_httpx = statistics.median(_cpu_ms(results["sdk-httpx c64"]))
    cpu_aiohttp = statistics.median(_cpu_ms(results["sdk-aiohttp c64"]))
    return [
        Row(
            "1",
            "CPU per trigger, concurrency 1: SDK / bare httpx",
            "ms",
            _cpu_ms(results["sdk-httpx c1"]),
            _cpu_ms(results["bare-httpx c1"]),
            "<= 1.10",
            note=f"{rate('sdk-httpx c1')} vs {rate('bare-httpx c1')}; errors {errors}",
        ),
        Row(
            "1",
            "CPU per trigger, concurrency 64: SDK / bare httpx",
            "ms",
            _cpu_ms(results["sdk-httpx c64"]),
            _cpu_ms(results["bare-httpx c64"]),
            "<= 1.10",
            note=f"{rate('sdk-httpx c64')} vs {rate('bare-httpx c64')}",
        ),
        Row(
            "3",
            "calls/s at concurrency 64: SDK on aiohttp / SDK on httpx (default)",
            "calls/s",
            _per_second(results["sdk-aiohttp c64"]),
            _per_second(results["sdk-httpx c64"]),
            ">= 4",
            note=(
                f"server CPU share of its core: {busy}; client CPU per call {cpu_httpx:.3f} ms"
                f" (httpx) vs {cpu_aiohttp:.3f} ms (aiohttp): {cpu_httpx / cpu_aiohttp:.1f}x"
                " the calls per core"
            ),
        ),
        Row(
            "3",
            "calls/s at concurrency 64: SDK on aiohttp / bare aiohttp",
            "calls/s",
            _per_second(results["sdk-aiohttp c64"]),
            _per_second(results["bare-aiohttp c64"]),
            ">= 0.5",
            note=(
                f"client CPU per call {cpu_aiohttp:.3f} vs"
                f" {statistics.median(_cpu_ms(results['bare-aiohttp c64'])):.3f} ms"
            ),
        ),
    ]
