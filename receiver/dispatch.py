"""Handlers and their filters: which of the user's functions see which message, and
running them on one (the same way inline and in an inbox's workers).

Each handler, and each record of its success, is bounded by the handler
timeout; the bound costs nothing for a handler that returns without waiting
(``_deadline``), the common case a receiver must stay fast for.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

import anyio

from intelepeer_async.errors import InvalidInputError
from intelepeer_async.models.inbound import InboundSms, first_word

from ._guard import Guard, Timekeeper

__all__ = [
    "HELP_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "Filters",
    "Handler",
    "HandlerRoute",
    "Handlers",
    "Matcher",
    "log_failure",
    "number_key",
]

logger = logging.getLogger("intelepeer_async.receiver")

Handler = Callable[[InboundSms], Awaitable[None]]
#: A predicate on the message text, or a compiled regex searched in it.
Matcher = Callable[[str], bool] | re.Pattern[str]

#: The standard opt-out keywords (CTIA): ``keyword=OPT_OUT_KEYWORDS``.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
#: The standard help keywords.
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

_NUMBER_PUNCTUATION = str.maketrans("", "", "-().")


def number_key(number: str) -> str:
    """`number` without spaces, ``-().`` and a leading ``+``, so that filters match
    ``+13035550100``, ``13035550100`` and ``+1 (303) 555-0100`` alike."""
    return "".join(number.split()).translate(_NUMBER_PUNCTUATION).lstrip("+")


def _numbers(value: str | Collection[str] | None, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if (
        not isinstance(values, Collection)
        or not values
        or not all(isinstance(n, str) and number_key(n) for n in values)
    ):
        raise InvalidInputError(f"{what} must be a number or a non-empty collection of numbers")
    return frozenset(number_key(n) for n in values)


def _keywords(value: str | Collection[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, Collection) or isinstance(values, bytes | bytearray) or not values:
        raise InvalidInputError("keyword must be a word or a non-empty collection of words")
    keywords = set()
    for word in values:
        if not isinstance(word, str) or len(word.split()) != 1 or not first_word(word):
            raise InvalidInputError(
                f"keyword {word!r} is not one word (it is matched to the text's first word)"
            )
        keywords.add(first_word(word))
    return frozenset(keywords)


@dataclass(frozen=True)
class Filters:
    """A handler's filters (all optional; all given must match)."""

    to: frozenset[str] | None = None
    from_: frozenset[str] | None = None
    keyword: frozenset[str] | None = None
    match: Matcher | None = None

    @classmethod
    def create(
        cls,
        *,
        to: str | Collection[str] | None,
        from_: str | Collection[str] | None,
        keyword: str | Collection[str] | None,
        match: Matcher | None,
    ) -> Filters:
        """Checked when `on_message(...)` is called, so a typo fails at import time."""
        if match is not None and not (isinstance(match, re.Pattern) or callable(match)):
            raise InvalidInputError("match must be a compiled regex or a predicate on the text")
        return cls(
            to=_numbers(to, "to"),
            from_=_numbers(from_, "from_"),
            keyword=_keywords(keyword),
            match=match,
        )

    def matches(self, message: InboundSms) -> bool:
        if self.to is not None and number_key(message.to) not in self.to:
            return False
        if self.from_ is not None and number_key(message.from_) not in self.from_:
            return False
        if self.keyword is not None and message.keyword not in self.keyword:
            return False
        if self.match is None:
            return True
        if isinstance(self.match, re.Pattern):
            return self.match.search(message.message) is not None
        return bool(self.match(message.message))


@dataclass(frozen=True)
class HandlerRoute:
    """One registered handler, its filters, and the key its progress is stored under.

    The key (position and qualified name) tells handlers apart even when they
    share a name, and changes when a deploy reorders them: the one
    consequence is that a handler may run again on a redelivery, never that
    one is skipped.
    """

    handler: Handler
    filters: Filters
    key: str

    def __post_init__(self) -> None:
        if not inspect.iscoroutinefunction(self.handler):
            name = getattr(self.handler, "__name__", self.handler)
            raise InvalidInputError(f"handler {name!r} must be an async function")

    @classmethod
    def create(cls, handler: Handler, filters: Filters, position: int) -> HandlerRoute:
        module = getattr(handler, "__module__", None) or "?"
        return cls(handler, filters, f"{position}:{module}.{_name(handler)}")

    @property
    def name(self) -> str:
        return _name(self.handler)

    def matches(self, message: InboundSms) -> bool:
        return self.filters.matches(message)


