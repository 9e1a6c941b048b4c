"""`RedisStore`: the refid memory in Redis, shared by every replica of the receiver.

Same five calls as `MemoryStore`, for inline mode. A claim is one Lua script
(handled? else ``SET NX PX``), so of all the replicas exactly one gets
`Claim.CLAIMED`; the claim key expires after its lease, so the message of a
replica killed mid-handler is run again when IntelePeer redelivers it.
Asyncio only (redis-py): under trio it raises `AsyncioOnlyError`.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from ._redis import as_str, check_url, connect, hide_password, key_prefix, require_asyncio
from .store import DEFAULT_TTL, Claim

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisStore"]

# KEYS: handled, claim. ARGV: token, lease ms. 1 claimed, 0 handled, -1 busy.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return -1
"""
# KEYS: claim. ARGV: token. Drops the claim only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_CLAIMS = {1: Claim.CLAIMED, 0: Claim.HANDLED, -1: Claim.BUSY}


class RedisStore:
    """A `MessageStore` in the Redis at `url`, under keys starting ``{prefix}:``.

    Handled refids are remembered `ttl` seconds (48 h); so are handler
    successes. Asyncio only. Opened by the receiver's lifespan, or ``async with``.
    """

    def __init__(
        self, url: str, *, prefix: str = "intelepeer:store", ttl: float = DEFAULT_TTL
    ) -> None:
        if ttl < 24 * 3600:
            raise ValueError("ttl must cover at least 24 hours of redeliveries")
        self._url = check_url(url)
        self._prefix = key_prefix(prefix)
        self._ttl_ms = int(ttl * 1000)
        # Marks this process's claims, so a release never drops another replica's.
        self._token = secrets.token_hex(8)
        self._redis: Redis | None = None

    def __repr__(self) -> str:
        return f"RedisStore({hide_password(self._url)!r}, prefix={self._prefix!r})"

    async def open(self) -> None:
        """Connect and PING: a wrong URL or password, or a Redis that is down, stops
        the receiver's start (under trio: `AsyncioOnlyError`)."""
        await self._client().ping()

    async def aclose(self) -> None:
        client, self._redis = self._redis, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> RedisStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _client(self) -> Redis:
        require_asyncio("RedisStore")
        if self._redis is None:
            self._redis = connect(self._url, "RedisStore")
        return self._redis

    def _key(self, kind: str, refid: str) -> str:
        return f"{self._prefix}:{kind}:{refid}"

    async def claim(self, refid: str, *, lease: float) -> Claim:
        keys = [self._key("handled", refid), self._key("claim", refid)]
        lease_ms = max(1, int(lease * 1000))
        answer = await self._client().eval(_CLAIM, 2, *keys, self._token, lease_ms)
        return _CLAIMS[int(answer)]

    async def mark_handled(self, refid: str) -> None:
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.set(self._key("handled", refid), 1, px=self._ttl_ms)
            pipe.delete(self._key("claim", refid), self._key("ok", refid))
            await pipe.execute()

    async def release(self, refid: str) -> None:
        await self._client().eval(_RELEASE, 1, self._key("claim", refid), self._token)

    async def record_success(self, refid: str, handler: str) -> None:
        key = self._key("ok", refid)
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.sadd(key, handler)
            pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()

    async def successes(self, refid: str) -> frozenset[str]:
        members = await self._client().smembers(self._key("ok", refid))
        return frozenset(as_str(m) for m in members)
