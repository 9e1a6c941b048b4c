"""MemoryStore: claims, TTL and bounds."""

from __future__ import annotations

import pytest

from receiver import Claim, MemoryStore

pytestmark = pytest.mark.anyio


async def test_claim_handle_release() -> None:
    store = MemoryStore()
    assert await store.claim("a", lease=10) is Claim.CLAIMED
    assert await store.claim("a", lease=10) is Claim.BUSY
    await store.release("a")
    assert await store.claim("a", lease=10) is Claim.CLAIMED
    await store.mark_handled("a")
    assert await store.claim("a", lease=10) is Claim.HANDLED
    assert len(store) == 1


async def test_expired_lease_can_be_claimed_again() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    assert await store.claim("a", lease=10) is Claim.CLAIMED
    now[0] = 11
    assert await store.claim("a", lease=10) is Claim.CLAIMED


async def test_handled_refids_live_at_least_24_hours() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    await store.mark_handled("a")
    now[0] = 24 * 3600 + 1
    assert await store.claim("a", lease=1) is Claim.HANDLED
    now[0] = 48 * 3600 + 1
    assert await store.claim("a", lease=1) is Claim.CLAIMED
    with pytest.raises(ValueError, match="24 hours"):
        MemoryStore(ttl=3600)


async def test_handled_refids_are_forgotten_one_by_one_in_expiry_order() -> None:
    # The store skips its expiry scan until the oldest entry is due: check that every
    # entry is still forgotten at its own time, including one marked handled twice.
    ttl = 48 * 3600.0
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    await store.mark_handled("a")
    now[0] = 10
    await store.mark_handled("b")
    now[0] = 20
    await store.mark_handled("a")  # a again: now the newest, expiring at 20 + ttl
    now[0] = ttl + 1
    assert await store.claim("a", lease=1) is Claim.HANDLED
    assert await store.claim("b", lease=1) is Claim.HANDLED
    now[0] = ttl + 11
    assert await store.claim("b", lease=1) is Claim.CLAIMED  # b expired at 10 + ttl
    assert await store.claim("a", lease=1) is Claim.HANDLED
    now[0] = ttl + 21
    assert await store.claim("a", lease=1) is Claim.CLAIMED
    assert len(store) == 0


async def test_bounded() -> None:
    store = MemoryStore(max_entries=3)
    for refid in "abcde":
        await store.mark_handled(refid)
    assert len(store) == 3
    assert await store.claim("a", lease=1) is Claim.CLAIMED  # oldest forgotten
    assert await store.claim("e", lease=1) is Claim.HANDLED


async def test_handler_successes_are_kept_until_the_refid_is_handled() -> None:
    store = MemoryStore()
    assert await store.successes("a") == set()
    await store.record_success("a", "0:app.first")
    await store.record_success("a", "1:app.second")
    await store.record_success("a", "0:app.first")
    await store.record_success("b", "0:app.first")
    assert await store.successes("a") == {"0:app.first", "1:app.second"}
    await store.release("a")  # a failed attempt keeps what succeeded
    assert await store.successes("a") == {"0:app.first", "1:app.second"}
    await store.mark_handled("a")
    assert await store.successes("a") == set()
    assert await store.successes("b") == {"0:app.first"}


async def test_handler_successes_are_bounded() -> None:
    store = MemoryStore(max_entries=2)
    for refid in "abc":
        await store.record_success(refid, "h")
    assert await store.successes("a") == set()  # oldest forgotten: its handlers may run again
    assert await store.successes("c") == {"h"}


def test_a_store_without_the_progress_methods_is_refused_at_construction() -> None:
    from intelepeer_async import InvalidInputError
    from receiver import SmsReceiver

    class OldStore:  # the three-method protocol from before issue 9
        async def claim(self, refid: str, *, lease: float) -> Claim:
            return Claim.CLAIMED

        async def mark_handled(self, refid: str) -> None: ...

        async def release(self, refid: str) -> None: ...

    with pytest.raises(InvalidInputError, match="record_success, successes"):
        SmsReceiver(allow_unverified=True, store=OldStore())  # type: ignore[arg-type]
