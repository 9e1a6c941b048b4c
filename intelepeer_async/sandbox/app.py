"""`Sandbox`: one simulated IntelePeer + Yay.com world, its ASGI app and its Python API.

    async with Sandbox() as sb:                 # the demo account, in memory
        async with sb.intelepeer_client() as ip:   # no socket: calls the app in-process
            await ip.sms.send(from_="+13035550100", to="+13035550111", text="hi")
        await sb.advance(5)                     # virtual time: the SMS is now delivered

Everything the control API (``/_sandbox/*``) can do is a method here too.
`create_app` gives the bare ASGI app for any server (its lifespan starts the
sandbox); `serve` (in `server`) serves it on a real socket in your event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio

from ..types import is_e164, is_short_code
from . import agents, auth, control, messaging, smartflows, yay
from ._web import SandboxError
from .asgi import SandboxApp
from .clock import VirtualClock, iso
from .config import Fault, SandboxConfig
from .delivery import Deliveries, Delivery
from .faults import FaultEngine, RequestLog
from .state import InboundMessage, World, new_refid

if TYPE_CHECKING:
    import httpx

    from ..client import AsyncIntelePeer, AsyncYay
    from .transport import SandboxTransport

__all__ = ["Sandbox", "create_app", "intelepeer_client_for", "yay_client_for"]

#: The base URL of a sandbox reached in-process (no DNS, no socket: any host works).
IN_PROCESS_URL = "http://sandbox.test"


def intelepeer_client_for(config: SandboxConfig, url: str, **overrides: Any) -> AsyncIntelePeer:
    """An `AsyncIntelePeer` logged in as the sandbox's account, every service at `url`."""
    from ..client import AsyncIntelePeer

    options: dict[str, Any] = {
        "username": config.username,
        "password": config.password,
        "customer_id": config.customer_id,
        "base_url": url,
        **overrides,
    }
    return AsyncIntelePeer(**options)


def yay_client_for(config: SandboxConfig, url: str, **overrides: Any) -> AsyncYay:
    """An `AsyncYay` with the sandbox's reseller credentials, at `url`."""
    from ..client import AsyncYay

    options: dict[str, Any] = {
        "reseller": config.yay_reseller,
        "user": config.yay_user,
        "password": config.yay_password,
        "base_url": url,
        **overrides,
    }
    return AsyncYay(**options)


