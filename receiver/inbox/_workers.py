"""The workers that run the handlers on what an inbox holds, in the receiver's lifespan.

Each of `InboxSettings.workers` tasks takes one message at a time, runs the
handlers with the lease renewed beside them (every third of the lease), and
acks only when every handler succeeded; a failure schedules the retry or
dead-letters the message. A worker that learns it lost the lease (it could
not renew for longer than the lease, and another worker took the message)
cancels its run and leaves the outcome to the new holder. Idle workers wait
for a message taken in by this process (`wake`) or poll every `poll_interval`
for other processes' messages and retries that came due.

Stopping: no new message is taken, in-flight runs get `grace` seconds to end,
and the ones still running are cancelled and handed back (ready at once, the
run not counted) for the next start or another replica.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from functools import partial

import anyio
from anyio.abc import TaskGroup, TaskStatus

from intelepeer_async.models.inbound import InboundSms

from ._base import Claimed, FailOutcome, Inbox

__all__ = ["RunHandlers", "Workers", "consumer_name"]

logger = logging.getLogger("intelepeer_async.receiver")

#: (message, handlers already done, record a success) -> one line per failure.
RunHandlers = Callable[
    [InboundSms, frozenset[str], Callable[[str], Awaitable[None]]], Awaitable[list[str]]
]

#: Seconds between two calls of the inbox's housekeeping.
HOUSEKEEPING_EVERY = 300.0
#: Longest an inbox call may hold up shutting down.
_CALL_BOUND = 10.0
#: Longest wait between two tries while the inbox is unreachable.
_MAX_BACKOFF = 5.0


def consumer_name() -> str:
    """This process's workers' name in the inbox: host, pid and a nonce (a
    restarted process with a recycled pid is someone new)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _lease_lost(claimed: Claimed, what: str) -> None:
    logger.error(
        "inbound SMS %s: lease lost (this worker stalled or could not renew it for longer "
        "than the lease, and another worker took the message); %s",
        claimed.refid,
        what,
    )


