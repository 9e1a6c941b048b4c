"""One SQLite database file, used from async code through anyio's worker threads.

sqlite3 blocks, so every call runs in a worker thread (``anyio.to_thread``:
asyncio and trio alike). One connection per `Database`, used by one thread at
a time (a capacity limiter of one): SQLite takes one writer at a time anyway,
and a single connection never waits on another's lock. Measured with
``benchmarks/sqlite_connections.py`` on the project's 2-core machine (16
durable puts at once): one connection took 1,500-2,000 messages/s, a
connection per pool thread 10-15% fewer.

WAL mode, so readers (the ``intelepeer inbox`` command, another process) never
block the writer. `durable` transactions (a message taken in) commit with
``synchronous=FULL``: the commit is on disk before the 200 goes out, even if
the machine loses power. Bookkeeping (claims, acks) commits with ``NORMAL``,
which survives a crash of the process but may lose the last moments of a
power cut; the next durable commit syncs it too. Losing one just runs a
handler again, never loses a message.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from intelepeer_async.errors import InvalidInputError

__all__ = ["Database", "existing_tables", "transaction"]

T = TypeVar("T")

#: How long a write waits for another process's write to finish.
BUSY_TIMEOUT = 10.0


@contextmanager
def transaction(conn: sqlite3.Connection, *, durable: bool = False) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (take the write lock now, so a read-then-write is atomic)
    ... ``COMMIT``, or ``ROLLBACK`` on any error."""
    conn.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def existing_tables(path: str | os.PathLike[str]) -> set[str]:
    """The tables of the SQLite file at `path`, read without changing anything (opened
    read-only: no WAL switch, no schema, no file created); a typed error when it is not
    a SQLite database. For tools that must find an existing database, not make one."""
    uri = Path(path).absolute().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)
    except sqlite3.Error as exc:
        raise InvalidInputError(f"cannot open SQLite database {path}: {exc}") from None
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.DatabaseError as exc:
        raise InvalidInputError(f"{path} is not a SQLite database ({exc})") from None
    finally:
        conn.close()
    return {name for (name,) in rows}


class Database:
    """A SQLite file with `schema` applied on `open`; `run` calls a function with its connection."""

    def __init__(self, path: str | os.PathLike[str], schema: str) -> None:
        if not isinstance(path, str | os.PathLike) or not str(path):
            raise InvalidInputError("the SQLite path must be a file path")
        self.path = Path(path)
        self._schema = schema
        self._conn: sqlite3.Connection | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._opening = anyio.Lock()

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self) -> None:
        """Open the file (created if missing), switch to WAL and create the tables."""
        async with self._opening:
            if self._conn is None:
                self._limiter = anyio.CapacityLimiter(1)
                self._conn = await anyio.to_thread.run_sync(self._connect, limiter=self._limiter)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise InvalidInputError(f"cannot open SQLite database {self.path}: {exc}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(self._schema)
        except sqlite3.Error as exc:
            conn.close()
            raise InvalidInputError(f"cannot use SQLite database {self.path}: {exc}") from None
        return conn

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` in a worker thread; a cancelled caller waits for it to end,
        so a transaction is never left half-way. Opens the file on first use."""
        if self._conn is None:
            await self.open()
        conn, limiter = self._conn, self._limiter
        assert conn is not None and limiter is not None
        return await anyio.to_thread.run_sync(work, conn, limiter=limiter)

    async def aclose(self) -> None:
        conn, limiter = self._conn, self._limiter
        if conn is None or limiter is None:
            return
        self._conn = None
        await anyio.to_thread.run_sync(conn.close, limiter=limiter)
