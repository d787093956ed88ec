"""Typed, polymorphic event dispatch onto per-chat workers.

``on(EventType)`` registers a handler for that class *and its subclasses* (a
``MessageEvent`` handler sees every message). For each event, in this order:

1. waiters (``wait_for``, ``msg.ask``) are matched *here*, at dispatch, before
   any queue: a handler waiting for its chat's next message would otherwise
   wait behind itself on its own chat's worker. A pending ``ask`` consumes the
   answer: no handler sees it.
2. ``events()`` streams get it.
3. If only plain functions with plain predicates can take the event's class,
   they run inline, now (counters and loggers cost no task and no queue).
4. Otherwise the event goes to its chat's queue (``handler_concurrency="chat"``,
   the default: arrival order within a chat, chats concurrent, one runner task
   for handlers that finish at once and a worker per chat for handlers that
   wait; see :mod:`smartqq.runtime.workers`) or to a task of its own (``"task"``).
   There the router tree runs: outer middleware, filters (each filter object
   once per event), inner middleware, handlers in order.

A handler's exception goes to the error hook (or the log) and never reaches
the poll loop nor the next handler. ``drain`` lets running handlers finish
within a grace time, then cancels what is left.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from smartqq._tasks import cancel_and_wait
from smartqq.errors import UsageError
from smartqq.events import Event, MessageEvent
from smartqq.filters import _Callable

from .commands import help_text, parse_command
from .context import EventContext
from .handlers import Handler, Registration
from .router import Router, _Plan
from .streams import EventStream
from .workers import ChatWorkers, spawn

__all__ = ["Dispatcher", "ErrorHook", "EventStream", "Handler"]

log = logging.getLogger("smartqq.dispatch")
E = TypeVar("E", bound=Event)
F = TypeVar("F", bound=Callable[..., Any])
in_handler: ContextVar[bool] = ContextVar("smartqq_in_handler", default=False)
"""True while the current task runs handlers (so ``stop()`` knows not to wait for itself)."""
ErrorHook = Callable[[BaseException, Event, Handler], Awaitable[None] | None]
Concurrency = Literal["chat", "task"]
# The setter of pydantic's ``__pydantic_private__`` slot, taken directly: half the
# cost of ``object.__setattr__`` (which looks the slot up by name on every call).
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_Fast = tuple[tuple[Handler, tuple[_Callable, ...], Registration], ...]
# The fast path, its direct job, and the poll_type that with from_uin is the chat key.
# (fast path, its direct job and that job's coroutine function, chat key kind, count).
_Route = tuple[_Fast | None, Registration | None, Any, str | None, int]
_Item = tuple[_Fast | None, Event]  # what a worker runs: the fast path (or None) and the event


@dataclass(slots=True)
class _Waiter:
    event_type: type[Event]
    check: Callable[[Any], bool] | None
    future: asyncio.Future[Any]
    chat: Hashable | None = None
    sender: int | None = None
    consume: bool = False

    def matches(self, event: Event) -> bool:
        if not isinstance(event, self.event_type):
            return False
        if self.chat is not None and chat_key(event) != self.chat:
            return False
        if self.sender is not None and getattr(event, "sender_uin", None) != self.sender:
            return False
        return self.check is None or _safe_filter(self.check, event)


def chat_key(event: Event) -> Hashable:
    """The ordering domain of an event: its chat, or its kind for non-chat events."""
    if isinstance(event, MessageEvent):
        return event.chat_key
    # Other events keep order per kind and per originator (a status change, a tqq message).
    who = getattr(event, "from_uin", None) or getattr(event, "sender", None)
    return (event.kind, who if isinstance(who, int) else 0)


class Dispatcher:
    def __init__(
        self,
        owner: Any,
        error_hook: ErrorHook | None = None,
        *,
        concurrency: Concurrency = "chat",
        max_workers: int = 256,
        router: Router | None = None,
    ) -> None:
        if concurrency not in ("chat", "task"):
            raise UsageError(f'handler_concurrency must be "chat" or "task", not {concurrency!r}')
        self._owner = owner
        self._bound: dict[str, Any] = {"client": owner}
        self.router = router or Router(name="root")
        # Made on first use: most clients never wait or stream (memory per client).
        self._waiters: list[_Waiter] | None = None
        self._streams: set[EventStream[Any]] | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.error_hook = error_hook
        self._per_chat = concurrency == "chat"
        self.workers: ChatWorkers[_Item] = ChatWorkers(
            self._handle,
            self.tasks,
            max_workers=max_workers,
            enter=_enter_handler,
            on_error=self._direct_failed,
        )

    @property
    def concurrency(self) -> Concurrency:
        """``"chat"`` (per-chat workers) or ``"task"`` (a task per event); fixed at creation."""
        return "chat" if self._per_chat else "task"

    # -- registration (the legacy clients and tests call these directly) -------------

    def register(
        self,
        event_type: type[Event] | None,
        callback: Handler,
        filter: Callable[[Any], bool] | None = None,
    ) -> Handler:
        self.router.add_handler(event_type, callback, filter)
        return callback

    def remove(self, callback: Handler) -> None:
        self.router.remove_handler(callback)

    # -- dispatch --------------------------------------------------------------------

    def dispatch(self, event: Event) -> int:
        """Hand ``event`` to waiters, streams and handlers; return how many handlers
        can take its class (filters are evaluated later, on the worker)."""
        # event.bind(owner), inlined: this runs once per received event. Events
        # without private attributes of their own share one dict per dispatcher
        # (nothing writes into it: pydantic only sets declared private names there).
        private = event.__pydantic_private__
        if private is None:
            _set_private(event, self._bound)
        elif private.get("client") is not self._owner:
            _set_private(event, {**private, "client": self._owner})
        if self._waiters and self._match_waiters(event):
            self._offer(event)
            return 0
        if self._streams:
            self._offer(event)
        cls = type(event)
        plan = self.router._plans.get(cls)  # Router.plan's cache, read without the call
        if plan is None:
            plan = self.router.plan(cls)
            if plan is None:
                return 0
        inline = plan.inline
        if inline is False:
            inline = self._inline_regs(plan, cls)
        if inline is not None:
            return self._run_inline(inline, event)
        route: _Route = plan.fast if plan.fast is not False else self._fast_regs(plan, cls)
        fast, direct, handler, kind, count = route
        if self._per_chat:
            # MessageEvent.chat_key without the property call where the class keeps it.
            key = (kind, event.from_uin) if kind is not None else chat_key(event)  # type: ignore[attr-defined]
            if direct is not None:  # one coroutine handler: the worker awaits it itself
                queue = self.workers.queues.get(key)
                if queue:  # the chat's worker is due already: ChatWorkers.call, inlined
                    queue.append((handler, event, direct))
                else:
                    self.workers.call(key, handler, event, direct)
            else:
                self.workers.call(key, self._handle, (fast, event), None)
        else:
            spawn(self._run_task((fast, event)), "smartqq-event", self.tasks)
        return count

    def _offer(self, event: Event) -> None:
        for stream in list(self._streams or ()):
            if isinstance(event, stream.event_type):
                stream.offer(event)

    def _match_waiters(self, event: Event) -> bool:
        consumed = False
        waiters = self._waiters
        if waiters is None:
            return False
        for waiter in list(waiters):
            if waiter.future.done():
                waiters.remove(waiter)
            elif waiter.matches(event):
                waiter.future.set_result(event)
                waiters.remove(waiter)
                consumed = consumed or waiter.consume
        return consumed

    def _inline_regs(self, plan: _Plan, cls: type[Event]) -> tuple[Registration, ...] | None:
        # Noted on the root plan: any registration drops the plan, so this is recomputed.
        regs: list[Registration] = []
        simple = _collect_flat(self.router, cls, regs, _is_simple)
        plan.inline = tuple(regs) if simple else None
        return plan.inline

    def _fast_regs(self, plan: _Plan, cls: type[Event]) -> _Route:
        """The worker's fast path for ``cls``, or None when the router tree must run.

        Taken when every handler that can take ``cls`` is plain (only the event as
        argument, sync predicates, no command), no router on the way has middleware,
        no filter object is shared (so each is still asked once per event) and, for
        messages, no command exists anywhere (the automatic ``/help`` needs the tree).
        """
        regs: list[Registration] = []
        ok = _collect_flat(self.router, cls, regs, _is_plain)
        filters = [f for r in regs for f in r.filters]
        if len(set(filters)) != len(filters):
            ok = False
        if ok and issubclass(cls, MessageEvent) and self.router.commands():
            ok = False
        fast: _Fast | None = (
            tuple(
                (r.callback, tuple(f for f in r.filters if isinstance(f, _Callable)), r)
                for r in regs
            )
            if ok
            else None
        )
        # One coroutine handler and no predicate (the common bot): a direct worker job.
        direct = None
        if fast is not None and len(fast) == 1 and not fast[0][1] and fast[0][2].is_async:
            direct = fast[0][2]
        # The chat key's first half when cls keeps MessageEvent's chat_key (from_uin).
        kind = None
        if issubclass(cls, MessageEvent) and cls.chat_key is MessageEvent.chat_key:
            kind = cls.poll_type
        handler = direct.callback if direct is not None else None
        plan.fast = route = (fast, direct, handler, kind, len(plan.regs) + len(plan.children))
        return route

    def _run_inline(self, regs: tuple[Registration, ...], event: Event) -> int:
        ran = 0
        for reg in regs:
            if reg.filters and not all(
                _safe_filter(f.fn, event) for f in reg.filters if isinstance(f, _Callable)
            ):
                continue
            ran += 1
            try:
                result: Any = reg.callback(event)
            except Exception as exc:
                spawn(self._report(exc, event, reg.callback), reg.task_name, self.tasks)
            else:
                # A plain function that returned a coroutine (None, the common answer,
                # skips the check: it was a measurable part of a sync handler's cost).
                if result is not None and inspect.isawaitable(result):
                    spawn(self._finish(result, reg.callback, event), reg.task_name, self.tasks)
            if reg.block:
                break
        return ran

    async def _run_task(self, item: _Item) -> None:
        # A task of its own ("task" mode): it only runs handlers.
        in_handler.set(True)
        await self._handle(item)

    async def _process(self, event: Event) -> None:
        """Run ``event`` through the whole router tree here, in the caller's task (the
        cluster worker's ``run_handlers``: its partition already keeps chats in order)."""
        in_handler.set(True)
        await self._propagate(event)

    async def _handle(self, item: _Item) -> None:
        """Run one event's handlers (on its chat's worker or its own task)."""
        fast, event = item
        if fast is None:
            await self._propagate(event)
            return
        # The fast path: what the router tree would do for plain handlers, without
        # the per-event context, data mapping and calls through the tree.
        for callback, predicates, reg in fast:
            if predicates and not all(_predicate(p, event) for p in predicates):
                continue
            try:
                result: Any = callback(event)
                if reg.is_async or inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._report(exc, event, callback, reg.router.name)
                continue
            if reg.block:
                return

    async def _direct_failed(self, exc: Exception, event: Event, reg: Registration | None) -> None:
        # A direct job's handler raised (a _handle job never does: it reports itself).
        if reg is None:
            await self._report(exc, event, None)
        else:
            await self._report(exc, event, reg.callback, reg.router.name)

    async def _propagate(self, event: Event) -> None:
        context = EventContext(self._report, event)
        data: dict[str, Any] = {"client": self._owner}
        try:
            blocked = await self.router.propagate(event, data, context)
            if not blocked and not context.command_matched and isinstance(event, MessageEvent):
                await self._maybe_help(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # outer middleware, or a reply of ours
            await self._report(exc, event, None)

    async def _maybe_help(self, event: MessageEvent) -> None:
        specs = self.router.commands()
        if not specs:
            return
        prefixes = tuple({p for r in self.router.walk() for p in r.prefixes})
        nick = getattr(event.client, "self_nick", None)
        call = parse_command(event.text, prefixes, nick)
        if call is not None and call.name == "help":
            await event.reply(help_text(specs))

    async def _finish(self, result: Awaitable[Any], callback: Handler, event: Event) -> None:
        try:
            await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._report(exc, event, callback)

    async def _report(
        self, exc: BaseException, event: Event, callback: Handler | None, router: str = ""
    ) -> None:
        if self.error_hook is None or callback is None:
            log.error(
                "handler %s%s failed on %s",
                getattr(callback, "__qualname__", callback or "middleware"),
                f" (router {router!r})" if router else "",
                type(event).__name__,
                exc_info=exc,
            )
            if callback is None:
                return
        if self.error_hook is None:
            return
        try:
            result = self.error_hook(exc, event, callback)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("the error hook itself failed")

    # -- waiting ---------------------------------------------------------------------

    def waiter(
        self,
        event_type: type[E],
        check: Callable[[E], bool] | None = None,
        *,
        chat: Hashable | None = None,
        sender: int | None = None,
        consume: bool = False,
    ) -> asyncio.Future[E]:
        """Register a waiter now (so nothing arriving meanwhile is missed)."""
        fut: asyncio.Future[E] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(_Waiter(event_type, check, fut, chat, sender, consume))
        return fut

    async def wait(self, fut: asyncio.Future[E], timeout: float | None) -> E:
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.forget(fut)

    def forget(self, fut: asyncio.Future[Any]) -> None:
        fut.cancel()
        self._waiters = [w for w in self._waiters or () if w.future is not fut]

    async def wait_for(
        self,
        event_type: type[E],
        check: Callable[[E], bool] | None = None,
        timeout: float | None = None,
        *,
        chat: Hashable | None = None,
        sender: int | None = None,
        consume: bool = False,
    ) -> E:
        fut = self.waiter(event_type, check, chat=chat, sender=sender, consume=consume)
        return await self.wait(fut, timeout)

    def stream(self, event_type: type[E], buffer: int) -> EventStream[E]:
        if self._streams is None:
            self._streams = set()
        s = EventStream(self._streams, event_type, buffer)
        self._streams.add(s)
        return s

    def end_streams(self) -> None:
        for s in list(self._streams or ()):
            s.end()

    def backlog(self) -> int:
        """Events handed over and not yet handled: queued on the chat workers plus the
        ones they are running ("chat"), or handler tasks alive ("task"). The poll loop
        pauses while this is over ``Client(max_pending=)``."""
        if self._per_chat:
            return self.workers.pending() + self.workers.busy
        return len(self.tasks)

    async def drain(self, timeout: float) -> None:
        """Let queued and running handlers finish within ``timeout``, then cancel the rest."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        me = asyncio.current_task()
        self.workers.close_idle()
        try:
            while True:
                running = {t for t in self.tasks if t is not me}
                if not running:
                    return
                left = deadline - loop.time()
                if left <= 0:
                    break
                await asyncio.wait(running, timeout=left)
            await cancel_and_wait(*running)
            if self.workers.pending():
                log.warning("stopped with %d events not handled", self.workers.pending())
            self.workers.clear()
        finally:
            self.workers.reopen()


def _collect_flat(
    router: Router, cls: type[Event], out: list[Registration], ok: Callable[[Registration], bool]
) -> bool:
    """Flatten the plan for ``cls`` into ``out`` if no middleware is on the way and
    every registration passes ``ok``."""
    plan = router.plan(cls)
    if plan is None:
        return True
    if router._outer or router._inner or not all(ok(r) for r in plan.regs):
        return False
    out.extend(plan.regs)
    return all(_collect_flat(child, cls, out, ok) for child in plan.children)


def _is_simple(reg: Registration) -> bool:
    return reg.simple


def _is_plain(reg: Registration) -> bool:
    return reg.plain


def _enter_handler() -> None:
    # Once per worker task (its own context): stop() must not wait for itself from here.
    in_handler.set(True)


def _predicate(flt: _Callable, event: Event) -> bool:
    # As EventContext asks a filter, with its log line, minus the memo and the await.
    try:
        return bool(flt.fn(event))
    except Exception:
        log.exception("filter %r failed on %s", flt, type(event).__name__)
        return False


def _safe_filter(check: Callable[[Any], Any], event: Event) -> bool:
    try:
        return bool(check(event))
    except Exception:
        log.exception("filter failed on %s", type(event).__name__)
        return False
