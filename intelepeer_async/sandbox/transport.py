"""`SandboxTransport`: httpx straight into an ASGI app, connection drops included.

For users' tests that want the simulator without a socket:
``httpx.AsyncClient(transport=SandboxTransport(app))`` (or `Sandbox.client`).
Unlike `httpx.ASGITransport`, it advertises the ``intelepeer.drop`` ASGI
extension and turns a drop into the exception a real socket gives when a server
closes without answering: `httpx.RemoteProtocolError` ("Server disconnected
without sending a response."), so the SDK's retry rules see what they would see
on the wire. This subclasses an httpx transport, which is why httpx appears in
the simulator at all; the SDK's own resources never touch transport.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import anyio
import httpx
from starlette.types import ASGIApp, Message

from .asgi import DROP

__all__ = ["SandboxTransport"]


class SandboxTransport(httpx.AsyncBaseTransport):
    """Calls `app` for each request, in the caller's task; `client` is the peer address."""

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 40000)) -> None:
        self.app = app
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        body = b"".join([chunk async for chunk in request.stream])
        url = request.url
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "client": self._client,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "extensions": {DROP: {}},
        }
        done = anyio.Event()
        body_sent = False
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        dropped = False

        async def receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers, dropped
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()
            elif message["type"] == DROP:
                dropped = True
                done.set()

        try:
            await self.app(scope, receive, send)
        finally:
            done.set()
        if dropped or status is None:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)
