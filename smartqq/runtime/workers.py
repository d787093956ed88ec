"""Per-chat workers: one long-lived task per active chat, events in arrival order.

``submit(key, item)`` appends to the chat's queue and, if the chat has no
worker, starts one. A worker runs its queue's items one after the other, so a
chat's events reach handlers in arrival order while chats run concurrently and
a slow handler delays only its own chat. An idle worker lingers ``idle``
seconds (a burst of messages reuses one task), then retires. At most
``max_workers`` run at once: a chat beyond that waits in line, and a worker
whose own queue runs dry takes the next waiting chat over instead of retiring,
so no task is created for it.

``run`` must not raise (the dispatcher reports handler errors itself); a
worker that is cancelled (by ``drain`` after its grace time) drops its queue.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["ChatWorkers", "spawn"]

T = TypeVar("T")


def spawn(
    coro: Coroutine[Any, Any, None], name: str, tasks: set[asyncio.Task[None]]
) -> asyncio.Task[None]:
    """A task kept in ``tasks`` until done; started eagerly where Python can (>= 3.12).

    An eager task runs synchronously up to its first suspension, so a handler
    that never waits costs no trip through the event loop.
    """
    loop = asyncio.get_running_loop()
    task: asyncio.Task[None]
    if sys.version_info >= (3, 12):
        task = asyncio.eager_task_factory(loop, coro, name=name)
    else:
        task = loop.create_task(coro, name=name)
    if not task.done():
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    return task


class ChatWorkers(Generic[T]):
    def __init__(
        self,
        run: Callable[[T], Awaitable[None]],
        tasks: set[asyncio.Task[None]],
        *,
        max_workers: int = 256,
        idle: float = 2.0,
        enter: Callable[[], object] | None = None,
    ) -> None:
        if max_workers < 1 or idle < 0:
            raise ValueError("max_workers >= 1 and idle >= 0 are required")
        self._run = run
        self._enter = enter  # called first in each worker task (sets its context up)
        self._tasks = tasks  # the dispatcher's set: drained and counted with the rest
        self.max_workers = max_workers
        self.idle = idle
        self._queues: dict[Hashable, deque[T]] = {}
        self._active: set[Hashable] = set()  # chats with a worker (running or lingering)
        self._waiting: deque[Hashable] = deque()  # chats with items and no worker yet
        self._wakers: dict[Hashable, asyncio.Future[bool]] = {}
        self._closing = False
        self.workers = 0
        self.busy = 0  # items being run right now

    def submit(self, key: Hashable, item: T) -> None:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
        queue.append(item)
        waker = self._wakers.get(key)
        if waker is not None and not waker.done():
            waker.set_result(True)
        elif key not in self._active and len(queue) == 1:
            if self.workers < self.max_workers:
                self._start(key)
            else:
                self._waiting.append(key)

    def pending(self) -> int:
        """Items queued and not yet started, over all chats."""
        return sum(len(q) for q in self._queues.values())

    def _start(self, key: Hashable) -> None:
        self._active.add(key)
        self.workers += 1
        spawn(self._work(key), f"smartqq-chat:{key}", self._tasks)

    async def _work(self, key: Hashable) -> None:
        loop = asyncio.get_running_loop()
        if self._enter is not None:
            self._enter()
        try:
            while True:
                queue = self._queues[key]
                while queue:
                    self.busy += 1
                    try:
                        await self._run(queue.popleft())
                    finally:
                        self.busy -= 1
                if not self._closing and self.idle:
                    waker: asyncio.Future[bool] = loop.create_future()
                    self._wakers[key] = waker
                    timer = loop.call_later(self.idle, _settle, waker)
                    try:
                        await waker
                    finally:
                        timer.cancel()
                        del self._wakers[key]
                    if queue:
                        continue
                # Idle: hand this task to a chat waiting in line, else retire.
                self._active.discard(key)
                if not queue:
                    del self._queues[key]
                if not self._waiting:
                    return
                key = self._waiting.popleft()
                self._active.add(key)
        finally:
            self.workers -= 1
            self._active.discard(key)

    def close_idle(self) -> None:
        """From now on workers retire as soon as their queue is empty (used by drain)."""
        self._closing = True
        for waker in list(self._wakers.values()):
            if not waker.done():
                waker.set_result(False)

    def reopen(self) -> None:
        self._closing = False

    def clear(self) -> None:
        """Forget queued items (after the workers were cancelled)."""
        self._queues.clear()
        self._waiting.clear()
        self._active.clear()


def _settle(waker: asyncio.Future[bool]) -> None:
    if not waker.done():
        waker.set_result(False)
