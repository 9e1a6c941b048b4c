"""A small HTTP/1.1 server (anyio + h11) that can cut connections on cue, and `serve`.

Why not uvicorn: the simulator's faults must drop a connection *before reading
a request* and *after processing it* without answering. An ASGI app under
uvicorn can do neither: uvicorn answers 500 when the app raises before starting
a response, and logs an ERROR traceback otherwise. This server advertises the
``intelepeer.drop`` ASGI extension and, when the app sends that message, closes
the socket instead of answering. It runs in the caller's event loop (asyncio or
trio), keeps connections alive, writes each response in one send, and runs no
lifespan: whoever serves an app owns its lifetime (`serve` enters the sandbox).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import anyio
import h11
from anyio.abc import SocketAttribute, SocketStream, TaskGroup
from starlette.types import ASGIApp, Message

from ._background import background
from .app import Sandbox, intelepeer_client_for, yay_client_for
from .asgi import DROP
from .config import SandboxConfig

if TYPE_CHECKING:
    from ..client import AsyncIntelePeer, AsyncYay

__all__ = ["BoundServer", "SandboxServer", "serve", "serve_asgi"]

logger = logging.getLogger("intelepeer_async.sandbox")

MAX_HEADER_BYTES = 64 * 1024
#: Seconds a connection may sit idle (or a client take to send a request) before it is closed.
IDLE_TIMEOUT = 60.0
#: Request body left unread by the app that is still drained to keep the connection.
MAX_DRAIN_BYTES = 1024 * 1024


class _Closed(Exception):
    """The peer went away, or the connection must be cut."""


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(frozen=True)
class BoundServer:
    """Where `serve_asgi` listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return _url(self.host, self.port)


class _Exchange:
    """One request on one connection: the ASGI receive/send pair over h11."""

    def __init__(self, conn: h11.Connection, stream: SocketStream, method: bytes) -> None:
        self.conn = conn
        self.stream = stream
        self.head_only = method == b"HEAD"
        self.body_done = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False  # the response head was written
        self.finished = False
        self.dropped = False
        self.complete = anyio.Event()

    async def next_event(self) -> Any:
        return await _next_event(self.conn, self.stream)

    async def receive(self) -> Message:
        if self.body_done or self.dropped:
            await self.complete.wait()
            return {"type": "http.disconnect"}
        if self.conn.client_is_waiting_for_100_continue:
            await self.stream.send(
                self.conn.send(h11.InformationalResponse(status_code=100, headers=[]))
            )
        event = await self.next_event()
        if isinstance(event, h11.Data):
            return {"type": "http.request", "body": bytes(event.data), "more_body": True}
        self.body_done = True
        if isinstance(event, h11.EndOfMessage):
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.finished or self.dropped:
            return
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif kind == "http.response.body":
            body = message.get("body", b"")
            more = message.get("more_body", False)
            out = bytearray()
            if not self.started:
                self.started = True
                out += self.conn.send(self._head(None if more else len(body)))
            if body and not self.head_only:
                out += self.conn.send(h11.Data(data=body))
            if not more:
                out += self.conn.send(h11.EndOfMessage())
                self.finished = True
            await self.stream.send(bytes(out))
            if self.finished:
                self.complete.set()
        elif kind == DROP:
            self.dropped = True
            self.complete.set()

    def _head(self, length: int | None) -> h11.Response:
        headers = self.headers
        names = {name.lower() for name, _ in headers}
        if (
            length is not None
            and b"content-length" not in names
            and b"transfer-encoding" not in names
        ):
            headers = [*headers, (b"content-length", str(length).encode())]
        try:
            reason = HTTPStatus(self.status).phrase.encode()
        except ValueError:
            reason = b""
        return h11.Response(status_code=self.status, headers=headers, reason=reason)


