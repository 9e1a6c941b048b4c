"""The retry policy, as pure functions of what happened to one attempt.

Kept free of I/O so every branch can be tested exhaustively. The rule that
matters most: a call that may have taken effect (send an SMS, trigger a flow)
is retried only when the server provably never processed it: the connection
was never made, or the server refused with 429/503 before doing anything.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .errors import REFUSED_BEFORE_PROCESSING, InvalidInputError

__all__ = [
    "Failure",
    "RetryPolicy",
    "backoff_delay",
    "parse_retry_after",
    "should_retry",
]


class Failure(enum.Enum):
    """How an attempt failed without an HTTP status."""

    #: The request never left: connection refused, DNS failure, connect or pool timeout.
    NOT_SENT = "not_sent"
    #: The request may have reached the server: read/write timeout, reset, broken response.
    MAYBE_SENT = "maybe_sent"


# Statuses that say "try again" for a call that is safe to repeat.
_RETRYABLE_IDEMPOTENT = frozenset({408, 429})
# Statuses that say the server refused *before* processing: safe even for POST.
_REFUSED_BEFORE_PROCESSING = REFUSED_BEFORE_PROCESSING


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off settings. `max_retries` counts retries, not attempts (2 -> 3 attempts)."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    #: A server's Retry-After is honoured up to this many seconds, never more.
    max_retry_after: float = 60.0
    #: Fraction of each delay taken off at random, so clients do not retry in lockstep.
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise InvalidInputError("max_retries must be a whole number >= 0")


def should_retry(
    outcome: int | Failure,
    *,
    idempotent: bool,
    retries_done: int,
    max_retries: int,
) -> bool:
    """Whether to send the request again after `outcome` (an HTTP status or a `Failure`)."""
    if retries_done >= max_retries:
        return False
    if outcome is Failure.NOT_SENT:
        return True
    if outcome is Failure.MAYBE_SENT:
        return idempotent
    if idempotent:
        return outcome in _RETRYABLE_IDEMPOTENT or outcome >= 500
    return outcome in _REFUSED_BEFORE_PROCESSING


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from `Retry-After-Ms` or `Retry-After`.

    `Retry-After` may be delta-seconds or an HTTP date (RFC 9110 10.2.3). Returns
    None when absent or unparseable, and never a negative number.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        seconds = _finite(millis)
        if seconds is not None:
            return max(0.0, seconds / 1000.0)
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def _finite(text: str) -> float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def backoff_delay(
    retries_done: int,
    *,
    policy: RetryPolicy,
    retry_after: float | None,
    random_fraction: float,
) -> float:
    """Seconds to wait before retry number `retries_done + 1`.

    A server's `retry_after` wins (capped at `policy.max_retry_after`); otherwise
    exponential back-off from `initial_delay`, capped at `max_delay`, minus up
    to `jitter` of it. `random_fraction` is in [0, 1): passed in to stay pure.
    """
    if retry_after is not None:
        return min(retry_after, policy.max_retry_after)
    delay = min(policy.max_delay, policy.initial_delay * (2.0**retries_done))
    return delay * (1.0 - policy.jitter * random_fraction)
