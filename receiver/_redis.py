"""What the Redis store and inbox share: the client, asyncio only, and key names.

redis-py's asyncio client runs on asyncio alone (it is built on asyncio's
streams), so the Redis parts of the receiver do too: under trio they raise
`AsyncioOnlyError` at once instead of failing somewhere inside redis-py.
redis-py is imported only when a Redis store or inbox is first used (the
``redis`` extra: ``pip install 'intelepeer-async[redis]'``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from intelepeer_async.errors import IntelePeerError, InvalidInputError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["AsyncioOnlyError", "check_url", "connect", "hide_password", "key_prefix"]

#: Seconds a Redis call (or making a connection) may take before it fails: a Redis
#: that stops answering (failover, partition, ``CLIENT PAUSE``) fails a delivery
#: with a 500 (IntelePeer delivers again) and never holds up shutting down. A URL
#: may set its own: ``redis://host/0?socket_timeout=2&socket_connect_timeout=2``.
SOCKET_TIMEOUT = 5.0


class AsyncioOnlyError(IntelePeerError, RuntimeError):
    """A Redis store or inbox was used outside asyncio (under trio, say): redis-py's
    asyncio client cannot run there. Serve with uvicorn/hypercorn on asyncio, or
    use `SqliteStore` / `SqliteInbox`, which run under both."""


def require_asyncio(what: str) -> None:
    """Raise `AsyncioOnlyError` unless called from a running asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise AsyncioOnlyError(
            f"{what} runs on asyncio only (redis-py's asyncio client); this is another event "
            "loop (trio?): serve on asyncio, or use the SQLite store/inbox"
        ) from None


def check_url(url: str) -> str:
    """`url` if it is a ``redis://``, ``rediss://`` or ``unix://`` URL; else a typed error
    that does not quote it (it may hold a password)."""
    if not isinstance(url, str):
        raise InvalidInputError("the Redis URL must be a string (redis://host:port/db)")
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("redis", "rediss", "unix"):
        raise InvalidInputError("the Redis URL must start with redis://, rediss:// or unix://")
    return url


def hide_password(url: str) -> str:
    """`url` with the password of its userinfo shown as ``***`` (for reprs and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def key_prefix(prefix: str) -> str:
    """Keys start with ``{prefix}``: the braces put them all in one Redis Cluster slot,
    so each Lua script may touch several of them."""
    if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "{} \r\n"):
        raise InvalidInputError("prefix must be a non-empty string without braces or spaces")
    return "{" + prefix + "}"


def connect(url: str, what: str) -> Redis:
    """A redis-py asyncio client for `url` (connections are made on first use).

    Its timeouts are set here, not left to redis-py's defaults (none before 6.0: a
    call would wait for ever). It never retries a call itself: a Lua script that
    timed out may have run, and every caller retries on its own terms (the
    workers' next poll, IntelePeer's redelivery), which the lease tokens and
    refids make safe."""
    require_asyncio(what)
    try:
        from redis.asyncio import Redis
    except ModuleNotFoundError:
        raise InvalidInputError(
            f"{what} needs redis-py: pip install 'intelepeer-async[redis]'"
        ) from None
    client: Redis = Redis.from_url(
        url,
        decode_responses=True,
        health_check_interval=30,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=SOCKET_TIMEOUT,
        retry=None,
    )
    return client


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
