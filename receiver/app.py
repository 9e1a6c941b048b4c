"""`SmsReceiver`: the ASGI app that takes IntelePeer's inbound-SMS webhooks.

Each POST (to any path but ``/healthz``) first goes through `Intake`: shutting
down (503), content type (415), Basic auth (401), body size and read deadline
(413, 408), JSON and fields (400), signature (403). Then the refid store: a
handled refid answers 200 at once, a delivery of a refid being handled right
now waits for that outcome. Only then do the matching handlers run; 200 means
every one succeeded, 500 makes IntelePeer deliver again. Nothing the user wrote
sees a rejected request, and every request ends in a documented status with a
short JSON body.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from intelepeer_async.errors import InvalidInputError
from intelepeer_async.models.inbound import InboundSms

from ._intake import Intake, Rejected, error_response
from ._mount import ReceiverMount
from .dispatch import Filters, Handler, HandlerRoute, Matcher
from .store import Claim, MemoryStore, MessageStore
from .verify import BasicAuth, SignatureVerifier

__all__ = ["SmsReceiver"]

logger = logging.getLogger("intelepeer_async.receiver")

DEFAULT_MAX_BODY = 64 * 1024
#: IntelePeer's bodies are under 1 KB: a few seconds is generous, and bounds how
#: long a client that never finishes its body holds a connection (and a deploy).
DEFAULT_BODY_TIMEOUT = 5.0
_STORE_METHODS = ("claim", "mark_handled", "release", "record_success", "successes")


def _log_failure(what: str, refid: str | None, exc: BaseException) -> None:
    """The exception's type above DEBUG; its text (personal data, often) only at DEBUG."""
    logger.error("%s failed on inbound SMS %s: %s", what, refid or "-", type(exc).__name__)
    logger.debug("%s failed on inbound SMS %s", what, refid or "-", exc_info=exc)


@dataclass
class _InFlight:
    """A refid being handled now; later deliveries wait for its outcome."""

    done: anyio.Event = field(default_factory=anyio.Event)
    status: int = 500


