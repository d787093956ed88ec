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
4. Otherwise the event goes to its chat's worker (``handler_concurrency="chat"``,
   the default: one long-lived task per active chat, arrival order within a
   chat, chats concurrent; see :mod:`smartqq.runtime.workers`) or to a task of
   its own (``"task"``). There the router tree runs: outer middleware, filters
   (each filter object once per event), inner middleware, handlers in order.

A handler's exception goes to the error hook (or the log) and never reaches
the poll loop nor the next handler. ``drain`` lets running handlers finish
within a grace time, then cancels what is left.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from smartqq.errors import UsageError
from smartqq.events import Event, MessageEvent
from smartqq.filters import Filter, _Callable

from .commands import help_text, parse_command
from .handlers import Handler, Registration
from .registry import HandlerRegistry
from .router import Router, _Plan
from .streams import EventStream
from .workers import ChatWorkers, spawn

__all__ = ["Dispatcher", "ErrorHook", "EventStream", "Handler", "HandlerRegistry"]

log = logging.getLogger("smartqq.dispatch")
E = TypeVar("E", bound=Event)
in_handler: ContextVar[bool] = ContextVar("smartqq_in_handler", default=False)
"""True while the current task runs handlers (so ``stop()`` knows not to wait for itself)."""
ErrorHook = Callable[[BaseException, Event, Handler], Awaitable[None] | None]
Concurrency = Literal["chat", "task"]


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
        self.router = router or Router(name="root")
        self._waiters: list[_Waiter] = []
        self._streams: set[EventStream[Any]] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.error_hook = error_hook
        self.concurrency: Concurrency = concurrency
        self.workers: ChatWorkers[Event] = ChatWorkers(
            self._process, self.tasks, max_workers=max_workers
        )

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
        event.bind(self._owner)
        if self._waiters and self._match_waiters(event):
            self._offer(event)
            return 0
        if self._streams:
            self._offer(event)
        plan = self.router.plan(type(event))
        if plan is None:
            return 0
        inline = self._inline_regs(plan, type(event))
        if inline is not None:
            return self._run_inline(inline, event)
        if self.concurrency == "chat":
            self.workers.submit(chat_key(event), event)
        else:
            spawn(self._process(event), "smartqq-event", self.tasks)
        return len(plan.regs) + len(plan.children)

    def _offer(self, event: Event) -> None:
        for stream in list(self._streams):
            if isinstance(event, stream.event_type):
                stream.offer(event)

    def _match_waiters(self, event: Event) -> bool:
        consumed = False
        for waiter in list(self._waiters):
            if waiter.future.done():
                self._waiters.remove(waiter)
            elif waiter.matches(event):
                waiter.future.set_result(event)
                self._waiters.remove(waiter)
                consumed = consumed or waiter.consume
        return consumed

    def _inline_regs(self, plan: _Plan, cls: type[Event]) -> tuple[Registration, ...] | None:
        # Noted on the root plan: any registration drops the plan, so this is recomputed.
        if plan.inline is not False:
            return plan.inline
        regs: list[Registration] = []
        plan.inline = tuple(regs) if _collect_simple(self.router, cls, regs) else None
        return plan.inline

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
                if inspect.isawaitable(result):  # a plain function that returned a coroutine
                    spawn(self._finish(result, reg.callback, event), reg.task_name, self.tasks)
            if reg.block:
                break
        return ran

    async def _process(self, event: Event) -> None:
        # Set in the worker's (or the event task's) own context: it only runs handlers.
        in_handler.set(True)
        context = EventContext(self, event)
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
        self._waiters.append(_Waiter(event_type, check, fut, chat, sender, consume))
        return fut

    async def wait(self, fut: asyncio.Future[E], timeout: float | None) -> E:
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.forget(fut)

    def forget(self, fut: asyncio.Future[Any]) -> None:
        fut.cancel()
        self._waiters = [w for w in self._waiters if w.future is not fut]

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
        s = EventStream(self, event_type, buffer)
        self._streams.add(s)
        return s

    def end_streams(self) -> None:
        for s in list(self._streams):
            s.end()

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
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            if self.workers.pending():
                log.warning("stopped with %d events not handled", self.workers.pending())
            self.workers.clear()
        finally:
            self.workers.reopen()


