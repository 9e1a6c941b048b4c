"""Every inbox keeps the same promises: SqliteInbox and RedisInbox, call by call."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from intelepeer_async.models.inbound import InboundSms
from receiver.inbox import Inbox

from .inbox_support import every_kind, make_inbox

pytestmark = pytest.mark.anyio


def sms(refid: str = "ABCDEF1234567890ABCDEF1234567890", text: str = "Hello World!") -> InboundSms:
    return InboundSms(
        refid=refid, from_="+17205551212", to="+13035550100", message=text, signature="s3cret"
    )


@pytest.fixture
def inbox(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Inbox:
    return make_inbox(kind, request, tmp_path, lease=0.5, retry_delays=(0.2,), max_attempts=3)


@every_kind
async def test_put_keeps_one_entry_per_refid(inbox: Inbox) -> None:
    async with inbox:  # type: ignore[attr-defined]
        assert await inbox.put(sms()) is True
        assert await inbox.put(sms(text="changed in a redelivery")) is False
        entry = await inbox.get(sms().refid)
        assert entry is not None and entry.state == "pending" and entry.attempts == 0
        assert entry.message is not None and entry.message.message == "Hello World!"
        assert entry.message.signature is None  # the shared code is never stored
        assert await inbox.get("UNKNOWN") is None
        metrics = await inbox.metrics()
        assert (metrics.received, metrics.duplicates, metrics.queue_depth) == (1, 1, 1)
        assert metrics.oldest_pending_age is not None and metrics.oldest_pending_age >= 0
        assert await inbox.take("w1") is not None
        assert await inbox.take("w1") is None  # one entry only


@every_kind
async def test_a_taken_message_is_leased_until_renewal_stops(inbox: Inbox) -> None:
    async with inbox:  # type: ignore[attr-defined]
        await inbox.put(sms())
        first = await inbox.take("w1")
        assert first is not None and first.attempt == 1 and first.done == frozenset()
        assert await inbox.take("w2") is None  # leased
        for _ in range(3):  # renewed past the lease: still ours
            await anyio.sleep(0.25)
            assert await inbox.renew(first) is True
            assert await inbox.take("w2") is None
        assert (await inbox.metrics()).in_flight == 1
        await anyio.sleep(0.7)  # renewal stopped (a crashed worker): the lease lapses
        second = await inbox.take("w2")
        assert second is not None and second.refid == first.refid and second.attempt == 2
        assert await inbox.renew(first) is False  # the old owner learns it lost it
        assert await inbox.renew(second) is True


@every_kind
async def test_in_flight_counts_only_messages_whose_lease_is_live(inbox: Inbox) -> None:
    """A worker took a message and died: once its lease lapsed nobody runs it, and
    both inboxes stop counting it in flight (it is still in the queue)."""
    async with inbox:  # type: ignore[attr-defined]
        await inbox.put(sms())
        await inbox.put(sms("0" * 32))
        assert await inbox.take("w1") is not None
        assert (await inbox.metrics()).in_flight == 1
        await anyio.sleep(0.7)  # no renewal: the lease lapsed
        metrics = await inbox.metrics()
        assert (metrics.in_flight, metrics.queue_depth) == (0, 2)
        assert await inbox.take("w2") is not None
        assert await inbox.take("w2") is not None
        assert (await inbox.metrics()).in_flight == 2


@every_kind
async def test_a_worker_that_lost_its_lease_cannot_settle_the_message(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Worker 1 stalled past its lease and worker 2 took the message: worker 1's late
    fail, ack, renew and release change nothing, so no third worker runs it meanwhile.

    A lease of 1 s: worker 2's must outlast four stale calls and a 0.3 s wait with
    room for a loaded machine's stalls."""
    inbox = make_inbox(kind, request, tmp_path, lease=1.0, retry_delays=(0.2,), max_attempts=3)
    async with inbox:  # type: ignore[attr-defined]
        await inbox.put(sms())
        stale = await inbox.take("w1")
        assert stale is not None
        await anyio.sleep(1.2)
        current = await inbox.take("w2")
        assert current is not None and current.attempt == 2
        assert await inbox.fail(stale, "w1: timed out") == "lost"
        assert await inbox.ack(stale) is False
        assert await inbox.renew(stale) is False
        await inbox.release(stale)
        await anyio.sleep(0.3)  # past the back-off a stale fail would have set
        assert await inbox.take("w3") is None  # still worker 2's
        entry = await inbox.get(sms().refid)
        assert entry is not None and entry.state == "pending" and entry.attempts == 2
        assert entry.last_error is None
        metrics = await inbox.metrics()
        assert (metrics.retried, metrics.handled, metrics.in_flight) == (0, 0, 1)
        assert await inbox.renew(current) is True
        assert await inbox.ack(current) is True
        assert await inbox.ack(current) is False  # settled once
        handled = await inbox.get(sms().refid)
        assert handled is not None and handled.state == "handled"
        assert (await inbox.metrics()).handled == 1


