"""Per-chat order with few tasks: one runner for quick handlers, workers for waiting ones.

``call(key, fn, arg, tag)`` queues ``await fn(arg)`` for chat ``key``; within
a chat jobs run one at a time in arrival order, chats run concurrently, and a
slow handler delays only its own chat. Two kinds of task run them:

* **The runner** (one per dispatcher) runs the queues of the *ready* chats in
  turn. Most handlers finish without waiting (a counter, a filter that says
  no, a command that does not apply), and then a whole batch costs one task
  wake-up instead of one per chat: waking a parked task per chat was 5-6 us
  per chat per batch, more than the handlers themselves. Between batches it
  parks for ``idle`` seconds.
* **A chat's own worker.** A job that waits (I/O, a reply, a sleep, an
  answer) holds the runner; the first time the runner gives the loop up,
  :meth:`ChatWorkers._check` (scheduled for every batch) sees it inside a job
  and leaves it to that chat: it finishes the job and the chat's queue as the
  chat's worker, parks for ``idle`` seconds (the chat's next messages wake it
  directly) and then retires. A new runner takes the other chats. The job
  function that waited is remembered: ready chats whose next job is of that
  kind get workers of their own at once, and so does any idle chat later.

At most ``max_workers`` tasks (runners and workers) exist at once: at the
bound no new one starts, the ready chats wait in line, and a worker that runs
dry takes them over instead of parking. An exception a job raises goes to
``on_error(exc, arg, tag)`` (or the log) and the next job runs; a task that
is cancelled (by ``drain`` after its grace time) drops its queue.

Handlers run in their task's context (a copy of the dispatching task's when it
was created): handlers run by one runner share it, as a chat's handlers share
their worker's, so a context variable one handler sets is seen by the next ones.
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


_RUNNER = object()  # the runner's key among the parked tasks' wakers


class ChatWorkers(Generic[T]):
    # One per client: slots instead of a __dict__ (memory per client is a target).
    __slots__ = (
        "_active",
        "_closing",
        "_enter",
        "_in_batch",
        "_on_error",
        "_ready",
        "_run",
        "_runner",
        "_runner_fn",
        "_runner_key",
        "_sweeper",
        "_tasks",
        "_waits",
        "_wakers",
        "busy",
        "idle",
        "max_workers",
        "queues",
        "workers",
    )

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
        """Chat key -> its jobs, for every chat that is ready, running or has a worker.
        A non-empty queue is due to be run, so appending a job there is all :meth:`call`
        does (the dispatcher does it inline)."""
        # Chats for the runner, in arrival order; made when first needed (an empty deque
        # is ~0.6 KiB, and memory per client is a target).
        self._ready: deque[Hashable] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._in_batch: asyncio.Task[None] | None = None  # the runner, while in a batch
        self._runner_key: Hashable = None  # the chat the runner is in
        self._runner_fn: Any = None  # and the job function it runs
        # Job functions that waited on the runner (a handler that replies, sleeps, asks):
        # an idle chat's job of one of these gets a worker of its own at once.
        self._waits: set[Any] | None = None
        # Chats with a worker of their own (running or parked); a dict is a quarter of
        # an empty set.
        self._active: dict[Hashable, None] = {}
        # Parked tasks (chat workers by chat key, the runner under _RUNNER): a waker and
        # when it parked. One sweeper timer retires those idle for ``idle`` seconds (a
        # timer per park cost more than the events of a typical batch).
        self._wakers: dict[Any, tuple[asyncio.Future[bool], float]] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._closing = False
        self.workers = 0  # tasks: runners and chat workers, running or parked
        self.busy = 0  # of those, the ones running jobs right now

    def submit(self, key: Hashable, item: T) -> None:
        """Queue ``run(item)`` in ``key``'s turn."""
        self.call(key, self._run, item, None)

    def call(self, key: Hashable, fn: Callable[[Any], Awaitable[Any]], arg: Any, tag: Any) -> None:
        """Queue ``await fn(arg)`` in ``key``'s turn; a failure goes to ``on_error``."""
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = deque()
        queue.append((fn, arg, tag))
        if len(queue) > 1:
            return  # due already: whoever runs this chat has not emptied its queue
        wakers = self._wakers
        if wakers:
            parked = wakers.pop(key, None)
            if parked is not None:  # the chat's own worker, parked: wake it
                parked[0].set_result(True)  # (gone from _wakers: the next job needs no wake)
                return
        if key in self._active or (key == self._runner_key and self._in_batch is not None):
            return  # its worker, or the runner, is in a job of this chat: it gets there
        if self._waits and self.workers < self.max_workers and _known(self._waits, fn):
            # A job of this kind waited before: the chat gets its own worker now rather
            # than one runner after the other (each would start a loop pass later).
            self._active[key] = None
            loop = asyncio.get_running_loop()
            self._started(loop.create_task(self._serve(key), name=f"smartqq-chat:{key}"))
            return
        ready = self._ready
        if ready is None:
            ready = self._ready = deque()
        ready.append(key)
        if self._in_batch is not None:
            return  # the runner is in a batch: it takes this chat too
        parked = wakers.pop(_RUNNER, None) if wakers else None
        if parked is not None:
            parked[0].set_result(True)
            return
        runner = self._runner
        loop = asyncio.get_running_loop()
        # (Done without clearing itself: cancelled before it ran. Another loop's: a
        # notebook that ran the client under an earlier loop.)
        if (runner is None or runner.done() or runner.get_loop() is not loop) and (
            self.workers < self.max_workers
        ):
            # Not eager: the runner is to take the whole batch, after the dispatch loop.
            self._runner = self._started(loop.create_task(self._serve(None), name="smartqq-chats"))

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

    # -- the tasks ----------------------------------------------------------------------

    async def _serve(self, chat: Hashable | None) -> None:
        """A task's life: the runner (``chat`` None) or a chat's worker, in turns."""
        me = asyncio.current_task()
        assert me is not None
        loop = asyncio.get_running_loop()
        if self._enter is not None:
            self._enter()
        try:
            while True:
                if chat is not None:
                    await self._serve_chat(chat, loop)
                    # Retired from its chat: take the ready chats if nobody does.
                    runner = self._runner
                    if not self._ready or (runner is not None and not runner.done()):
                        return
                    self._runner = me
                chat = await self._serve_ready(me, loop)
                if chat is None:
                    return
        finally:
            if self._runner is me:
                self._runner = None

    async def _serve_ready(self, me: asyncio.Task[None], loop: asyncio.AbstractEventLoop) -> Any:
        """Run the ready chats, batch after batch; park between them.

        Returns the chat whose job waited (this task is that chat's worker from then
        on), or None when the runner retires.
        """
        ready, queues = self._ready, self.queues
        assert ready is not None  # a runner starts for a ready chat
        while True:
            # Runs as soon as this task gives the loop up: if that is inside a job, the
            # job waits, and the other chats must not wait with it (_check).
            loop.call_soon(self._check, me)
            self.busy += 1
            self._in_batch = me
            try:
                while ready:
                    key = self._runner_key = ready.popleft()
                    queue = queues[key]
                    while queue:
                        fn, arg, tag = queue.popleft()
                        self._runner_fn = fn
                        # (Inlined in both loops: a helper coroutine per job cost more
                        # than the rest of the runner's work per job.)
                        try:
                            await fn(arg)
                        except Exception as exc:
                            await self._failed(exc, arg, tag)
                        except asyncio.CancelledError:
                            if me.cancelling():
                                raise  # drain: this task is being cancelled
                            self._cancelled_itself(arg)
                        if self._runner is not me:
                            return key  # the job waited: this is the chat's worker now
                    del queues[key]
            finally:
                self.busy -= 1
                if self._in_batch is me:
                    self._in_batch = None
            if self._closing or not self.idle:
                return None
            if not await self._park(_RUNNER, loop):
                return None

    def _check(self, runner: asyncio.Task[None]) -> None:
        """The runner gave the loop up: if it waits inside a job, leave it that job's chat.

        It finishes the job and its chat's queue, as that chat's own worker, while a new
        runner (if the bound allows one) takes the other ready chats.
        """
        if self._in_batch is not runner or self._runner is not runner:
            return  # it finished every ready chat without waiting (the common batch)
        self._runner = self._in_batch = None
        key = self._runner_key
        self._active[key] = None
        if self._waits is None:
            self._waits = set()
        try:
            self._waits.add(self._runner_fn)  # its chats get workers of their own from now on
        except TypeError:  # an unhashable job function: not remembered
            pass
        runner.set_name(f"smartqq-chat:{key}")
        # The ready chats whose next job is of a kind that waits: workers of their own
        # now, all in this loop pass (a runner each would start one pass after another).
        loop = asyncio.get_running_loop()
        for chat in list(self._ready or ()):
            if self.workers >= self.max_workers:
                break
            if _known(self._waits, self.queues[chat][0][0]) and self._ready is not None:
                self._ready.remove(chat)
                self._active[chat] = None
                self._started(loop.create_task(self._serve(chat), name=f"smartqq-chat:{chat}"))
        if self._ready and self.workers < self.max_workers:
            self._runner = self._started(
                asyncio.get_running_loop().create_task(self._serve(None), name="smartqq-chats")
            )

    async def _serve_chat(self, key: Hashable, loop: asyncio.AbstractEventLoop) -> None:
        """Be ``key``'s worker: run its queue, park for more, retire when idle."""
        me = asyncio.current_task()
        assert me is not None
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
                            except asyncio.CancelledError:
                                if me.cancelling():
                                    raise
                                self._cancelled_itself(arg)
                    finally:
                        self.busy -= 1
                runner = self._runner
                if self._ready and (runner is None or runner.done()):
                    pass  # chats wait in line (the bound): retire from this one, take them
                elif not self._closing and self.idle and await self._park(key, loop):
                    continue
                if queue:
                    continue  # woken to retire, but a job came in meanwhile
                del self.queues[key]
                return
        finally:
            self._active.pop(key, None)

    def _cancelled_itself(self, arg: Any) -> None:
        # A job raised CancelledError while its task was not being cancelled: it awaited
        # something that was. That ends the job, not the chat.
        log.warning("a handler on %r was cancelled", type(arg).__name__)

    async def _park(self, key: Any, loop: asyncio.AbstractEventLoop) -> bool:
        """Wait to be woken for more (True) or retired after ``idle`` seconds (False)."""
        waker: asyncio.Future[bool] = loop.create_future()
        self._wakers[key] = (waker, loop.time())
        if self._sweeper is None:
            self._sweeper = loop.call_later(self.idle, self._sweep, loop)
        try:
            return await waker
        finally:
            if self._wakers.get(key, (None,))[0] is waker:
                del self._wakers[key]

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Retire the tasks parked for ``idle`` seconds; come back for the others."""
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
        """From now on tasks retire as soon as they run dry (used by drain)."""
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
        """Forget queued items (after the tasks were cancelled)."""
        self.queues.clear()
        if self._ready is not None:
            self._ready.clear()
        self._active.clear()


def _known(functions: set[Any] | None, fn: Any) -> bool:
    if functions is None:
        return False
    try:
        return fn in functions
    except TypeError:  # unhashable
        return False