class EventContext:
    """One event's trip through the router tree: memoised filters, command state."""

    __slots__ = ("command_matched", "dispatcher", "event", "memo")

    def __init__(self, dispatcher: Dispatcher, event: Event) -> None:
        self.dispatcher = dispatcher
        self.event = event
        self.memo: dict[Filter, Any] = {}
        self.command_matched = False

    async def _verdict(self, flt: Filter, event: Event) -> Any:
        try:
            return self.memo[flt]
        except KeyError:
            pass
        try:
            verdict: Any = await flt.evaluate(event)
        except Exception:
            log.exception("filter %r failed on %s", flt, type(event).__name__)
            verdict = False
        self.memo[flt] = verdict
        return verdict

    async def run_handler(self, reg: Registration, event: Event, data: dict[str, Any]) -> bool:
        """Filters, then the handler inside its middleware; ``True`` if it ran and blocks."""
        extra: dict[str, Any] | None = None
        for flt in reg.filters:
            verdict = await self._verdict(flt, event)
            if not verdict:
                return False
            if isinstance(verdict, Mapping):
                extra = {**(extra or {}), **verdict}
        call_data = data if extra is None else {**data, **extra}
        if reg.command is not None and isinstance(event, MessageEvent):
            self.command_matched = True
            prepared = await _prepare_command(reg, event, call_data)
            if prepared is None:
                return False
            call_data = prepared
        chain = reg.router.inner_chain() if reg.router is not None else []
        if not chain:  # the common case: no closures, no chain
            try:
                result = reg.call(event, call_data)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self.dispatcher._report(exc, event, reg.callback, reg.router.name)
                return False
            return reg.block
        ran = False

        async def innermost(ev: Event, d: dict[str, Any]) -> Any:
            nonlocal ran
            ran = True
            result = reg.call(ev, d)
            if inspect.isawaitable(result):
                result = await result
            return result

        call: Callable[[Event, dict[str, Any]], Coroutine[Any, Any, Any]] = innermost
        for mw in reversed(chain):
            call = _wrap(mw, call)
        try:
            await call(event, call_data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self.dispatcher._report(exc, event, reg.callback, reg.router.name)
            return False
        return ran and reg.block


async def _prepare_command(
    reg: Registration, event: MessageEvent, data: dict[str, Any]
) -> dict[str, Any] | None:
    spec = reg.command
    try:
        values = spec.convert(data.get("args", ""))
    except ValueError as exc:  # a mistyped command costs no cooldown
        await event.reply(f"{exc}. Usage: {spec.usage}")
        return None
    remaining = spec.cooling(event)
    if remaining:
        if spec.cooldown_reply:
            await event.reply(spec.cooldown_reply.format(remaining=remaining, command=spec.name))
        return None
    return {**data, **values} if values else data


def _wrap(
    mw: Callable[..., Any], call: Callable[[Event, dict[str, Any]], Coroutine[Any, Any, Any]]
) -> Callable[[Event, dict[str, Any]], Coroutine[Any, Any, Any]]:
    async def step(event: Event, data: dict[str, Any]) -> Any:
        result = mw(call, event, data)
        if inspect.isawaitable(result):
            result = await result
        return result

    return step


def _collect_simple(router: Router, cls: type[Event], out: list[Registration]) -> bool:
    """Flatten the plan for ``cls`` into ``out`` if all of it can run inline."""
    plan = router.plan(cls)
    if plan is None:
        return True
    if router._outer or router._inner or not all(r.simple for r in plan.regs):
        return False
    out.extend(plan.regs)
    return all(_collect_simple(child, cls, out) for child in plan.children)


def _safe_filter(check: Callable[[Any], Any], event: Event) -> bool:
    try:
        return bool(check(event))
    except Exception:
        log.exception("filter failed on %s", type(event).__name__)
        return False
