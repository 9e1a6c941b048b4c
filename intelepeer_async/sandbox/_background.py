"""A task group for work that serves a ``with`` block, not work the block is made of.

The simulator's server and its deliveries run in task groups around the user's
own code (``async with serve() as server: ...``). A plain task group wraps
whatever the block raises in an ``ExceptionGroup``, so a test's
``pytest.raises(NotFoundError)`` around an SDK call inside the block would not
match. `background()` cancels its tasks when the block ends and lets the
block's own exception out as itself; a crash of a background task still comes
out of the group as usual.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup

__all__ = ["background"]


@asynccontextmanager
async def background() -> AsyncIterator[TaskGroup]:
    """Yield a task group whose tasks stop when the block exits."""
    raised: BaseException | None = None
    async with anyio.create_task_group() as tg:
        try:
            yield tg
        except BaseException as exc:  # re-raised below, outside the group
            raised = exc
        finally:
            tg.cancel_scope.cancel()
    if raised is not None:
        raise raised
