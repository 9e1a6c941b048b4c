"""Run a test on each inbox (or store) kind: SQLite under asyncio and trio, Redis
under asyncio (redis-py's asyncio client runs nowhere else)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from receiver import RedisInbox, RedisStore, SqliteInbox, SqliteStore
from receiver.inbox import Inbox

#: (anyio_backend, kind): parametrize a test with this to run it on every kind.
KINDS = [
    pytest.param("asyncio", "sqlite", id="sqlite-asyncio"),
    pytest.param("trio", "sqlite", id="sqlite-trio"),
    pytest.param("asyncio", "redis", id="redis-asyncio"),
]
every_kind = pytest.mark.parametrize(("anyio_backend", "kind"), KINDS)


def unique_prefix() -> str:
    """Each test its own keys in the shared Redis."""
    return f"test-{uuid.uuid4().hex[:12]}"


def make_inbox(kind: str, request: pytest.FixtureRequest, tmp_path: Path, **settings: Any) -> Inbox:
    """A fresh inbox of `kind`; the Redis one starts the session's redis-server."""
    if kind == "sqlite":
        return SqliteInbox(tmp_path / "inbox.db", **settings)
    url: str = request.getfixturevalue("redis_url")
    return RedisInbox(url, prefix=unique_prefix(), **settings)


def make_store(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> SqliteStore | RedisStore:
    if kind == "sqlite":
        return SqliteStore(tmp_path / "store.db")
    url: str = request.getfixturevalue("redis_url")
    return RedisStore(url, prefix=unique_prefix())
