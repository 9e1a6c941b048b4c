"""Target 6: webhooks set on 10,000 numbers, the simulator adding 20 ms per request.

Baseline: the seed's own pattern (seed 003's example code), one synchronous
request per number with a new connection each, run on 500 numbers. Figure:
the SDK's ``ip.sms.webhooks.set(numbers, url)`` on 10,000 numbers (chunks of
100, 8 at once). Numbers per second, >= 200x; every number's outcome reported.
"""

from __future__ import annotations

from ._harness import Bench, Measure, Row

TITLE = "bulk webhooks (target 6)"
WEBHOOK = "/_rest/v4/my/did/sms/webhook"


def numbers(count: int) -> list[str]:
    return [f"+1303{7_000_000 + i:07d}" for i in range(count)]


def run(bench: Bench) -> list[Row]:
    many = numbers(bench.size(10_000, 300))
    few = many[: bench.size(500, 10)]
    latency = {"kind": "latency", "seconds": 0.02, "method": "POST", "path": WEBHOOK}
    config = {"sms_numbers": many, "faults": [latency]}
    with bench.sandbox(config) as server:

        def webhooks(client: str, chosen: list[str]) -> Measure:
            spec = {"kind": "webhooks", "url": server.url, "client": client, "numbers": chosen}
            return lambda: bench.measure(spec, server)

        results = bench.interleaved(
            {"sdk": webhooks("sdk", many), "seed loop": webhooks("seed-loop", few)}
        )
    sdk, seed = results["sdk"], results["seed loop"]
    unreported = sum(r["numbers"] - r["reported"] for r in [*sdk, *seed])
    failed = sum(r.get("failed", 0) for r in sdk)
    return [
        Row(
            "6",
            f"webhooks on {len(many):,} numbers, 20 ms per request: SDK / the seed's loop"
            f" on {len(few):,} (numbers/s)",
            "numbers/s",
            [r["numbers"] / r["wall"] for r in sdk],
            [r["numbers"] / r["wall"] for r in seed],
            ">= 200",
            note=f"outcomes not reported: {unreported}; failed numbers: {failed}",
        ),
        Row(
            "6",
            "numbers whose outcome was not reported (every run)",
            "numbers",
            [float(unreported)],
            [float(sum(r["numbers"] for r in [*sdk, *seed]))],
            ">= 0",
            limit="== 0",
            note="baseline column: numbers sent",
        ),
    ]