@every_kind
async def test_each_take_is_a_lease_of_its_own_even_for_one_consumer_name(inbox: Inbox) -> None:
    """Every worker of a process passes the same consumer name: a second take of a
    lapsed message by a sibling worker still takes the lease from the first."""
    async with inbox:  # type: ignore[attr-defined]
        await inbox.put(sms())
        first = await inbox.take("host:1:ab")
        assert first is not None
        await anyio.sleep(0.7)
        second = await inbox.take("host:1:ab")
        assert second is not None and second.attempt == 2 and second.token != first.token
        assert await inbox.renew(first) is False  # told it lost the lease
        assert await inbox.renew(second) is True
        await inbox.release(first)  # not its lease: the message is not handed back
        assert await inbox.take("host:2:cd") is None
        assert await inbox.fail(first, "late") == "lost"
        assert await inbox.fail(second, "boom") == "pending"
        entry = await inbox.get(sms().refid)
        assert entry is not None and entry.last_error == "boom"


@every_kind
async def test_failures_retry_after_backoff_then_dead_letter_then_replay(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # A short retention: what succeeded is kept however long the message waits
    # (retries, dead letter), not only as long as a handled refid is remembered.
    inbox = make_inbox(
        kind, request, tmp_path, lease=0.5, retry_delays=(0.5,), max_attempts=3, retention=0.5
    )  # back-offs of 0.5-0.55 s: a stall between fail and take does not outlast one
    async with inbox:  # type: ignore[attr-defined]
        await inbox.put(sms())
        claimed = await inbox.take("w1")
        assert claimed is not None
        await inbox.record_success(claimed, "0:app.first")
        assert await inbox.fail(claimed, "second: RuntimeError: down") == "pending"
        assert await inbox.take("w1") is None  # backing off
        entry = await inbox.get(claimed.refid)
        assert entry is not None and entry.next_attempt_at is not None
        assert entry.last_error == "second: RuntimeError: down"
        await anyio.sleep(0.6)
        again = await inbox.take("w1")
        assert again is not None and again.attempt == 2 and again.done == {"0:app.first"}
        assert await inbox.fail(again, "still down") == "pending"
        await anyio.sleep(0.6)
        last = await inbox.take("w1")
        assert last is not None and last.attempt == 3
        assert last.done == {"0:app.first"}  # retried past the retention: still known
        assert await inbox.fail(last, "still down") == "dead"
        await anyio.sleep(0.6)  # the dead letter waits past the retention
        await inbox.housekeeping()
        assert await inbox.take("w1") is None  # dead letters are not retried
        dead = await inbox.dead_letters()
        assert [d.refid for d in dead] == [claimed.refid]
        assert dead[0].state == "dead" and dead[0].attempts == 3
        assert dead[0].last_error == "still down" and dead[0].message is not None
        metrics = await inbox.metrics()
        assert (metrics.retried, metrics.dead_lettered, metrics.dead_letters) == (2, 1, 1)
        assert metrics.queue_depth == 0

        assert await inbox.replay(claimed.refid) is True
        assert await inbox.replay(claimed.refid) is False  # not a dead letter any more
        replayed = await inbox.take("w1")
        assert replayed is not None and replayed.attempt == 1
        assert replayed.done == {"0:app.first"}  # what succeeded is not run again
        await inbox.ack(replayed)
        handled = await inbox.get(claimed.refid)
        assert handled is not None and handled.state == "handled"
        assert handled.message is None  # the text is not kept once handled
        assert await inbox.put(sms()) is False  # and the refid is remembered
        metrics = await inbox.metrics()
        assert (metrics.handled, metrics.dead_letters, metrics.queue_depth) == (1, 0, 0)


@every_kind
async def test_purge_deletes_only_dead_letters(inbox: Inbox) -> None:
    async with inbox:  # type: ignore[attr-defined]
        await inbox.put(sms("A" * 32))
        for attempt in (1, 2, 3):
            claimed = await inbox.take("w1")
            assert claimed is not None and claimed.attempt == attempt
            await inbox.fail(claimed, "boom")
            await anyio.sleep(0.3)
        await inbox.put(sms("B" * 32))
        assert [d.refid for d in await inbox.dead_letters()] == ["A" * 32]
        assert await inbox.purge("B" * 32) is False  # pending: not purged
        assert await inbox.purge("A" * 32) is True
        assert await inbox.purge("A" * 32) is False
        assert await inbox.get("A" * 32) is None
        assert await inbox.dead_letters() == []
        assert await inbox.get("B" * 32) is not None


@every_kind
async def test_release_hands_a_message_back_uncounted(inbox: Inbox) -> None:
    async with inbox:  # type: ignore[attr-defined]
        await inbox.put(sms())
        claimed = await inbox.take("w1")
        assert claimed is not None
        await inbox.release(claimed)
        again = await inbox.take("w2")
        assert again is not None and again.attempt == 1


@every_kind
async def test_a_message_taken_in_survives_reopening(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    first = make_inbox(kind, request, tmp_path)
    async with first:  # type: ignore[attr-defined]
        assert await first.put(sms()) is True
    second = make_inbox(kind, request, tmp_path)
    if kind == "redis":
        second._p = first._p  # type: ignore[attr-defined]  # same keys, a new client
    async with second:  # type: ignore[attr-defined]
        assert await second.put(sms()) is False
        claimed = await second.take("w1")
        assert claimed is not None and claimed.message.message == "Hello World!"


@every_kind
async def test_many_workers_never_take_the_same_message(inbox: Inbox) -> None:
    taken: list[str] = []
    async with inbox:  # type: ignore[attr-defined]
        for i in range(40):
            await inbox.put(sms(f"R{i:031d}"))

        async def worker(name: str) -> None:
            while (claimed := await inbox.take(name)) is not None:
                taken.append(claimed.refid)
                await inbox.ack(claimed)

        async with anyio.create_task_group() as tg:
            for n in range(6):
                tg.start_soon(worker, f"w{n}")
        assert sorted(taken) == [f"R{i:031d}" for i in range(40)]
        assert (await inbox.metrics()).handled == 40


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_redis_that_lost_the_consumer_group_gets_it_back(
    request: pytest.FixtureRequest, tmp_path: Path, anyio_backend: str
) -> None:
    inbox = make_inbox("redis", request, tmp_path)
    async with inbox:  # type: ignore[attr-defined]
        await inbox._client().delete(inbox._key("stream"))  # type: ignore[attr-defined]
        assert await inbox.take("w1") is None  # no error: the group is made again
        await inbox.put(sms())
        claimed = await inbox.take("w1")
        assert claimed is not None and claimed.refid == sms().refid


@every_kind
async def test_handled_refids_are_forgotten_after_the_retention(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    inbox = make_inbox(kind, request, tmp_path, retention=1.0)
    async with inbox:  # type: ignore[attr-defined]
        for n in range(3):
            await inbox.put(sms(f"R{n:031d}"))
            claimed = await inbox.take("w1")
            assert claimed is not None
            await inbox.ack(claimed)
        assert await inbox.put(sms("R" + "0" * 31)) is False  # remembered
        await anyio.sleep(1.1)
        await inbox.housekeeping()
        assert await inbox.get("R" + "0" * 31) is None
        assert await inbox.put(sms("R" + "0" * 31)) is True  # forgotten: taken in again
        assert (await inbox.metrics()).handled == 3


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_redis_reclaims_a_lapsed_lease_behind_many_live_ones(
    request: pytest.FixtureRequest, tmp_path: Path, anyio_backend: str
) -> None:
    """XAUTOCLAIM looks at a few pending entries per call; live ones at the front of
    the queue must not hide a lapsed one behind them."""
    inbox = make_inbox("redis", request, tmp_path, lease=0.5)
    async with inbox:  # type: ignore[attr-defined]
        live = []
        for n in range(30):
            await inbox.put(sms(f"L{n:031d}"))
            claimed = await inbox.take("live")
            assert claimed is not None
            live.append(claimed)
        await inbox.put(sms("D" * 32))
        dead = await inbox.take("crashed")
        assert dead is not None and dead.refid == "D" * 32
        with anyio.fail_after(5):
            while True:
                for claimed in live:  # the live worker keeps renewing
                    assert await inbox.renew(claimed)
                taken = await inbox.take("rescuer")
                if taken is not None:
                    break
                await anyio.sleep(0.05)
        assert taken.refid == "D" * 32 and taken.attempt == 2
