"""Call an ASGI app with a hand-made request: chunked bodies, stalls, disconnects.

httpx's ASGITransport always sends a complete body; the receiver's hardening is
about the requests it never sends, so these tests speak ASGI directly.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anyio

JSON_HEADERS = (("content-type", "application/json"),)


@dataclass
class AsgiResult:
    status: int
    headers: dict[str, str]
    body: bytes
    #: How many `receive()` calls the app made (how much of the body it read).
    receives: int
    #: Whether the app raised (a server would answer a plain-text 500 and log a traceback).
    raised: BaseException | None = None

    def json(self) -> Any:
        return json.loads(self.body)


async def call_asgi(
    app: Any,
    body: bytes | Sequence[bytes] = b"",
    *,
    method: str = "POST",
    path: str = "/",
    root_path: str = "",
    headers: Sequence[tuple[str, str]] = JSON_HEADERS,
    then: Literal["end", "disconnect", "stall"] = "end",
    limit: float = 10.0,
) -> AsgiResult:
    """One request; `then` says what follows the last chunk: its end, a disconnect, or nothing."""
    chunks = [body] if isinstance(body, bytes) else list(body)
    receives = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal receives
        receives += 1
        if receives <= len(chunks):
            last = receives == len(chunks) and then == "end"
            return {"type": "http.request", "body": chunks[receives - 1], "more_body": not last}
        if then == "disconnect" or sent:
            return {"type": "http.disconnect"}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(event: MutableMapping[str, Any]) -> None:
        sent.append(event)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "server": ("rx.test", 80),
        "client": ("127.0.0.1", 5000),
    }
    raised: BaseException | None = None
    with anyio.fail_after(limit):
        try:
            await app(scope, receive, send)
        except Exception as exc:
            raised = exc
    start = next((e for e in sent if e["type"] == "http.response.start"), None)
    if start is None:
        return AsgiResult(0, {}, b"", receives, raised)
    response_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    payload = b"".join(e.get("body", b"") for e in sent if e["type"] == "http.response.body")
    return AsgiResult(start["status"], response_headers, payload, receives, raised)