class Workers:
    """`settings.workers` tasks running `run` on the messages of `inbox`."""

    def __init__(self, inbox: Inbox, run: RunHandlers) -> None:
        self._inbox = inbox
        self._settings = inbox.settings
        self._run = run
        self.consumer = consumer_name()
        self._stopping = False
        self._busy = 0
        self._wake: anyio.Event | None = None
        self._idle: anyio.Event | None = None
        self._tg: TaskGroup | None = None

    def wake(self) -> None:
        """A message was taken in: an idle worker looks now rather than at its next poll."""
        if self._wake is not None:
            self._wake.set()
            self._wake = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run the workers until `stop` (for ``task_group.start``)."""
        self._stopping, self._busy = False, 0
        self._wake, self._idle = anyio.Event(), anyio.Event()
        self._idle.set()
        async with anyio.create_task_group() as tg:
            self._tg = tg
            for _ in range(self._settings.workers):
                tg.start_soon(self._work)
            tg.start_soon(self._housekeeping)
            task_status.started()
        self._tg = None

    async def stop(self, grace: float) -> None:
        """Take nothing new; give in-flight runs `grace` seconds, then cancel and hand them back."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._idle is not None:
            with anyio.move_on_after(grace):
                await self._idle.wait()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    async def _pause(self) -> None:
        assert self._wake is not None
        with anyio.move_on_after(self._settings.poll_interval):
            await self._wake.wait()

    async def _work(self) -> None:
        failures = 0  # in a row: the inbox is down
        while not self._stopping:
            claimed: Claimed | None = None
            try:
                # Shielded (and bounded): a message taken is never dropped on the floor.
                with anyio.move_on_after(_CALL_BOUND, shield=True):
                    claimed = await self._inbox.take(self.consumer)
            except Exception as exc:
                # One ERROR per outage, not one per poll; slower polls while it lasts.
                log = logger.error if failures == 0 else logger.debug
                log("inbox %r: taking a message failed: %s", self._inbox, type(exc).__name__)
                logger.debug("inbox take failed", exc_info=exc)
                failures += 1
                await anyio.sleep(min(self._settings.poll_interval * 2**failures, _MAX_BACKOFF))
                continue
            if failures:
                logger.warning("inbox %r: taking messages again", self._inbox)
                failures = 0
            if claimed is None:
                await self._pause()
            elif self._stopping:
                await self._give_back(claimed)
            else:
                await self._process(claimed)

    async def _process(self, claimed: Claimed) -> None:
        assert self._idle is not None
        if self._busy == 0:
            self._idle = anyio.Event()
        self._busy += 1
        finished = False
        try:
            await self._attempt(claimed)
            finished = True
        except Exception as exc:
            # The inbox failed (its server down): the lease lapses and the run is retried.
            finished = True
            logger.error(
                "inbox %r failed on inbound SMS %s: %s",
                self._inbox,
                claimed.refid,
                type(exc).__name__,
            )
            logger.debug("inbox failure", exc_info=exc)
        finally:
            if not finished:  # cancelled: shutting down past the grace period
                await self._give_back(claimed)
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def _attempt(self, claimed: Claimed) -> None:
        limit = self._settings.max_attempts
        if claimed.attempt > limit:
            # Earlier runs never ended (the process died each time): a message that
            # kills its worker must not kill every worker that takes it.
            error = f"{claimed.attempt - 1} run(s) ended with the process stopping"
            await self._outcome(claimed, [error])
            return
        lost = False

        async def keep_lease() -> None:
            nonlocal lost
            await self._keep_lease(claimed)  # returns once the lease is lost
            lost = True
            tg.cancel_scope.cancel()  # another worker runs the message now: stop ours

        errors: list[str] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(keep_lease)
            record = partial(self._inbox.record_success, claimed)
            errors = await self._run(claimed.message, claimed.done, record)
            tg.cancel_scope.cancel()
        if not lost:
            await self._outcome(claimed, errors)

    async def _outcome(self, claimed: Claimed, errors: list[str]) -> None:
        state: FailOutcome | None = None
        # Shielded, so shutting down never drops an outcome; bounded, so an inbox that
        # stopped answering never holds shutting down up (the lease lapses: run again).
        with anyio.move_on_after(_CALL_BOUND, shield=True) as bound:
            if not errors:
                if await self._inbox.ack(claimed):
                    logger.info("inbound SMS %s handled (run %d)", claimed.refid, claimed.attempt)
                else:
                    _lease_lost(claimed, "its outcome was not recorded")
                return
            state = await self._inbox.fail(claimed, "; ".join(errors)[:2000])
        if bound.cancelled_caught:
            logger.error(
                "inbox %r did not answer within %gs on inbound SMS %s: its outcome was not "
                "recorded; it runs again once its lease lapses",
                self._inbox,
                _CALL_BOUND,
                claimed.refid,
            )
        elif state == "lost":
            _lease_lost(claimed, "its outcome was not recorded")
        elif state == "dead":
            logger.error(
                "inbound SMS %s dead-lettered after %d run(s): replay it once fixed",
                claimed.refid,
                claimed.attempt,
            )
        else:
            logger.warning(
                "inbound SMS %s: run %d failed; retrying", claimed.refid, claimed.attempt
            )

    async def _keep_lease(self, claimed: Claimed) -> None:
        while True:
            await anyio.sleep(self._settings.lease / 3)
            try:
                kept = await self._inbox.renew(claimed)
            except Exception as exc:
                logger.warning(
                    "renewing the lease on inbound SMS %s failed: %s",
                    claimed.refid,
                    type(exc).__name__,
                )
                continue
            if not kept:
                _lease_lost(claimed, "its run is stopped")
                return

    async def _give_back(self, claimed: Claimed) -> None:
        with anyio.move_on_after(_CALL_BOUND, shield=True):
            try:
                await self._inbox.release(claimed)
            except Exception as exc:  # its lease lapses instead
                logger.warning(
                    "handing back inbound SMS %s failed: %s", claimed.refid, type(exc).__name__
                )

    async def _housekeeping(self) -> None:
        while True:
            try:
                await self._inbox.housekeeping()
            except Exception as exc:
                logger.warning("inbox %r housekeeping failed: %s", self._inbox, type(exc).__name__)
            await anyio.sleep(HOUSEKEEPING_EVERY)
