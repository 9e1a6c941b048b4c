"""`RedisInbox`: the queued mode on Redis Streams, shared by every replica.

Taking a message in is one Lua script: the refid's hash (the dedup key) and
the ``XADD`` happen together or not at all, before the 200. Workers of every
replica read the stream as one consumer group; a worker renews its lease
(``XCLAIM ... JUSTID`` resets the entry's idle time) while the handlers run,
so only the entries of a replica that stopped renewing (killed, frozen) go
idle long enough for ``XAUTOCLAIM`` to hand them to another worker. Each take
writes a token of its own in the message's hash; renewals and outcomes need
it, so a worker whose lease was taken over changes nothing. A failed
run is acked off the stream and parked in a sorted set until its back-off
ends; after `max_attempts` it becomes a dead letter. The scripts are in
`_redis_scripts`.

Asyncio only (redis-py's asyncio client): under trio, `AsyncioOnlyError`.
Durable as your Redis is: with ``appendonly yes`` and ``appendfsync
always`` a message taken in survives a crash of Redis itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Unpack

from intelepeer_async.models.inbound import InboundSms

from .._redis import as_str, check_url, connect, hide_password, key_prefix, require_asyncio
from . import _redis_scripts as lua
from ._base import (
    Claimed,
    FailOutcome,
    InboxEntry,
    InboxMetrics,
    InboxSettings,
    SettingsArgs,
    lease_token,
    message_body,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["RedisInbox"]

GROUP = "workers"
_SCRIPTS = (
    "PUT",
    "PROMOTE",
    "BEGIN",
    "RENEW",
    "RECORD",
    "ACK",
    "FAIL",
    "RELEASE",
    "REPLAY",
    "PURGE",
    "IN_FLIGHT",
)
#: A consumer idle this long with nothing pending is removed from the group.
_CONSUMER_IDLE_MS = 3600 * 1000


def _entry(refid: str, fields: dict[str, str]) -> InboxEntry:
    state = fields.get("state", "pending")
    body = fields.get("body")

    def number(name: str) -> float | None:
        value = fields.get(name)
        return None if value is None else float(value)

    return InboxEntry(
        refid=refid,
        state=state if state in ("pending", "handled", "dead") else "pending",  # type: ignore[arg-type]
        attempts=int(fields.get("attempts", 0)),
        received_at=float(fields.get("received_at", 0)),
        last_error=fields.get("last_error"),
        finished_at=number("finished_at"),
        next_attempt_at=number("next_attempt_at") if state == "pending" else None,
        message=None if body is None else InboundSms.model_validate_json(body),
    )


def _lease(claimed: Claimed) -> tuple[str, str, str]:
    """(consumer, nonce, entry id) of a claim's token (the consumer may hold spaces)."""
    consumer, nonce, entry_id = claimed.token.rsplit(" ", 2)
    return consumer, nonce, entry_id


