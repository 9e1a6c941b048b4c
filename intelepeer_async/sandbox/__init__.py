"""A local simulator of the IntelePeer and Yay.com APIs: no account, no network.

    from intelepeer_async import sandbox

    async with sandbox.serve() as server:        # a real socket, in your event loop
        async with server.intelepeer_client() as ip:
            await ip.sms.send(from_="+13035550100", to="+13035550111", text="hi")

Also: `Sandbox` in-process (``sb.client()``, no socket), `create_app` for any
ASGI server, `run_in_thread` for synchronous code, the ``intelepeer_sandbox``
pytest fixture, and ``python -m intelepeer_async.sandbox`` /
``intelepeer sandbox`` on the command line. Names load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._web import SandboxError
    from .app import Sandbox, create_app
    from .config import Fault, SandboxConfig
    from .server import SandboxServer, serve
    from .threaded import ThreadedSandbox, run_in_thread
    from .transport import SandboxTransport

_EXPORTS = {
    "Fault": "config",
    "Sandbox": "app",
    "SandboxConfig": "config",
    "SandboxError": "_web",
    "SandboxServer": "server",
    "SandboxTransport": "transport",
    "ThreadedSandbox": "threaded",
    "create_app": "app",
    "run_in_thread": "threaded",
    "serve": "server",
}

__all__ = [
    "Fault",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "SandboxServer",
    "SandboxTransport",
    "ThreadedSandbox",
    "create_app",
    "run_in_thread",
    "serve",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'intelepeer_async.sandbox' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
