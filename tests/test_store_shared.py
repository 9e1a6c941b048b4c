"""SqliteStore and RedisStore: MemoryStore's promises, kept across processes and restarts."""

from __future__ import annotations

import socket
from pathlib import Path

import anyio
import pytest

from intelepeer_async import InvalidInputError
from receiver import (
    AsyncioOnlyError,
    Claim,
    InboundSms,
    RedisInbox,
    RedisStore,
    SharedCode,
    SmsReceiver,
    SqliteStore,
)

from .inbox_support import every_kind, make_store
from .receiver_asgi import call_asgi

pytestmark = pytest.mark.anyio

Store = SqliteStore | RedisStore


def twin(kind: str, store: Store, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """Another process's view of the same store (same file, or same Redis keys)."""
    other = make_store(kind, request, tmp_path)
    if isinstance(other, RedisStore):
        other._prefix = store._prefix  # type: ignore[union-attr]
    return other


@every_kind
async def test_claim_handle_release(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with make_store(kind, request, tmp_path) as store:
        assert await store.claim("a", lease=10) is Claim.CLAIMED
        assert await store.claim("a", lease=10) is Claim.BUSY
        await store.release("a")
        assert await store.claim("a", lease=10) is Claim.CLAIMED
        await store.record_success("a", "0:app.first")
        await store.release("a")  # a failed attempt keeps what succeeded
        assert await store.successes("a") == {"0:app.first"}
        await store.mark_handled("a")
        assert await store.claim("a", lease=10) is Claim.HANDLED
        assert await store.successes("a") == frozenset()


@every_kind
async def test_two_processes_share_claims_and_survive_restarts(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = make_store(kind, request, tmp_path)
    async with store, twin(kind, store, request, tmp_path) as other:
        answers: list[tuple[Claim, Store]] = []

        async def claim(s: Store) -> None:
            answers.append((await s.claim("r", lease=10), s))

        async with anyio.create_task_group() as tg:
            for s in (store, other) * 5:
                tg.start_soon(claim, s)
        assert sorted(a.value for a, _ in answers) == ["busy"] * 9 + ["claimed"]
        (owner,) = [s for a, s in answers if a is Claim.CLAIMED]
        await (other if owner is store else store).release("r")  # not its claim: ignored
        assert await owner.claim("r", lease=10) is Claim.BUSY
        await store.record_success("r", "h")
        assert await other.successes("r") == {"h"}
        await store.mark_handled("r")
    async with twin(kind, store, request, tmp_path) as restarted:
        assert await restarted.claim("r", lease=10) is Claim.HANDLED


@every_kind
async def test_a_crashed_claimants_claim_lapses(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with make_store(kind, request, tmp_path) as store:
        assert await store.claim("r", lease=0.5) is Claim.CLAIMED
        assert await store.claim("r", lease=0.5) is Claim.BUSY
        await anyio.sleep(0.6)
        assert await store.claim("r", lease=0.5) is Claim.CLAIMED


@every_kind
async def test_a_receiver_restarted_on_the_same_store_does_not_run_a_handled_message_again(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    runs: list[str] = []
    store = make_store(kind, request, tmp_path)
    body = (
        b'{"refid":"ABCDEF1234567890ABCDEF1234567890","from":"+17705551212",'
        b'"to":"+13038675309","message":"hi","signature":"s3cret"}'
    )
    for attempt in range(2):
        rx = SmsReceiver(
            verifier=SharedCode("s3cret"),
            store=store if attempt == 0 else twin(kind, store, request, tmp_path),
        )

        @rx.on_message()
        async def handler(msg: InboundSms) -> None:
            runs.append(msg.refid)

        async with rx.lifespan():
            assert (await call_asgi(rx.app, body)).status == 200
    assert len(runs) == 1


def test_redis_parts_refuse_to_run_under_trio(redis_url: str) -> None:
    async def main() -> None:
        with pytest.raises(AsyncioOnlyError, match="asyncio only"):
            await RedisStore(redis_url).claim("r", lease=1)
        with pytest.raises(AsyncioOnlyError, match="asyncio only"):
            await RedisInbox(redis_url).open()

    anyio.run(main, backend="trio")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_redis_that_stops_answering_fails_a_call_within_the_socket_timeout(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Redis that takes connections and never answers (a failover, a partition,
    ``CLIENT PAUSE``): a delivery's put and a claim fail after the socket timeout,
    once each (no retry of a script that may have run), instead of waiting for ever."""
    from redis.exceptions import TimeoutError as RedisTimeoutError

    monkeypatch.setattr("receiver._redis.SOCKET_TIMEOUT", 0.3)
    connections: list[object] = []

    async def hold(stream: object) -> None:
        connections.append(stream)
        await anyio.sleep_forever()

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 (not Django)
    url = f"redis://127.0.0.1:{port}/0"
    message = InboundSms(refid="R" * 32, from_="+1", to="+2", message="hi")
    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, hold)
        inbox, store = RedisInbox(url), RedisStore(url)
        for call in (lambda: inbox.put(message), lambda: store.claim("r", lease=1)):
            started = anyio.current_time()
            with anyio.fail_after(4), pytest.raises(RedisTimeoutError):
                await call()
            assert anyio.current_time() - started < 2.0
        await inbox.aclose()
        await store.aclose()
        tg.cancel_scope.cancel()
    assert len(connections) == 2  # one connection each: never retried


def test_a_redis_store_under_trio_is_refused_at_startup_not_at_each_delivery(
    redis_url: str,
) -> None:
    """Started under trio, a receiver with a RedisStore would answer every delivery
    500 until IntelePeer gave up: its lifespan refuses to start instead."""
    rx = SmsReceiver(verifier=SharedCode("s3cret"), store=RedisStore(redis_url))

    async def main() -> None:
        with pytest.raises(AsyncioOnlyError, match="asyncio only"):
            async with rx.lifespan():
                pass

    anyio.run(main, backend="trio")


async def test_a_store_that_cannot_open_is_refused_at_startup(
    tmp_path: Path, anyio_backend: str
) -> None:
    rx = SmsReceiver(
        verifier=SharedCode("s3cret"), store=SqliteStore(tmp_path / "missing-dir" / "refids.db")
    )
    with pytest.raises(InvalidInputError, match="cannot open SQLite database"):
        async with rx.lifespan():
            pass


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_redis_store_that_does_not_answer_is_refused_at_startup(
    anyio_backend: str,
) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        rx = SmsReceiver(
            verifier=SharedCode("s3cret"), store=RedisStore(f"redis://127.0.0.1:{port}/0")
        )
        with anyio.fail_after(10), pytest.raises(RedisConnectionError):
            async with rx.lifespan():
                pass


def test_bad_settings_are_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="redis://"):
        RedisStore("http://user:hunter2@localhost")
    with pytest.raises(InvalidInputError) as caught:
        RedisInbox("localhost:6379 password=hunter2")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(InvalidInputError, match="prefix"):
        RedisInbox("redis://localhost", prefix="{bad}")
    with pytest.raises(ValueError, match="24 hours"):
        SqliteStore(tmp_path / "x.db", ttl=60)
    assert "hunter2" not in repr(RedisStore("redis://u:hunter2@localhost:6379/0"))
    assert "hunter2" not in repr(RedisInbox("redis://u:hunter2@localhost:6379/0"))


async def test_an_unusable_sqlite_path_is_a_typed_error(tmp_path: Path, anyio_backend: str) -> None:
    store = SqliteStore(tmp_path / "missing-dir" / "store.db")
    with pytest.raises(InvalidInputError, match="cannot open SQLite database"):
        await store.claim("r", lease=1)


def test_a_missing_redis_server_fails_the_redis_tests_never_skips_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from . import redis_server

    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setattr(redis_server, "BUILT_BINARY", tmp_path / "not-built" / "redis-server")
    # In the session fixture, this failure makes every Redis test ERROR.
    with (
        pytest.raises(pytest.fail.Exception, match="ensure-redis"),
        redis_server.redis_server(tmp_path),
    ):
        pass
