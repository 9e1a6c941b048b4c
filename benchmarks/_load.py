"""HTTP load for the receiver suite: wrk where installed, else this multi-process script.

    python -m benchmarks._load URL SECONDS CONNECTIONS PREFIX    # the fallback itself

Both post the same request (an inbound SMS signed with the shared code, a
unique refid per request: ``PREFIX-<worker>-<counter>``) over keep-alive
connections, one request in flight on each, and report the same JSON:
requests, seconds, p50/p99 latency in ms, non-2xx answers, socket errors.
wrk runs 2 threads (``benchmarks/receiver.lua``); the fallback 2 processes of
asyncio connections, each timing its own requests. wrk is the better load
generator (C, far less CPU per request); the report says which one ran.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCRIPT = Path(__file__).with_name("receiver.lua")
THREADS = 2
TAIL = (
    b'","from":"+7708675309","to":"+13038675309","message":"Hello World!",'
    b'"signature":"SECRET CODE"}'
)


def wrk(binary: str, url: str, seconds: int, connections: int, prefix: str) -> dict[str, Any]:
    """One wrk run (its Lua script prints the JSON line)."""
    command = [binary, f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    command += ["-s", str(SCRIPT), url, "--", prefix]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def _connection(
    host: str, port: int, prefix: bytes, stop_at: float, latencies: list[float], counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    number = 0
    try:
        while time.perf_counter() < stop_at:
            number += 1
            body = b'{"refid":"' + prefix + str(number).encode() + TAIL
            head = (
                b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            )
            started = time.perf_counter()
            writer.write(head + body)
            answer = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in answer.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            counts[0 if answer[9:10] == b"2" else 1] += 1
    except (OSError, asyncio.IncompleteReadError):
        counts[2] += 1
    finally:
        writer.close()


def _worker(url: str, seconds: float, connections: int, prefix: str) -> dict[str, Any]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    latencies: list[float] = []
    counts = [0, 0, 0]  # 2xx, other statuses, socket errors

    async def main() -> None:
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _connection(
                    parts.hostname or "",
                    parts.port or 0,
                    f"{prefix}-{i}-".encode(),
                    stop_at,
                    latencies,
                    counts,
                )
                for i in range(connections)
            )
        )

    asyncio.run(main())
    return {"latencies": latencies, "counts": counts}


def warm_up(url: str, prefix: str, requests: int = 300) -> int:
    """`requests` posts one after another over one keep-alive connection, before any
    measured run (first-request imports, caches); the number answered 2xx."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    answered = 0
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        for number in range(requests):
            body = b'{"refid":"' + f"{prefix}-{number}".encode() + TAIL
            connection.request("POST", "/", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            answered += 200 <= response.status < 300
    finally:
        connection.close()
    return answered


def python_load(url: str, seconds: int, connections: int, prefix: str) -> dict[str, Any]:
    """The fallback: `THREADS` processes, `connections` keep-alive connections in all."""
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(THREADS) as pool:
        parts = pool.starmap(
            _worker,
            [(url, seconds, connections // THREADS, f"{prefix}-{n}") for n in range(THREADS)],
        )
    elapsed = time.perf_counter() - started
    latencies = sorted(x for part in parts for x in part["latencies"])
    counts = [sum(part["counts"][i] for part in parts) for i in range(3)]
    cut = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "requests": counts[0] + counts[1],
        "seconds": min(elapsed, float(seconds)),
        "p50_ms": cut[49] * 1000,
        "p99_ms": cut[98] * 1000,
        "status_errors": counts[1],
        "socket_errors": counts[2],
    }


if __name__ == "__main__":
    url_, seconds_, connections_, prefix_ = sys.argv[1:5]
    print(json.dumps(python_load(url_, int(seconds_), int(connections_), prefix_)))
