"""Queued mode: acknowledge fast, keep every message durably, handle it once.

    from receiver import SmsReceiver, SqliteInbox   # or RedisInbox("redis://...")

    rx = SmsReceiver(verifier=..., inbox=SqliteInbox("inbox.db"))

The receiver answers 200 once the message is committed to the inbox; workers
started in its lifespan run the handlers, retry failures with back-off, and
keep what keeps failing as dead letters (`Inbox.dead_letters`, `replay`,
``intelepeer inbox``). `SqliteInbox` and `RedisInbox` load on first use, so
importing this package imports neither sqlite3 nor redis.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._base import Claimed, EntryState, Inbox, InboxEntry, InboxMetrics, InboxSettings

if TYPE_CHECKING:
    from .redis import RedisInbox
    from .sqlite import SqliteInbox

__all__ = [
    "Claimed",
    "EntryState",
    "Inbox",
    "InboxEntry",
    "InboxMetrics",
    "InboxSettings",
    "RedisInbox",
    "SqliteInbox",
]

_LAZY = {"SqliteInbox": ".sqlite", "RedisInbox": ".redis"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'receiver.inbox' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
