"""One registered handler: its event class, filters, and how to call it.

A handler's first parameter receives the event; every other parameter is
filled *by name* from the per-event ``data`` mapping (values added by
middleware and filters: ``client``, ``match``, ``args``, ``command``...). The
signature is read once, at registration, so a call costs a dict lookup per
declared parameter and nothing for the common one-parameter handler.

Commands add argument conversion (``sides: int = 6``) and cooldowns on top;
see :mod:`smartqq.runtime.commands`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, get_type_hints

from smartqq.errors import UsageError
from smartqq.events import Event
from smartqq.filters import Filter, _Callable, as_filter

__all__ = ["Handler", "Registration", "annotated_type"]

Handler = Callable[..., Awaitable[None] | None]


class Registration:
    """A handler as the router keeps it."""

    __slots__ = (
        "block",
        "callback",
        "command",
        "event_type",
        "filters",
        "is_async",
        "kwargs_all",
        "name",
        "optional",
        "params",
        "plain",
        "router",
        "simple",
        "task_name",
    )

    def __init__(
        self,
        event_type: type[Event],
        callback: Handler,
        filters: tuple[Filter, ...],
        *,
        block: bool = False,
        command: Any = None,
    ) -> None:
        self.event_type = event_type
        self.callback = callback
        self.filters = filters
        self.block = block
        self.command = command
        self.router: Any = None
        self.name = getattr(callback, "__qualname__", None) or repr(callback)
        self.task_name = f"smartqq-handler:{self.name}"
        self.is_async = inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(
            getattr(callback, "__call__", None)  # noqa: B004 - an object with async __call__
        )
        self.params: tuple[str, ...] = ()
        self.optional: frozenset[str] = frozenset()
        self.kwargs_all = False
        self._read_signature()
        # No command, no parameter but the event, no filters but sync predicates: the
        # handler needs no per-event data, so the worker may call it directly.
        self.plain = (
            command is None
            and not self.params
            and not self.kwargs_all
            and all(isinstance(f, _Callable) and _is_sync(f.fn) for f in filters)
        )
        # A plain *function* can even run inline at dispatch (counters and loggers).
        self.simple = self.plain and not self.is_async

    def _read_signature(self) -> None:
        try:
            sig = inspect.signature(self.callback)
        except (TypeError, ValueError):
            return  # builtins and C callables: called with the event only
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        rest = list(sig.parameters.values())
        if rest and rest[0].kind in positional:
            rest = rest[1:]  # the event
        names: list[str] = []
        optional: set[str] = set()
        for p in rest:
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                self.kwargs_all = True
            elif p.kind is not inspect.Parameter.VAR_POSITIONAL:
                names.append(p.name)
                if p.default is not inspect.Parameter.empty:
                    optional.add(p.name)
        self.params = tuple(names)
        self.optional = frozenset(optional)

    def call(self, event: Event, data: Mapping[str, Any]) -> Any:
        """Call the handler with the event and the parameters it declared."""
        if not self.params and not self.kwargs_all:
            return self.callback(event)
        if self.kwargs_all:
            return self.callback(event, **data)
        kwargs: dict[str, Any] = {}
        for name in self.params:
            if name in data:
                kwargs[name] = data[name]
            elif name == "data":
                kwargs[name] = data  # the whole mapping, for handlers that want it all
            elif name not in self.optional:
                raise UsageError(
                    f"handler {self.name} declares {name!r}, which no filter or middleware "
                    f"provided (have: {', '.join(sorted(data)) or 'nothing'})"
                )
        return self.callback(event, **kwargs)

    def __repr__(self) -> str:
        return f"<handler {self.name} for {self.event_type.__name__}>"


def _is_sync(fn: Callable[..., Any]) -> bool:
    return not (
        inspect.iscoroutinefunction(fn)
        or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004
    )


def make_filters(
    filters: tuple[object, ...], legacy: Callable[[Any], Any] | None
) -> tuple[Filter, ...]:
    out = [as_filter(f) for f in filters]
    if legacy is not None:
        out.append(as_filter(legacy))
    return tuple(out)


def annotated_type(callback: Handler) -> type[Event]:
    """The event class from the handler's first parameter's annotation."""
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
