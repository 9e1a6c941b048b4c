"""Fault injection and the request log.

`FaultEngine` decides, request by request, which configured `Fault` fires: a
seeded RNG draws the probabilities (the same run gives the same faults) and
``times`` counts down the next N matching events. `RequestLog` keeps every
vendor-API request received, with the fault applied and whether it was
processed, so a test can count exactly how many SMS were sent.
"""

from __future__ import annotations

import fnmatch
import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .clock import iso
from .config import DELIVERY_FAULTS, Fault
from .state import mask_url_passwords

__all__ = ["ActiveFault", "Decision", "FaultEngine", "RequestLog", "RequestRecord", "redact"]


@dataclass
class ActiveFault:
    """A fault in force: its spec, id and how often it has fired."""

    id: int
    spec: Fault
    fired: int = 0

    @property
    def spent(self) -> bool:
        return self.spec.times is not None and self.fired >= self.spec.times

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "fired": self.fired, **self.spec.model_dump()}


@dataclass
class Decision:
    """What to do to one request: wait `latency` seconds, then `action` (if any)."""

    latency: float = 0.0
    action: Fault | None = None


class FaultEngine:
    """The faults in force and a seeded RNG to draw their probabilities."""

    def __init__(self, faults: Iterable[Fault] = (), *, seed: int = 0) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - repeatable faults, not secrets
        self._faults: list[ActiveFault] = []
        self._next_id = 1
        for spec in faults:
            self.add(spec)

    def add(self, spec: Fault) -> ActiveFault:
        active = ActiveFault(self._next_id, spec)
        self._next_id += 1
        self._faults.append(active)
        return active

    def remove(self, fault_id: int) -> bool:
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.id != fault_id]
        return len(self._faults) != before

    def clear(self) -> None:
        self._faults.clear()

    def views(self) -> list[dict[str, Any]]:
        return [f.view() for f in self._faults]

    def _fires(self, fault: ActiveFault) -> bool:
        if fault.spent:
            return False
        probability = fault.spec.probability
        if probability < 1.0 and self._rng.random() >= probability:
            return False
        fault.fired += 1
        return True

    def for_request(self, method: str, path: str) -> Decision:
        """Latency of every firing latency fault, then the first other fault that fires."""
        decision = Decision()
        for fault in self._faults:
            spec = fault.spec
            if spec.kind in DELIVERY_FAULTS:
                continue
            if decision.action is not None and spec.kind != "latency":
                continue  # one action per request; later ones keep their `times`
            if spec.method not in ("*", method) or not fnmatch.fnmatchcase(path, spec.path):
                continue
            if not self._fires(fault):
                continue
            if spec.kind == "latency":
                decision.latency += spec.seconds
            else:
                decision.action = spec
        self._faults = [f for f in self._faults if not f.spent]
        return decision

    def for_delivery(self) -> list[Fault]:
        """The delivery faults (duplicate, out_of_order) that fire for one new message."""
        fired = [f.spec for f in self._faults if f.spec.kind in DELIVERY_FAULTS and self._fires(f)]
        self._faults = [f for f in self._faults if not f.spent]
        return fired


_SECRET_KEYS = frozenset({"password", "token", "secret", "signature"})
_LONGEST_LOGGED = 4096


def redact(value: Any) -> Any:
    """A request body fit for the log: secrets masked, very long strings summarised.

    Secrets are found by key (``password``, ``token``, ...) and, in any string,
    as the password of a URL (a webhook's Basic-auth credentials).
    """
    if isinstance(value, dict):
        return {
            k: "********" if str(k).lower() in _SECRET_KEYS else redact(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        if len(value) > _LONGEST_LOGGED:
            return f"<{len(value)} characters>"
        return mask_url_passwords(value)
    return value


@dataclass
class RequestRecord:
    """One vendor-API request as the simulator saw it."""

    id: int
    at: float
    method: str
    path: str
    query: str
    body: Any = None
    status: int | None = None
    fault: str | None = None
    processed: bool = False
    dropped: bool = False
    note: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "at_iso": iso(self.at),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "status": self.status,
            "fault": self.fault,
            "processed": self.processed,
            "dropped": self.dropped,
            "note": self.note,
        }


class RequestLog:
    """The last `limit` vendor-API requests, oldest first."""

    def __init__(self, limit: int) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=limit)
        self._next_id = 1

    def start(self, at: float, method: str, path: str, query: str) -> RequestRecord:
        record = RequestRecord(self._next_id, at, method, path, query)
        self._next_id += 1
        self._records.append(record)
        return record

    def clear(self) -> None:
        self._records.clear()

    def views(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Records matching `method` and the glob `path` (both optional)."""
        return [
            r.view()
            for r in self._records
            if (method is None or r.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(r.path, path))
        ]
