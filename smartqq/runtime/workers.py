"""Per-chat workers: one long-lived task per active chat, events in arrival order.

``submit(key, item)`` appends to the chat's queue and, if the chat has no
worker, starts one. A worker runs its queue's items one after the other, so a
chat's events reach handlers in arrival order while chats run concurrently and
a slow handler delays only its own chat. An idle worker lingers ``idle``
seconds (a burst of messages reuses one task), then retires. At most
``max_workers`` run at once: a chat beyond that waits in line, and a worker
whose own queue runs dry takes the next waiting chat over instead of retiring,
so no task is created for it.

A queue holds jobs ``(fn, arg, tag)``: ``submit(key, item)`` queues
``run(item)``, ``call(key, fn, arg, tag)`` queues ``fn(arg)`` itself, so the
dispatcher's fast path puts a coroutine handler straight on the queue and the
worker awaits it with no frame of ours in between. An exception a job raises
goes to ``on_error(exc, arg, tag)`` (or the log); a worker that is cancelled (by
``drain`` after its grace time) drops its queue.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["ChatWorkers", "spawn"]

T = TypeVar("T")
Job = tuple[Callable[[Any], Awaitable[Any]], Any, Any]  # (fn, arg, tag): await fn(arg)
ErrorSink = Callable[[Exception, Any, Any], Awaitable[None]]
log = logging.getLogger("smartqq.dispatch")


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
        on_error: ErrorSink | None = None,
    ) -> None:
        if max_workers < 1 or idle < 0:
            raise ValueError("max_workers >= 1 and idle >= 0 are required")
        self._run = run
        self._enter = enter  # called first in each worker task (sets its context up)
        self._on_error = on_error
        self._tasks = tasks  # the dispatcher's set: drained and counted with the rest
        self.max_workers = max_workers
        self.idle = idle
        self.queues: dict[Hashable, deque[Job]] = {}
        """Chat key -> its jobs. A non-empty queue's worker is due to run it, so appending
        a job there is all :meth:`call` does (the dispatcher does it inline)."""
        # Chats with a worker (running or lingering); a dict is a quarter of an empty set.
        self._active: dict[Hashable, None] = {}
        # Chats with items and no worker yet; made when first needed (an empty deque
        # is ~0.6 KiB and most clients never reach max_workers).
        self._waiting: deque[Hashable] | None = None
        # A parked (idle) worker's waker and when it parked; one sweeper timer retires
        # those idle for ``idle`` seconds (a timer per park cost more than the events).
        self._wakers: dict[Hashable, tuple[asyncio.Future[bool], float]] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._closing = False
        self.workers = 0
        self.busy = 0  # workers running their queue's jobs right now

    def submit(self, key: Hashable, item: T) -> None:
        """Queue ``run(item)`` on ``key``'s worker."""
        self.call(key, self._run, item, None)

    def call(self, key: Hashable, fn: Callable[[Any], Awaitable[Any]], arg: Any, tag: Any) -> None:
        """Queue ``await fn(arg)`` on ``key``'s worker; a failure goes to ``on_error``."""
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = deque()
        queue.append((fn, arg, tag))
        if len(queue) > 1:
            return  # the chat's worker is already due to run (it has not emptied the queue)
        parked = self._wakers.pop(key, None) if self._wakers else None
        if parked is not None:
            parked[0].set_result(True)  # gone from _wakers at once: the next item needs no wake
        elif key not in self._active:
            if self.workers < self.max_workers:
                self._start(key)
            else:
                if self._waiting is None:
                    self._waiting = deque()
                self._waiting.append(key)

    def pending(self) -> int:
        """Items queued and not yet started, over all chats."""
        return sum(len(q) for q in self.queues.values())

    def _start(self, key: Hashable) -> None:
        self._active[key] = None
        self.workers += 1
        spawn(self._work(key), f"smartqq-chat:{key}", self._tasks)

    async def _work(self, key: Hashable) -> None:
        loop = asyncio.get_running_loop()
        if self._enter is not None:
            self._enter()
        try:
            while True:
                queue = self.queues[key]
                if queue:
                    # Counted busy from its first job to its queue's end (not per job: two
                    # counter updates per event were a measurable part of the hot path).
                    self.busy += 1
                    try:
                        while queue:
                            fn, arg, tag = queue.popleft()
                            try:
                                await fn(arg)
                            except Exception as exc:
                                await self._failed(exc, arg, tag)
                    finally:
                        self.busy -= 1
                if not self._closing and self.idle:
                    waker: asyncio.Future[bool] = loop.create_future()
                    self._wakers[key] = (waker, loop.time())
                    if self._sweeper is None:
                        self._sweeper = loop.call_later(self.idle, self._sweep, loop)
                    try:
                        await waker
                    finally:
                        self._wakers.pop(key, None)
                    if queue:
                        continue
                # Idle: hand this task to a chat waiting in line, else retire.
                self._active.pop(key, None)
                if not queue:
                    del self.queues[key]
                if not self._waiting:
                    return
                key = self._waiting.popleft()
                self._active[key] = None
        finally:
            self.workers -= 1
            self._active.pop(key, None)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Retire the workers idle for ``idle`` seconds; come back for the others."""
        self._sweeper = None
        now = loop.time()
        next_due: float | None = None
        for key, (waker, since) in list(self._wakers.items()):
            due = since + self.idle
            if due <= now:
                del self._wakers[key]
                waker.set_result(False)
            elif next_due is None or due < next_due:
                next_due = due
        if next_due is not None:
            self._sweeper = loop.call_at(next_due, self._sweep, loop)

    async def _failed(self, exc: Exception, arg: Any, tag: Any) -> None:
        if self._on_error is None:
            log.error("worker job on %r failed", type(arg).__name__, exc_info=exc)
            return
        try:
            await self._on_error(exc, arg, tag)
        except Exception:
            log.exception("reporting a worker job's failure failed")

    def close_idle(self) -> None:
        """From now on workers retire as soon as their queue is empty (used by drain)."""
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        parked, self._wakers = self._wakers, {}
        for waker, _ in parked.values():
            waker.set_result(False)

    def reopen(self) -> None:
        self._closing = False

    def clear(self) -> None:
        """Forget queued items (after the workers were cancelled)."""
        self.queues.clear()
        self._waiting = None
        self._active.clear()
