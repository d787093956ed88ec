"""``Router``: handlers, commands and middleware, nested with ``include_router``.

An event walks the tree depth first: a router's own handlers in registration
order, then its sub-routers in inclusion order. Every matching handler runs,
one after the other, unless one registered with ``block=True`` ran. Each
router keeps a per-class plan (its handlers for that class and the
sub-routers that have any), computed on first use from the class's MRO via
``isinstance`` checks and dropped whenever the router or anything below it
changes, so dispatch never scans handlers that cannot match.

Middleware is ``(handler, event, data) -> result``, sync or async. *Outer*
middleware wraps everything a router does with an event (filters included);
*inner* middleware wraps each matched handler of the router and of its
sub-routers. Either may add to ``data`` (handlers receive values by parameter
name) or drop the event by not calling ``handler``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Literal, Protocol, TypeVar, overload

from smartqq.errors import UsageError
from smartqq.events import Event, MessageEvent

from .commands import DEFAULT_PREFIXES, CommandSpec
from .handlers import Handler, Registration, annotated_type, make_filters


class EventContext(Protocol):
    """What propagation needs from the dispatcher's per-event state."""

    async def run_handler(self, reg: Registration, event: Event, data: dict[str, Any]) -> bool: ...


__all__ = ["Middleware", "Router"]

log = logging.getLogger("smartqq.dispatch")
F = TypeVar("F", bound=Callable[..., Any])
Next = Callable[[Event, dict[str, Any]], Awaitable[Any]]
Middleware = Callable[[Next, Event, dict[str, Any]], Any]
_epoch = 0  # bumped by every change to any router
# A chain no epoch matches: what a router starts with, shared by all of them.
_STALE: tuple[int, list[Middleware]] = (-1, [])


class _Plan:
    __slots__ = ("children", "fast", "inline", "regs")

    def __init__(self, regs: tuple[Registration, ...], children: tuple[Router, ...]) -> None:
        self.regs = regs
        self.children = children
        # The dispatcher's note on the root plan: the flat handler list when every
        # handler can run inline, None when it cannot, False before it was worked out.
        self.inline: tuple[Registration, ...] | Literal[False] | None = False
        # Likewise for the worker's fast path: (callback, predicates, block) per handler
        # when no handler needs data, middleware, commands or shared filters.
        self.fast: Any = False  # the dispatcher's _Fast | None once worked out


