"""Handlers and their filters: which of the user's functions see which message."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from intelepeer_async.errors import InvalidInputError
from intelepeer_async.models.inbound import InboundSms

__all__ = ["Filters", "Handler", "HandlerRoute", "Matcher"]

Handler = Callable[[InboundSms], Awaitable[None]]
#: A predicate on the message text, or a compiled regex searched in it.
Matcher = Callable[[str], bool] | re.Pattern[str]


def _numbers(value: str | Collection[str] | None, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    numbers = frozenset(value)
    if not numbers or not all(isinstance(n, str) for n in numbers):
        raise InvalidInputError(f"{what} must be a number or a non-empty collection of numbers")
    return numbers


@dataclass(frozen=True)
class Filters:
    """A handler's filters (all optional; all given must match)."""

    to: frozenset[str] | None = None
    from_: frozenset[str] | None = None
    keyword: str | None = None
    match: Matcher | None = None

    @classmethod
    def create(
        cls,
        *,
        to: str | Collection[str] | None,
        from_: str | Collection[str] | None,
        keyword: str | None,
        match: Matcher | None,
    ) -> Filters:
        """Checked when `on_message(...)` is called, so a typo fails at import time."""
        if keyword is not None and (not isinstance(keyword, str) or len(keyword.split()) != 1):
            raise InvalidInputError("keyword must be one word (it is matched to the first word)")
        if match is not None and not (isinstance(match, re.Pattern) or callable(match)):
            raise InvalidInputError("match must be a compiled regex or a predicate on the text")
        return cls(
            to=_numbers(to, "to"),
            from_=_numbers(from_, "from_"),
            keyword=keyword.strip().upper() if keyword is not None else None,
            match=match,
        )

    def matches(self, message: InboundSms) -> bool:
        if self.to is not None and message.to not in self.to:
            return False
        if self.from_ is not None and message.from_ not in self.from_:
            return False
        if self.keyword is not None and message.keyword != self.keyword:
            return False
        if self.match is None:
            return True
        if isinstance(self.match, re.Pattern):
            return self.match.search(message.message) is not None
        return bool(self.match(message.message))


@dataclass(frozen=True)
class HandlerRoute:
    """One registered handler and its filters."""

    handler: Handler
    filters: Filters

    def __post_init__(self) -> None:
        if not inspect.iscoroutinefunction(self.handler):
            name = getattr(self.handler, "__name__", self.handler)
            raise InvalidInputError(f"handler {name!r} must be an async function")

    @property
    def name(self) -> str:
        return getattr(self.handler, "__qualname__", repr(self.handler))

    def matches(self, message: InboundSms) -> bool:
        return self.filters.matches(message)
