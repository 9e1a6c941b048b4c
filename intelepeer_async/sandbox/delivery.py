"""Inbound SMS to webhooks, as IntelePeer does it: POST until HTTP 200, 5 attempts in all.

Each message is POSTed as seed 003's JSON (``refid``, ``from``, ``to``,
``message``, ``signature``) to the webhook of its number, with the Basic-auth
credentials of the webhook URL's userinfo as an ``Authorization`` header. Only
HTTP 200 ends the attempts ("Atmosphere Messaging expects an HTTP 200"); the
wait between attempts is `SandboxConfig.delivery_backoff`, in virtual time, so
``advance`` runs every retry that falls in the window. Every attempt (time,
status, latency, error) is kept for ``GET /_sandbox/deliveries``.

httpx is used directly here, unlike in the SDK's resources: the simulator is a
server-side world of its own, and this is its own outbound HTTP, not an SDK call.
Targets are loopback only (or ASGI apps mounted in-process) unless the sandbox
was started with ``allow_remote_delivery``; a refused target is a failed
attempt with its reason, never an exception.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

import anyio
import httpx
from anyio.abc import TaskGroup

from .._version import __version__
from ..models.inbound import InboundSms
from ._background import background
from .clock import iso
from .config import SandboxConfig
from .faults import FaultEngine
from .state import InboundMessage, World, redact_url

__all__ = ["Attempt", "Deliveries", "Delivery", "make_signer"]

logger = logging.getLogger("intelepeer_async.sandbox")

USER_AGENT = f"intelepeer-sandbox/{__version__}"
DeliveryState = Literal["pending", "in_flight", "delivered", "failed"]


def make_signer(config: SandboxConfig) -> Callable[[InboundMessage], str | None]:
    """How this sandbox fills ``signature``: the one place that knows the derivation.

    Never reimplemented here: the shared code is sent as is (what
    `receiver.SharedCode` compares), and the HMAC comes from
    `receiver.HmacSignature.sign`, given digest/encoding/template only when the
    config sets them, so the receiver's own defaults apply otherwise.
    """
    if config.signature == "none":
        return lambda message: None
    if config.signature == "shared_code":
        code = config.shared_code
        return lambda message: code
    from receiver.verify import HmacSignature

    settings = {
        name: value
        for name, value in (
            ("digest", config.hmac_digest),
            ("encoding", config.hmac_encoding),
            ("template", config.hmac_template),
        )
        if value is not None
    }
    scheme = HmacSignature(config.hmac_secret, **settings)  # raises on a bad setting
    secret = config.hmac_secret

    def sign(message: InboundMessage) -> str:
        parsed = InboundSms(
            refid=message.refid, from_=message.from_, to=message.to, message=message.text
        )
        return scheme.sign(parsed, secret)

    return sign


@dataclass
class Attempt:
    """One POST of a message: when (virtual), the status or the error, and how long."""

    number: int
    at: float
    status: int | None
    latency_ms: float
    error: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "attempt": self.number,
            "at": self.at,
            "at_iso": iso(self.at),
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "error": self.error,
        }


@dataclass
class Delivery:
    """One message on its way to one webhook; `reason` says why it exists."""

    id: int
    message: InboundMessage
    webhook: str
    due: float
    reason: str = "new"
    state: DeliveryState = "pending"
    attempts: list[Attempt] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.message.view(),
            "webhook": redact_url(self.webhook),
            "reason": self.reason,
            "state": self.state,
            "next_attempt_at": iso(self.due) if self.state == "pending" else None,
            "attempts": [a.view() for a in self.attempts],
        }


class _Refused(Exception):
    pass


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: this machine, where no proxy or remote host is."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Deliveries:
    """Every delivery, and the tasks that carry them out while `running()`."""

    def __init__(self, world: World, faults: FaultEngine) -> None:
        self.world = world
        self._faults = faults
        self._sign = make_signer(world.config)
        self._all: dict[int, Delivery] = {}
        self._next_id = 1
        self._mounted: dict[str, httpx.AsyncClient] = {}
        self._tg: TaskGroup | None = None
        self._http: httpx.AsyncClient | None = None
        self._changed: anyio.Event | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Carry out deliveries until exit (which abandons any still waiting)."""
        timeout = httpx.Timeout(self.world.config.delivery_timeout)
        async with (
            httpx.AsyncClient(timeout=timeout, trust_env=False) as http,
            background() as tg,
        ):
            self._tg, self._http = tg, http
            try:
                yield
            finally:
                tg.cancel_scope.cancel()  # no delivery may use a client being closed
                self._tg = None
                for client in self._mounted.values():
                    await client.aclose()

    @property
    def is_running(self) -> bool:
        return self._tg is not None

    def mount(self, host: str, app: Any) -> None:
        """Deliver to ``http(s)://<host>/...`` by calling the ASGI `app` in-process."""
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._mounted[host.lower()] = httpx.AsyncClient(transport=transport)

    def get(self, delivery_id: int) -> Delivery | None:
        return self._all.get(delivery_id)

    def views(self) -> list[dict[str, Any]]:
        return [d.view() for d in self._all.values()]

    def deliver(
        self, message: InboundMessage, webhook: str, *, reason: str = "new"
    ) -> list[Delivery]:
        """Start delivering `message`; delivery faults may delay it or add a duplicate."""
        now = self.world.now()
        delay, copies = 0.0, []
        for fault in self._faults.for_delivery() if reason == "new" else []:
            if fault.kind == "out_of_order":
                delay += fault.seconds or 1.0
            else:
                copies.append(fault.seconds)
        started = [self._start(message, webhook, now + delay, reason)]
        started += [self._start(message, webhook, now + delay + s, "duplicate") for s in copies]
        return started

    def _start(self, message: InboundMessage, webhook: str, due: float, reason: str) -> Delivery:
        if self._tg is None:
            raise RuntimeError("deliveries need a running sandbox (async with Sandbox(...))")
        delivery = Delivery(self._next_id, message, webhook, due, reason)
        self._next_id += 1
        self._all[delivery.id] = delivery
        while len(self._all) > self.world.config.history_limit:
            del self._all[next(iter(self._all))]
        self._tg.start_soon(self._run, delivery)
        return delivery

    async def _run(self, delivery: Delivery) -> None:
        config = self.world.config
        while True:
            await self.world.clock.sleep_until(delivery.due)
            delivery.state = "in_flight"
            self._notify()
            attempt = await self._attempt(delivery, len(delivery.attempts) + 1)
            delivery.attempts.append(attempt)
            if attempt.status == 200:
                delivery.state = "delivered"
            elif len(delivery.attempts) >= config.max_delivery_attempts:
                delivery.state = "failed"
            else:
                # The next attempt is due a back-off after this one ended, in virtual
                # time: advancing the clock past several runs them all.
                took = attempt.latency_ms / 1000 * self.world.clock.rate
                delivery.due += took + config.backoff_after(len(delivery.attempts))
                delivery.state = "pending"
            self._notify()
            logger.debug(
                "delivery %d refid %s attempt %d -> %s",
                delivery.id,
                delivery.message.refid,
                attempt.number,
                attempt.status or attempt.error,
            )
            if delivery.state != "pending":
                return

    def _target(self, webhook: str) -> tuple[str, dict[str, str], httpx.AsyncClient]:
        parts = urlsplit(webhook)
        host = (parts.hostname or "").lower()
        client = self._mounted.get(host)
        if client is None:
            if not (self.world.config.allow_remote_delivery or is_loopback_host(host)):
                raise _Refused(
                    "refused: only loopback webhooks are delivered to "
                    "(start the sandbox with allow_remote_delivery to allow others)"
                )
            client = self._http
        assert client is not None
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc)), headers, client

    def _body(self, message: InboundMessage) -> bytes:
        body: dict[str, Any] = {
            "refid": message.refid,
            "from": message.from_,
            "to": message.to,
            "message": message.text,
        }
        signature = self._sign(message)
        if signature is not None:
            body["signature"] = signature
        return json.dumps(body).encode()

    async def _attempt(self, delivery: Delivery, number: int) -> Attempt:
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            url, headers, client = self._target(delivery.webhook)
            with anyio.fail_after(self.world.config.delivery_timeout):
                response = await client.post(
                    url, content=self._body(delivery.message), headers=headers
                )
            status = response.status_code
            if status != 200:
                error = f"HTTP {status}"
        except _Refused as exc:
            error = str(exc)
        except TimeoutError:
            error = "timed out"
        except httpx.HTTPError as exc:
            # The exception's text can quote the URL; its type says enough.
            error = type(exc).__name__
        latency_ms = (time.monotonic() - started) * 1000
        return Attempt(number, delivery.due, status, latency_ms, error)

    # -- waiting, for tests and the control API -----------------------------------

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _wait(self, condition: Callable[[], bool]) -> None:
        while not condition():
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()

    async def wait_attempted(self, deliveries: list[Delivery]) -> None:
        """Wait until each of `deliveries` that is due now has made an attempt.

        Bound it with a cancel scope (``anyio.move_on_after``): a receiver may hang.
        """
        now = self.world.now
        await self._wait(lambda: all(d.attempts or d.due > now() for d in deliveries))

    async def settle(self) -> None:
        """Wait until no attempt is in flight or due at the current virtual time."""

        def idle() -> bool:
            now = self.world.now()
            return not any(
                d.state == "in_flight" or (d.state == "pending" and d.due <= now)
                for d in self._all.values()
            )

        await self._wait(idle)
