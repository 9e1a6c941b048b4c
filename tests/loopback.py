"""Real sockets on 127.0.0.1, for what a mock cannot show: pools, connects, timeouts."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field

import anyio
from anyio.abc import SocketStream


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes
    header_lines: list[tuple[str, str]] = field(default_factory=list)  # as sent

    def values(self, name: str) -> list[str]:
        """Every value sent under `name` (any case): more than one is a duplicate."""
        return [value for key, value in self.header_lines if key.lower() == name.lower()]


#: Given a request, the raw response bytes to send, or None to hold the connection.
Handler = Callable[[Received], Awaitable[bytes | None]]


def http_response(status: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {"Content-Type": "application/json"}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_request(stream: SocketStream) -> Received | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    lines = []
    for line in header_lines:
        name, _, value = line.partition(":")
        lines.append((name.strip(), value.strip()))
    headers = {name.lower(): value for name, value in lines}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += await stream.receive(65536)
    return Received(method, target, headers, body, lines)


@asynccontextmanager
async def loopback_server(handler: Handler) -> AsyncIterator[tuple[str, list[Received]]]:
    """Serve `handler` on 127.0.0.1; yields (base URL, requests received so far)."""
    received: list[Received] = []
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 - not Django

    async def serve(stream: SocketStream) -> None:
        async with stream:
            while True:
                try:
                    request = await _read_request(stream)
                except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                    return
                if request is None:
                    return
                received.append(request)
                answer = await handler(request)
                if answer is None:
                    await anyio.sleep_forever()
                else:
                    await stream.send(answer)

    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, serve)
        try:
            yield f"http://127.0.0.1:{port}", received
        finally:
            tg.cancel_scope.cancel()
    await listener.aclose()


@asynccontextmanager
async def cut_after_one_request() -> AsyncIterator[tuple[str, list[Received]]]:
    """A server that reads one request, stops listening, then hangs up without an
    answer: that request may have been processed, and every later connect is refused."""
    received: list[Received] = []
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 - not Django

    async def serve_one() -> None:
        (only,) = listener.listeners
        assert isinstance(only, anyio.abc.SocketListener)
        stream = await only.accept()
        request = await _read_request(stream)
        if request is not None:
            received.append(request)
        await listener.aclose()  # first, so that no retry can connect in between
        await stream.aclose()

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve_one)
        try:
            yield f"http://127.0.0.1:{port}", received
        finally:
            tg.cancel_scope.cancel()
    await listener.aclose()


@contextmanager
def connect_hangs() -> Iterator[str]:
    """A base URL on 127.0.0.1 whose connects hang: a listener with a full
    accept queue drops new SYNs, so the client waits until it gives up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for s in (*fillers, server):
            s.close()