class SmsReceiver:
    """Receives IntelePeer's inbound SMS and hands each one to your async handlers.

    `verifier` checks the body's ``signature`` (`SharedCode`, `HmacSignature`);
    `basic_auth` the ``Authorization: Basic`` header that IntelePeer sends when
    the webhook URL embeds credentials (a pair, or several for rotation). With
    neither, pass ``allow_unverified=True``: anyone could then post messages.
    `handler_timeout` bounds each handler (a slow one counts as failed);
    `max_body_bytes` bounds the request body and `body_timeout` the time to
    receive it; `store` remembers handled refids and each handler's success.
    """

    def __init__(
        self,
        *,
        verifier: SignatureVerifier | None = None,
        basic_auth: BasicAuth | tuple[str, str] | Iterable[tuple[str, str]] | None = None,
        allow_unverified: bool = False,
        store: MessageStore | None = None,
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
        self._handler_timeout = float(handler_timeout)
        self._routes: list[HandlerRoute] = []
        self._startup: list[Callable[[], Awaitable[None]]] = []
        self._shutdown: list[Callable[[], Awaitable[None]]] = []
        self._in_flight: dict[str, _InFlight] = {}
        self._closing = False
        self._idle = anyio.Event()
        self._idle.set()
        self._app: Starlette | None = None

    def _warn_unverified(self) -> None:
        logger.warning(
            "SmsReceiver accepts UNVERIFIED webhooks (allow_unverified=True): "
            "anyone who knows its URL can inject messages"
        )

    @property
    def handler_timeout(self) -> float:
        """Seconds each handler may run; give a reply sent from a handler a smaller budget."""
        return self._handler_timeout

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
            self._routes.append(HandlerRoute.create(handler, filters, len(self._routes)))
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
        ones finish (bounded by `handler_timeout`), then shutdown hooks.

        Added to another app (`route`, or mounted), call it from that app's
        lifespan: ``async with rx.lifespan(): yield``.
        """
        self._closing = False
        if self._intake.verifier is None and self._intake.basic_auth is None:
            self._warn_unverified()
        for hook in self._startup:
            await hook()
        try:
            yield
        finally:
            self._closing = True
            with anyio.move_on_after(self._handler_timeout + 1.0):
                await self._idle.wait()
            for hook in self._shutdown:
                await hook()

    @property
    def app(self) -> Starlette:
        """The ASGI app: ``GET /healthz`` answers 200, a POST to any other path
        takes a message (so the webhook URL's path does not matter when served).
        """
        if self._app is None:
            self._app = Starlette(
                routes=[
                    # POST too, so that it is refused here rather than taken as a message.
                    Route("/healthz", self._health, methods=["GET", "POST"]),
                    Route("/{path:path}", self._receive, methods=["POST"]),
                ],
                exception_handlers={HTTPException: self._http_error},
                lifespan=self.lifespan,
            )
            self._app.router.redirect_slashes = False
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
        return ReceiverMount(path, app=self.app)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        # Only 405 gets here (every path has a route); its body is never read.
        return error_response(exc.status_code, exc.detail, close=True, headers=exc.headers)

    async def _health(self, request: Request) -> Response:
        # The body of a health check is never read: if there is one, close
        # rather than let the server read it all (it could be huge).
        headers = request.headers
        close = "transfer-encoding" in headers or headers.get("content-length", "0") != "0"
        if request.method == "POST":
            return error_response(405, "Method Not Allowed", close=True, headers={"Allow": "GET"})
        if self._closing:
            return error_response(503, "shutting down", close=close)
        return JSONResponse({"status": "ok"}, headers={"Connection": "close"} if close else None)

    # -- one delivery ---------------------------------------------------------

    async def _receive(self, request: Request) -> Response:
        try:
            if self._closing:
                raise Rejected(503, "shutting down", close=True)
            message = await self._intake.accept(request)
        except Rejected as rejected:
            logger.warning(
                "inbound SMS webhook rejected with %d: %s", rejected.status, rejected.message
            )
            return rejected.response()
        except Exception as exc:
            # A verifier of the user's own raised: our side failed, so IntelePeer
            # should deliver again (and nothing ran).
            _log_failure("verification", None, exc)
            return error_response(500, "not handled; deliver again")
        logger.debug(
            "inbound SMS %s from %r to %r: %r",
            message.refid,
            message.from_,
            message.to,
            message.message,
        )
        status = await self._deliver(message)
        if status == 200:
            return JSONResponse({"status": "ok", "refid": message.refid})
        if status == 503:
            return error_response(503, "this message is being handled by another worker")
        return error_response(500, "not handled; deliver again")

    async def _deliver(self, message: InboundSms) -> int:
        """200, 500 or 503 for this (verified) message, running handlers at most once."""
        refid = message.refid
        current = self._in_flight.get(refid)
        if current is not None:
            await current.done.wait()
            return current.status
        entry = _InFlight()
        self._in_flight[refid] = entry
        self._idle = anyio.Event() if self._idle.is_set() else self._idle
        try:
            entry.status = await self._claim_and_run(message)
        except Exception as exc:
            # The store failed (a shared store's server down, say): nothing is
            # marked handled, so IntelePeer's redelivery gets another chance.
            _log_failure("message store", refid, exc)
            entry.status = 500
        finally:
            entry.done.set()
            del self._in_flight[refid]
            if not self._in_flight:
                self._idle.set()
        return entry.status

    async def _claim_and_run(self, message: InboundSms) -> int:
        refid = message.refid
        claim = await self._store.claim(refid, lease=self._handler_timeout * len(self._routes) + 5)
        if claim is Claim.HANDLED:
            logger.info("inbound SMS %s already handled: not run again", refid)
            return 200
        if claim is Claim.BUSY:
            return 503
        try:
            failed = await self._run_handlers(message, await self._store.successes(refid))
            if not failed:
                await self._store.mark_handled(refid)
        except BaseException:
            with anyio.CancelScope(shield=True):  # release even when cancelled
                await self._store.release(refid)
            raise
        if failed:
            await self._store.release(refid)
            return 500
        return 200

    async def _run_handlers(self, message: InboundSms, done: frozenset[str]) -> int:
        """Run every matching handler not already done for this refid; count failures."""
        failed = 0
        ran = 0
        for route in self._routes:
            if route.key in done:
                continue
            try:
                if not route.matches(message):
                    continue
            except Exception as exc:
                _log_failure(f"filter of handler {route.name}", message.refid, exc)
                failed += 1
                continue
            ran += 1
            if await self._run_one(route, message):
                # Recorded the moment it succeeds: a cancellation while a later
                # handler runs must not make the redelivery run this one again.
                with anyio.move_on_after(self._handler_timeout, shield=True):
                    await self._store.record_success(message.refid, route.key)
            else:
                failed += 1
        if ran == 0 and not failed:
            logger.debug("inbound SMS %s matched no handler", message.refid)
        logger.info("inbound SMS %s: %d handler(s) ran, %d failed", message.refid, ran, failed)
        return failed

    async def _run_one(self, route: HandlerRoute, message: InboundSms) -> bool:
        try:
            with anyio.fail_after(self._handler_timeout):
                await route.handler(message)
        except TimeoutError:
            logger.error(
                "handler %s timed out after %gs on inbound SMS %s",
                route.name,
                self._handler_timeout,
                message.refid,
            )
            return False
        except Exception as exc:
            _log_failure(f"handler {route.name}", message.refid, exc)
            return False
        return True

    def __repr__(self) -> str:
        return (
            f"SmsReceiver(verifier={self._intake.verifier!r}, "
            f"basic_auth={self._intake.basic_auth!r}, handlers={len(self._routes)})"
        )