class RedisInbox:
    """Queued mode in the Redis (>= 6.2) at `url`, under keys starting ``{prefix}:``.

    ``SmsReceiver(..., inbox=RedisInbox("redis://localhost:6379/0"))``; every
    replica given the same URL and prefix shares the queue. The keyword
    arguments are `InboxSettings`. Asyncio only.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "intelepeer:inbox",
        clock: Callable[[], float] = time.time,
        **settings: Unpack[SettingsArgs],
    ) -> None:
        self.settings = InboxSettings(**settings)
        self._url = check_url(url)
        self._p = key_prefix(prefix)
        self._clock = clock
        self._redis: Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._cursor = "0-0"

    def __repr__(self) -> str:
        return f"RedisInbox({hide_password(self._url)!r}, prefix={self._p!r})"

    # -- connection -----------------------------------------------------------------

    async def open(self) -> None:
        from redis.exceptions import ResponseError

        client = self._client()
        try:
            await client.xgroup_create(self._key("stream"), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def aclose(self) -> None:
        client, self._redis = self._redis, None
        self._scripts = {}
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> RedisInbox:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _client(self) -> Redis:
        require_asyncio("RedisInbox")
        if self._redis is None:
            self._redis = connect(self._url, "RedisInbox")
            self._scripts = {
                name: self._redis.register_script(getattr(lua, name)) for name in _SCRIPTS
            }
        return self._redis

    async def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        self._client()
        return await self._scripts[name](keys=keys, args=args)

    def _key(self, kind: str, refid: str | None = None) -> str:
        return f"{self._p}:{kind}" if refid is None else f"{self._p}:{kind}:{refid}"

    # -- the receiver's -------------------------------------------------------------

    async def put(self, message: InboundSms) -> bool:
        keys = [
            self._key("m", message.refid),
            self._key("stream"),
            self._key("pending"),
            self._key("counters"),
        ]
        args = [message.refid, message_body(message), repr(self._clock())]
        return int(await self._script("PUT", keys, args)) == 1

    # -- the workers' ---------------------------------------------------------------

    async def take(self, consumer: str) -> Claimed | None:
        from redis.exceptions import ResponseError

        client, stream = self._client(), self._key("stream")
        await self._script("PROMOTE", [self._key("delayed"), stream], [repr(self._clock()), 100])
        lease_ms = int(self.settings.lease * 1000)
        # A lapsed lease first: its worker is gone, and the message is older.
        try:
            # redis-py's reply types vary with the protocol version: read them as Any.
            reclaimed: Any = await client.xautoclaim(
                stream, GROUP, consumer, lease_ms, start_id=self._cursor, count=1
            )
            # XAUTOCLAIM scans a few pending entries per call: go on from where it
            # stopped, so live leases at the front never hide a lapsed one behind.
            self._cursor = as_str(reclaimed[0]) if reclaimed else "0-0"
            entries: Any = reclaimed[1] if reclaimed else []
            if not entries:
                read: Any = await client.xreadgroup(GROUP, consumer, {stream: ">"}, count=1)
                entries = read[0][1] if read else []
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the group (restarted without persistence): make it again.
            await self.open()
            return None
        for entry_id, fields in entries:
            refid = as_str((fields or {}).get("refid", ""))
            if not refid:
                await client.xack(stream, GROUP, entry_id)
                continue
            entry_id = as_str(entry_id)
            token = f"{lease_token(consumer)} {entry_id}"
            begun = await self._script(
                "BEGIN",
                [self._key("m", refid), self._key("ok", refid), stream],
                [GROUP, entry_id, consumer, token],
            )
            if begun is None:
                continue  # settled meanwhile, or handled or dead already
            attempts, body, done = begun
            message = InboundSms.model_validate_json(body)
            return Claimed(refid, message, int(attempts), frozenset(map(as_str, done)), token)
        return None

    async def renew(self, claimed: Claimed) -> bool:
        consumer, _, entry_id = _lease(claimed)
        keys = [self._key("stream"), self._key("m", claimed.refid)]
        answer = await self._script("RENEW", keys, [GROUP, consumer, entry_id, claimed.token])
        return int(answer) == 1

    async def record_success(self, claimed: Claimed, handler: str) -> None:
        keys = [self._key("m", claimed.refid), self._key("ok", claimed.refid)]
        await self._script("RECORD", keys, [handler])

    async def ack(self, claimed: Claimed) -> bool:
        refid, entry_id = claimed.refid, _lease(claimed)[2]
        keys = [
            self._key("stream"),
            self._key("m", refid),
            self._key("ok", refid),
            self._key("pending"),
            self._key("counters"),
        ]
        retention_ms = int(self.settings.retention * 1000)
        args = [GROUP, entry_id, repr(self._clock()), retention_ms, refid, claimed.token]
        return int(await self._script("ACK", keys, args)) == 1

    async def fail(self, claimed: Claimed, error: str) -> FailOutcome:
        refid, entry_id = claimed.refid, _lease(claimed)[2]
        now = self._clock()
        dead = claimed.attempt >= self.settings.max_attempts
        keys = [
            self._key("stream"),
            self._key("m", refid),
            self._key("pending"),
            self._key("delayed"),
            self._key("dead"),
            self._key("counters"),
        ]
        retry_at = now + self.settings.retry_delay(claimed.attempt)
        args = [GROUP, entry_id, repr(now), refid, error, "1" if dead else "0", repr(retry_at)]
        if int(await self._script("FAIL", keys, [*args, claimed.token])) != 1:
            return "lost"
        return "dead" if dead else "pending"

    async def release(self, claimed: Claimed) -> None:
        entry_id = _lease(claimed)[2]
        keys = [self._key("stream"), self._key("m", claimed.refid), self._key("delayed")]
        args = [GROUP, entry_id, repr(self._clock()), claimed.refid, claimed.token]
        await self._script("RELEASE", keys, args)

    async def housekeeping(self) -> None:
        """Handled refids expire by themselves; this removes long-idle consumers
        with nothing pending (one per process ever started)."""
        client, stream = self._client(), self._key("stream")
        for info in await client.xinfo_consumers(stream, GROUP):
            if int(info.get("pending", 0)) == 0 and int(info.get("idle", 0)) > _CONSUMER_IDLE_MS:
                await client.xgroup_delconsumer(stream, GROUP, as_str(info["name"]))

    # -- yours ----------------------------------------------------------------------

    async def get(self, refid: str) -> InboxEntry | None:
        fields: Any = await self._client().hgetall(self._key("m", refid))
        return _entry(refid, fields) if fields else None

    async def dead_letters(self, limit: int = 100) -> list[InboxEntry]:
        client = self._client()
        refids: Any = await client.zrange(self._key("dead"), 0, max(limit, 1) - 1)
        async with client.pipeline(transaction=False) as pipe:
            for refid in refids:
                pipe.hgetall(self._key("m", refid))
            rows = await pipe.execute()
        return [_entry(as_str(r), f) for r, f in zip(refids, rows, strict=True) if f]

    async def replay(self, refid: str) -> bool:
        keys = [
            self._key("m", refid),
            self._key("dead"),
            self._key("pending"),
            self._key("stream"),
        ]
        return int(await self._script("REPLAY", keys, [refid])) == 1

    async def purge(self, refid: str) -> bool:
        keys = [self._key("m", refid), self._key("ok", refid), self._key("dead")]
        return int(await self._script("PURGE", keys, [refid])) == 1

    async def metrics(self) -> InboxMetrics:
        now = self._clock()
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.hgetall(self._key("counters"))
            pipe.zcard(self._key("pending"))
            pipe.zrange(self._key("pending"), 0, 0, withscores=True)
            pipe.zcard(self._key("dead"))
            counters, depth, oldest, dead = await pipe.execute()
        lease_ms = int(self.settings.lease * 1000)
        in_flight = await self._script("IN_FLIGHT", [self._key("stream")], [GROUP, lease_ms])

        def count(name: str) -> int:
            return int(counters.get(name, 0))

        return InboxMetrics(
            received=count("received"),
            duplicates=count("duplicates"),
            handled=count("handled"),
            retried=count("retried"),
            dead_lettered=count("dead_lettered"),
            queue_depth=int(depth),
            in_flight=int(in_flight),
            oldest_pending_age=max(0.0, now - float(oldest[0][1])) if oldest else None,
            dead_letters=int(dead),
        )
