"""`InFlightLimit`: the queue in front of the pool, under asyncio and trio."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from intelepeer_async import InvalidInputError
from intelepeer_async._limit import InFlightLimit

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4"])
def test_the_limit_is_a_whole_number_of_at_least_one(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="max_in_flight"):
        InFlightLimit(bad)  # type: ignore[arg-type]


async def test_an_uncontended_slot_is_taken_without_waiting() -> None:
    limit = InFlightLimit(2)
    far = anyio.current_time() + 60
    assert await limit.acquire(far) and await limit.acquire(far)
    assert (limit.in_flight, limit.waiting) == (2, 0)
    limit.release()
    limit.release()
    assert limit.in_flight == 0


async def test_waiters_are_served_first_in_first_out() -> None:
    limit = InFlightLimit(1)
    far = anyio.current_time() + 60
    assert await limit.acquire(far)
    order: list[int] = []

    async def wait(n: int) -> None:
        assert await limit.acquire(far)
        order.append(n)
        limit.release()

    async with anyio.create_task_group() as tg:
        for n in range(5):
            tg.start_soon(wait, n)
            await anyio.wait_all_tasks_blocked()
        assert limit.waiting == 5
        limit.release()
    assert order == [0, 1, 2, 3, 4]
    assert (limit.in_flight, limit.waiting) == (0, 0)


async def test_a_waiter_whose_deadline_passes_gets_no_slot_and_leaves_the_queue() -> None:
    limit = InFlightLimit(1)
    assert await limit.acquire(anyio.current_time() + 60)
    started = anyio.current_time()
    assert await limit.acquire(started + 0.1) is False
    assert anyio.current_time() - started >= 0.09
    assert limit.waiting == 0
    limit.release()  # the abandoned waiter is skipped: the slot returns to the pool
    assert limit.in_flight == 0


async def test_a_cancelled_waiter_passes_its_place_on() -> None:
    limit = InFlightLimit(1)
    far = anyio.current_time() + 60
    assert await limit.acquire(far)
    got: list[str] = []

    async def wait(name: str) -> None:
        assert await limit.acquire(far)
        got.append(name)

    async with anyio.create_task_group() as outer:
        async with anyio.create_task_group() as doomed:
            doomed.start_soon(wait, "cancelled")
            await anyio.wait_all_tasks_blocked()
            outer.start_soon(wait, "next")
            await anyio.wait_all_tasks_blocked()
            doomed.cancel_scope.cancel()
        limit.release()
    assert got == ["next"]
    assert limit.in_flight == 1


async def test_a_slot_handed_to_a_waiter_as_it_is_cancelled_is_not_lost() -> None:
    limit = InFlightLimit(1)
    far = anyio.current_time() + 10
    assert await limit.acquire(far)
    got: list[str] = []

    async def use(name: str) -> None:  # as the core does: release whatever happens
        assert await limit.acquire(far)
        try:
            await (
                anyio.lowlevel.checkpoint()
            )  # the first checkpoint with the slot: the cancel lands here
            got.append(name)
        finally:
            limit.release()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as outer, anyio.create_task_group() as doomed:
            doomed.start_soon(use, "cancelled")
            await anyio.wait_all_tasks_blocked()
            outer.start_soon(use, "next")
            await anyio.wait_all_tasks_blocked()
            limit.release()  # granted to "cancelled", which has not run yet...
            doomed.cancel_scope.cancel()  # ...and is cancelled before it does
    assert got == ["next"]  # the slot went on to the next waiter
    assert (limit.in_flight, limit.waiting) == (0, 0)


async def test_never_more_than_the_limit_at_once() -> None:
    limit = InFlightLimit(3)
    far = anyio.current_time() + 60
    holding = 0
    most = 0

    async def work() -> None:
        nonlocal holding, most
        assert await limit.acquire(far)
        holding += 1
        most = max(most, holding)
        await anyio.lowlevel.checkpoint()
        holding -= 1
        limit.release()

    async with anyio.create_task_group() as tg:
        for _ in range(200):
            tg.start_soon(work)
    assert most == 3
    assert (limit.in_flight, limit.waiting) == (0, 0)
