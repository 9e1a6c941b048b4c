"""Requests per second the simulator's own HTTP server sustains (a script, not a test).

Starts ``python -m intelepeer_async.sandbox --port 0`` as a separate process, then
drives it from this one with a minimal keep-alive HTTP/1.1 client (raw asyncio
streams, one request in flight per connection), so the client costs little and
the figure is the server's. Three workloads: a control-API read, an
authenticated MDR read (token check, routing, log, fault check) and an SMS send
(the same plus JSON parsing and a stored message).

    .venv/bin/python benchmarks/sandbox_server.py [--seconds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from urllib.parse import urlsplit


def _request(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _worker(host: str, port: int, request: bytes, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            status = await _read_response(reader)
            counts[0 if status < 500 else 1] += 1
    finally:
        writer.close()


async def _login(host: str, port: int) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    body = json.dumps({"username": "demo", "password": "demo"}).encode()
    writer.write(_request("POST", "/_rest/v4/authenticate", "-", body))
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    token: str = json.loads(await reader.readexactly(length))["token"]
    writer.close()
    return token


async def _run(host: str, port: int, seconds: float, connections: int) -> None:
    token = await _login(host, port)
    send = json.dumps({"from": "+13035550100", "to": "+13035550111", "text": "bench"}).encode()
    workloads = {
        "GET /_sandbox/clock": _request("GET", "/_sandbox/clock", token),
        "GET /_rest/v4/app/sms/mdr": _request("GET", "/_rest/v4/app/sms/mdr?refid=x", token),
        "POST /_rest/v4/app/sms/send": _request("POST", "/_rest/v4/app/sms/send", token, send),
    }
    for name, request in workloads.items():
        counts = [0, 0]
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(
            *(_worker(host, port, request, stop_at, counts) for _ in range(connections))
        )
        elapsed = time.perf_counter() - started
        print(f"{name:32} {counts[0] / elapsed:8.0f} req/s  ({counts[1]} server errors)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "intelepeer_async.sandbox", "--port", "0", "--clock-rate", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = urlsplit(server.stdout.readline().strip())
        assert url.hostname and url.port, "the sandbox did not print its URL"
        print(f"sandbox at {url.geturl()}, {args.connections} connections, {args.seconds:g} s each")
        asyncio.run(_run(url.hostname, url.port, args.seconds, args.connections))
    finally:
        server.terminate()
        server.wait(timeout=15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
