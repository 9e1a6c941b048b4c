"""`SmsReceiver`: the ASGI app that takes IntelePeer's inbound-SMS webhooks.

Each POST goes through, in order: method (405), shutting down (503), content
type (415), Basic auth (401), body size while streaming (413), JSON and fields
(400), signature (403), then the refid store: a handled refid answers 200 at
once, a delivery of a refid being handled right now waits for that outcome.
Only then do the matching handlers run; 200 means every one succeeded, 500
makes IntelePeer deliver again. Nothing the user wrote sees a rejected request.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from intelepeer_async.errors import InvalidInputError
from intelepeer_async.models.inbound import InboundSms

from .dispatch import Filters, Handler, HandlerRoute, Matcher
from .store import Claim, MemoryStore, MessageStore
from .verify import BasicAuth, SignatureVerifier

__all__ = ["SmsReceiver"]

logger = logging.getLogger("intelepeer_async.receiver")

DEFAULT_MAX_BODY = 64 * 1024
_JSON_TYPES = ("application/json",)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _Rejected(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


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
    `max_body_bytes` bounds the request body; `store` remembers handled refids.
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
    ) -> None:
        self._basic_auth = BasicAuth.coerce(basic_auth)
        self._verifier = verifier
        if verifier is None and self._basic_auth is None:
            if not allow_unverified:
                raise InvalidInputError(
                    "SmsReceiver needs verifier= (SharedCode/HmacSignature) or basic_auth=; "
                    "to accept unverified webhooks, say so with allow_unverified=True"
                )
            self._warn_unverified()
        if handler_timeout <= 0 or max_body_bytes <= 0:
            raise InvalidInputError("handler_timeout and max_body_bytes must be > 0")
        self._store: MessageStore = store if store is not None else MemoryStore()
        self._handler_timeout = handler_timeout
        self._max_body = max_body_bytes
        self._routes: list[HandlerRoute] = []
        self._startup: list[Callable[[], Awaitable[None]]] = []
        self._shutdown: list[Callable[[], Awaitable[None]]] = []
        self._in_flight: dict[str, _InFlight] = {}
        # Handlers that already succeeded for a refid whose other handlers failed:
        # a redelivery runs only the rest. Bounded; lost on restart.
        self._partial: OrderedDict[str, set[int]] = OrderedDict()
        self._closing = False
        self._idle = anyio.Event()
        self._idle.set()
        self._app: Starlette | None = None

    def _warn_unverified(self) -> None:
        logger.warning(
            "SmsReceiver accepts UNVERIFIED webhooks (allow_unverified=True): "
            "anyone who knows its URL can inject messages"
        )

    # -- registration ---------------------------------------------------------

    def on_message(
        self,
        *,
        to: str | Collection[str] | None = None,
        from_: str | Collection[str] | None = None,
        keyword: str | None = None,
        match: Matcher | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register an async handler; every handler whose filters all match runs, in order.

        `to`/`from_`: a number or several; `keyword`: the text's first word,
        case-insensitive; `match`: a predicate on the text, or a compiled regex
        searched in it. Handlers should be idempotent by `refid`: one that fails
        makes IntelePeer redeliver, and the redelivery re-runs the handlers that
        did not succeed the first time.
        """

        filters = Filters.create(to=to, from_=from_, keyword=keyword, match=match)

        def register(handler: Handler) -> Handler:
            self._routes.append(HandlerRoute(handler, filters))
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

        Mounted inside another app, call it from that app's lifespan:
        ``async with rx.lifespan(): yield``.
        """
        self._closing = False
        if self._verifier is None and self._basic_auth is None:
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
        """The ASGI app: ``POST /`` takes a message, ``GET /healthz`` answers 200."""
        if self._app is None:
            self._app = Starlette(
                routes=[
                    Route("/", self._receive, methods=["POST"]),
                    Route("/healthz", self._health, methods=["GET"]),
                ],
                exception_handlers={HTTPException: self._http_error},
                lifespan=self.lifespan,
            )
        return self._app

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, exc.detail, dict(exc.headers or {}))

    async def _health(self, request: Request) -> Response:
        if self._closing:
            return _error(503, "shutting down")
        return JSONResponse({"status": "ok"})

    # -- one delivery ---------------------------------------------------------

    async def _receive(self, request: Request) -> Response:
        try:
            message = await self._accept(request)
        except _Rejected as rejected:
            status = rejected.response.status_code
            logger.warning("inbound SMS webhook rejected with %d", status)
            return rejected.response
        logger.debug(
            "inbound SMS %s from %s to %s: %r",
            message.refid,
            message.from_,
            message.to,
            message.message,
        )
        status = await self._deliver(message)
        if status == 200:
            return JSONResponse({"status": "ok", "refid": message.refid})
        if status == 503:
            return _error(503, "this message is being handled by another worker")
        return _error(500, "not handled; deliver again")

    async def _accept(self, request: Request) -> InboundSms:
        """Every check before any handler: raises `_Rejected` with the answer."""
        if self._closing:
            raise _Rejected(_error(503, "shutting down"))
        content_type = request.headers.get("content-type")
        if content_type is not None:
            media = content_type.split(";", 1)[0].strip().lower()
            if media not in _JSON_TYPES and not media.endswith("+json"):
                raise _Rejected(_error(415, "content type must be application/json"))
        if self._basic_auth is not None and not self._basic_auth.verify(request.headers):
            raise _Rejected(
                _error(401, "authentication required", {"WWW-Authenticate": 'Basic realm="sms"'})
            )
        raw = await self._read_body(request)
        try:
            data = json.loads(raw)
        except ValueError:
            raise _Rejected(_error(400, "body is not valid JSON")) from None
        if not isinstance(data, dict):
            raise _Rejected(_error(400, "body must be a JSON object"))
        try:
            message = InboundSms.model_validate(data)
        except ValidationError as exc:
            fields = sorted({str(e["loc"][0]) if e["loc"] else "body" for e in exc.errors()})
            raise _Rejected(
                _error(400, f"missing or invalid field(s): {', '.join(fields)}")
            ) from None
        if self._verifier is not None and not self._verifier.verify(message):
            raise _Rejected(_error(403, "bad or missing signature"))
        return message

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body:
            raise _Rejected(_error(413, f"body over {self._max_body} bytes"))
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_body:
                # Stop reading: the rest of a huge body is never buffered.
                raise _Rejected(_error(413, f"body over {self._max_body} bytes"))
            chunks.append(chunk)
        return b"".join(chunks)

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
        except Exception:
            # The store failed (a shared store's server down, say): nothing is
            # marked handled, so IntelePeer's redelivery gets another chance.
            logger.exception("message store failed on inbound SMS %s", refid)
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
            failed = await self._run_handlers(message)
            if not failed:
                await self._store.mark_handled(refid)
        except BaseException:
            with anyio.CancelScope(shield=True):  # release even when cancelled
                await self._store.release(refid)
            raise
        if failed:
            await self._store.release(refid)
            return 500
        self._partial.pop(refid, None)
        return 200

    async def _run_handlers(self, message: InboundSms) -> int:
        """Run every matching handler not already done for this refid; count failures."""
        done = self._partial.get(message.refid, set())
        failed = 0
        ran = 0
        for index, route in enumerate(self._routes):
            if index in done:
                continue
            try:
                if not route.matches(message):
                    continue
            except Exception:
                logger.exception("filter of handler %s raised", route.name)
                failed += 1
                continue
            ran += 1
            if await self._run_one(route, message):
                done.add(index)
            else:
                failed += 1
        if ran == 0 and not failed:
            logger.debug("inbound SMS %s matched no handler", message.refid)
        if done:
            # Kept until the store has marked the refid handled, so a redelivery
            # after a failure (ours or the store's) skips what already succeeded.
            self._partial[message.refid] = done
            self._partial.move_to_end(message.refid)
            while len(self._partial) > 10_000:
                self._partial.popitem(last=False)
        logger.info("inbound SMS %s: %d handler(s) ran, %d failed", message.refid, ran, failed)
        return failed

    async def _run_one(self, route: HandlerRoute, message: InboundSms) -> bool:
        try:
            with anyio.fail_after(self._handler_timeout):
                await route.handler(message)
        except TimeoutError:
            logger.error(
                "handler %s timed out after %gs on %s",
                route.name,
                self._handler_timeout,
                message.refid,
            )
            return False
        except Exception:
            logger.exception("handler %s failed on %s", route.name, message.refid)
            return False
        return True

    def __repr__(self) -> str:
        return (
            f"SmsReceiver(verifier={self._verifier!r}, basic_auth={self._basic_auth!r}, "
            f"handlers={len(self._routes)})"
        )
