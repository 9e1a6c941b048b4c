"""Bulk work: many items, bounded concurrency, a progress bar on a terminal, one exit code.

A bulk run never stops at the first failure: every item gets an outcome, and
the caller prints them all. The progress bar is drawn only when stdout is a
terminal and the output is not JSON, so pipes and scripts get clean output.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar

import click

from ._common import EXIT_FAILED, EXIT_OK, Settings

T = TypeVar("T")
R = TypeVar("R")


class Progress(Protocol):
    def update(self, n_steps: int) -> None: ...


class _Silent:
    def update(self, n_steps: int) -> None:
        pass


@contextmanager
def progress(settings: Settings, total: int, label: str) -> Iterator[Progress]:
    """A click progress bar when stdout is a terminal (and not --json), else nothing."""
    if settings.json or not sys.stdout.isatty():
        yield _Silent()
        return
    with click.progressbar(length=total, label=label, file=sys.stdout) as bar:
        yield bar


async def run_bounded(
    items: Sequence[T],
    work: Callable[[T], Awaitable[R]],
    *,
    concurrency: int,
    done: Callable[[T, R], None],
) -> list[R]:
    """`work` on every item, at most `concurrency` at once; results in input order.

    `work` must turn its own failures into results: a bulk run reports each
    item, it does not stop at the first error.
    """
    import anyio

    results: dict[int, R] = {}
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(index: int) -> None:
        async with limiter:
            result = await work(items[index])
        results[index] = result
        done(items[index], result)

    async with anyio.create_task_group() as tg:
        for index in range(len(items)):
            tg.start_soon(one, index)
    return [results[index] for index in range(len(items))]


def bulk_exit_code(failure_codes: Sequence[int], total: int) -> int:
    """0 if nothing failed; the failures' code if all items failed for one reason; else 1."""
    if not failure_codes:
        return EXIT_OK
    distinct = set(failure_codes)
    if len(failure_codes) == total and len(distinct) == 1:
        return distinct.pop()
    return EXIT_FAILED
