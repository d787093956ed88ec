"""Per-chat order without a task per chat: one runner, and a task only for a chat that waits.

``call(key, fn, arg, tag)`` queues ``await fn(arg)`` for chat ``key``. A chat
with jobs is *ready*; one **runner** task takes the ready chats in turn and
starts each job itself (``coro.send``). Most handlers finish without waiting
(a counter, a filter that says no, parsing a command), and all of a batch's
chats then cost one task wake-up instead of one per chat: waking a parked
task per chat was 5-6 us per chat per batch, more than the handlers cost.

A job that has to wait (it awaits I/O, a sleep, an answer) is handed, as it
stands, to a task of its own for its chat (:class:`_Resumed`; cancelling that
task reaches the handler exactly as if the task had run it from the start).
That task finishes the job, then the chat's queue, then retires; meanwhile
the runner goes on with the other chats. So within a chat jobs run one at a
time in arrival order, chats run concurrently, and a slow handler delays only
its own chat.

At most ``max_workers`` tasks (the runner and the waiting chats' tasks) run at
once: at the bound the runner awaits a job that waits itself, and the chats
behind it wait in line. An exception a job raises goes to ``on_error(exc,
arg, tag)`` (or the log) and the next job runs; a task cancelled by ``drain``
after its grace time drops its chat's queue.

Handlers started by the runner share its context (as a chat's handlers shared
their worker's before): a context variable a handler sets is seen by the next
ones of the same batch. A chat's own task starts from a copy of it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Hashable
from types import CoroutineType, TracebackType
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


class _Resumed:
    """A coroutine that was started and then had to wait, as an awaitable for a task.

    A started coroutine cannot be awaited again, so this iterator stands in
    for it: its first step gives the task what the coroutine waits for (a
    future, or ``None`` for a bare yield, which asks for one loop pass), every
    later step is the coroutine's own ``send``/``throw``.
    """

    __slots__ = ("_coro", "_error", "_waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self._coro = coro
        self._waiting_on: Any = waiting_on
        self._error: BaseException | None = None
        if waiting_on is not None and not hasattr(waiting_on, "_asyncio_future_blocking"):
            # What a task tells a coroutine that yields something else, on its next step.
            self._waiting_on = None
            self._error = RuntimeError(f"a handler yielded {waiting_on!r}, not a future")

    def __await__(self) -> Generator[Any, Any, Any]:
        return self  # type: ignore[return-value]  # an iterator with send/throw

    def __iter__(self) -> _Resumed:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def send(self, value: Any) -> Any:
        waiting_on = self._waiting_on
        if waiting_on is not None:
            self._waiting_on = None
            return waiting_on  # its _asyncio_future_blocking is still set: the task waits
        if self._error is not None:
            error, self._error = self._error, None
            return self._coro.throw(error)
        return self._coro.send(value)

    def throw(
        self,
        typ: type[BaseException] | BaseException,
        val: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> Any:
        self._waiting_on = self._error = None
        exc = val if val is not None else typ() if isinstance(typ, type) else typ
        if tb is not None:
            exc = exc.with_traceback(tb)
        return self._coro.throw(exc)

    def close(self) -> None:
        self._coro.close()


class ChatWorkers(Generic[T]):
    def __init__(
        self,
        run: Callable[[T], Awaitable[None]],
        tasks: set[asyncio.Task[None]],
        *,
        max_workers: int = 256,
        enter: Callable[[], object] | None = None,
        on_error: ErrorSink | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers >= 1 is required")
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
        runner = self._runner
        loop = asyncio.get_running_loop()
        # (Done without clearing itself: cancelled before it ran. Another loop's: a
        # notebook that ran the client under an earlier loop.)
        if runner is None or runner.done() or runner.get_loop() is not loop:
            # Not eager: the runner is to take the whole batch, after the dispatch loop.
            self._runner = self._started(loop.create_task(self._run_ready(), name="smartqq-chats"))

    def _started(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        # Counted until done, even if cancelled before it ever ran.
        self.workers += 1
        task.add_done_callback(self._ended)
        _keep(task, self._tasks)
        return task

    def _ended(self, _task: asyncio.Task[None]) -> None:
        self.workers -= 1

    def pending(self) -> int:
        """Items queued and not yet started, over all chats."""
        return sum(len(q) for q in self.queues.values())

    async def _run_ready(self) -> None:
        if self._enter is not None:
            self._enter()
        ready, queues = self._ready, self.queues
        self.busy += 1
        try:
            while ready:
                key = ready.popleft()
                queue = queues[key]
                while queue:
                    fn, arg, tag = queue.popleft()
                    if self.workers >= self.max_workers:
                        # At the bound: a job that waits holds the chats behind it.
                        try:
                            await fn(arg)
                        except Exception as exc:
                            self._report(exc, arg, tag)
                        continue
                    awaitable = fn(arg)
                    if awaitable.__class__ is not CoroutineType:  # a future, or the like
                        self._hand_over(key, _Resumed(_await(awaitable), None), arg, tag)
                        break
                    try:
                        waiting_on = awaitable.send(None)
                    except StopIteration:
                        continue
                    except asyncio.CancelledError:
                        continue  # raised by the handler itself: nothing here was cancelled
                    except Exception as exc:
                        self._report(exc, arg, tag)
                        continue
                    self._hand_over(key, _Resumed(awaitable, waiting_on), arg, tag)
                    break
                else:
                    del queues[key]  # done: the chat is idle
        finally:
            self.busy -= 1
            if self._runner is asyncio.current_task():
                self._runner = None

    def _hand_over(self, key: Hashable, job: _Resumed, arg: Any, tag: Any) -> None:
        # The chat's own task starts from a copy of this context (what its job set so far).
        task = asyncio.get_running_loop().create_task(
            self._finish(key, job, arg, tag),
            name=f"smartqq-chat:{key}",
            context=contextvars.copy_context(),
        )
        self._started(task)

    async def _finish(self, key: Hashable, job: _Resumed, arg: Any, tag: Any) -> None:
        """Finish the job that waited, then the rest of the chat's queue, then retire."""
        if self._enter is not None:
            self._enter()
        self.busy += 1
        try:
            try:
                await job
            except Exception as exc:
                await self._failed(exc, arg, tag)
            queue = self.queues[key]
            while queue:
                fn, arg, tag = queue.popleft()
                try:
                    await fn(arg)
                except Exception as exc:
                    await self._failed(exc, arg, tag)
            del self.queues[key]
        finally:
            self.busy -= 1

    def _report(self, exc: Exception, arg: Any, tag: Any) -> None:
        # From the runner: an error hook that waits must not hold the other chats up.
        spawn(self._failed(exc, arg, tag), "smartqq-error", self._tasks)

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


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
