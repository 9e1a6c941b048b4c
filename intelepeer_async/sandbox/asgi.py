"""`SandboxApp`: the ASGI entry of the simulator: log, faults, then the vendor routes.

Every vendor-API request is logged first, then the fault engine decides its
fate: latency, a refusal (error status, 429), a dropped connection before the
request is read, or one after it was processed. Dropping is asked of the server
through the ``intelepeer.drop`` ASGI extension, which the simulator's own server
(`server.serve`) and in-process transport (`SandboxTransport`) honour: the app
sends ``{"type": "intelepeer.drop"}`` instead of a response and the connection
is cut. A server without the extension (uvicorn) cannot cut a connection on cue,
so there a drop before processing answers ``503`` and a drop after processing
``502``, each with ``Connection: close``: the client still learns whether the
request ran (503 is retried even for POST, 502 is not).
``/_sandbox/*`` requests bypass logging and faults.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import anyio
from starlette.routing import BaseRoute, Router
from starlette.types import Message, Receive, Scope, Send

from ._web import RECORD_KEY, answer
from .faults import RequestRecord, redact

if TYPE_CHECKING:
    from .app import Sandbox

__all__ = ["DROP", "SandboxApp"]

logger = logging.getLogger("intelepeer_async.sandbox")

#: The ASGI extension (and message type) that cuts the connection without an answer.
DROP = "intelepeer.drop"


class _ClientGone(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None if it is over `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands over the already-read body, then defers to the real one."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _logged(body: bytes) -> Any:
    if not body:
        return None
    try:
        return redact(json.loads(body))
    except RecursionError:
        return f"<{len(body)} bytes, nested too deeply to log>"
    except ValueError:
        text = body.decode("utf-8", "replace")
        return redact(text)


class SandboxApp:
    """The ASGI app of one `Sandbox`; its lifespan starts and stops the sandbox."""

    def __init__(self, sandbox: Sandbox, vendor: list[BaseRoute], control: list[BaseRoute]) -> None:
        self._sandbox = sandbox
        self._vendor = Router(vendor, default=self._not_found)
        self._control = Router(control, default=self._not_found)

    @property
    def sandbox(self) -> Sandbox:
        """The world this app serves (for its Python API: clock, faults, inbound)."""
        return self._sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] != "http":
            return
        elif scope["path"].startswith("/_sandbox/"):
            await self._run(self._control, scope, receive, send)
        else:
            await self._vendor_request(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        if self._sandbox.running:  # started by whoever serves us
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        try:
            await self._sandbox.__aenter__()
        except Exception as exc:
            await send({"type": "lifespan.startup.failed", "message": type(exc).__name__})
            return
        try:
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        finally:
            await self._sandbox.__aexit__(None, None, None)
        await send({"type": "lifespan.shutdown.complete"})

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        record = scope.get(RECORD_KEY)
        if record is not None:
            record.note = "no such endpoint in the simulator"
        await answer({"code": 404, "error": "Not Found"}, 404)(scope, receive, send)

    async def _vendor_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        sb = self._sandbox
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        record = sb.log.start(sb.now(), method, path, query)
        decision = sb.fault_engine.for_request(method, path)
        fault = decision.action
        record.fault = fault.kind if fault else None
        if decision.latency:
            await anyio.sleep(decision.latency)
        if fault is not None and fault.kind == "drop_before":
            await self._drop(scope, send, record, processed=False)
            return
        try:
            body = await _read_body(receive, sb.config.max_body_bytes)
        except _ClientGone:
            record.note = "client disconnected while sending"
            return
        if body is None:
            record.status = 413
            await answer({"code": 413, "error": "Request Entity Too Large"}, 413)(
                scope, receive, send
            )
            return
        record.body = _logged(body)
        if fault is not None and fault.kind in ("error", "rate_limit"):
            if fault.kind == "rate_limit":
                headers = {"Retry-After": f"{fault.retry_after:g}"}
                response = answer({"code": 429, "error": "Too Many Requests"}, 429, headers)
            else:
                default = {"code": fault.status, "error": "Injected fault"}
                response = answer(default if fault.body is None else fault.body, fault.status)
            record.status = response.status_code
            await response(scope, receive, send)
            return
        scope = {**scope, RECORD_KEY: record}
        if fault is not None and fault.kind == "drop_after":
            await self._run(self._vendor, scope, _replay(body, receive), _discard(record))
            record.processed = True
            await self._drop(scope, send, record, processed=True)
            return
        await self._run(self._vendor, scope, _replay(body, receive), _recording(send, record))
        record.processed = True

    async def _drop(
        self, scope: Scope, send: Send, record: RequestRecord, *, processed: bool
    ) -> None:
        if DROP in scope.get("extensions", {}):
            if processed and record.status is not None:
                record.note = f"processed (its answer would have been {record.status}), then cut"
            record.dropped = True
            record.status = None
            await send({"type": DROP})
            return
        status = 502 if processed else 503
        text = "connection drop requested, but this server cannot drop connections: " + (
            "the request was processed" if processed else "the request was not processed"
        )
        record.status = status
        response = answer({"code": status, "error": text}, status, {"Connection": "close"})
        await response(scope, _never_called, send)

    async def _run(self, app: Router, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a router; an unexpected exception answers 500 without a traceback."""
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, receive, tracked)
        except Exception:
            logger.exception("sandbox error on %s %s", scope["method"], scope["path"])
            if not started:
                body = {"code": 500, "error": "sandbox internal error"}
                await answer(body, 500)(scope, receive, send)


async def _never_called() -> Message:  # pragma: no cover - responses do not read
    return {"type": "http.disconnect"}


def _recording(send: Send, record: RequestRecord) -> Send:
    async def recorded(message: Message) -> None:
        if message["type"] == "http.response.start":
            record.status = message["status"]
        await send(message)

    return recorded


def _discard(record: RequestRecord) -> Send:
    """Where the answer of a request that will be dropped goes: only its status is kept."""

    async def discarded(message: Message) -> None:
        if message["type"] == "http.response.start":
            record.status = message["status"]

    return discarded
