"""Target 2: 10,000 triggers submitted at once through the SDK (one task each).

Against the bounded loop a careful user writes (bare httpx behind a semaphore
of 64, the SDK's default `max_in_flight`) sending the same 10,000: throughput
>= 0.9x; 10,000 at once takes <= 12x the time of 1,000 at once; the client
process's peak RSS < 150 MB; zero errors. Each run is a fresh process, so its
peak RSS is its own. The SDK's budget is raised to 600 s (``timeout=``): time
spent queued counts against each call's budget, and the last of 10,000 calls
queues for most of the run.
"""

from __future__ import annotations

from ._harness import Bench, Measure, Row, server_share

TITLE = "10,000 at once (target 2)"


def run(bench: Bench) -> list[Row]:
    big = bench.size(10_000, 60)
    small = big // 10
    with bench.sandbox({"history_limit": 100}) as server:

        def flood(client: str, n: int) -> Measure:
            spec = {"kind": "flood", "url": server.url, "client": client, "n": n}
            return lambda: bench.measure({**spec, "concurrency": 64}, server)

        results = bench.interleaved(
            {
                "sdk 10k": flood("sdk-httpx", big),
                "bare bounded 10k": flood("bare-httpx", big),
                "sdk 1k": flood("sdk-httpx", small),
            }
        )
    sdk, bare, sdk_small = results["sdk 10k"], results["bare bounded 10k"], results["sdk 1k"]
    errors = sum(r["errors"] for runs in results.values() for r in runs)
    share = server_share(sdk)
    return [
        Row(
            "2",
            f"{big:,} triggers at once: SDK / bare httpx bounded loop (calls/s)",
            "calls/s",
            [r["calls"] / r["wall"] for r in sdk],
            [r["calls"] / r["wall"] for r in bare],
            ">= 0.9",
            note=f"server CPU share of its core during the SDK runs: {share:.0%}",
        ),
        Row(
            "2",
            f"time for {big:,} at once / {small:,} at once (SDK)",
            "s",
            [r["wall"] for r in sdk],
            [r["wall"] for r in sdk_small],
            "<= 12",
        ),
        Row(
            "2",
            f"peak RSS, {big:,} at once: SDK (vs the bounded loop)",
            "MB",
            [r["peak_rss_mb"] for r in sdk],
            [r["peak_rss_mb"] for r in bare],
            "<= 1000",
            limit="< 150",
        ),
        Row(
            "2",
            "errors in every flood run (SDK and baseline)",
            "errors",
            [float(errors)],
            [float(sum(r["calls"] for runs in results.values() for r in runs))],
            ">= 0",
            limit="== 0",
            note="baseline column: calls made",
        ),
    ]
