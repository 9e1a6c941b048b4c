"""One app of the receiver suite under uvicorn (1 worker), in its own process.

    python -m benchmarks.receiver_server APP [--dir D] [--redis URL]

Binds a free loopback port, prints ``http://127.0.0.1:PORT`` and serves
until terminated (connections are refused until it serves). Every app gets
the same uvicorn settings (its default HTTP implementation, no access log,
lifespan on), so the figures differ by the app alone. Apps (`APPS`):

* ``receiver``: ``SmsReceiver(verifier=SharedCode(CODE))``, inline, the default
  `MemoryStore`, one no-op handler (target 4's figure, and the inbox rows' baseline);
* ``starlette``: a bare Starlette endpoint that parses the JSON body and answers 200;
* ``raw``: a raw ASGI callable doing the same (reads the body, parses the JSON,
  answers 200) with no framework: the ceiling of what Python does per request;
* ``sqlite-inbox``, ``redis-inbox``: the receiver in queued mode
  (`SqliteInbox` in `--dir`, `RedisInbox` at `--redis`), workers running the
  no-op handler in the same process;
* ``sqlite-store``, ``redis-store``: the receiver inline with `SqliteStore` /
  `RedisStore` instead of `MemoryStore`.
"""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path
from typing import Any

CODE = "SECRET CODE"
APPS = (
    "receiver",
    "starlette",
    "raw",
    "sqlite-inbox",
    "redis-inbox",
    "sqlite-store",
    "redis-store",
)


def _starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def endpoint(request: Request) -> JSONResponse:
        data = await request.json()
        return JSONResponse({"status": "ok", "refid": data["refid"]})

    return Starlette(routes=[Route("/", endpoint, methods=["POST"])])


def _raw() -> Any:
    headers = [(b"content-type", b"application/json")]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                kind = event["type"].rpartition(".")[2]  # startup / shutdown
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        body = b""
        more = True
        while more:
            event = await receive()
            body += event.get("body", b"")
            more = event.get("more_body", False)
        answer = json.dumps({"status": "ok", "refid": json.loads(body)["refid"]}).encode()
        length = [(b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers + length})
        await send({"type": "http.response.body", "body": answer})

    return app


def build(name: str, directory: Path, redis_url: str | None) -> Any:
    """The ASGI app called `name` (see the module docstring)."""
    if name == "starlette":
        return _starlette()
    if name == "raw":
        return _raw()
    from receiver import InboundSms, SharedCode, SmsReceiver

    options: dict[str, Any] = {}
    if name == "sqlite-inbox":
        from receiver import SqliteInbox

        options["inbox"] = SqliteInbox(directory / "inbox.db")
    elif name == "redis-inbox":
        from receiver import RedisInbox

        assert redis_url, "--redis is needed"
        options["inbox"] = RedisInbox(redis_url)
    elif name == "sqlite-store":
        from receiver import SqliteStore

        options["store"] = SqliteStore(directory / "store.db")
    elif name == "redis-store":
        from receiver import RedisStore

        assert redis_url, "--redis is needed"
        options["store"] = RedisStore(redis_url)
    rx = SmsReceiver(verifier=SharedCode(CODE), **options)

    @rx.on_message()
    async def no_op(message: InboundSms) -> None:
        return None

    return rx.app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", choices=APPS)
    parser.add_argument("--dir", type=Path, default=Path("."), help="for the SQLite files")
    parser.add_argument("--redis", default=None, help="redis://... for the Redis apps")
    args = parser.parse_args()
    import uvicorn

    app = build(args.app, args.dir, args.redis)
    # IPPROTO_TCP, as uvicorn's own bind gives: asyncio then sets TCP_NODELAY on
    # each connection (with proto 0 it does not, and Nagle adds 40 ms per answer).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # Printed before uvicorn listens: connections are refused until it serves
    # (after the lifespan's startup), which is what the harness waits for.
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
