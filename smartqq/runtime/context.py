"""One event's trip through the router tree (see :mod:`smartqq.runtime.dispatch`).

Per event: filters memoised by filter object (each is asked once, however many
handlers share it), whether a command matched (for the automatic ``/help``),
and for each handler the command's argument conversion and cooldown, then the
inner middleware chain around the call. A handler's exception is reported and
the walk goes on.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from smartqq.events import Event, MessageEvent
from smartqq.filters import Filter

from .handlers import Handler, Registration

__all__ = ["EventContext"]

log = logging.getLogger("smartqq.dispatch")
Report = Callable[[BaseException, Event, Handler | None, str], Awaitable[None]]


class EventContext:
    """One event's trip through the router tree: memoised filters, command state."""

    __slots__ = ("command_matched", "event", "memo", "report")

    def __init__(self, report: Report, event: Event) -> None:
        self.report = report  # the dispatcher's: error hook or log
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
                await self.report(exc, event, reg.callback, reg.router.name)
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
            await self.report(exc, event, reg.callback, reg.router.name)
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
