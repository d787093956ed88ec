"""The SmartQQ emulator as an I/O-free service: ``await service.handle(request) -> response``.

Like :class:`~smartqq.emulator.tqq_service.TQQService`, it owns every protocol decision
and no socket: the aiohttp shell (:mod:`.server`) and the in-memory transport
(:mod:`.memory`) both turn what they received into an :class:`EmuRequest`, call
:meth:`SmartQQService.handle`, and write the :class:`EmuResponse` back. Time comes from
the injected ``clock``.

``handle`` is a coroutine for one reason: poll2 holds an idle poll until an event
arrives or ``hold`` seconds pass (an ``asyncio.Event`` wait with a timeout: no I/O), and
a ``delay`` fault sleeps. Every other endpoint answers without awaiting anything.

Routing is by path only, as on the shell: the Host (``d1.web2.qq.com``,
``ssl.ptlogin2.qq.com`` ...) is counted and otherwise ignored, so a client that keeps the
real Host and only redirects the connection reaches the right handler. An unknown path
answers 404, a known path with the wrong method 405. No input makes it answer 500: a
handler that fails on hostile input answers the protocol's request error (retcode
100006).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from . import api, auth, channel
from .faults import Fault, FaultSet
from .http import EmuRequest, EmuResponse, html, json_response
from .state import Config, State
from .world import World

__all__ = ["SmartQQService"]

log = logging.getLogger("smartqq.emulator")

Handler = Callable[[State, EmuRequest], Awaitable[EmuResponse]]
ROUTES: dict[str, tuple[str, Handler]] = {**auth.ROUTES, **channel.ROUTES, **api.ROUTES}
MALFORMED = b'{"retcode":0,"result":[{"poll_type":'


def _methods(spec: str) -> frozenset[str]:
    methods = set(spec.split())
    if "GET" in methods:
        methods.add("HEAD")  # as aiohttp's GET routes do
    return frozenset(methods)


_ALLOWED = {path: _methods(spec) for path, (spec, _) in ROUTES.items()}


class SmartQQService(State):
    """Every SmartQQ endpoint over one world; one per :class:`~smartqq.emulator.Emulator`."""

    def __init__(
        self,
        world: World,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        faults: FaultSet | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(world, config, clock)
        self.faults = faults if faults is not None else FaultSet()
        self._sleep = sleep

    @staticmethod
    def paths() -> list[str]:
        return sorted(ROUTES)

    async def handle(self, request: EmuRequest) -> EmuResponse:
        """The answer to one request (held while poll2 waits for events)."""
        self.journal.count_host(request.host)
        route = ROUTES.get(request.path)
        if route is None:
            return EmuResponse(404, b"404: Not Found", "text/plain; charset=utf-8")
        # Faults first: they stand for the server or the network failing, whatever was asked.
        rule = self.faults.pick(request.path.rsplit("/", 1)[-1])
        if rule is not None:
            early = await self._apply_fault(rule)
            if early is not None:
                return early
        if request.method not in _ALLOWED[request.path]:
            resp = EmuResponse(405, b"405: Method Not Allowed", "text/plain; charset=utf-8")
            resp.headers.append(("Allow", ",".join(sorted(_ALLOWED[request.path]))))
            return resp
        try:
            return await route[1](self, request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # hostile input must never become a 500
            log.debug("%s failed on bad input: %s", request.path, type(exc).__name__)
            # The real service's wording; the exception's name stays in our log (a
            # stranger learns nothing about the implementation from the answer).
            return json_response({"retcode": 100006, "errmsg": "error!!!"})

    async def _apply_fault(self, rule: Fault) -> EmuResponse | None:
        if rule.action == "delay":
            await self._sleep(rule.value)
            return None
        if rule.action == "close":
            return EmuResponse(0, close=True)
        if rule.action == "status":
            status = int(rule.value)
            return html(f"<html>{status}</html>", status=status)
        if rule.action == "malformed":
            return EmuResponse(200, MALFORMED)
        return json_response({"retcode": int(rule.value), "errmsg": "error!!!"})
