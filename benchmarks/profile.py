"""Profile the request path with pyinstrument (a script, not a test).

    .venv/bin/python -m benchmarks.profile [sdk-httpx|sdk-aiohttp|bare-httpx|bare-aiohttp]
        [--concurrency 1] [--calls 3000] [--all]

Starts the simulator in its own process (pinned like `make bench`), sends
SmartFlows triggers through the chosen client from this process under
pyinstrument, and prints the call tree (``--all`` shows library frames too).
This is how the fixes of issue 10 were found: httpx's ``AsyncClient.send``
wrapper and cookie extraction around the pool, per-call URL parsing.
"""

from __future__ import annotations

import argparse

import anyio

from . import _worker
from ._harness import Bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("client", nargs="?", default="sdk-httpx", choices=_worker.CLIENTS)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--all", action="store_true", help="show library frames too")
    args = parser.parse_args()
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)

    async def use(call: _worker.Call) -> dict[str, object]:
        for _ in range(10):
            await call()
        left = args.calls

        async def loop() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await call()

        profiler.start()
        async with anyio.create_task_group() as tg:
            for _ in range(args.concurrency):
                tg.start_soon(loop)
        profiler.stop()
        return {}

    bench = Bench(quick=False, runs=1)
    with bench.sandbox() as server:
        anyio.run(_worker._with_client, args.client, server.url, use)
    print(profiler.output_text(unicode=True, color=False, show_all=args.all))


if __name__ == "__main__":
    main()
