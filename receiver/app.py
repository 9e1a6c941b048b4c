"""`SmsReceiver`: the ASGI app that takes IntelePeer's inbound-SMS webhooks.

Each POST (to any path but ``/healthz``) first goes through `Intake`: shutting
down (503), content type (415), Basic auth (401), body size and read deadline
(413, 408), JSON and fields (400), signature (403). Then the refid store: a
handled refid answers 200 at once, a delivery of a refid being handled right
now waits for that outcome. Only then do the matching handlers run; 200 means
every one succeeded, 500 makes IntelePeer deliver again. Nothing the user wrote
sees a rejected request, and every request ends in a documented status with a
short JSON body.

Queued mode (``inbox=``): a verified message is committed to the inbox and
answered 200 at once (a duplicate refid too, without a second entry); workers
started in the lifespan run the handlers (`receiver.inbox._workers`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING

import anyio

from intelepeer_async.errors import InvalidInputError
from intelepeer_async.models.inbound import InboundSms

from ._asgi import SHUTTING_DOWN_CLOSE, Answer, Receive, ReceiverApp, Scope, Send, error, ok
from ._guard import Guard, Timekeeper
from ._intake import Intake, Rejected
from .dispatch import Filters, Handler, Handlers, Matcher, log_failure
from .inbox import Inbox
from .inbox._workers import Workers
from .store import Claim, MemoryStore, MessageStore
from .verify import BasicAuth, SignatureVerifier

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

__all__ = ["SmsReceiver"]

logger = logging.getLogger("intelepeer_async.receiver")

DEFAULT_MAX_BODY = 64 * 1024
#: IntelePeer's bodies are under 1 KB: a few seconds is generous, and bounds how
#: long a client that never finishes its body holds a connection (and a deploy).
DEFAULT_BODY_TIMEOUT = 5.0
_STORE_METHODS = ("claim", "mark_handled", "release", "record_success", "successes")
_INBOX_METHODS = ("open", "aclose", "put", "take", "renew", "record_success", "ack", "fail")
_NOT_HANDLED = error(500, "not handled; deliver again")
_BUSY = error(503, "this message is being handled by another worker")


class _InFlight:
    """A refid being handled now; later deliveries wait for its outcome (the event
    is made only when one does)."""

    __slots__ = ("_done", "status")

    def __init__(self) -> None:
        self.status = 500
        self._done: anyio.Event | None = None

    async def outcome(self) -> int:
        if self._done is None:
            self._done = anyio.Event()
        await self._done.wait()
        return self.status

    def finish(self, status: int) -> None:
        self.status = status
        if self._done is not None:
            self._done.set()


class SmsReceiver:
    """Receives IntelePeer's inbound SMS and hands each one to your async handlers.

    `verifier` checks the body's ``signature`` (`SharedCode`, `HmacSignature`);
    `basic_auth` the ``Authorization: Basic`` header that IntelePeer sends when
    the webhook URL embeds credentials (a pair, or several for rotation). With
    neither, pass ``allow_unverified=True``: anyone could then post messages.
    `handler_timeout` bounds each handler (a slow one counts as failed);
    `max_body_bytes` bounds the request body and `body_timeout` the time to
    receive it; `store` remembers handled refids and each handler's success.
    `inbox` (`SqliteInbox`, `RedisInbox`) switches to queued mode: a message is
    answered once it is kept durably, and workers run the handlers.
    """

    def __init__(
        self,
        *,
        verifier: SignatureVerifier | None = None,
        basic_auth: BasicAuth | tuple[str, str] | Iterable[tuple[str, str]] | None = None,
        allow_unverified: bool = False,
        store: MessageStore | None = None,
        inbox: Inbox | None = None,
        handler_timeout: float = 10.0,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        auth = BasicAuth.coerce(basic_auth)
        if verifier is None and auth is None:
            if not allow_unverified:
                raise InvalidInputError(
                    "SmsReceiver needs verifier= (SharedCode/HmacSignature) or basic_auth=; "
                    "to accept unverified webhooks, say so with allow_unverified=True"
                )
            self._warn_unverified()
        for name, value in (
            ("handler_timeout", handler_timeout),
            ("max_body_bytes", max_body_bytes),
            ("body_timeout", body_timeout),
        ):
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise InvalidInputError(f"{name} must be a finite number > 0")
        self._intake = Intake(
            verifier=verifier, basic_auth=auth, max_body=max_body_bytes, body_timeout=body_timeout
        )
        self._store: MessageStore = store if store is not None else MemoryStore()
        missing = [m for m in _STORE_METHODS if not callable(getattr(self._store, m, None))]
        if missing:
            # Found now rather than as a 500 on every delivery.
            raise InvalidInputError(f"store lacks MessageStore method(s): {', '.join(missing)}")
        if inbox is not None:
            if store is not None:
                raise InvalidInputError(
                    "store= is for inline mode; an inbox keeps its own record of refids"
                )
            lacking = [m for m in _INBOX_METHODS if not callable(getattr(inbox, m, None))]
            if lacking or not hasattr(inbox, "settings"):
                raise InvalidInputError("inbox must be a SqliteInbox or RedisInbox")
        self._inbox = inbox
        self._workers: Workers | None = None
        self._handler_timeout = float(handler_timeout)
        # One task keeps every delivery's time limits while the lifespan runs (_guard).
        self._keeper = Timekeeper(min(float(body_timeout), self._handler_timeout))
        self._handlers = Handlers(self._handler_timeout, self._keeper)
        self._startup: list[Callable[[], Awaitable[None]]] = []
        self._shutdown: list[Callable[[], Awaitable[None]]] = []
        self._in_flight: dict[str, _InFlight] = {}
        self._closing = False
        self._serving = False  # a lifespan is running
        self._active = 0  # requests in the store or the inbox right now
        self._idle: anyio.Event | None = None  # made when shutdown waits for them
        self._app = ReceiverApp(self._receive, lambda: self._closing, self.lifespan)

    def _warn_unverified(self) -> None:
        logger.warning(
            "SmsReceiver accepts UNVERIFIED webhooks (allow_unverified=True): "
            "anyone who knows its URL can inject messages"
        )

    @property
    def handler_timeout(self) -> float:
        """Seconds each handler may run; give a reply sent from a handler a smaller budget."""
        return self._handler_timeout

    @property
    def inbox(self) -> Inbox | None:
        """The inbox of queued mode (``await rx.inbox.metrics()``), or None (inline mode)."""
        return self._inbox

    # -- registration ---------------------------------------------------------

    def on_message(
        self,
        *,
        to: str | Collection[str] | None = None,
        from_: str | Collection[str] | None = None,
        keyword: str | Collection[str] | None = None,
        match: Matcher | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register an async handler; every handler whose filters all match runs, in order.

        `to`/`from_`: a number or several, in any formatting (spaces, dashes,
        brackets and a leading ``+`` are ignored on both sides); `keyword`: a
        word or several (`OPT_OUT_KEYWORDS`, `HELP_KEYWORDS`), matched to the
        text's first word ignoring case and surrounding punctuation; `match`: a
        predicate on the text, or a compiled regex searched in it. A handler
        that fails makes IntelePeer redeliver, and the redelivery runs only the
        handlers that have not succeeded yet: each success is recorded in the
        store as it happens. Handlers should still be idempotent by `refid`.
        """

        filters = Filters.create(to=to, from_=from_, keyword=keyword, match=match)

        def register(handler: Handler) -> Handler:
            self._handlers.add(handler, filters)
            return handler

        return register

    def on_startup(self, hook: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run `hook` when the app starts (lifespan startup)."""
        self._startup.append(hook)
        return hook

    def on_shutdown(self, hook: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run `hook` at shutdown, after in-flight messages have finished."""
        self._shutdown.append(hook)
        return hook

    # -- lifecycle ------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """Startup hooks, then serve; on exit refuse new messages (503), let in-flight
        ones finish, then shutdown hooks.

        In-flight deliveries get `handler_timeout` for each handler, plus 1 s, to
        finish (every handler of a message runs within its own timeout). Queued
        mode: the inbox is opened and the workers started before serving; at exit
        they take nothing new, in-flight runs get `handler_timeout` + 1 s to end and
        the rest are handed back, pending, for the next start.

        Added to another app (`route`, or mounted), call it from that app's
        lifespan: ``async with rx.lifespan(): yield``. One lifespan at a time: a
        second one entered while the first runs raises `InvalidInputError` (the
        first one's shutdown would refuse the second one's messages); serve one
        receiver per app.
        """
        if self._serving:
            raise InvalidInputError(
                "this SmsReceiver's lifespan is already running: one lifespan at a time"
                " (build one SmsReceiver per app you serve)"
            )
        self._serving = True
        try:
            async with self._serve():
                yield
        finally:
            self._serving = False

    @asynccontextmanager
    async def _serve(self) -> AsyncIterator[None]:
        self._closing = False
        if self._intake.verifier is None and self._intake.basic_auth is None:
            self._warn_unverified()
        async with AsyncExitStack() as stack:
            for hook in self._startup:
                await hook()
            # The store or inbox is opened before any task group is entered, so a store
            # that cannot work (a RedisStore under trio, an unusable SQLite path, a wrong
            # Redis URL) stops the start with its own error, not every delivery, and not
            # wrapped in an ExceptionGroup.
            if self._inbox is not None:
                await self._inbox.open()
                stack.push_async_callback(self._inbox.aclose)
            else:
                closer = getattr(self._store, "aclose", None)
                if callable(closer):
                    stack.push_async_callback(closer)  # a SqliteStore's file, a RedisStore's pool
                opener = getattr(self._store, "open", None)
                if callable(opener):
                    await opener()
            keeping = await stack.enter_async_context(anyio.create_task_group())
            await keeping.start(self._keeper.run)
            stack.callback(keeping.cancel_scope.cancel)  # deliveries are over by then
            if self._inbox is not None:
                workers = Workers(self._inbox, self._handlers.run)
                tasks = await stack.enter_async_context(anyio.create_task_group())
                await tasks.start(workers.run)
                self._workers = workers
            try:
                yield
            finally:
                self._closing = True
                if self._active:
                    # Inline deliveries are not cut short (that would answer 500 and
                    # cost one of IntelePeer's attempts): each ends within its handlers'
                    # timeouts, and the shutdown hooks run after them.
                    self._idle = anyio.Event()
                    with anyio.move_on_after(self._longest_delivery() + 1.0):
                        await self._idle.wait()
                    self._idle = None
                if self._workers is not None:
                    # A queued run cut short is handed back, its finished handlers
                    # recorded: nothing is lost, so deploys need not wait for it all.
                    await self._workers.stop(self._handler_timeout + 1.0)
                    self._workers = None
                for hook in self._shutdown:
                    await hook()

    def _longest_delivery(self) -> float:
        """Seconds one message's handlers may take in all, each within its timeout."""
        return self._handler_timeout * max(1, len(self._handlers))

    @property
    def app(self) -> ReceiverApp:
        """The ASGI app: ``GET /healthz`` answers 200, a POST to any other path
        takes a message (so the webhook URL's path does not matter when served).
        Plain ASGI (``receiver._asgi``): serve it, or mount it in any ASGI app.
        """
        return self._app

    def route(self, path: str) -> BaseRoute:
        """The receiver as a route of your Starlette/FastAPI app, answering at
        `path` itself as well as below it (``/sms`` and ``/sms/``: no redirect).

        ``Starlette(routes=[rx.route("/sms")])``, or for an existing app
        ``app.router.routes.append(rx.route("/sms"))``. Enter `lifespan` from
        your app's lifespan: a route gets none of its own.
        """
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidInputError("path must start with '/'")
        from ._mount import ReceiverMount  # Starlette's routing, only for those who use it

        return ReceiverMount(path, app=self.app)

    # -- one delivery ---------------------------------------------------------

    async def _receive(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A webhook POST, from the ASGI scope to the answer sent."""
        if self._closing:
            await SHUTTING_DOWN_CLOSE.send(send)
            return
        guard = self._keeper.guard()
        message: InboundSms | None = None
        status: int | None = None
        try:
            with guard.scope:
                message = await self._intake.accept(scope["headers"], receive, guard)
                logger.debug(
                    "inbound SMS %s from %r to %r: %r",
                    message.refid,
                    message.from_,
                    message.to,
                    message.message,
                )
                if not guard.expired:
                    status = await self._take(message, guard)
        except Rejected as rejected:
            await self._reject(rejected.answer, send)
            return
        except Exception as exc:
            # A verifier of the user's own raised: our side failed, so IntelePeer
            # should deliver again (and nothing ran).
            log_failure("verification", None, exc)
            await _NOT_HANDLED.send(send)
            return
        if message is None:  # the body's limit passed (the guard caught the cancellation)
            await self._reject(self._intake.too_slow, send)
            return
        if status is None:  # the body came just as its limit passed: a guard of its own
            guard = self._keeper.guard()
            with guard.scope:
                status = await self._take(message, guard)
        if status == 200:
            await ok(message.refid).send(send)
        else:
            await (_BUSY if status == 503 else _NOT_HANDLED).send(send)

    async def _reject(self, answer: Answer, send: Send) -> None:
        logger.warning("inbound SMS webhook rejected with %d: %s", answer.status, answer.reason)
        await answer.send(send)

    async def _take(self, message: InboundSms, guard: Guard) -> int:
        """200, 500 or 503 for a verified message: handled inline, or queued."""
        if self._inbox is None:
            return await self._deliver(message, guard)
        return await self._enqueue(message)

    def _enter(self) -> None:
        self._active += 1

    def _leave(self) -> None:
        self._active -= 1
        if self._active == 0 and self._idle is not None:
            self._idle.set()

    async def _enqueue(self, message: InboundSms) -> int:
        """Queued mode: 200 once `message` is in the inbox (new or a duplicate), else 500."""
        assert self._inbox is not None
        self._enter()
        try:
            new = await self._inbox.put(message)
        except Exception as exc:
            # Not kept: IntelePeer must deliver again (also when used without the lifespan).
            log_failure("inbox", message.refid, exc)
            return 500
        finally:
            self._leave()
        if new:
            logger.info("inbound SMS %s queued", message.refid)
            if self._workers is not None:
                self._workers.wake()
        else:
            logger.info("inbound SMS %s already in the inbox: not queued again", message.refid)
        return 200

    async def _deliver(self, message: InboundSms, guard: Guard) -> int:
        """200, 500 or 503 for this (verified) message, running handlers at most once."""
        refid = message.refid
        current = self._in_flight.get(refid)
        if current is not None:
            return await current.outcome()
        entry = _InFlight()
        self._in_flight[refid] = entry
        self._enter()
        status = 500
        try:
            status = await self._claim_and_run(message, guard)
        except Exception as exc:
            # The store failed (a shared store's server down, say): nothing is
            # marked handled, so IntelePeer's redelivery gets another chance.
            log_failure("message store", refid, exc)
        finally:
            entry.finish(status)
            del self._in_flight[refid]
            self._leave()
        return status

    async def _claim_and_run(self, message: InboundSms, guard: Guard) -> int:
        refid = message.refid
        lease = self._longest_delivery() + 5
        claim = await self._store.claim(refid, lease=lease)
        if claim is Claim.HANDLED:
            logger.info("inbound SMS %s already handled: not run again", refid)
            return 200
        if claim is Claim.BUSY:
            return 503
        try:
            done = await self._store.successes(refid)
            record = partial(self._store.record_success, refid)
            failed = bool(await self._handlers.run(message, done, record, guard))
            if guard.expired:  # a handler's limit passed: the guard's scope is cancelled
                with anyio.CancelScope(shield=True):
                    return await self._settle(refid, failed)
            return await self._settle(refid, failed)
        except BaseException:
            with anyio.CancelScope(shield=True):  # release even when cancelled
                await self._store.release(refid)
            raise

    async def _settle(self, refid: str, failed: bool) -> int:
        """Mark `refid` handled (200), or release it for the redelivery (500)."""
        if failed:
            await self._store.release(refid)
            return 500
        await self._store.mark_handled(refid)
        return 200

    def __repr__(self) -> str:
        return (
            f"SmsReceiver(verifier={self._intake.verifier!r}, "
            f"basic_auth={self._intake.basic_auth!r}, handlers={len(self._handlers)}"
            + ("" if self._inbox is None else f", inbox={self._inbox!r}")
            + ")"
        )
