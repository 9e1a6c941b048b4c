"""One measurement, run in a fresh process: ``python -m benchmarks._worker < spec.json``.

The harness starts this process for every run (pinned to the client's core),
so each figure has its own interpreter: its CPU time, its peak RSS and its
connection pool belong to that run alone. It prints one JSON object.

Kinds (the JSON's ``kind``):

* ``calls``: `n` SmartFlows triggers at concurrency `concurrency` through one of
  `CLIENTS` (the SDK on either transport, or bare httpx / aiohttp sending the
  same request): wall time, client CPU time, errors.
* ``flood``: `n` triggers submitted at once (one task each) through the SDK, or
  through bare httpx behind a semaphore of `concurrency` (the bounded loop a
  careful user writes): wall time, errors, peak RSS.
* ``webhooks``: the seed's pattern (one synchronous request per number, a new
  connection each, as ``requests.post`` does) or the SDK's bulk
  ``sms.webhooks.set``: numbers, wall time, outcomes reported.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

FLOW = "demo-flow"
ANI = "+17205551212"
DNIS = "+13035550100"
TOKEN = "demo-portal-token"
TRIGGER_PATH = "/_rest/v4/sfgen/apitriggers"
WEBHOOK_PATH = "/_rest/v4/my/did/sms/webhook"
CLIENTS = ("sdk-httpx", "sdk-aiohttp", "bare-httpx", "bare-aiohttp")
POOL = 64  # the SDK's default max_in_flight; bare clients get the same pool

Call = Callable[[], Awaitable[bool]]


def _trigger_body() -> dict[str, str]:
    return {"flowId": FLOW, "ANI": ANI, "DNIS": DNIS}


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}


async def _with_client(
    client: str, url: str, use: Callable[[Call], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """Run `use` with a zero-argument call that sends one trigger through `client`."""
    if client.startswith("sdk-"):
        from intelepeer_async import AsyncIntelePeer
        from intelepeer_async._http import TransportName

        transport: TransportName = "aiohttp" if client == "sdk-aiohttp" else "httpx"
        async with AsyncIntelePeer(
            token=TOKEN, base_url=url, transport=transport, timeout=600
        ) as ip:

            async def sdk() -> bool:
                result = await ip.smartflows.trigger(FLOW, ani=ANI, dnis=DNIS)
                return result.accepted

            return await use(sdk)
    target = url + TRIGGER_PATH
    if client == "bare-httpx":
        import httpx

        limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
        async with httpx.AsyncClient(limits=limits, timeout=600) as http:

            async def bare_httpx() -> bool:
                response = await http.post(target, json=_trigger_body(), headers=_headers())
                return response.status_code == 202

            return await use(bare_httpx)
    if client == "bare-aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=POOL)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def bare_aiohttp() -> bool:
                async with session.post(target, json=_trigger_body(), headers=_headers()) as r:
                    await r.read()
                    return r.status == 202

            return await use(bare_aiohttp)
    raise SystemExit(f"unknown client {client!r}; one of {', '.join(CLIENTS)}")


async def _calls(client: str, url: str, n: int, concurrency: int) -> dict[str, Any]:
    async def use(call: Call) -> dict[str, Any]:
        for _ in range(min(concurrency, 8)):  # warm up: connections, first-use imports
            await call()
        left = n
        errors = 0

        async def loop() -> None:
            nonlocal left, errors
            while left > 0:
                left -= 1
                try:
                    ok = await call()
                except Exception:
                    ok = False
                errors += not ok

        wall, cpu = time.perf_counter(), time.process_time()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(loop)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {"calls": n, "wall": wall, "cpu": cpu, "errors": errors}

    return await _with_client(client, url, use)


async def _flood(client: str, url: str, n: int, concurrency: int) -> dict[str, Any]:
    async def use(call: Call) -> dict[str, Any]:
        await call()  # warm up
        errors = 0
        gate = anyio.Semaphore(concurrency) if client.startswith("bare-") else None

        async def one() -> None:
            nonlocal errors
            try:
                if gate is None:
                    ok = await call()
                else:
                    async with gate:
                        ok = await call()
            except Exception:
                ok = False
            errors += not ok

        wall = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)
        wall = time.perf_counter() - wall
        return {"calls": n, "wall": wall, "errors": errors}

    result = await _with_client(client, url, use)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _seed_loop(url: str, numbers: list[str]) -> dict[str, Any]:
    """The seed's example, once per number: a new connection, one number per request."""
    reported = 0
    wall = time.perf_counter()
    for number in numbers:
        payload = json.dumps({"webhook": "http://127.0.0.1:9/sms", "endpoints": [number]})
        request = urllib.request.Request(  # noqa: S310 - a loopback URL the harness built
            url + WEBHOOK_PATH,
            data=payload.encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            exc.read()
        reported += 1
    return {"numbers": len(numbers), "wall": time.perf_counter() - wall, "reported": reported}


async def _sdk_webhooks(url: str, numbers: list[str]) -> dict[str, Any]:
    from intelepeer_async import AsyncIntelePeer

    async with AsyncIntelePeer(token=TOKEN, base_url=url, timeout=600) as ip:
        wall = time.perf_counter()
        results = await ip.sms.webhooks.set(numbers, "http://127.0.0.1:9/sms")
        wall = time.perf_counter() - wall
    reported = len({r.number for r in results})
    failed = sum(1 for r in results if not r.ok)
    return {"numbers": len(numbers), "wall": wall, "reported": reported, "failed": failed}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    kind, url = spec["kind"], spec["url"]
    if kind == "calls":
        return anyio.run(_calls, spec["client"], url, spec["n"], spec["concurrency"])
    if kind == "flood":
        return anyio.run(_flood, spec["client"], url, spec["n"], spec["concurrency"])
    if kind == "webhooks":
        if spec["client"] == "seed-loop":
            return _seed_loop(url, spec["numbers"])
        return anyio.run(_sdk_webhooks, url, spec["numbers"])
    raise SystemExit(f"unknown kind {kind!r}")


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.stdin.read()))))
