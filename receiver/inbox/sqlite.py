"""`SqliteInbox`: the queued mode in one SQLite file, no server to run.

A message is one row, inserted in a transaction committed to disk (fsync)
before the receiver answers 200; its refid is the primary key, so a
redelivery finds it and adds nothing. A worker takes a ready row by setting
its lease (``due_at`` moves to the lease's end: a row whose lease lapsed is
simply ready again) and counting the attempt, in one ``BEGIN IMMEDIATE``
transaction; renews the lease while the handlers run; and on the outcome
marks it handled, schedules the retry, or keeps it as a dead letter. Each
take writes its own token in ``lease_owner``: renewals and outcomes change
the row only while it still holds it, so a worker whose lease lapsed and
was taken again cannot settle what the new holder runs.

Several receiver processes on one machine may share the file (``uvicorn
--workers N``), not a network file system. Runs under asyncio and trio.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any, Unpack

from intelepeer_async.errors import InvalidInputError
from intelepeer_async.models.inbound import InboundSms

from .._sqlite import Database, existing_tables, transaction
from ._base import (
    Claimed,
    FailOutcome,
    InboxEntry,
    InboxMetrics,
    InboxSettings,
    SettingsArgs,
    lease_token,
    message_body,
)

__all__ = ["SqliteInbox"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox_messages (
    refid TEXT PRIMARY KEY,
    state TEXT NOT NULL,          -- pending | handled | dead
    body TEXT,                    -- the message as JSON; NULL once handled
    received_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at REAL,                  -- pending: ready from then (a lease ends then too)
    lease_owner TEXT,             -- the worker running it (while due_at is ahead)
    last_error TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS inbox_ready ON inbox_messages (state, due_at);
CREATE INDEX IF NOT EXISTS inbox_finished ON inbox_messages (state, finished_at);
CREATE TABLE IF NOT EXISTS inbox_successes (
    refid TEXT NOT NULL,
    handler TEXT NOT NULL,
    PRIMARY KEY (refid, handler)
);
CREATE TABLE IF NOT EXISTS inbox_counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

_READY = (
    "SELECT refid FROM inbox_messages WHERE state = 'pending' AND due_at <= ? "
    "ORDER BY due_at LIMIT 1"
)
_ENTRY = (
    "SELECT refid, state, attempts, received_at, last_error, finished_at, due_at, body "
    "FROM inbox_messages"
)


def _count(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(
        "INSERT INTO inbox_counters (name, value) VALUES (?, 1) "
        "ON CONFLICT (name) DO UPDATE SET value = value + 1",
        (name,),
    )


def _entry(row: tuple[Any, ...]) -> InboxEntry:
    refid, state, attempts, received_at, last_error, finished_at, due_at, body = row
    return InboxEntry(
        refid=refid,
        state=state,
        attempts=attempts,
        received_at=received_at,
        last_error=last_error,
        finished_at=finished_at,
        next_attempt_at=due_at if state == "pending" else None,
        message=None if body is None else InboundSms.model_validate_json(body),
    )


class SqliteInbox:
    """Queued mode in the SQLite file at `path` (created if missing).

    ``SmsReceiver(..., inbox=SqliteInbox("inbox.db"))``; the keyword arguments
    are `InboxSettings`. Opened and closed by the receiver's lifespan; on its
    own (to list or replay dead letters) with ``async with``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        **settings: Unpack[SettingsArgs],
    ) -> None:
        self.settings = InboxSettings(**settings)
        self._db = Database(path, SCHEMA)
        self._clock = clock

    @classmethod
    def existing(
        cls, path: str | os.PathLike[str], **settings: Unpack[SettingsArgs]
    ) -> SqliteInbox:
        """The inbox a receiver made at `path`, for tools that look at it (the
        ``intelepeer inbox`` command): a typed error, and the file left as it was,
        when `path` holds no inbox (opening another app's database as an inbox would
        switch it to WAL and add the inbox's tables)."""
        if "inbox_messages" not in existing_tables(path):
            raise InvalidInputError(
                f"{path} is not a receiver inbox (no inbox_messages table); nothing was changed"
            )
        return cls(path, **settings)

    def __repr__(self) -> str:
        return f"SqliteInbox({str(self._db.path)!r})"

    async def open(self) -> None:
        await self._db.open()

    async def aclose(self) -> None:
        await self._db.aclose()

    async def __aenter__(self) -> SqliteInbox:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- the receiver's -------------------------------------------------------------

    async def put(self, message: InboundSms) -> bool:
        body, now = message_body(message), self._clock()

        def work(conn: sqlite3.Connection) -> bool:
            with transaction(conn, durable=True):
                new = (
                    conn.execute(
                        "INSERT OR IGNORE INTO inbox_messages "
                        "(refid, state, body, received_at, due_at) VALUES (?, 'pending', ?, ?, ?)",
                        (message.refid, body, now, now),
                    ).rowcount
                    == 1
                )
                _count(conn, "received" if new else "duplicates")
            return new

        return await self._db.run(work)

    # -- the workers' ---------------------------------------------------------------

    async def take(self, consumer: str) -> Claimed | None:
        now, lease = self._clock(), self.settings.lease
        token = lease_token(consumer)

        def work(conn: sqlite3.Connection) -> Claimed | None:
            if conn.execute(_READY, (now,)).fetchone() is None:
                return None  # nothing ready: no write lock taken
            with transaction(conn):
                row = conn.execute(_READY, (now,)).fetchone()
                if row is None:
                    return None
                refid = row[0]
                body, attempts = conn.execute(
                    "SELECT body, attempts + 1 FROM inbox_messages WHERE refid = ?", (refid,)
                ).fetchone()
                conn.execute(
                    "UPDATE inbox_messages SET due_at = ?, lease_owner = ?, attempts = ? "
                    "WHERE refid = ?",
                    (now + lease, token, attempts, refid),
                )
                done = conn.execute(
                    "SELECT handler FROM inbox_successes WHERE refid = ?", (refid,)
                ).fetchall()
            message = InboundSms.model_validate_json(body)
            return Claimed(refid, message, attempts, frozenset(d[0] for d in done), token)

        return await self._db.run(work)

    async def renew(self, claimed: Claimed) -> bool:
        until = self._clock() + self.settings.lease

        def work(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                changed = conn.execute(
                    "UPDATE inbox_messages SET due_at = ? "
                    "WHERE refid = ? AND state = 'pending' AND lease_owner = ?",
                    (until, claimed.refid, claimed.token),
                ).rowcount
            return changed == 1

        return await self._db.run(work)

    async def record_success(self, claimed: Claimed, handler: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                # Not for a message handled already (a late call): nothing would delete it.
                conn.execute(
                    "INSERT OR IGNORE INTO inbox_successes (refid, handler) SELECT ?, ? "
                    "WHERE EXISTS (SELECT 1 FROM inbox_messages WHERE refid = ? "
                    "AND state != 'handled')",
                    (claimed.refid, handler, claimed.refid),
                )

        await self._db.run(work)

    async def ack(self, claimed: Claimed) -> bool:
        now = self._clock()

        def work(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                changed: int = conn.execute(
                    "UPDATE inbox_messages SET state = 'handled', body = NULL, due_at = NULL, "
                    "lease_owner = NULL, finished_at = ? "
                    "WHERE refid = ? AND state = 'pending' AND lease_owner = ?",
                    (now, claimed.refid, claimed.token),
                ).rowcount
                if changed:
                    conn.execute("DELETE FROM inbox_successes WHERE refid = ?", (claimed.refid,))
                    _count(conn, "handled")
            return changed == 1

        return await self._db.run(work)

    async def fail(self, claimed: Claimed, error: str) -> FailOutcome:
        now = self._clock()
        dead = claimed.attempt >= self.settings.max_attempts
        retry_at = now + self.settings.retry_delay(claimed.attempt)

        def work(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                if dead:
                    changed: int = conn.execute(
                        "UPDATE inbox_messages SET state = 'dead', due_at = NULL, "
                        "lease_owner = NULL, last_error = ?, finished_at = ? "
                        "WHERE refid = ? AND state = 'pending' AND lease_owner = ?",
                        (error, now, claimed.refid, claimed.token),
                    ).rowcount
                else:
                    changed = conn.execute(
                        "UPDATE inbox_messages SET due_at = ?, lease_owner = NULL, "
                        "last_error = ? WHERE refid = ? AND state = 'pending' AND lease_owner = ?",
                        (retry_at, error, claimed.refid, claimed.token),
                    ).rowcount
                if changed:
                    _count(conn, "dead_lettered" if dead else "retried")
            return changed == 1

        if not await self._db.run(work):
            return "lost"
        return "dead" if dead else "pending"

    async def release(self, claimed: Claimed) -> None:
        now = self._clock()

        def work(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.execute(
                    "UPDATE inbox_messages SET due_at = ?, lease_owner = NULL, "
                    "attempts = MAX(attempts - 1, 0) "
                    "WHERE refid = ? AND state = 'pending' AND lease_owner = ?",
                    (now, claimed.refid, claimed.token),
                )

        await self._db.run(work)

    async def housekeeping(self) -> None:
        cutoff = self._clock() - self.settings.retention

        def work(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                deleted: int = conn.execute(
                    "DELETE FROM inbox_messages WHERE rowid IN (SELECT rowid FROM "
                    "inbox_messages WHERE state = 'handled' AND finished_at < ? LIMIT 1000)",
                    (cutoff,),
                ).rowcount
            return deleted

        # In batches, each its own short transaction, so takers and puts get in between.
        while await self._db.run(work) == 1000:
            pass

    # -- yours ----------------------------------------------------------------------

    async def get(self, refid: str) -> InboxEntry | None:
        def work(conn: sqlite3.Connection) -> InboxEntry | None:
            row = conn.execute(_ENTRY + " WHERE refid = ?", (refid,)).fetchone()
            return None if row is None else _entry(row)

        return await self._db.run(work)

    async def dead_letters(self, limit: int = 100) -> list[InboxEntry]:
        def work(conn: sqlite3.Connection) -> list[InboxEntry]:
            rows = conn.execute(
                _ENTRY + " WHERE state = 'dead' ORDER BY finished_at, refid LIMIT ?", (limit,)
            ).fetchall()
            return [_entry(row) for row in rows]

        return await self._db.run(work)

    async def replay(self, refid: str) -> bool:
        now = self._clock()

        def work(conn: sqlite3.Connection) -> bool:
            with transaction(conn, durable=True):
                changed: int = conn.execute(
                    "UPDATE inbox_messages SET state = 'pending', attempts = 0, due_at = ?, "
                    "finished_at = NULL, lease_owner = NULL WHERE refid = ? AND state = 'dead'",
                    (now, refid),
                ).rowcount
            return changed == 1

        return await self._db.run(work)

    async def purge(self, refid: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                changed: int = conn.execute(
                    "DELETE FROM inbox_messages WHERE refid = ? AND state = 'dead'", (refid,)
                ).rowcount
                if changed:
                    conn.execute("DELETE FROM inbox_successes WHERE refid = ?", (refid,))
            return changed == 1

        return await self._db.run(work)

    async def metrics(self) -> InboxMetrics:
        now = self._clock()

        def work(conn: sqlite3.Connection) -> InboxMetrics:
            counters = dict(conn.execute("SELECT name, value FROM inbox_counters").fetchall())
            depth, in_flight, oldest = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(lease_owner IS NOT NULL AND due_at > ?), 0), "
                "MIN(received_at) FROM inbox_messages WHERE state = 'pending'",
                (now,),
            ).fetchone()
            (dead,) = conn.execute(
                "SELECT COUNT(*) FROM inbox_messages WHERE state = 'dead'"
            ).fetchone()
            return InboxMetrics(
                received=counters.get("received", 0),
                duplicates=counters.get("duplicates", 0),
                handled=counters.get("handled", 0),
                retried=counters.get("retried", 0),
                dead_lettered=counters.get("dead_lettered", 0),
                queue_depth=depth,
                in_flight=in_flight,
                oldest_pending_age=None if oldest is None else max(0.0, now - oldest),
                dead_letters=dead,
            )

        return await self._db.run(work)
