"""Per-chat order without a task per chat: one runner, and a task only for a chat that waits.

``call(key, fn, arg, tag)`` queues ``await fn(arg)`` for chat ``key``. A chat
with jobs is *ready*; one **runner** task runs the ready chats' queues in
turn. Most handlers finish without waiting (a counter, a filter that says no,
a command that does not apply), and then all of a batch's chats cost one task
wake-up instead of one per chat: waking a parked task per chat was 5-6 us per
chat per batch, more than the handlers themselves.

A job that has to wait (it awaits I/O, a reply, a sleep, an answer) keeps the
runner: the first time the runner gives the loop up, :meth:`ChatWorkers._check`
(scheduled when it started) sees it still inside a job, leaves it that chat
(it finishes the job and the chat's queue as the chat's own task, then ends)
and starts a new runner for the other ready chats. So within a chat jobs run
one at a time in arrival order, chats run concurrently, a slow handler delays
only its own chat, and a task exists per chat only while one of its jobs waits.

At most ``max_workers`` tasks (runners and chats' tasks) run at once: at the
bound no new runner starts, the ready chats wait in line, and the first task
to finish its chat takes them over. An exception a job raises goes to
``on_error(exc, arg, tag)`` (or the log) and the next job runs; a task that
is cancelled (by ``drain`` after its grace time) drops its chat's queue.

Handlers run in their runner's context (a copy of the dispatching task's, as a
task's would be), shared by the handlers of one batch: a context variable one
handler sets is seen by the next ones, as a chat's handlers shared their
worker's context before.
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
    _keep(task, tasks)
    return task


def _keep(task: asyncio.Task[Any], tasks: set[asyncio.Task[None]]) -> None:
    if not task.done():
        tasks.add(task)
        task.add_done_callback(tasks.discard)


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
        self.idle = idle
        self._run = run
        self._enter = enter  # called first in each task (sets its context up)
        self._on_error = on_error
        self._tasks = tasks  # the dispatcher's set: drained and counted with the rest
        self.max_workers = max_workers
        self.queues: dict[Hashable, deque[Job]] = {}
        """Chat key -> its jobs, for every chat that is ready or running one. A non-empty
        queue is due to be run, so appending a job there is all :meth:`call` does (the
        dispatcher does it inline)."""
        self._ready: deque[Hashable] = deque()  # chats for the runner, in arrival order
        self._runner: asyncio.Task[None] | None = None
        self._runner_key: Hashable = None  # the chat the runner is in
        # The parked runner's waker and when it parked: between batches the runner waits
        # ``idle`` seconds for the next one (a wake-up costs less than a new task), and
        # one timer retires it after that.
        self._waker: asyncio.Future[bool] | None = None
        self._parked_since = 0.0
        self._sweeper: asyncio.TimerHandle | None = None
        self._closing = False
        self._in_batch: asyncio.Task[None] | None = None  # the runner, while it runs a batch
        self.workers = 0  # tasks running jobs or about to: the runner and waiting chats
        self.busy = 0  # of those, the ones inside a job right now

    def submit(self, key: Hashable, item: T) -> None:
        """Queue ``run(item)`` in ``key``'s turn."""
        self.call(key, self._run, item, None)

    def call(self, key: Hashable, fn: Callable[[Any], Awaitable[Any]], arg: Any, tag: Any) -> None:
        """Queue ``await fn(arg)`` in ``key``'s turn; a failure goes to ``on_error``."""
        queue = self.queues.get(key)
        if queue is not None:
            queue.append((fn, arg, tag))  # the chat is ready or running: it gets there
            return
        self.queues[key] = deque(((fn, arg, tag),))
        self._ready.append(key)
        waker = self._waker
        if waker is not None:  # the runner is parked: wake it (once: it leaves the slot now)
            self._waker = None
            waker.set_result(True)
            return
        runner = self._runner
        loop = asyncio.get_running_loop()
        # (Done without clearing itself: cancelled before it ran. Another loop's: a
        # notebook that ran the client under an earlier loop.)
        if (runner is None or runner.done() or runner.get_loop() is not loop) and (
            self.workers < self.max_workers
        ):
            # Not eager: the runner is to take the whole batch, after the dispatch loop.
            self._runner = self._started(loop.create_task(self._run_ready(), name="smartqq-chats"))

    def _started(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        # Counted and kept until done, even if cancelled before it ever ran.
        self.workers += 1
        self._tasks.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.workers -= 1
        self._tasks.discard(task)

    def pending(self) -> int:
        """Items queued and not yet started, over all chats."""
        return sum(len(q) for q in self.queues.values())

    async def _run_ready(self) -> None:
        me = asyncio.current_task()
        assert me is not None
        loop = asyncio.get_running_loop()
        if self._enter is not None:
            self._enter()
        ready, queues = self._ready, self.queues
        try:
            while True:
                # Runs as soon as this task gives the loop up: if that is inside a job,
                # the job waits, and the other chats must not wait with it (_check).
                loop.call_soon(self._check, me)
                self.busy += 1
                self._in_batch = me
                try:
                    while ready:
                        if self._runner is not me:
                            if self._runner is not None:
                                return  # a new runner has the other chats: this task is done
                            # Nobody runs the ready chats (it was at the bound): take them.
                            self._runner = self._in_batch = me
                            loop.call_soon(self._check, me)
                        key = self._runner_key = ready.popleft()
                        queue = queues[key]
                        while queue:
                            fn, arg, tag = queue.popleft()
                            try:
                                await fn(arg)
                            except Exception as exc:
                                await self._failed(exc, arg, tag)
                            except asyncio.CancelledError:
                                if me.cancelling():
                                    raise  # drain: this task is being cancelled
                                # The handler's own (it awaited something cancelled).
                                log.warning("a handler on %r was cancelled", type(arg).__name__)
                        del queues[key]
                finally:
                    self.busy -= 1
                    if self._in_batch is me:
                        self._in_batch = None
                if self._runner is not me or self._closing or not self.idle:
                    return
                if not await self._park(loop):
                    return
        finally:
            if self._runner is me:
                self._runner = None

    async def _park(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Wait for the next ready chat; False when idle for ``idle`` seconds (retire)."""
        waker: asyncio.Future[bool] = loop.create_future()
        self._waker, self._parked_since = waker, loop.time()
        if self._sweeper is None:
            self._sweeper = loop.call_at(self._parked_since + self.idle, self._sweep, loop)
        try:
            return await waker
        finally:
            if self._waker is waker:
                self._waker = None

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Retire the runner if it has been parked for ``idle`` seconds; else look again then."""
        self._sweeper = None
        waker = self._waker
        if waker is None:
            return
        due = self._parked_since + self.idle
        if due <= loop.time():
            self._waker = None
            waker.set_result(False)
        else:
            self._sweeper = loop.call_at(due, self._sweep, loop)

    def _check(self, runner: asyncio.Task[None]) -> None:
        """The runner gave the loop up: if it waits inside a job, leave it that job's chat.

        It finishes the job and its chat's queue, as that chat's own task, while a new
        runner (if the bound allows one) takes the other ready chats.
        """
        if self._in_batch is not runner or self._runner is not runner:
            return  # it finished every ready chat without waiting (the common batch)
        self._runner = None
        runner.set_name(f"smartqq-chat:{self._runner_key}")
        if self._ready and self.workers < self.max_workers:
            self._runner = self._started(
                asyncio.get_running_loop().create_task(self._run_ready(), name="smartqq-chats")
            )

    def close_idle(self) -> None:
        """From now on the runner retires when nothing is ready (used by drain)."""
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        waker, self._waker = self._waker, None
        if waker is not None:
            waker.set_result(False)

    def reopen(self) -> None:
        self._closing = False

    async def _failed(self, exc: Exception, arg: Any, tag: Any) -> None:
        if self._on_error is None:
            log.error("worker job on %r failed", type(arg).__name__, exc_info=exc)
            return
        try:
            await self._on_error(exc, arg, tag)
        except Exception:
            log.exception("reporting a worker job's failure failed")

    def clear(self) -> None:
        """Forget queued items (after the tasks were cancelled)."""
        self.queues.clear()
        self._ready.clear()
