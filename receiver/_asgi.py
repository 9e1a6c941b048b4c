"""The receiver's ASGI application: plain ASGI, no framework on the request path.

A webhook POST goes straight from the server to `SmsReceiver`'s delivery code:
no router, middleware, Request or Response object per request, and answers
whose bytes are built once where they can be (`Answer`). That is what lets the
receiver, which verifies, parses and deduplicates, answer faster than a bare
Starlette endpoint that only parses (README "Performance"). The app is still an
ordinary ASGI callable: served by uvicorn or hypercorn, mounted in Starlette or
FastAPI (``Mount``, `SmsReceiver.route`), with the lifespan protocol handled here.

Routing is what the receiver's Starlette app used to do: ``/healthz`` (GET or
HEAD) is the health check, a POST to any other path takes a message, anything
else is a 405 whose body is never read. Paths are taken relative to
``root_path`` as Starlette does, so a mounted receiver sees its own paths.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

__all__ = ["Answer", "Message", "Receive", "ReceiverApp", "Scope", "Send", "error", "ok"]

# The ASGI types (the same shapes as ``starlette.types``, without importing it).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
_CLOSE = (b"connection", b"close")


@dataclass(frozen=True, slots=True)
class Answer:
    """One complete response: status, JSON body, headers (content type and length included).

    `reason` is the error text (``""`` for a 200), for the log line of a rejection.
    """

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    reason: str = ""

    async def send(self, send: Send) -> None:
        # A fresh list each time: the answers are shared by every request, and a
        # middleware may add to the headers it is given (OpenTelemetry's does).
        headers = list(self.headers)
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def _answer(
    status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...] = (), reason: str = ""
) -> Answer:
    # Header order as Starlette's JSONResponse gave them: the answer's own, then length, type.
    length = (b"content-length", str(len(body)).encode("latin-1"))
    return Answer(status, body, (*headers, length, _JSON), reason)


def error(
    status: int,
    message: str,
    *,
    close: bool = False,
    headers: tuple[tuple[str, str], ...] = (),
) -> Answer:
    """The receiver's every error: ``{"error": message}``; `close` asks the server to
    close the connection (sent before the body was read: see ``_intake``)."""
    raw = tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    if close:
        raw += (_CLOSE,)
    body = json.dumps({"error": message}, ensure_ascii=False, separators=(",", ":"))
    return _answer(status, body.encode(), raw, message)


_OK_HEAD = b'{"status":"ok","refid":"'


def ok(refid: str) -> Answer:
    """``{"status": "ok", "refid": refid}``, the answer to a message taken."""
    if '"' in refid or "\\" in refid:  # printable ASCII, so only these need escaping
        body = json.dumps({"status": "ok", "refid": refid}, separators=(",", ":")).encode()
    else:
        body = _OK_HEAD + refid.encode("ascii") + b'"}'
    return _answer(200, body)


HEALTHY = _answer(200, b'{"status":"ok"}')
HEALTHY_CLOSE = _answer(200, b'{"status":"ok"}', (_CLOSE,))
SHUTTING_DOWN = error(503, "shutting down")
SHUTTING_DOWN_CLOSE = error(503, "shutting down", close=True)
#: 405 for anything but a POST to a message path, or GET/HEAD to the health check.
NOT_A_POST = error(405, "Method Not Allowed", close=True, headers=(("Allow", "POST"),))
NOT_A_GET = error(405, "Method Not Allowed", close=True, headers=(("Allow", "GET, HEAD"),))


def route_path(scope: Scope) -> str:
    """The request's path below ``root_path`` (as Starlette's routing computes it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        if path == root:
            return ""
        if path[len(root)] == "/":
            return path[len(root) :]
    return path


def has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the request announces a body (chunked, or a length other than 0)."""
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


class ReceiverApp:
    """The ASGI callable that `SmsReceiver.app` returns (see the module docstring).

    `deliver` takes a webhook POST; `closing` says whether shutdown has begun
    (the health check then answers 503); `lifespan` is entered for the ASGI
    lifespan protocol.
    """

    def __init__(
        self,
        deliver: Callable[[Scope, Receive, Send], Awaitable[None]],
        closing: Callable[[], bool],
        lifespan: Callable[[], AbstractAsyncContextManager[None]],
    ) -> None:
        self._deliver = deliver
        self._closing = closing
        self._lifespan = lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if route_path(scope) == "/healthz":
                await self._health(scope).send(send)
            elif scope["method"] == "POST":
                await self._deliver(scope, receive, send)
            else:
                await NOT_A_POST.send(send)
        elif kind == "lifespan":
            await self._serve_lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000, "reason": ""})
        else:
            raise ValueError(f"unsupported ASGI scope type {kind!r}")

    def _health(self, scope: Scope) -> Answer:
        method = scope["method"]
        if method not in ("GET", "HEAD"):  # a POST too: refused, never taken as a message
            return NOT_A_GET
        # The body of a health check is never read: if there is one, close rather
        # than let the server read it all (it could be huge).
        close = has_body(scope["headers"])
        if self._closing():
            return SHUTTING_DOWN_CLOSE if close else SHUTTING_DOWN
        return HEALTHY_CLOSE if close else HEALTHY

    async def _serve_lifespan(self, receive: Receive, send: Send) -> None:
        """ASGI lifespan: enter `lifespan` at startup, leave it at shutdown; a failure
        is reported to the server (``...failed`` with the traceback) and re-raised."""
        started = False
        await receive()  # lifespan.startup
        try:
            async with self._lifespan():
                await send({"type": "lifespan.startup.complete"})
                started = True
                await receive()  # lifespan.shutdown
        except BaseException:
            phase = "shutdown" if started else "startup"
            await send({"type": f"lifespan.{phase}.failed", "message": traceback.format_exc()})
            raise
        await send({"type": "lifespan.shutdown.complete"})
