"""Serve an ASGI app on loopback for tests: uvicorn in a background thread, or
hypercorn's trio worker.

The one place the suite starts uvicorn: `start_uvicorn` for a test that stops
the server itself, `serving` (the port) and `uvicorn_in_thread` (the base URL)
for a block that stops it, and joins the thread, on the way out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def start_uvicorn(app: Any, **options: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    """`app` under uvicorn in a thread, on a free loopback port, once it has started.

    `options` are `uvicorn.Config` settings; by default warnings only and lifespan on.
    """
    settings = {"log_level": "warning", "lifespan": "on", **options}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, **settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped at start-up"
        time.sleep(0.01)
    return server, thread, server.servers[0].sockets[0].getsockname()[1]


@contextmanager
def serving(app: Any, **options: Any) -> Iterator[int]:
    """`app` under uvicorn for the block; yields its port, then stops it and joins the thread."""
    server, thread, port = start_uvicorn(app, **options)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def uvicorn_in_thread(app: Any, **options: Any) -> Iterator[str]:
    """`serving`, yielding the app's base URL (``http://127.0.0.1:PORT``)."""
    with serving(app, **options) as port:
        yield f"http://127.0.0.1:{port}"


def hypercorn_trio(app: Any, work: Callable[[str], Awaitable[None]], limit: float = 30) -> None:
    """Serve `app` with hypercorn's trio worker (lifespan included), run `work(base_url)`
    in the same trio run, then stop the server."""
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None

    async def start_server(stop: trio.Event, task_status: Any) -> None:
        await serve(app, config, shutdown_trigger=stop.wait, task_status=task_status)

    async def main() -> None:
        stop = trio.Event()
        with trio.fail_after(limit):
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(start_server, stop)
                try:
                    await work(binds[0])
                finally:
                    stop.set()

    trio.run(main)