class Sandbox:
    """A simulated account: state, virtual clock, faults, request log and deliveries.

    API calls work at any time; inbound deliveries need it running
    (``async with sandbox:``, or the app's lifespan under a server), since
    their retries are tasks in your event loop. Not thread-safe: use it from
    the loop that runs it (`run_in_thread` wraps it for other threads).
    """

    url = IN_PROCESS_URL

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config if config is not None else SandboxConfig()
        self.clock = VirtualClock(start=self.config.clock_start, rate=self.config.clock_rate)
        self.world = World(self.config, self.clock)
        self.fault_engine = FaultEngine(self.config.faults, seed=self.config.seed)
        self.log = RequestLog(self.config.history_limit)
        self._deliveries = Deliveries(self.world, self.fault_engine)
        vendor = [
            *auth.routes(self.world),
            *smartflows.routes(self.world),
            *messaging.routes(self.world),
            *agents.routes(self.world),
            *yay.routes(self.world),
        ]
        self.app = SandboxApp(self, vendor, control.routes(self))
        self._stack: AsyncExitStack | None = None
        self._http: httpx.AsyncClient | None = None

    # -- lifetime --------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._stack is not None

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("this Sandbox is already running")
        stack = AsyncExitStack()
        await stack.enter_async_context(self._deliveries.running())
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if stack is not None:
            await stack.aclose()

    # -- time ------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def clock_view(self) -> dict[str, Any]:
        now = self.now()
        return {"now": now, "now_iso": iso(now), "rate": self.clock.rate}

    async def advance(self, seconds: float) -> float:
        """Move virtual time on; returns once the deliveries it made due have run."""
        try:
            seconds = float(seconds)
        except (TypeError, ValueError, OverflowError):
            raise SandboxError(400, "advance takes a finite number of seconds >= 0") from None
        try:
            now = self.clock.advance(seconds)
        except ValueError as exc:
            raise SandboxError(400, str(exc)) from None
        if self.running:
            c = self.config
            with anyio.move_on_after(c.delivery_timeout * c.max_delivery_attempts + 1):
                await self._deliveries.settle()
        return now

    # -- looking -----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The whole world (``GET /_sandbox/state``), with deliveries and faults."""
        return {
            **self.world.snapshot(),
            "deliveries": self.deliveries(),
            "faults": self.faults(),
        }

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Vendor-API requests received, oldest first; `path` is a glob (``/voip/*``)."""
        return self.log.views(method, path)

    def clear_requests(self) -> None:
        self.log.clear()

    # -- faults ----------------------------------------------------------------------

    def add_fault(
        self, fault: Fault | Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Add a fault (a `Fault`, a dict, or its fields as keywords); returns it with its id."""
        spec = fault if isinstance(fault, Fault) else {**(fault or {}), **fields}
        return self.add_faults([spec])[0]

    def add_faults(self, faults: Sequence[Fault | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add several faults, all or none: every one is checked before any is added."""
        specs: list[Fault] = []
        for index, fault in enumerate(faults, start=1):
            try:
                specs.append(fault if isinstance(fault, Fault) else Fault.model_validate(fault))
            except ValueError as exc:
                which = f"fault {index}" if len(faults) > 1 else "fault"
                raise SandboxError(400, f"invalid {which}: {_first_error(exc)}") from None
        return [self.fault_engine.add(spec).view() for spec in specs]

    def faults(self) -> list[dict[str, Any]]:
        return self.fault_engine.views()

    def remove_fault(self, fault_id: int) -> None:
        if not self.fault_engine.remove(fault_id):
            raise SandboxError(404, f"no fault {fault_id}")

    def clear_faults(self) -> None:
        self.fault_engine.clear()

    # -- inbound ---------------------------------------------------------------------

    def mount(self, host: str, app: Any) -> None:
        """Deliver webhooks for `host` to the ASGI `app` in-process (no socket)."""
        self._deliveries.mount(host, app)

    async def send_inbound(
        self,
        from_: str,
        to: str,
        message: str,
        *,
        refid: str | None = None,
        wait: bool = True,
    ) -> dict[str, Any]:
        """An SMS arrives on `to` from `from_`: deliver it to `to`'s webhook.

        Returns the message and its deliveries; with `wait`, after the first
        attempt of each (so its outcome is in the answer). A fresh 32-character
        refid unless `refid` is given.
        """
        if not (is_e164(from_) or is_short_code(from_)):
            raise SandboxError(400, "from must be an E.164 number or a short code")
        if not isinstance(message, str):
            raise SandboxError(400, "message must be a string")
        if refid is not None and (not isinstance(refid, str) or not 0 < len(refid) <= 64):
            raise SandboxError(400, "refid must be a string of 1 to 64 characters")
        number = self.world.numbers.get(to) if isinstance(to, str) else None
        if number is None:
            raise SandboxError(404, "to is not a number on the account")
        if not self.world.sms_ready(number):
            raise SandboxError(409, "to does not have SMS enabled")
        if number.webhook is None:
            raise SandboxError(409, "to has no webhook: set one first (sms.webhooks.set)")
        if not self._deliveries.is_running:
            raise SandboxError(503, "deliveries need a running sandbox: serve it, or async with")
        inbound = InboundMessage(refid or new_refid(), from_, to, message, self.now())
        self.world.add_inbound(inbound)
        started = self._deliveries.deliver(inbound, number.webhook)
        await self._wait_attempted(started, wait)
        return {"message": inbound.view(), "deliveries": [d.view() for d in started]}

    def deliveries(self) -> list[dict[str, Any]]:
        return self._deliveries.views()

    def delivery(self, delivery_id: int) -> dict[str, Any]:
        found = self._deliveries.get(delivery_id)
        if found is None:
            raise SandboxError(404, f"no delivery {delivery_id}")
        return found.view()

    async def resend(self, delivery_id: int, *, wait: bool = True) -> dict[str, Any]:
        """Deliver that delivery's message again (same refid) as a new delivery,
        to the number's webhook as it is now."""
        found = self._deliveries.get(delivery_id)
        if found is None:
            raise SandboxError(404, f"no delivery {delivery_id}")
        number = self.world.numbers[found.message.to]
        webhook = number.webhook or found.webhook
        if not self._deliveries.is_running:
            raise SandboxError(503, "deliveries need a running sandbox: serve it, or async with")
        started = self._deliveries.deliver(
            found.message, webhook, reason=f"resend of {delivery_id}"
        )
        await self._wait_attempted(started, wait)
        return started[0].view()

    async def _wait_attempted(self, started: list[Delivery], wait: bool) -> None:
        if wait:
            with anyio.move_on_after(self.config.delivery_timeout + 1):
                await self._deliveries.wait_attempted(started)

    # -- in-process clients ---------------------------------------------------------

    def transport(self) -> SandboxTransport:
        """An httpx transport that calls this sandbox's app directly (no socket)."""
        from .transport import SandboxTransport

        return SandboxTransport(self.app)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An `httpx.AsyncClient` on this sandbox, in-process; yours to close.

        Pass it as ``AsyncIntelePeer(..., base_url=sb.url, http_client=...)``.
        """
        import httpx

        return httpx.AsyncClient(transport=self.transport(), base_url=self.url, **kwargs)

    def _shared_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self.client()
        return self._http

    def intelepeer_client(self, **overrides: Any) -> AsyncIntelePeer:
        """An `AsyncIntelePeer` logged in as this sandbox's account, in-process."""
        overrides.setdefault("http_client", self._shared_client())
        return intelepeer_client_for(self.config, self.url, **overrides)

    def yay_client(self, **overrides: Any) -> AsyncYay:
        """An `AsyncYay` with this sandbox's reseller credentials, in-process."""
        overrides.setdefault("http_client", self._shared_client())
        return yay_client_for(self.config, self.url, **overrides)


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(map(str, first['loc'])) or 'fault'}: {first['msg']}"
    return str(exc)


def create_app(config: SandboxConfig | None = None) -> SandboxApp:
    """The simulator as an ASGI app for any server; its lifespan runs the deliveries.

    ``uvicorn`` works (``lifespan="on"``), but cannot cut connections, so drop
    faults answer 503/502 there instead (see `SandboxApp`); `serve` can.
    """
    return Sandbox(config).app
