"""`VirtualClock`: the simulator's time, which tests move forward instead of sleeping.

Virtual time is the wall clock at start, plus real time elapsed times `rate`,
plus every ``advance``. With ``rate=0`` it stands still until advanced, which
makes token expiry, SMS status, provisioning and delivery back-off exactly
repeatable. Everything time-dependent in the simulator reads `now()` and
computes its state from timestamps, so nothing polls; only waiting (delivery
back-off) needs `sleep_until`, which wakes early when the clock is advanced.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import anyio

__all__ = ["LATEST", "VirtualClock", "iso"]

#: Virtual time never passes the start of year 9000: every moment derived from it
#: (a token's expiry a day on, a delivery's back-off) is still a date `iso` can write.
LATEST = datetime(9000, 1, 1, tzinfo=UTC).timestamp()


def iso(moment: float) -> str:
    """An epoch time as ISO 8601 UTC with milliseconds.

    Never raises: a moment outside the years 1-9999 (a huge configured token
    lifetime, say) is written as its epoch seconds, so a view that shows it
    still answers.
    """
    try:
        return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    except (ValueError, OverflowError, OSError):
        return f"{moment:.3f} (epoch seconds, outside the years 1-9999)"


class VirtualClock:
    """Epoch seconds that flow at `rate` and jump with `advance`."""

    def __init__(self, *, start: float | None = None, rate: float = 1.0) -> None:
        if rate < 0 or not math.isfinite(rate):
            raise ValueError("clock rate must be finite and >= 0")
        self.rate = rate
        self._start = time.time() if start is None else start
        self._real_origin = time.monotonic()
        self._offset = 0.0
        self._changed: anyio.Event | None = None

    def now(self) -> float:
        elapsed = (time.monotonic() - self._real_origin) * self.rate if self.rate else 0.0
        return self._start + self._offset + elapsed

    def advance(self, seconds: float) -> float:
        """Move time forward by `seconds` (>= 0); wakes every `sleep_until` waiter."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("advance takes a finite number of seconds >= 0")
        if self.now() + seconds > LATEST:
            raise ValueError(
                f"advance takes at most {max(LATEST - self.now(), 0):.0f} seconds here: "
                "virtual time stops at the year 9000"
            )
        self._offset += seconds
        if self._changed is not None:
            self._changed.set()
            self._changed = None
        return self.now()

    async def sleep_until(self, moment: float) -> None:
        """Return once virtual time reaches `moment` (real sleeps scale with `rate`)."""
        while True:
            remaining = moment - self.now()
            if remaining <= 0:
                return
            if self._changed is None:
                self._changed = anyio.Event()
            changed = self._changed
            real_wait = remaining / self.rate if self.rate else math.inf
            with anyio.move_on_after(real_wait):
                await changed.wait()
