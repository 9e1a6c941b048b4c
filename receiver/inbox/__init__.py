"""Queued mode: acknowledge fast, keep every message durably, handle it once.

    from receiver import SmsReceiver, SqliteInbox   # or RedisInbox("redis://...")

    rx = SmsReceiver(verifier=..., inbox=SqliteInbox("inbox.db"))

The receiver answers 200 once the message is committed to the inbox; workers
started in its lifespan run the handlers, retry failures with back-off, and
keep what keeps failing as dead letters (`Inbox.dead_letters`, `replay`,
``intelepeer inbox``). The two inboxes live in `receiver.inbox.sqlite` and
`receiver.inbox.redis`, and `receiver` names them both, loading each on first
use: importing this package imports neither sqlite3 nor redis.
"""

from ._base import (
    Claimed,
    EntryState,
    FailOutcome,
    Inbox,
    InboxEntry,
    InboxMetrics,
    InboxSettings,
)

__all__ = [
    "Claimed",
    "EntryState",
    "FailOutcome",
    "Inbox",
    "InboxEntry",
    "InboxMetrics",
    "InboxSettings",
]
