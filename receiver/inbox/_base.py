"""What every inbox is: its settings, its entries, its metrics, and the calls the workers make.

An inbox keeps each verified message from the moment it is taken in (before
the 200) until every handler has succeeded on it, or it is dead-lettered after
`InboxSettings.max_attempts`. `SqliteInbox` and `RedisInbox` implement the
`Inbox` protocol; the receiver's workers (`_workers.py`) drive it.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, TypedDict

from intelepeer_async.errors import InvalidInputError
from intelepeer_async.models.inbound import InboundSms

__all__ = [
    "Claimed",
    "EntryState",
    "FailOutcome",
    "Inbox",
    "InboxEntry",
    "InboxMetrics",
    "InboxSettings",
    "SettingsArgs",
    "lease_token",
    "message_body",
]

EntryState = Literal["pending", "handled", "dead"]
#: What `Inbox.fail` did: scheduled a retry, dead-lettered the message, or nothing,
#: because the caller's lease was lost (another worker has the message now).
FailOutcome = Literal["pending", "dead", "lost"]


def lease_token(consumer: str) -> str:
    """A token of its own for each take: `consumer` names the process (every worker of
    it passes the same name), the nonce tells two takes of one message apart, so a
    worker whose lease lapsed and was taken again, even by a sibling worker, is told."""
    return f"{consumer} {secrets.token_hex(6)}"


def message_body(message: InboundSms) -> str:
    """The message as stored: its JSON without ``signature`` (the account's shared code
    or an HMAC: a secret, and of no use once the message is verified)."""
    return message.model_dump_json(by_alias=True, exclude={"signature"})


@dataclass(frozen=True)
class InboxSettings:
    """How an inbox's workers behave; every inbox takes these as keyword arguments.

    `workers`: messages handled at once by each receiver process. `lease`:
    seconds a worker owns a message; renewed every third of it while its
    handlers run, so a slow handler keeps it, and a crashed process's messages
    go to another worker once it lapses. `max_attempts`: runs before a message
    is dead-lettered (a run cut short by a crash counts). `retry_delays`:
    seconds before the next run after failed run 1, 2, ... (the last repeats),
    with up to 10% jitter. `poll_interval`: how often an idle worker looks for
    work from other processes and for retries that came due. `retention`:
    seconds a handled refid is remembered (a later delivery of it is a
    duplicate): 48 h covers IntelePeer's 5 attempts.
    """

    workers: int = 4
    lease: float = 30.0
    max_attempts: int = 6
    retry_delays: Sequence[float] = (2.0, 10.0, 60.0, 300.0, 1800.0)
    poll_interval: float = 0.25
    retention: float = 48 * 3600.0

    def __post_init__(self) -> None:
        if not isinstance(self.workers, int) or not 1 <= self.workers <= 1000:
            raise InvalidInputError("workers must be an integer from 1 to 1000")
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise InvalidInputError("max_attempts must be an integer >= 1")
        for name in ("lease", "poll_interval", "retention"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise InvalidInputError(f"{name} must be a finite number > 0")
        delays = tuple(self.retry_delays)
        if not delays or not all(
            isinstance(d, int | float) and math.isfinite(d) and d >= 0 for d in delays
        ):
            raise InvalidInputError("retry_delays must be one or more finite numbers >= 0")
        object.__setattr__(self, "retry_delays", delays)

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait after failed run `attempt` (1-based), jittered by up to 10%."""
        base = self.retry_delays[min(attempt, len(self.retry_delays)) - 1]
        return float(base) * (1 + random.random() / 10)  # noqa: S311 - jitter, not secrecy


class SettingsArgs(TypedDict, total=False):
    """`InboxSettings` as keyword arguments of `SqliteInbox` and `RedisInbox`."""

    workers: int
    lease: float
    max_attempts: int
    retry_delays: Sequence[float]
    poll_interval: float
    retention: float


