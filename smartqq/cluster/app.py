"""Loading a worker's handlers and running them for one event.

A worker runs the same handlers as a single-process bot: ``--app
package.module:attr`` names a ``smartqq.Router`` (commands, filters,
middleware) or a handler registry (``smartqq.cluster.Handlers``, whose
``on``/``add_handler`` are a client's). :func:`dispatcher_for` is the one
place that knows how handlers get from that object into the worker.
"""

from __future__ import annotations

import importlib
from typing import Any

from smartqq.errors import UsageError
from smartqq.events import Event
from smartqq.runtime.dispatch import Dispatcher, ErrorHook
from smartqq.runtime.registry import HandlerRegistry
from smartqq.runtime.router import Router

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
    ``app`` is a :class:`~smartqq.runtime.router.Router` or a handler registry
    (a :class:`Handlers`, a client): its router tree becomes the worker's root
    as it is (not included: one app object may serve several workers in one
    process, and a router has one parent), so filters, commands and middleware
    apply unchanged.
    """
    source = getattr(app, "_dispatcher", None)
    router = source.router if isinstance(source, Dispatcher) else app
    if not isinstance(router, Router):
        raise UsageError(
            f"{type(app).__name__} is not a Router or a handler registry "
            "(use smartqq.Router or smartqq.cluster.Handlers)"
        )
    return Dispatcher(owner, on_error, router=router)


async def run_handlers(root: Dispatcher, event: Event) -> None:
    """Run ``event`` through the router tree to the end (every matching handler,
    filters, commands, middleware), here rather than on a per-chat queue: the
    partition already keeps the chat in order.

    Handler errors go to the dispatcher's error hook (as in a single-process
    bot) and count as handled: the event is acked, not redelivered forever.
    """
    event.bind(root._owner)
    await root._process(event)