async def _next_event(conn: h11.Connection, stream: SocketStream) -> Any:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        try:
            with anyio.fail_after(IDLE_TIMEOUT):
                data = await stream.receive(65536)
        except anyio.EndOfStream:
            data = b""
        except (TimeoutError, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            raise _Closed from None
        conn.receive_data(data)


async def _simple(conn: h11.Connection, stream: SocketStream, status: int, text: str) -> None:
    body = json.dumps({"error": text}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    out = conn.send(h11.Response(status_code=status, headers=headers))
    out += conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
    await stream.send(out)


class _Handler:
    """Serves the requests of each accepted connection to one ASGI app."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.app = app
        self.server = (host, port)

    async def __call__(self, stream: SocketStream) -> None:
        async with stream:
            try:
                await self._serve(stream)
            except _Closed:
                pass
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                pass
            except Exception:  # a bug here must cost one connection, not the server
                logger.exception("sandbox server: connection failed")

    async def _serve(self, stream: SocketStream) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        peer = stream.extra(SocketAttribute.remote_address)  # noqa: S610 - anyio, not Django
        client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        while True:
            try:
                event = await _next_event(conn, stream)
            except h11.RemoteProtocolError as exc:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await _simple(conn, stream, exc.error_status_hint, "malformed request")
                return
            if not isinstance(event, h11.Request):
                return  # ConnectionClosed, or a client that sent nothing more
            if not await self._exchange(conn, stream, event, client):
                return
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()

    async def _exchange(
        self, conn: h11.Connection, stream: SocketStream, request: h11.Request, client: Any
    ) -> bool:
        """Run the app for one request; False when the connection must close."""
        target = bytes(request.target)
        path, _, query = target.partition(b"?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version.decode(),
            "method": request.method.decode("ascii"),
            "scheme": "http",
            "path": unquote(path.decode("latin-1")),
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": [(bytes(name), bytes(value)) for name, value in request.headers],
            "client": client,
            "server": self.server,
            "extensions": {DROP: {}},
        }
        exchange = _Exchange(conn, stream, bytes(request.method))
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except (_Closed, h11.RemoteProtocolError):
            return False
        except Exception:
            logger.exception("ASGI app failed on %s", scope["method"])
            if not exchange.started and not exchange.dropped:
                await _simple(conn, stream, 500, "internal error")
            return False
        finally:
            exchange.complete.set()
        if exchange.dropped:
            return False  # closing now, whatever was read or not: the cut is the point
        if not exchange.started:
            await _simple(conn, stream, 500, "no response")
            return False
        if not exchange.finished:
            return False
        return await self._drain(conn, stream)

    async def _drain(self, conn: h11.Connection, stream: SocketStream) -> bool:
        """Read what is left of a request body the app did not read, to reuse the connection."""
        drained = 0
        while conn.their_state is h11.SEND_BODY:
            event = await _next_event(conn, stream)
            if isinstance(event, h11.Data):
                drained += len(event.data)
                if drained > MAX_DRAIN_BYTES:
                    return False
            elif not isinstance(event, h11.EndOfMessage):
                return False
        return True


async def _accept(listener: Any, handler: _Handler, tg: TaskGroup) -> None:
    while True:
        try:
            stream = await listener.accept()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return
        except OSError as exc:  # out of file descriptors, for one: wait, do not die
            logger.warning("sandbox server: accept failed: %s", exc)
            await anyio.sleep(0.1)
            continue
        tg.start_soon(handler, stream)


@asynccontextmanager
async def serve_asgi(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[BoundServer]:
    """Serve `app` on `host`:`port` (0: a free port) until the block exits."""
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    port = int(listener.extra(SocketAttribute.local_port))  # noqa: S610 - anyio, not Django
    bound = BoundServer(host, port)
    handler = _Handler(app, host, bound.port)
    async with listener, background() as tg:
        for one in listener.listeners:
            tg.start_soon(_accept, one, handler, tg)
        yield bound


@dataclass(frozen=True)
class SandboxServer:
    """A sandbox served on a socket: `url` for your clients, `sandbox` for its Python API."""

    sandbox: Sandbox
    host: str
    port: int

    @property
    def url(self) -> str:
        return _url(self.host, self.port)

    @property
    def config(self) -> SandboxConfig:
        return self.sandbox.config

    def intelepeer_client(self, **overrides: Any) -> AsyncIntelePeer:
        """An `AsyncIntelePeer` on this server with the sandbox's account (its own pool)."""
        return intelepeer_client_for(self.config, self.url, **overrides)

    def yay_client(self, **overrides: Any) -> AsyncYay:
        """An `AsyncYay` on this server with the sandbox's reseller credentials."""
        return yay_client_for(self.config, self.url, **overrides)


@asynccontextmanager
async def serve(
    config: SandboxConfig | Sandbox | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[SandboxServer]:
    """Serve a sandbox over HTTP in the current event loop (asyncio or trio).

        async with serve(SandboxConfig(clock_rate=0)) as server:
            async with server.intelepeer_client() as ip: ...

    Port 0 picks a free port (`server.url` says which). The sandbox runs (its
    deliveries too) until the block exits; then every connection is closed.
    """
    sandbox = config if isinstance(config, Sandbox) else Sandbox(config)
    async with AsyncExitStack() as stack:
        if not sandbox.running:
            await stack.enter_async_context(sandbox)
        bound = await stack.enter_async_context(serve_asgi(sandbox.app, host=host, port=port))
        yield SandboxServer(sandbox, bound.host, bound.port)
