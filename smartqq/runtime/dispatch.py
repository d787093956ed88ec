"""Typed, polymorphic event dispatch.

``on(EventType)`` registers a handler for that class *and its subclasses*
(a ``MessageEvent`` handler sees every message). A coroutine handler runs as
its own named task, kept in a set until done; a plain function runs inline,
during dispatch (a task per call was most of the cost of dispatching to it). An
exception goes to the error hook and never reaches the poll loop. ``wait_for`` resolves futures; ``stream``
feeds bounded queues for ``async for``.

Overflow policy of ``events()``: each iterator has its own queue of
``buffer`` events; when it is full the *oldest* event is dropped (and
counted in ``dropped``) so a slow consumer never stalls polling or other
handlers.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast, get_type_hints

from smartqq.errors import UsageError
from smartqq.events import Event

__all__ = ["Dispatcher", "ErrorHook", "EventStream", "Handler", "HandlerRegistry"]

log = logging.getLogger("smartqq.dispatch")
E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None] | None]
ErrorHook = Callable[[BaseException, Event, Handler], Awaitable[None] | None]


@dataclass(slots=True)
class _Registration:
    event_type: type[Event]
    callback: Handler
    filter: Callable[[Any], bool] | None
    task_name: str = ""

    def __post_init__(self) -> None:
        self.task_name = f"smartqq-handler:{getattr(self.callback, '__qualname__', 'handler')}"


class EventStream(Generic[E]):
    """An ``async for`` source of events, buffering from the moment it is created.

    Ends when the client closes or polling stops for good; ``close()`` (or
    leaving ``async with``) unsubscribes early.
    """

    def __init__(self, dispatcher: Dispatcher, event_type: type[E], buffer: int) -> None:
        self._dispatcher = dispatcher
        self.event_type = event_type
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=buffer)
        self.dropped = 0
        self.ended = False

    def offer(self, event: Event) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            log.warning("events() buffer full: dropped the oldest event (%d so far)", self.dropped)
        self.queue.put_nowait(event)

    def __aiter__(self) -> EventStream[E]:
        return self

    def end(self) -> None:
        """No more events will come; what is buffered is still delivered."""
        self.ended = True
        if not self.queue.full():
            self.queue.put_nowait(None)  # wakes a consumer waiting on an empty queue

    async def __anext__(self) -> E:
        if self.ended and self.queue.empty():
            self.close()
            raise StopAsyncIteration
        item = await self.queue.get()
        if item is None:
            self.close()
            raise StopAsyncIteration
        return cast(E, item)

    def close(self) -> None:
        self._dispatcher._streams.discard(self)

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> EventStream[E]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class Dispatcher:
    def __init__(self, owner: Any, error_hook: ErrorHook | None = None) -> None:
        self._owner = owner
        self._handlers: list[_Registration] = []
        self._waiters: list[
            tuple[type[Event], Callable[[Any], bool] | None, asyncio.Future[Any]]
        ] = []
        self._streams: set[EventStream[Any]] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.error_hook = error_hook

    def register(
        self,
        event_type: type[Event] | None,
        callback: Handler,
        filter: Callable[[Any], bool] | None = None,
    ) -> Handler:
        if not callable(callback):
            raise UsageError(f"handler {callback!r} is not callable")
        if event_type is None:
            event_type = _annotated_type(callback)
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise UsageError(f"cannot dispatch {event_type!r}: not an Event class")
        self._handlers.append(_Registration(event_type, callback, filter))
        return callback

    def remove(self, callback: Handler) -> None:
        self._handlers = [h for h in self._handlers if h.callback is not callback]

    def dispatch(self, event: Event) -> int:
        """Start every matching handler; return how many started."""
        event.bind(self._owner)
        started = 0
        for reg in self._handlers:
            if isinstance(event, reg.event_type) and (
                reg.filter is None or _safe_filter(reg.filter, event)
            ):
                self._start(reg, event)
                started += 1
        for waiter in list(self._waiters):
            etype, check, fut = waiter
            if fut.done():
                self._waiters.remove(waiter)
            elif isinstance(event, etype) and (check is None or _safe_filter(check, event)):
                fut.set_result(event)
                self._waiters.remove(waiter)
        for stream in list(self._streams):
            if isinstance(event, stream.event_type):
                stream.offer(event)
        return started

    def _start(self, reg: _Registration, event: Event) -> None:
        # A plain function runs here and now: a task per call was most of the cost of
        # dispatching to sync handlers (counters, loggers). A coroutine function only
        # has its coroutine created here; its body runs in a task of its own.
        try:
            result: Any = reg.callback(event)
        except Exception as exc:
            self._spawn(self._report(exc, event, reg.callback), reg.task_name)
            return
        if inspect.isawaitable(result):
            self._spawn(self._finish(result, reg.callback, event), reg.task_name)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _finish(self, result: Awaitable[Any], callback: Handler, event: Event) -> None:
        try:
            await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._report(exc, event, callback)

    async def _report(self, exc: BaseException, event: Event, callback: Handler) -> None:
        if self.error_hook is None:
            log.error(
                "handler %s failed on %s",
                getattr(callback, "__qualname__", callback),
                type(event).__name__,
                exc_info=exc,
            )
            return
        try:
            result = self.error_hook(exc, event, callback)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("the error hook itself failed")

    async def wait_for(
        self,
        event_type: type[E],
        check: Callable[[E], bool] | None = None,
        timeout: float | None = None,
    ) -> E:
        fut: asyncio.Future[E] = asyncio.get_running_loop().create_future()
        self._waiters.append((event_type, check, fut))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters = [w for w in self._waiters if w[2] is not fut]

    def stream(self, event_type: type[E], buffer: int) -> EventStream[E]:
        s = EventStream(self, event_type, buffer)
        self._streams.add(s)
        return s

    def end_streams(self) -> None:
        for s in list(self._streams):
            s.end()

    async def drain(self, timeout: float) -> None:
        """Wait for running handlers, then cancel what is left."""
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=timeout)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)


class HandlerRegistry:
    """``on`` / ``add_handler`` / ``remove_handler`` / ``wait_for`` over ``self._dispatcher``;
    shared by :class:`smartqq.Client` and the legacy clients."""

    _dispatcher: Dispatcher

    def on(
        self, event_type: type[E] | None = None, filter: Callable[[E], bool] | None = None
    ) -> Callable[[Callable[[E], Awaitable[None]]], Callable[[E], Awaitable[None]]]:
        """Register a handler: ``@client.on(BuddyMessage)`` or ``@client.on()`` with an annotation."""

        def deco(fn: Callable[[E], Awaitable[None]]) -> Callable[[E], Awaitable[None]]:
            self._dispatcher.register(event_type, fn, filter)
            return fn

        return deco

    def add_handler(
        self,
        event_type: type[Event],
        callback: Handler,
        filter: Callable[[Any], bool] | None = None,
    ) -> None:
        self._dispatcher.register(event_type, callback, filter)

    def remove_handler(self, callback: Handler) -> None:
        self._dispatcher.remove(callback)

    async def wait_for(
        self,
        event_type: type[E],
        *,
        check: Callable[[E], bool] | None = None,
        timeout: float | None = None,
    ) -> E:
        """The next event of ``event_type`` passing ``check``; ``TimeoutError`` after ``timeout``."""
        return await self._dispatcher.wait_for(event_type, check, timeout)


def _safe_filter(check: Callable[[Any], bool], event: Event) -> bool:
    try:
        return bool(check(event))
    except Exception:
        log.exception("filter failed on %s", type(event).__name__)
        return False


def _annotated_type(callback: Handler) -> type[Event]:
    try:
        hints = get_type_hints(callback)
    except Exception as exc:
        raise UsageError(f"cannot read the annotations of {callback!r}: {exc}") from None
    params = [p for p in inspect.signature(callback).parameters if p in hints]
    if not params:
        raise UsageError("pass an event type to on(), or annotate the handler's first parameter")
    ann = hints[params[0]]
    if not (isinstance(ann, type) and issubclass(ann, Event)):
        raise UsageError(f"the first parameter is annotated {ann!r}, not an Event class")
    return ann
