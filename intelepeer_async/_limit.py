"""`InFlightLimit`: the queue in front of the connection pool.

Why the core bounds its own in-flight requests: a user who starts 10,000
calls at once (``gather``, a task group) would otherwise hand all 10,000 to the
transport's pool, and httpx's pool scans its waiters on every release, so the
more calls wait the slower each one gets (the issue measured 47 calls/s for
1,000 at once, against 500-1,000/s through a semaphore). Here at most `limit`
requests are with the transport; the rest wait in a first-in, first-out queue
that costs O(1) per call however long it is, and the pool never has a waiter.

A waiting call holds no connection and has sent nothing: if its deadline
passes in the queue, it was never sent. The uncontended path does not yield
to the event loop, so a lone call pays a counter and nothing more.
"""

from __future__ import annotations

from collections import deque

import anyio

from .errors import InvalidInputError

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "InFlightLimit"]

#: Requests one client has with its transport at once (the httpx pool is sized to match).
DEFAULT_MAX_IN_FLIGHT = 64


class _Waiter:
    __slots__ = ("abandoned", "event", "granted")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.granted = False
        self.abandoned = False


class InFlightLimit:
    """At most `limit` holders at once; the others wait in arrival order.

    Works under asyncio and trio (anyio events). A slot freed while calls wait
    passes straight to the oldest of them, so no late arrival overtakes the
    queue.
    """

    def __init__(self, limit: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInputError("max_in_flight must be a whole number >= 1")
        self.limit = limit
        self._free = limit
        self._waiters: deque[_Waiter] = deque()

    @property
    def in_flight(self) -> int:
        """Slots held right now."""
        return self.limit - self._free

    @property
    def waiting(self) -> int:
        """Calls queued for a slot right now (abandoned ones excluded)."""
        return sum(1 for waiter in self._waiters if not waiter.abandoned)

    async def acquire(self, deadline: float) -> bool:
        """Take a slot by `deadline` (anyio clock): True, or False if the time ran out.

        Cancellation while waiting gives up the place in the queue (or the slot,
        if it had just been handed over) and propagates.
        """
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        waiter = _Waiter()
        self._waiters.append(waiter)
        try:
            with anyio.move_on_after(deadline - anyio.current_time()):
                await waiter.event.wait()
        except BaseException:
            if waiter.granted:
                self.release()  # handed a slot as it was cancelled: pass it on
            else:
                waiter.abandoned = True
            raise
        if waiter.granted:
            return True  # even if the deadline passed as it arrived: the caller checks
        waiter.abandoned = True
        return False

    def release(self) -> None:
        """Give a slot back: to the oldest waiter still waiting, or to the pool."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if waiter.abandoned:
                continue
            waiter.granted = True
            waiter.event.set()
            return
        self._free += 1
