"""Crash tests: the simulator delivers 2,000 inbound SMS to queued receivers in uvicorn
subprocesses that are SIGKILLed mid-stream; nothing answered 200 is lost, nothing runs twice
except what a kill cut short.

The simulator retries each message up to 5 times (1, 2, 4, 8 s apart) until it gets a 200,
so messages sent while a receiver is down arrive once it is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from intelepeer_async.sandbox import Fault, SandboxConfig, ThreadedSandbox, run_in_thread
from receiver import RedisInbox, SqliteInbox
from receiver.inbox import Inbox

from .crash_support import Ledger, Replica, answered_200, prepare
from .inbox_support import unique_prefix

MESSAGES = 2000
BATCH = 50
SENDER = "+17205551212"
#: Some deliveries arrive twice (at once or a little later), as IntelePeer's may.
DUPLICATES = Fault(kind="duplicate", probability=0.03, seconds=0.5)


def point_webhooks(sb: ThreadedSandbox, numbers: list[str], url: str) -> None:
    async def go() -> None:
        async with sb.intelepeer_client() as ip:
            await ip.sms.webhooks.set(numbers, url)

    anyio.run(go)


def storm(
    sb: ThreadedSandbox, numbers: list[str], kills: list[tuple[int, Callable[[], bool]]]
) -> None:
    """Send MESSAGES inbound SMS in batches. From message n on, each kill in `kills`
    is tried after every message until it happens (it waits for a handler mid-run)."""
    waiting = sorted(kills, key=lambda kill: kill[0])
    for n in range(MESSAGES):
        sb.send_inbound(SENDER, numbers[n % len(numbers)], f"message {n}", wait=False)
        if waiting and n >= waiting[0][0] and waiting[0][1]():
            waiting.pop(0)
        if n % BATCH == BATCH - 1:
            time.sleep(0.1)
    assert not waiting, "a kill never found a handler mid-run"


def settle(sb: ThreadedSandbox, inbox: Inbox, limit: float = 90.0) -> list[dict[str, Any]]:
    """Wait until every delivery is over and the inbox has nothing left to run."""
    deadline = time.monotonic() + limit
    while True:
        deliveries = sb.deliveries()
        if all(d["state"] in ("delivered", "failed") for d in deliveries):
            break
        assert time.monotonic() < deadline, "deliveries did not finish"
        time.sleep(0.25)

    async def depth() -> int:
        async with inbox:  # type: ignore[attr-defined]
            return (await inbox.metrics()).queue_depth

    while anyio.run(depth):
        assert time.monotonic() < deadline, "the inbox was not drained"
        time.sleep(0.25)
    return deliveries


def check(
    directory: Path, deliveries: list[dict[str, Any]], killed: dict[int, float]
) -> dict[str, int]:
    """The issue's assertions; returns the refids run again after a kill (and by whom)."""
    sent = {d["refid"] for d in deliveries}
    assert len(sent) == MESSAGES
    ok = answered_200(deliveries)
    ledger = Ledger.read(directory)
    lost = ok - ledger.effects
    assert not lost, f"{len(lost)} message(s) answered 200 were never handled"
    assert ledger.effects <= sent
    rerun = ledger.rerun_after_kill(killed)
    # At most the 4 workers' messages were in flight at each kill.
    print(
        f"\n{len(ok)}/{MESSAGES} answered 200, {len(ledger.effects)} handled, "
        f"{len(killed)} kills, {len(rerun)} run again after a kill cut them short"
    )
    assert 1 <= len(rerun) <= 4 * len(killed)  # the kills did cut runs short
    # The simulator's retries bridged every restart: nothing was refused for good.
    assert ok == sent
    return rerun


def test_sqlite_inbox_survives_sigkill_mid_stream(tmp_path: Path) -> None:
    env = prepare(tmp_path)
    replica = Replica(tmp_path, env)
    replica.start()

    def restart() -> bool:
        if not replica.kill_if_busy():
            return False
        replica.start()
        return True

    config = SandboxConfig(faults=[DUPLICATES])
    try:
        with run_in_thread(config) as sb:
            numbers = config.sms_numbers
            point_webhooks(sb, numbers, replica.webhook)
            storm(sb, numbers, [(600, restart), (1300, restart)])
            deliveries = settle(sb, SqliteInbox(tmp_path / "inbox.db"))
    finally:
        replica.stop()
    assert len(replica.killed) == 2
    check(tmp_path, deliveries, replica.killed)


def test_redis_inbox_two_replicas_one_killed_mid_stream(tmp_path: Path, redis_url: str) -> None:
    prefix = unique_prefix()
    env = prepare(tmp_path, CRASH_REDIS=redis_url, CRASH_PREFIX=prefix)
    first, second = Replica(tmp_path, env), Replica(tmp_path, env)
    first.start()
    second.start()

    def kill_first() -> bool:
        # Killed with messages in flight; back after more than a lease (1 s), so
        # the second replica reclaims what the first had taken (XAUTOCLAIM).
        if not first.kill_if_busy():
            return False
        time.sleep(1.5)
        first.start()
        return True

    config = SandboxConfig(faults=[DUPLICATES])
    try:
        with run_in_thread(config) as sb:
            numbers = config.sms_numbers
            point_webhooks(sb, numbers[:5], first.webhook)
            point_webhooks(sb, numbers[5:], second.webhook)
            storm(sb, numbers, [(750, kill_first)])
            deliveries = settle(sb, RedisInbox(redis_url, prefix=prefix))
    finally:
        first.stop()
        second.stop()
    assert len(first.killed) == 1
    rerun = check(tmp_path, deliveries, first.killed)
    assert second.process is not None
    # What the killed replica had in flight, the other one reclaimed once the lease lapsed.
    assert second.process.pid in rerun.values()
    ledger = Ledger.read(tmp_path)
    pids = {pid for runs in ledger.runs.values() for pid, _, _ in runs}
    assert len(pids) == 3  # both replicas, and the first one's restart, shared the work
