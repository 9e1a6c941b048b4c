"""Serve an ASGI app on loopback for tests: uvicorn in a background thread, or
hypercorn's trio worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def uvicorn_in_thread(app: Any) -> Iterator[str]:
    """The app's base URL while uvicorn serves it (lifespan on); the thread is joined after."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped at start-up"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive(), "uvicorn did not stop"


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
