"""Which messages were handled: the memory that makes redeliveries harmless.

IntelePeer redelivers a message until it gets HTTP 200 (at most 5 attempts), and
documents no timestamp, so a message's `refid` is the only way to recognise a
repeat. A store answers one question atomically, `claim`: may this worker
handle this refid now? It also keeps, per refid not yet handled, which
handlers already succeeded (`record_success`, `successes`), recorded the moment
each one returns, so a redelivery after a failure, a timeout or a cancelled
request skips them, in this worker or another one sharing the store.
`MemoryStore` is the default; other stores (SQLite, Redis) implement the same
five calls and plug into `SmsReceiver(store=...)`.
"""

from __future__ import annotations

import enum
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

__all__ = ["Claim", "MemoryStore", "MessageStore"]

#: Remember handled refids at least this long: IntelePeer's 5 attempts fit well inside.
DEFAULT_TTL = 48 * 3600.0
_NONE: frozenset[str] = frozenset()


class Claim(enum.Enum):
    """Answer to `MessageStore.claim`."""

    #: Nobody handled it and nobody is handling it: it is yours now.
    CLAIMED = "claimed"
    #: Handled already: answer 200 and do nothing.
    HANDLED = "handled"
    #: Another worker holds a live claim: answer "try later".
    BUSY = "busy"


class MessageStore(Protocol):
    """Where handled refids (and live claims) are kept."""

    async def claim(self, refid: str, *, lease: float) -> Claim:
        """Atomically claim `refid` for `lease` seconds, unless handled or claimed."""
        ...

    async def mark_handled(self, refid: str) -> None:
        """Record `refid` as handled (and drop its claim)."""
        ...

    async def release(self, refid: str) -> None:
        """Drop the claim on `refid` without marking it handled (its handlers failed).

        The handler successes recorded for it are kept."""
        ...

    async def record_success(self, refid: str, handler: str) -> None:
        """Remember that `handler` (an opaque key) succeeded on `refid`, until it is handled."""
        ...

    async def successes(self, refid: str) -> frozenset[str]:
        """The handlers recorded as succeeded on `refid` (empty once it is handled)."""
        ...


class MemoryStore:
    """A bounded, in-process store: refids are remembered for `ttl` seconds.

    When more than `max_entries` are remembered, the oldest are forgotten first
    (a redelivery of such an old message would run its handlers again); the
    handler successes of unhandled refids are bounded the same way. Lost on
    restart, and not shared between processes: use a shared store for that.
    """

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 24 * 3600:
            raise ValueError("ttl must cover at least 24 hours of redeliveries")
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        # refid -> expiry, oldest first (every entry lives `ttl`, so expiries ascend)
        self._handled: OrderedDict[str, float] = OrderedDict()
        self._oldest = math.inf  # the first entry's expiry: nothing to forget before then
        self._claims: dict[str, float] = {}  # refid -> lease expiry
        self._successes: OrderedDict[str, set[str]] = OrderedDict()  # refid -> handler keys

    def __len__(self) -> int:
        return len(self._handled)

    def _expire(self, now: float) -> None:
        handled = self._handled
        while handled:
            refid, expiry = next(iter(handled.items()))
            if expiry > now and len(handled) <= self._max:
                self._oldest = expiry
                return
            del handled[refid]
        self._oldest = math.inf

    async def claim(self, refid: str, *, lease: float) -> Claim:
        # No await inside: atomic with respect to other tasks in this process.
        now = self._clock()
        if now >= self._oldest:
            self._expire(now)
        if refid in self._handled:
            return Claim.HANDLED
        held = self._claims.get(refid)
        if held is not None and held > now:
            return Claim.BUSY
        self._claims[refid] = now + lease
        return Claim.CLAIMED

    async def mark_handled(self, refid: str) -> None:
        now = self._clock()
        self._claims.pop(refid, None)
        self._successes.pop(refid, None)
        handled = self._handled
        handled.pop(refid, None)
        handled[refid] = expiry = now + self._ttl
        if len(handled) == 1:
            self._oldest = expiry
        if now >= self._oldest or len(handled) > self._max:
            self._expire(now)

    async def release(self, refid: str) -> None:
        self._claims.pop(refid, None)

    async def record_success(self, refid: str, handler: str) -> None:
        self._successes.setdefault(refid, set()).add(handler)
        self._successes.move_to_end(refid)
        while len(self._successes) > self._max:
            self._successes.popitem(last=False)

    async def successes(self, refid: str) -> frozenset[str]:
        done = self._successes.get(refid)
        return frozenset(done) if done else _NONE