class Router:
    """A named group of handlers; include it in a client or in another router."""

    def __init__(self, name: str | None = None, *, prefixes: tuple[str, ...] = DEFAULT_PREFIXES):
        if not prefixes or not all(prefixes):
            raise UsageError("a router needs at least one non-empty command prefix")
        self.name = name or f"router-{id(self):x}"
        self.prefixes = tuple(prefixes)
        self.parent: Router | None = None
        # Tuples, replaced on each (rare) change: every client has a root router and
        # most never register into it, and the empty tuple is shared (four empty
        # lists and a chain cost ~0.3 KiB per client).
        self._registrations: tuple[Registration, ...] = ()
        self._children: tuple[Router, ...] = ()
        self._outer: tuple[Middleware, ...] = ()
        self._inner: tuple[Middleware, ...] = ()
        self._plans: dict[type[Event], _Plan] = {}
        self._chain = _STALE

    def __repr__(self) -> str:
        return f"<Router {self.name!r}: {len(self._registrations)} handlers>"

    # -- registration ----------------------------------------------------------------

    def on(
        self,
        event_type: type[Event] | None = None,
        /,
        *filters: object,
        filter: Callable[[Any], Any] | None = None,
        block: bool = False,
    ) -> Callable[[F], F]:
        """Register a handler: ``@router.on(GroupMessage, f.text_contains("hi"))``.

        Without an event type the handler's first parameter's annotation decides.
        The decorated function is returned unchanged (its own type).
        """

        def deco(fn: F) -> F:
            self.add_handler(event_type, fn, filter, filters=filters, block=block)
            return fn

        return deco

    def add_handler(
        self,
        event_type: type[Event] | None,
        callback: Handler,
        filter: Callable[[Any], Any] | None = None,
        *,
        filters: tuple[object, ...] = (),
        block: bool = False,
    ) -> Registration:
        if not callable(callback):
            raise UsageError(f"handler {callback!r} is not callable")
        if event_type is None:
            event_type = annotated_type(callback)
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise UsageError(f"cannot dispatch {event_type!r}: not an Event class")
        reg = Registration(event_type, callback, make_filters(filters, filter), block=block)
        return self._add(reg)

    def _add(self, reg: Registration) -> Registration:
        reg.router = self
        self._registrations = (*self._registrations, reg)
        self._changed()
        return reg

    def remove_handler(self, callback: Handler) -> None:
        """Forget every registration of ``callback`` in this router and below."""
        before = len(self._registrations)
        self._registrations = tuple(r for r in self._registrations if r.callback is not callback)
        if len(self._registrations) != before:
            self._changed()
        for child in self._children:
            child.remove_handler(callback)

    def command(
        self,
        name: str,
        *filters: object,
        description: str = "",
        aliases: tuple[str, ...] | list[str] = (),
        cooldown: float = 0.0,
        cooldown_scope: Literal["chat", "user"] = "chat",
        cooldown_reply: str | None = None,
        prefixes: tuple[str, ...] | None = None,
        block: bool = False,
    ) -> Callable[[F], F]:
        """Register a command handler: ``@router.command("roll", description=...)``.

        The handler takes the message, then any of ``args: str`` (the rest of the
        line), ``command`` (a :class:`CommandCall`) and typed positionals
        (``sides: int = 6``) converted from the words of the line.
        """
        spec = CommandSpec(
            name,
            description=description,
            aliases=tuple(aliases),
            cooldown=cooldown,
            cooldown_scope=cooldown_scope,
            cooldown_reply=cooldown_reply,
            prefixes=prefixes,
        )
        spec.router = self

        def deco(fn: F) -> F:
            spec.bind_handler(fn)
            reg = Registration(
                MessageEvent, fn, (spec, *make_filters(filters, None)), block=block, command=spec
            )
            self._add(reg)
            return fn

        return deco

    @overload
    def middleware(self, fn: F, /) -> F: ...

    @overload
    def middleware(self, *, outer: bool) -> Callable[[F], F]: ...

    def middleware(self, fn: Any = None, *, outer: bool = False) -> Any:
        """Inner middleware: wraps each matched handler here and in sub-routers.

        ``@router.middleware(outer=True)`` is :meth:`outer_middleware`.
        """
        if fn is None:
            return self.outer_middleware if outer else self.middleware
        self._inner = (*self._inner, fn)
        self._changed()
        return fn

    def outer_middleware(self, fn: F) -> F:
        """Outer middleware: wraps all this router does with an event, before filters."""
        self._outer = (*self._outer, fn)
        self._changed()
        return fn

    def include_router(self, router: Router) -> Router:
        """Add ``router`` below this one (after those already included); returns it."""
        if not isinstance(router, Router):
            raise UsageError(f"include_router() takes a Router, not {router!r}")
        node: Router | None = self
        while node is not None:
            if node is router:
                raise UsageError(f"including {router!r} here would make a cycle")
            node = node.parent
        if router.parent is not None:
            raise UsageError(f"{router!r} is already included in {router.parent!r}")
        router.parent = self
        self._children = (*self._children, router)
        self._changed()
        return router

    def detach(self) -> None:
        """Leave the parent router (a stopped client lets go of its routers this way)."""
        parent = self.parent
        if parent is not None:
            parent._children = tuple(c for c in parent._children if c is not self)
            parent._changed()
            self.parent = None

    def detach_all(self) -> None:
        """Let go of every included router."""
        for child in self._children:
            child.detach()

    # -- lookups ---------------------------------------------------------------------

    def _changed(self) -> None:
        global _epoch
        _epoch += 1  # any change anywhere: cached inner-middleware chains are recomputed
        node: Router | None = self
        while node is not None:
            node._plans.clear()
            node = node.parent

    def plan(self, cls: type[Event]) -> _Plan | None:
        """Handlers and sub-routers that may take events of ``cls`` (cached per class)."""
        try:
            plan = self._plans[cls]
        except KeyError:
            regs = tuple(r for r in self._registrations if issubclass(cls, r.event_type))
            children = tuple(c for c in self._children if c.plan(cls) is not None)
            plan = _Plan(regs, children)
            self._plans[cls] = plan
        return plan if (plan.regs or plan.children) else None

    def walk(self) -> Iterator[Router]:
        yield self
        for child in self._children:
            yield from child.walk()

    def commands(self) -> list[CommandSpec]:
        """Every command in this router and below."""
        return [r.command for router in self.walk() for r in router._registrations if r.command]

    def inner_chain(self) -> list[Middleware]:
        """Inner middleware from the root down to this router (outermost first)."""
        if self._chain[0] == _epoch:
            return self._chain[1]
        chain: list[Middleware] = []
        node: Router | None = self
        while node is not None:
            chain[:0] = node._inner
            node = node.parent
        self._chain = (_epoch, chain)
        return chain

    # -- propagation -----------------------------------------------------------------

    async def propagate(self, event: Event, data: dict[str, Any], ctx: EventContext) -> bool:
        """Run this router's handlers for ``event``; ``True`` when one blocked the rest."""
        plan = self.plan(type(event))
        if plan is None:
            return False
        if not self._outer:
            return await self._run(plan, event, data, ctx)

        async def innermost(ev: Event, d: dict[str, Any]) -> bool:
            return await self._run(plan, ev, d, ctx)

        call: Next = innermost
        for mw in reversed(self._outer):
            call = _bind(mw, call)
        return bool(await call(event, data))

    async def _run(
        self, plan: _Plan, event: Event, data: dict[str, Any], ctx: EventContext
    ) -> bool:
        for reg in plan.regs:
            if await ctx.run_handler(reg, event, data):
                return True
        for child in plan.children:
            if await child.propagate(event, data, ctx):
                return True
        return False


def _bind(mw: Middleware, call: Next) -> Next:
    async def step(event: Event, data: dict[str, Any]) -> Any:
        result = mw(call, event, data)
        if hasattr(result, "__await__"):
            result = await result
        return result

    return step
