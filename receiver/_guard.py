"""One cancel scope per delivery, whose time limits one task keeps for all deliveries.

A delivery has several limits: the body's (``body_timeout``), each handler's and
each record of a handler's success (``handler_timeout``). Under asyncio an anyio
cancel scope costs about 5 µs to enter and leave, a deadline on it as much
again and moving one about 3 µs: a scope per limit would cost more than all of
a delivery's parsing, verification and dedup together, and more than a bare
Starlette endpoint's whole overhead (README "Performance").

So a delivery enters one scope, a `Guard`, and only *names* its current limit.
While the receiver's lifespan runs, a `Timekeeper` task wakes every `tick`
(1/20 of the shortest timeout, between 5 ms and 0.1 s) and cancels the guards
whose limit has passed: a limit is kept to within two ticks, at the cost of a
dict entry per limit. Without the lifespan (an app called directly, or mounted
without entering ``rx.lifespan()``), and after it ends, a limit is a deadline
of the guard's scope itself: the same behaviour at the per-limit cost.

A cancelled scope stays cancelled. What a delivery must still do after one of
its limits passed (the handlers after one that timed out, storing the outcome)
runs shielded from its guard, each await with a limit of its own, exactly as
it would have without a guard (``dispatch.Handlers.run``, ``SmsReceiver``).
"""

from __future__ import annotations

import math

import anyio
from anyio.abc import TaskStatus

__all__ = ["Guard", "Timekeeper"]


class Timekeeper:
    """Cancels each `Guard` whose limit has passed; see the module docstring."""

    def __init__(self, shortest: float) -> None:
        self.tick = min(0.1, max(0.005, shortest / 20))
        self._limits: dict[Guard, float] = {}
        #: The clock at the last tick while running; None: guards use deadlines.
        self._now: float | None = None

    def guard(self, *, shield: bool = False) -> Guard:
        """A new guard (enter its `scope`)."""
        return Guard(self, shield)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Keep the limits until cancelled (the lifespan's end); then hand each limit
        still pending to its guard's own scope as a deadline."""
        self._now = anyio.current_time()
        task_status.started()
        try:
            while True:
                await anyio.sleep(self.tick)
                now = self._now = anyio.current_time()
                passed = [guard for guard, limit in self._limits.items() if limit <= now]
                for guard in passed:
                    del self._limits[guard]
                    guard.scope.cancel()
        finally:
            self._now = None
            for guard, limit in self._limits.items():
                guard.scope.deadline = limit
            self._limits.clear()


class Guard:
    """A delivery's cancel scope (enter `scope`) and its current limit.

    `limit` names the next await's limit, `clear` ends it; `expired` says that a
    limit passed (the scope is then cancelled for good). `limited` is what the
    current limit is for, so that the code that catches the cancellation knows
    what timed out.
    """

    __slots__ = ("_keeper", "limited", "scope")

    def __init__(self, keeper: Timekeeper, shield: bool = False) -> None:
        self._keeper = keeper
        # move_on_after(None): the same scope as CancelScope(), made in half the time
        # (CancelScope() initialises the backend's scope twice).
        self.scope = anyio.move_on_after(None, shield=shield)
        self.limited: object = None

    def limit(self, seconds: float, what: object) -> None:
        self.limited = what
        keeper = self._keeper
        if keeper._now is not None:
            # The clock read at the last tick may be a tick old: a tick more is given.
            keeper._limits[self] = keeper._now + seconds + keeper.tick
        else:
            self.scope.deadline = anyio.current_time() + seconds

    def clear(self) -> None:
        self.limited = None
        if self._keeper._limits.pop(self, None) is None and self.scope.deadline != math.inf:
            self.scope.deadline = math.inf

    @property
    def expired(self) -> bool:
        return self.scope.cancel_called