@dataclass(frozen=True)
class Claimed:
    """A message a worker owns until its lease lapses: run its handlers, then ack or fail.

    `attempt` counts this run (1 for the first); `done` holds the handlers that
    already succeeded on an earlier run; `token` identifies this lease (unique
    per take): once another take has the message, calls with this one change
    nothing.
    """

    refid: str
    message: InboundSms
    attempt: int
    done: frozenset[str]
    token: str


@dataclass(frozen=True)
class InboxEntry:
    """One message in the inbox, as `Inbox.get` and `dead_letters` show it.

    `message` is None once handled (the text is personal data: not kept longer
    than needed). Times are epoch seconds.
    """

    refid: str
    state: EntryState
    attempts: int
    received_at: float
    last_error: str | None = None
    finished_at: float | None = None
    next_attempt_at: float | None = None
    message: InboundSms | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["message"] = (
            None if self.message is None else self.message.model_dump(mode="json", by_alias=True)
        )
        return data


@dataclass(frozen=True)
class InboxMetrics:
    """Counters since the inbox was created (kept in it: they survive restarts and, on
    Redis, add up every replica), and the queue as it is now.

    `received`: new messages taken in; `duplicates`: deliveries of a refid it
    already had; `handled`: messages whose handlers all succeeded; `retried`:
    failed runs scheduled again; `dead_lettered`: messages given up on.
    `queue_depth`: messages waiting or being handled; `in_flight`: of those,
    held by a worker now (a lease that lapsed, its worker gone, is not counted);
    `oldest_pending_age`: seconds since the oldest of them was received (None
    when none); `dead_letters`: dead letters kept now.
    """

    received: int = 0
    duplicates: int = 0
    handled: int = 0
    retried: int = 0
    dead_lettered: int = 0
    queue_depth: int = 0
    in_flight: int = 0
    oldest_pending_age: float | None = None
    dead_letters: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Inbox(Protocol):
    """The calls an inbox answers: the receiver's (`put`), its workers' (`take` to
    `release`) and yours (`get` to `metrics`)."""

    settings: InboxSettings

    async def open(self) -> None:
        """Connect and create what is missing (tables, the consumer group)."""
        ...

    async def aclose(self) -> None: ...

    async def put(self, message: InboundSms) -> bool:
        """Keep `message` durably; True if new, False if its refid is known (a duplicate)."""
        ...

    async def take(self, consumer: str) -> Claimed | None:
        """The next message ready to run (new, due for retry, or whose lease lapsed),
        leased to `consumer` and its attempt counted; None when there is none."""
        ...

    async def renew(self, claimed: Claimed) -> bool:
        """Extend the lease by `settings.lease`; False if it was lost to another worker."""
        ...

    async def record_success(self, claimed: Claimed, handler: str) -> None:
        """Remember that `handler` succeeded on it, so a later run skips it (kept
        until the message is handled or purged; even from a lost lease: it did succeed)."""
        ...

    async def ack(self, claimed: Claimed) -> bool:
        """Every handler succeeded: the message is handled (its refid is remembered).
        False, and nothing changed, if the lease was lost: another worker has it."""
        ...

    async def fail(self, claimed: Claimed, error: str) -> FailOutcome:
        """A handler failed: retry after a back-off ("pending"), or after
        `max_attempts` runs keep it as a dead letter ("dead"); "lost", and nothing
        changed, if the lease was lost: another worker has it."""
        ...

    async def release(self, claimed: Claimed) -> None:
        """Give it back unrun (shutting down): ready at once, this run not counted.
        Nothing, if the lease was lost."""
        ...

    async def get(self, refid: str) -> InboxEntry | None: ...

    async def dead_letters(self, limit: int = 100) -> list[InboxEntry]:
        """Dead letters, oldest first."""
        ...

    async def replay(self, refid: str) -> bool:
        """Queue a dead letter again with a fresh attempt count; False if `refid` is
        not a dead letter."""
        ...

    async def purge(self, refid: str) -> bool:
        """Delete a dead letter for good; False if `refid` is not a dead letter."""
        ...

    async def metrics(self) -> InboxMetrics: ...

    async def housekeeping(self) -> None:
        """Forget handled refids older than `settings.retention` (bounded work per call)."""
        ...
