"""``smartqq._tasks.cancel_and_wait``: how every owner of a task stops it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest

from smartqq._tasks import cancel_and_wait


async def _slow_to_stop(stopped: list[str]) -> None:
    # Cleans up for a while after being cancelled, as a poll loop closing its session does.
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        await asyncio.sleep(0.05)
        stopped.append("cleaned up")
        raise


async def test_cancels_waits_and_retrieves_every_outcome() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    async def finishes() -> int:
        return 7

    stopped: list[str] = []
    failed = asyncio.create_task(fails())
    done = asyncio.create_task(finishes())
    await asyncio.sleep(0)  # both have run to their end
    slow = asyncio.create_task(_slow_to_stop(stopped))
    await asyncio.sleep(0)
    seen: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: seen.append(ctx))

    await cancel_and_wait(failed, None, done, slow)

    assert slow.cancelled()
    assert stopped == ["cleaned up"]  # it waited for the clean-up
    assert failed.done()
    assert done.result() == 7
    del failed  # its exception was retrieved: no "never retrieved" report when it goes
    await asyncio.sleep(0)
    assert seen == []


async def test_nothing_to_stop() -> None:
    await cancel_and_wait()
    await cancel_and_wait(None, None)


async def _stopper_keeps_its_own_cancellation(
    stop: Callable[[asyncio.Task[None]], Awaitable[None]],
) -> bool:
    """Whether a task stopping another one still ends cancelled when it is cancelled itself."""
    stopped: list[str] = []
    slow = asyncio.create_task(_slow_to_stop(stopped))
    await asyncio.sleep(0)

    async def owner_stop() -> None:
        await stop(slow)
        await asyncio.sleep(30)  # carries on as if never cancelled: the cancellation was lost

    owner = asyncio.create_task(owner_stop())
    await asyncio.sleep(0.01)  # the owner waits for slow's clean-up now
    owner.cancel()
    try:
        await asyncio.wait_for(owner, 2)
    except asyncio.CancelledError:
        return True
    except TimeoutError:
        return False
    return False


async def test_the_callers_own_cancellation_is_not_swallowed() -> None:
    assert await _stopper_keeps_its_own_cancellation(lambda t: cancel_and_wait(t))

    # The pattern it replaced loses it (which is why this test can tell them apart).
    async def suppressing(task: asyncio.Task[None]) -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert not await _stopper_keeps_its_own_cancellation(suppressing)


@pytest.mark.parametrize("count", [1, 3])
async def test_tasks_already_done_are_fine(count: int) -> None:
    async def quick() -> None:
        return None

    tasks = [asyncio.create_task(quick()) for _ in range(count)]
    await asyncio.gather(*tasks)
    await cancel_and_wait(*tasks)
    assert all(t.done() and not t.cancelled() for t in tasks)