def _name(handler: object) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)


def log_failure(what: str, refid: str | None, exc: BaseException) -> None:
    """The exception's type above DEBUG; its text (personal data, often) only at DEBUG."""
    logger.error("%s failed on inbound SMS %s: %s", what, refid or "-", type(exc).__name__)
    logger.debug("%s failed on inbound SMS %s", what, refid or "-", exc_info=exc)


class Handlers:
    """The registered handlers, in order, each bounded by `timeout` seconds (kept by `keeper`)."""

    def __init__(self, timeout: float, keeper: Timekeeper) -> None:
        self.timeout = timeout
        self.keeper = keeper
        self._routes: list[HandlerRoute] = []

    def __len__(self) -> int:
        return len(self._routes)

    def add(self, handler: Handler, filters: Filters) -> None:
        self._routes.append(HandlerRoute.create(handler, filters, len(self._routes)))

    async def run(
        self,
        message: InboundSms,
        done: frozenset[str],
        record: Callable[[str], Awaitable[None]],
        guard: Guard | None = None,
    ) -> list[str]:
        """Run every matching handler not in `done`, `record`ing each success by its key;
        one line per failure, naming the handler (kept with an inbox's dead letters).

        Under `guard` (entered by the caller) while none of its limits has passed;
        then, and without one, each handler under a guard of its own (shielded
        from the expired one). Check ``guard.expired`` afterwards: if set, the
        caller's own awaits need shielding from it too.
        """
        errors: list[str] = []
        ran = 0
        for route in self._routes:
            if route.key in done:
                continue
            try:
                if not route.matches(message):
                    continue
            except Exception as exc:
                log_failure(f"filter of handler {route.name}", message.refid, exc)
                errors.append(f"filter of {route.name}: {type(exc).__name__}: {exc}")
                continue
            ran += 1
            if guard is not None and not guard.expired:
                error = await self._run_one(route, message, record, guard)
            else:
                own = self.keeper.guard(shield=guard is not None)
                with own.scope:
                    error = await self._run_one(route, message, record, own)
            if error is not None:
                errors.append(error)
        if ran == 0 and not errors:
            logger.debug("inbound SMS %s matched no handler", message.refid)
        logger.info("inbound SMS %s: %d handler(s) ran, %d failed", message.refid, ran, len(errors))
        return errors

    async def _run_one(
        self,
        route: HandlerRoute,
        message: InboundSms,
        record: Callable[[str], Awaitable[None]],
        guard: Guard,
    ) -> str | None:
        """Run one handler within the timeout, then record its success; the error line, if any."""
        guard.limit(self.timeout, route)
        try:
            await route.handler(message)
        except Exception as exc:
            guard.clear()
            if isinstance(exc, TimeoutError):  # its own, counted as timing out as ever
                return self._timed_out(route, message)
            log_failure(f"handler {route.name}", message.refid, exc)
            return f"{route.name}: {type(exc).__name__}: {exc}"
        except BaseException as exc:
            guard.clear()
            if guard.expired and isinstance(exc, anyio.get_cancelled_exc_class()):
                return self._timed_out(route, message)  # the limit passed
            raise
        guard.clear()
        # Recorded the moment it succeeds, shielded, within a limit of its own: a
        # cancellation while a later handler runs must not make the redelivery run
        # this one again. A record cut off by its limit is given up.
        if guard.expired:  # the limit passed just as the handler returned
            guard = self.keeper.guard(shield=True)
            with guard.scope:
                await self._record(route, record, guard)
        else:
            await self._record(route, record, guard)
        return None

    async def _record(
        self, route: HandlerRoute, record: Callable[[str], Awaitable[None]], guard: Guard
    ) -> None:
        shielded = guard.scope.shield
        guard.scope.shield = True
        guard.limit(self.timeout, "record")
        try:
            await record(route.key)
        except BaseException as exc:
            if not (guard.expired and isinstance(exc, anyio.get_cancelled_exc_class())):
                raise
        finally:
            guard.clear()
            guard.scope.shield = shielded

    def _timed_out(self, route: HandlerRoute, message: InboundSms) -> str:
        logger.error(
            "handler %s timed out after %gs on inbound SMS %s",
            route.name,
            self.timeout,
            message.refid,
        )
        return f"{route.name}: timed out after {self.timeout:g}s"
