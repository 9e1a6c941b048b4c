"""How SqliteInbox should reach SQLite from async code: measured, not guessed.

    .venv/bin/python benchmarks/sqlite_connections.py [messages] [concurrency]

Takes `messages` inbound SMS into an inbox file with `concurrency` requests at
once (each a durable commit, as the receiver does before its 200), two ways:
one connection used by one worker thread at a time (what `receiver._sqlite`
does), and one connection per worker thread of anyio's pool. Prints messages
per second for each; run it on the machine you deploy to.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.to_thread

from intelepeer_async.models.inbound import InboundSms
from receiver.inbox.sqlite import SCHEMA, SqliteInbox


def message(n: int) -> InboundSms:
    return InboundSms(refid=f"R{n:031d}", from_="+17205551212", to="+13035550100", message="hi")


async def one_connection(path: Path, messages: int, concurrency: int) -> float:
    inbox = SqliteInbox(path)
    async with inbox:
        return await _drive(inbox.put, messages, concurrency)


async def thread_local_connections(path: Path, messages: int, concurrency: int) -> float:
    local = threading.local()

    def conn() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(path, timeout=10, isolation_level=None)
            local.conn.execute("PRAGMA journal_mode=WAL")
            local.conn.execute("PRAGMA synchronous=FULL")
        connection: sqlite3.Connection = local.conn
        return connection

    def put(msg: InboundSms) -> None:
        db = conn()
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT OR IGNORE INTO inbox_messages (refid, state, body, received_at, due_at) "
            "VALUES (?, 'pending', ?, ?, ?)",
            (msg.refid, msg.model_dump_json(), time.time(), time.time()),
        )
        db.execute(
            "INSERT INTO inbox_counters (name, value) VALUES ('received', 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1"
        )
        db.execute("COMMIT")

    setup = sqlite3.connect(path)
    setup.executescript(SCHEMA)
    setup.close()

    async def put_async(msg: InboundSms) -> None:
        await anyio.to_thread.run_sync(put, msg)

    return await _drive(put_async, messages, concurrency)


async def _drive(put: Callable[[InboundSms], object], messages: int, concurrency: int) -> float:
    queue = iter(range(messages))
    started = time.perf_counter()

    async def client() -> None:
        for n in queue:
            await put(message(n))  # type: ignore[misc]

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(client)
    return messages / (time.perf_counter() - started)


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    for name, way in (
        ("one connection, one thread at a time", one_connection),
        ("a connection per pool thread", thread_local_connections),
    ):
        with tempfile.TemporaryDirectory() as directory:
            rate = anyio.run(way, Path(directory) / "inbox.db", messages, concurrency)
        print(f"{rate:8.0f} messages/s  {name} ({concurrency} at once)")


if __name__ == "__main__":
    main()
