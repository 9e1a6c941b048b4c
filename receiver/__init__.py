"""Receive IntelePeer's inbound-SMS webhooks in any ASGI server.

    from receiver import OPT_OUT_KEYWORDS, InboundSms, SharedCode, SmsReceiver

    rx = SmsReceiver(verifier=SharedCode("s3cret"))

    @rx.on_message(keyword=OPT_OUT_KEYWORDS)
    async def stop(msg: InboundSms) -> None: ...

    app = rx.app   # uvicorn module:app; or Starlette(routes=[rx.route("/sms")])

Handled refids are kept by a store (`MemoryStore`, `SqliteStore`, `RedisStore`);
queued mode (``inbox=SqliteInbox(path)`` or `RedisInbox`) answers as soon as
the message is kept durably and runs the handlers in workers. The SQLite and
Redis classes load on first use: importing ``receiver`` imports neither
sqlite3 nor redis. Never imports the client's HTTP stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from intelepeer_async.models.inbound import InboundSms

from .app import SmsReceiver
from .dispatch import HELP_KEYWORDS, OPT_OUT_KEYWORDS, Handler, Matcher
from .inbox import Inbox, InboxEntry, InboxMetrics
from .store import Claim, MemoryStore, MessageStore
from .verify import BasicAuth, HmacSignature, SharedCode, SignatureVerifier

if TYPE_CHECKING:
    from ._redis import AsyncioOnlyError
    from .inbox.redis import RedisInbox
    from .inbox.sqlite import SqliteInbox
    from .store_redis import RedisStore
    from .store_sqlite import SqliteStore

_LAZY = {
    "AsyncioOnlyError": "._redis",
    "RedisInbox": ".inbox.redis",
    "RedisStore": ".store_redis",
    "SqliteInbox": ".inbox.sqlite",
    "SqliteStore": ".store_sqlite",
}

__all__ = [
    "HELP_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "AsyncioOnlyError",
    "BasicAuth",
    "Claim",
    "Handler",
    "HmacSignature",
    "InboundSms",
    "Inbox",
    "InboxEntry",
    "InboxMetrics",
    "Matcher",
    "MemoryStore",
    "MessageStore",
    "RedisInbox",
    "RedisStore",
    "SharedCode",
    "SignatureVerifier",
    "SmsReceiver",
    "SqliteInbox",
    "SqliteStore",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'receiver' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
