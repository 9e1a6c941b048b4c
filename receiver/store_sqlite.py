"""`SqliteStore`: the refid memory in a SQLite file, so a restart forgets nothing.

Same five calls as `MemoryStore`, for inline mode (handlers run inside the
request). Several processes (``uvicorn --workers N``) on one machine may share
the file: a claim is one ``BEGIN IMMEDIATE`` transaction, so two workers never
both get `Claim.CLAIMED` for one refid, and a claim expires after its lease,
so the message of a worker killed mid-handler is run again on redelivery.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import Callable

from ._sqlite import Database, transaction
from .store import DEFAULT_TTL, Claim

__all__ = ["SqliteStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS receiver_refids (
    refid TEXT PRIMARY KEY,
    handled_until REAL,   -- remembered as handled until then (NULL: not handled)
    lease_until REAL,     -- claimed by a worker until then
    lease_owner TEXT      -- that worker's store (only it may release the claim)
);
CREATE INDEX IF NOT EXISTS receiver_refids_handled ON receiver_refids (handled_until);
CREATE TABLE IF NOT EXISTS receiver_successes (
    refid TEXT NOT NULL,
    handler TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (refid, handler)
);
CREATE INDEX IF NOT EXISTS receiver_successes_at ON receiver_successes (at);
"""

#: Forget expired refids every this many `mark_handled` calls (a bounded delete each time).
_SWEEP_EVERY = 256


class SqliteStore:
    """A `MessageStore` in the SQLite file at `path` (created if missing).

    Handled refids are remembered for `ttl` seconds (48 h: IntelePeer's 5
    attempts fit well inside); so are the handler successes of a refid never
    handled. Opened by the receiver's lifespan, or ``async with`` on its own.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl < 24 * 3600:
            raise ValueError("ttl must cover at least 24 hours of redeliveries")
        self._db = Database(path, SCHEMA)
        self._ttl = ttl
        self._clock = clock
        self._marks = 0
        # Marks this store's claims, so a release never drops another process's.
        self._token = secrets.token_hex(8)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self._db.path)!r})"

    async def open(self) -> None:
        await self._db.open()

    async def aclose(self) -> None:
        await self._db.aclose()

    async def __aenter__(self) -> SqliteStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def claim(self, refid: str, *, lease: float) -> Claim:
        now = self._clock()

        def work(conn: sqlite3.Connection) -> Claim:
            with transaction(conn):
                row = conn.execute(
                    "SELECT handled_until, lease_until FROM receiver_refids WHERE refid = ?",
                    (refid,),
                ).fetchone()
                if row is not None and row[0] is not None and row[0] > now:
                    return Claim.HANDLED
                if row is not None and row[1] is not None and row[1] > now:
                    return Claim.BUSY
                conn.execute(
                    "INSERT INTO receiver_refids (refid, lease_until, lease_owner) "
                    "VALUES (?, ?, ?) ON CONFLICT (refid) DO UPDATE SET handled_until = NULL, "
                    "lease_until = excluded.lease_until, lease_owner = excluded.lease_owner",
                    (refid, now + lease, self._token),
                )
                return Claim.CLAIMED

        return await self._db.run(work)

    async def mark_handled(self, refid: str) -> None:
        now = self._clock()
        self._marks += 1
        sweep = self._marks % _SWEEP_EVERY == 0

        def work(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.execute(
                    "INSERT INTO receiver_refids (refid, handled_until) VALUES (?, ?) "
                    "ON CONFLICT (refid) DO UPDATE SET handled_until = excluded.handled_until, "
                    "lease_until = NULL",
                    (refid, now + self._ttl),
                )
                conn.execute("DELETE FROM receiver_successes WHERE refid = ?", (refid,))
                if sweep:
                    _sweep(conn, now, self._ttl)

        await self._db.run(work)

    async def release(self, refid: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.execute(
                    "UPDATE receiver_refids SET lease_until = NULL "
                    "WHERE refid = ? AND lease_owner = ?",
                    (refid, self._token),
                )

        await self._db.run(work)

    async def record_success(self, refid: str, handler: str) -> None:
        now = self._clock()

        def work(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.execute(
                    "INSERT OR REPLACE INTO receiver_successes (refid, handler, at) "
                    "VALUES (?, ?, ?)",
                    (refid, handler, now),
                )

        await self._db.run(work)

    async def successes(self, refid: str) -> frozenset[str]:
        def work(conn: sqlite3.Connection) -> frozenset[str]:
            rows = conn.execute(
                "SELECT handler FROM receiver_successes WHERE refid = ?", (refid,)
            ).fetchall()
            return frozenset(row[0] for row in rows)

        return await self._db.run(work)


def _sweep(conn: sqlite3.Connection, now: float, ttl: float) -> None:
    """Forget refids handled more than `ttl` ago, and successes older than `ttl` (bounded)."""
    conn.execute(
        "DELETE FROM receiver_refids WHERE rowid IN (SELECT rowid FROM receiver_refids "
        "WHERE handled_until < ? LIMIT 1000)",
        (now,),
    )
    conn.execute(
        "DELETE FROM receiver_successes WHERE rowid IN (SELECT rowid FROM receiver_successes "
        "WHERE at < ? LIMIT 1000)",
        (now - ttl,),
    )
