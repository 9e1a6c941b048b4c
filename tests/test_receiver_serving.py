"""The receiver served for real (uvicorn on loopback) and mounted in other apps."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount

from receiver import InboundSms, SharedCode, SmsReceiver

from .helpers import fixture_text

SEED = fixture_text("inbound_sms.json")


def make_receiver(log: list[str]) -> SmsReceiver:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"))

    @rx.on_startup
    async def started() -> None:
        log.append("startup")

    @rx.on_shutdown
    async def stopped() -> None:
        log.append("shutdown")

    @rx.on_message(keyword="hello")
    async def hello(msg: InboundSms) -> None:
        log.append(msg.refid)

    return rx


@pytest.fixture
def served() -> Iterator[tuple[str, list[str]]]:
    log: list[str] = []
    rx = make_receiver(log)
    config = uvicorn.Config(rx.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", log
    server.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert log[-1] == "shutdown"


def test_real_uvicorn_on_loopback(served: tuple[str, list[str]]) -> None:
    url, log = served
    with httpx.Client(base_url=url, timeout=5) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        first = http.post("/", content=SEED, headers={"Content-Type": "application/json"})
        again = http.post("/", content=SEED, headers={"Content-Type": "application/json"})
        forged = http.post("/", json={**json.loads(SEED), "signature": "guess"})
        huge = http.post(
            "/", content=b"x" * (10 * 1024 * 1024), headers={"Content-Type": "application/json"}
        )
        assert http.get("/healthz").status_code == 200  # still serving after the 413
    assert (first.status_code, again.status_code, forged.status_code) == (200, 200, 403)
    assert huge.status_code == 413
    assert log == ["startup", "ABCDEF1234567890ABCDEF1234567890"]


async def post_seed(http: httpx.AsyncClient, path: str) -> httpx.Response:
    return await http.post(path, content=SEED, headers={"Content-Type": "application/json"})


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test")


@pytest.mark.anyio
async def test_mounted_in_fastapi() -> None:
    log: list[str] = []
    rx = make_receiver(log)
    api = FastAPI()

    @api.get("/")
    async def home() -> dict[str, str]:
        return {"app": "mine"}

    api.mount("/sms", rx.app)
    async with asgi_client(api) as http:
        assert (await http.get("/")).json() == {"app": "mine"}
        assert (await post_seed(http, "/sms/")).status_code == 200
        assert (await http.get("/sms/healthz")).status_code == 200
        assert (await http.get("/sms/")).status_code == 405
    assert log == ["ABCDEF1234567890ABCDEF1234567890"]


@pytest.mark.anyio
async def test_mounted_in_starlette_with_its_lifespan() -> None:
    log: list[str] = []
    rx = make_receiver(log)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with rx.lifespan():
            yield

    outer = Starlette(routes=[Mount("/hooks/sms", app=rx.app)], lifespan=lifespan)
    async with outer.router.lifespan_context(outer), asgi_client(outer) as http:
        assert (await post_seed(http, "/hooks/sms/")).status_code == 200
        bad = await http.post("/hooks/sms/", json={"refid": "x"})
        assert bad.status_code == 400
    assert log == ["startup", "ABCDEF1234567890ABCDEF1234567890", "shutdown"]


def test_real_hypercorn_under_trio_on_loopback() -> None:
    """The receiver served by hypercorn's trio worker: the app is anyio-only."""
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve

    log: list[str] = []
    rx = make_receiver(log)
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    statuses: list[int] = []

    async def start_server(stop: trio.Event, task_status: Any) -> None:
        app: Any = rx.app  # hypercorn types its ASGI scope more narrowly than Starlette
        await serve(app, config, shutdown_trigger=stop.wait, task_status=task_status)

    async def main() -> None:
        stop = trio.Event()
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(start_server, stop)
                async with httpx.AsyncClient(base_url=binds[0], timeout=5) as http:
                    for _ in range(2):
                        statuses.append((await post_seed(http, "/")).status_code)
                    statuses.append((await http.post("/", json={"refid": "x"})).status_code)
                stop.set()

    trio.run(main)
    assert statuses == [200, 200, 400]
    assert log == ["startup", "ABCDEF1234567890ABCDEF1234567890", "shutdown"]
