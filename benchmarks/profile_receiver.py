"""Profile the receiver's hot path with pyinstrument (a script, not a test).

    .venv/bin/python -m benchmarks.profile_receiver [receiver|starlette|raw|...]
        [--seconds 5] [--all]

Serves the chosen app of the receiver suite (``benchmarks/receiver_server.py``)
with uvicorn in this process, under pyinstrument, pinned to the server core,
while wrk (pinned to the other core; the receiver suite's script, unique
refids) posts inbound SMS at it; then prints the call tree (``--all`` shows
library frames too). This is how the receiver's raw ASGI path was found: see
README "Performance".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ._harness import Bench, find_wrk
from .receiver_server import APPS, build

SCRIPT = Path(__file__).with_name("receiver.lua")


async def _call(call: Callable[[], object]) -> None:
    call()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", nargs="?", default="receiver", choices=APPS)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--redis", default=None, help="redis://... for the Redis apps")
    parser.add_argument("--all", action="store_true", help="show library frames too")
    args = parser.parse_args()
    wrk = find_wrk()
    if wrk is None:
        raise SystemExit("wrk is needed (apt-get install wrk)")
    import uvicorn
    from pyinstrument import Profiler

    bench = Bench(quick=False, runs=1)
    if bench.server_core is not None:
        os.sched_setaffinity(0, {bench.server_core})
    client = bench.client_core
    with tempfile.TemporaryDirectory() as scratch:
        app = build(args.app, Path(scratch), args.redis)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        server = uvicorn.Server(config)
        profiler = Profiler(interval=0.001)
        loop: asyncio.AbstractEventLoop | None = None

        def in_loop(call: Callable[[], object]) -> None:
            # pyinstrument samples the thread that starts it: the event loop's.
            assert loop is not None
            asyncio.run_coroutine_threadsafe(_call(call), loop).result(timeout=10)

        def load() -> None:
            while not server.started:
                time.sleep(0.01)
            pin = [] if client is None else ["taskset", "-c", str(client)]
            command = [*pin, wrk, "-t2", "-c32", "-s", str(SCRIPT)]
            subprocess.run([*command, "-d1s", url, "--", "warm"], check=True)
            in_loop(profiler.start)
            subprocess.run([*command, f"-d{args.seconds}s", url, "--", "profiled"], check=True)
            in_loop(profiler.stop)
            server.should_exit = True

        async def serve() -> None:
            nonlocal loop
            loop = asyncio.get_running_loop()
            await server.serve(sockets=[sock])

        loader = threading.Thread(target=load)
        loader.start()
        asyncio.run(serve())
        loader.join()
    print(profiler.output_text(unicode=True, color=False, show_all=args.all))


if __name__ == "__main__":
    main()
