"""`run_in_thread`: a served sandbox on its own event loop, driven from synchronous code.

For plain (sync) tests, scripts and tools, and for async tests whatever their
event loop: the sandbox lives in a background thread (anyio's blocking portal),
is reached over loopback at `ThreadedSandbox.url`, and every method below runs
in that thread's loop, so the world is never touched from two threads. Leaving
the ``with`` block stops the server and joins the thread.

Calling a method that waits on deliveries (`send_inbound`, `advance`, `resend`)
from an async test blocks that test's loop while it waits: if the receiver is
served by that same loop, call it via ``await anyio.to_thread.run_sync(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from .config import Fault, SandboxConfig
from .server import SandboxServer, serve

if TYPE_CHECKING:
    from ..client import AsyncIntelePeer, AsyncYay

__all__ = ["ThreadedSandbox", "run_in_thread"]

T = TypeVar("T")


class ThreadedSandbox:
    """A `SandboxServer` in another thread, with a synchronous Python API."""

    def __init__(self, portal: BlockingPortal, server: SandboxServer) -> None:
        self._portal = portal
        self._server = server

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def config(self) -> SandboxConfig:
        return self._server.config

    def _call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._portal.call(lambda: func(*args, **kwargs))

    def _await(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async def run() -> Any:
            return await func(*args, **kwargs)

        return self._portal.call(run)

    def advance(self, seconds: float) -> float:
        """Move virtual time on; returns once the deliveries it made due have run."""
        result: float = self._await(self._server.sandbox.advance, seconds)
        return result

    def now(self) -> float:
        return self._call(self._server.sandbox.now)

    def state(self) -> dict[str, Any]:
        return self._call(self._server.sandbox.state)

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        return self._call(self._server.sandbox.requests, method, path)

    def clear_requests(self) -> None:
        self._call(self._server.sandbox.clear_requests)

    def add_fault(
        self, fault: Fault | Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        return self._call(self._server.sandbox.add_fault, fault, **fields)

    def faults(self) -> list[dict[str, Any]]:
        return self._call(self._server.sandbox.faults)

    def remove_fault(self, fault_id: int) -> None:
        self._call(self._server.sandbox.remove_fault, fault_id)

    def clear_faults(self) -> None:
        self._call(self._server.sandbox.clear_faults)

    def send_inbound(
        self, from_: str, to: str, message: str, *, refid: str | None = None, wait: bool = True
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._await(
            self._server.sandbox.send_inbound, from_, to, message, refid=refid, wait=wait
        )
        return result

    def deliveries(self) -> list[dict[str, Any]]:
        return self._call(self._server.sandbox.deliveries)

    def resend(self, delivery_id: int, *, wait: bool = True) -> dict[str, Any]:
        result: dict[str, Any] = self._await(self._server.sandbox.resend, delivery_id, wait=wait)
        return result

    def intelepeer_client(self, **overrides: Any) -> AsyncIntelePeer:
        """An `AsyncIntelePeer` for the caller's event loop, logged in as the sandbox's account."""
        return self._server.intelepeer_client(**overrides)

    def yay_client(self, **overrides: Any) -> AsyncYay:
        return self._server.yay_client(**overrides)


@contextmanager
def run_in_thread(
    config: SandboxConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    backend: str = "asyncio",
) -> Iterator[ThreadedSandbox]:
    """Serve a sandbox from a background thread for the duration of the block."""
    with (
        start_blocking_portal(backend) as portal,
        portal.wrap_async_context_manager(serve(config, host=host, port=port)) as server,
    ):
        yield ThreadedSandbox(portal, server)
