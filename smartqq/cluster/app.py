"""Loading a worker's handlers and running them for one event.

A worker runs the same handlers as a single-process bot: ``--app
package.module:attr`` names a handler registry — today anything with the
``on``/``add_handler`` interface of :class:`smartqq.runtime.dispatch.HandlerRegistry`
(``smartqq.cluster.Handlers`` is the ready-made one). :func:`dispatcher_for` is
the one place that knows how handlers get from that object into the worker's
dispatcher, so switching to the toolkit's ``Router`` touches only it.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from typing import Any

from smartqq.errors import UsageError
from smartqq.events import Event
from smartqq.runtime.dispatch import Dispatcher, ErrorHook, HandlerRegistry

__all__ = ["ErrorHook", "Handlers", "dispatcher_for", "load_app", "run_handlers"]


class Handlers(HandlerRegistry):
    """A standalone set of handlers for a worker: ``handlers = Handlers()`` then
    ``@handlers.on(BuddyMessage)`` exactly as on a :class:`smartqq.Client`."""

    def __init__(self) -> None:
        self._dispatcher = Dispatcher(self)


def load_app(spec: str) -> Any:
    """Import ``package.module:attr`` (``attr`` may be dotted)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--app must look like package.module:router, not {spec!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{module_name!r} has no attribute {attr!r}") from None
    return obj


def dispatcher_for(app: Any, owner: Any, on_error: ErrorHook | None = None) -> Dispatcher:
    """A dispatcher running ``app``'s handlers, binding events to ``owner`` (the Replier).

    The one place that knows how handlers get from the app into a worker.
    ``app`` is a ``Router`` or a handler registry (a :class:`Handlers`, a
    client). With the Router-based dispatcher the app's router tree becomes
    the worker's root as it is (not included: one app object may serve several
    workers in one process, and a router has one parent); filters, commands and
    middleware apply unchanged.
    """
    source = getattr(app, "_dispatcher", None)
    if "router" in inspect.signature(Dispatcher).parameters:  # the Router-based dispatcher
        router = getattr(source, "router", None) if source is not None else app
        if router is None or not hasattr(router, "include_router"):
            raise UsageError(f"{type(app).__name__} is not a Router or a handler registry")
        build: Any = Dispatcher
        made: Dispatcher = build(owner, on_error, router=router)
        return made
    if not isinstance(source, Dispatcher):
        raise UsageError(
            f"{type(app).__name__} is not a handler registry (use smartqq.cluster.Handlers)"
        )
    root = Dispatcher(owner, on_error)
    for reg in source._handlers:
        root.register(reg.event_type, reg.callback, reg.filter)
    return root


async def run_handlers(root: Dispatcher, event: Event) -> None:
    """Dispatch ``event`` and wait until every handler it started has finished.

    Handler errors go to the dispatcher's error hook (as in a single-process
    bot) and count as handled: the event is acked, not redelivered forever.
    """
    process = getattr(root, "_process", None)
    if process is not None:
        # The Router-based dispatcher: run the router tree (filters, commands,
        # middleware) for this event to the end, here, instead of queueing it on a
        # per-chat worker (the partition already keeps the chat in order).
        event.bind(root._owner)
        await process(event)
        return
    before = set(root.tasks)
    root.dispatch(event)
    mine = root.tasks - before
    if mine:
        await asyncio.gather(*mine, return_exceptions=True)
