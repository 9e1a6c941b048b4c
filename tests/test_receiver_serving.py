"""The receiver served for real (uvicorn on loopback) and mounted in other apps."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from receiver import InboundSms, SharedCode, SmsReceiver

from .helpers import fixture_text
from .serving import hypercorn_trio, serving, start_uvicorn

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
    with serving(make_receiver(log).app) as port:
        yield f"http://127.0.0.1:{port}", log
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


def outer_app(rx: SmsReceiver, route: BaseRoute) -> Starlette:
    """Your app holding the receiver's `route`, entering its lifespan from its own."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with rx.lifespan():
            yield

    return Starlette(routes=[route], lifespan=lifespan)


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
    outer = outer_app(rx, Mount("/hooks/sms", app=rx.app))
    async with outer.router.lifespan_context(outer), asgi_client(outer) as http:
        assert (await post_seed(http, "/hooks/sms/")).status_code == 200
        bad = await http.post("/hooks/sms/", json={"refid": "x"})
        assert bad.status_code == 400
    assert log == ["startup", "ABCDEF1234567890ABCDEF1234567890", "shutdown"]


def test_real_hypercorn_under_trio_on_loopback() -> None:
    """The receiver served by hypercorn's trio worker: the app is anyio-only."""
    log: list[str] = []
    rx = make_receiver(log)
    statuses: list[int] = []

    async def deliver(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            for _ in range(2):
                statuses.append((await post_seed(http, "/")).status_code)
            statuses.append((await http.post("/", json={"refid": "x"})).status_code)

    hypercorn_trio(rx.app, deliver, limit=20)
    assert statuses == [200, 200, 400]
    assert log == ["startup", "ABCDEF1234567890ABCDEF1234567890", "shutdown"]


# -- issue 9: served for real, the receiver bounds what a client can hold ---------


def post_head(length: int | None, extra: str = "") -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST / HTTP/1.1\r\nHost: rx\r\nContent-Type: application/json\r\n{framing}\r\n{extra}\r\n"
    ).encode()


def read_answer(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response from `sock` (status, lower-cased headers, body)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(rest) < int(headers.get("content-length", "0")):
        rest += sock.recv(65536)
    return int(lines[0].split()[1]), headers, rest


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes `sock` within `within` seconds (without more from us)."""
    sock.settimeout(within)
    try:
        return sock.recv(65536) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_slow_body_gets_408_and_a_closed_connection_under_uvicorn() -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"), body_timeout=0.5)
    with serving(rx.app) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.monotonic()
        sock.sendall(post_head(len(SEED)) + SEED.encode()[:10])
        status, headers, payload = read_answer(sock, timeout=10)
        assert time.monotonic() - started < 5
        assert status == 408
        assert headers["connection"] == "close"
        assert json.loads(payload) == {"error": "body not received within 0.5s"}
        assert closed_by_server(sock, within=5)


def test_client_hanging_up_mid_body_logs_no_error_under_uvicorn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"))
    with serving(rx.app, log_config=None) as port:  # uvicorn's own logs reach caplog
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(post_head(len(SEED)) + SEED.encode()[:20])
        deadline = time.monotonic() + 10
        while caplog.text.count("client disconnected") < 3:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.02)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "Traceback" not in caplog.text


def test_shutdown_is_not_held_up_by_a_client_sending_1_byte_per_second_or_so() -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"), body_timeout=1.0)
    server, thread, port = start_uvicorn(rx.app)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(post_head(1000))
        time.sleep(0.3)
        server.should_exit = True  # a deploy begins
        asked = time.monotonic()
        while thread.is_alive() and time.monotonic() - asked < 20:
            with contextlib.suppress(OSError):  # once the server has hung up
                sock.sendall(b" ")  # drip, drip
            thread.join(timeout=0.25)
        stopped_after = time.monotonic() - asked
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert stopped_after < 8, f"shutdown waited {stopped_after:.1f}s for a dripping client"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_413_closes_the_connection_without_reading_the_rest(declared: bool) -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"), max_body_bytes=1024)
    with serving(rx.app) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        if declared:  # 300 MiB announced, 1 KiB sent: the rest never comes
            sock.sendall(post_head(300 << 20) + b"x" * 1024)
        else:
            sock.sendall(post_head(None) + b"800\r\n" + b"x" * 2048 + b"\r\n")
        status, headers, payload = read_answer(sock, timeout=10)
        assert status == 413
        assert headers["connection"] == "close"
        assert json.loads(payload) == {"error": "body over 1024 bytes"}
        assert closed_by_server(sock, within=5)


def test_served_receiver_answers_200_on_any_webhook_path_without_redirects() -> None:
    log: list[str] = []
    rx = make_receiver(log)
    with serving(rx.app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        for i, path in enumerate(["/sms", "/sms/", "/", "/hooks/inbound"]):
            body = {**json.loads(SEED), "refid": f"path{i}"}
            response = http.post(path, json=body)
            assert response.status_code == 200, (path, response.status_code)
        assert http.get("/healthz").status_code == 200
    assert log == ["startup", "path0", "path1", "path2", "path3", "shutdown"]


def test_mounted_route_answers_200_at_the_path_with_and_without_slash() -> None:
    log: list[str] = []
    rx = make_receiver(log)
    outer = outer_app(rx, rx.route("/hooks/sms"))
    with serving(outer) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        for i, path in enumerate(["/hooks/sms", "/hooks/sms/"]):
            body = {**json.loads(SEED), "refid": f"mounted{i}"}
            response = http.post(path, json=body)
            assert response.status_code == 200, (path, response.status_code)
        assert http.get("/hooks/sms/healthz").status_code == 200
        assert http.post("/hooks/other", json=json.loads(SEED)).status_code == 404
    assert log == ["startup", "mounted0", "mounted1", "shutdown"]


@pytest.mark.anyio
async def test_mounted_route_in_fastapi_without_redirect() -> None:
    log: list[str] = []
    rx = make_receiver(log)
    api = FastAPI()
    api.router.routes.append(rx.route("/sms"))

    @api.get("/")
    async def home() -> dict[str, str]:
        return {"app": "mine"}

    async with asgi_client(api) as http:
        assert (await post_seed(http, "/sms")).status_code == 200
        assert (await post_seed(http, "/sms/")).status_code == 200
        assert (await http.get("/sms/healthz")).status_code == 200
        assert (await http.get("/")).json() == {"app": "mine"}
    assert log == ["ABCDEF1234567890ABCDEF1234567890"]
