"""The :class:`Emulator`: the aiohttp shell around :class:`~.service.SmartQQService`.

This module only moves bytes: it reads a request (path, raw query, raw body, headers),
hands it to the service, writes the answer, and tells the answer whether it was written
(poll2 puts back a batch it could not write). Every protocol decision is in the service,
which the in-memory transport (:meth:`Emulator.transport`) drives the same way.

What belongs to a socket stays here: the request-line and header caps (an over-long URL
gets 414), the body cap, the header-read and idle timeout, pausing ``accept`` when
file descriptors run out (:mod:`.listener`), and the ``close`` fault (drop the connection).
The control API under ``/_emu/`` (:mod:`.control`) is served only on loopback binds unless
a ``control_token`` is configured.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from . import control, webui
from .faults import FaultSet
from .incoming import emu_request
from .listener import guard_accept
from .memory import MemoryTransport
from .service import SmartQQService
from .state import Config
from .users import WorldUser
from .world import World, demo_world

__all__ = ["Emulator"]

MAX_URL = 8 * 1024
"""Longest request target served; longer ones get 414 (up to the parser's own cap)."""
_PARSER_LINE_CAP = 64 * 1024
MAX_BODY = 1024 * 1024
KEEPALIVE_TIMEOUT = 15.0
"""Seconds a connection may sit without a complete request: aiohttp arms this timer when
the connection opens and after each answer, so it is both the header-read timeout (a
client dribbling its headers is dropped) and the idle timeout. A held poll2 is a request
being handled, so it is not cut by it."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@web.middleware
async def _url_cap(request: web.Request, handler: Handler) -> web.StreamResponse:
    if len(request.raw_path) > MAX_URL:
        return web.Response(status=414, text="414 Request-URI Too Long")
    return await handler(request)


class Emulator(control.ControlMixin):
    """A local SmartQQ / WebQQ 3.0 server.

    ``async with Emulator() as emu:`` starts it on ``127.0.0.1`` and a free
    port; ``emu.url`` is its address. Keyword arguments are :class:`Config`
    fields (``hold``, ``idle``, ``max_batch``, ``qr_confirm_after`` …).
    ``emu.transport()`` serves a client in process, with no socket.
    """

    keepalive_timeout: float = KEEPALIVE_TIMEOUT
    """The header-read and idle timeout of this instance's connections (tests shorten it)."""

    def __init__(
        self, world: World | None = None, host: str = "127.0.0.1", port: int = 0, **config: Any
    ) -> None:
        self.world = world if world is not None else demo_world()
        self.config = Config(**config)
        self.host = host
        self.port = port
        self.faults = FaultSet()
        self.service = SmartQQService(self.world, self.config, faults=self.faults)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._restart_lock: asyncio.Lock | None = None
        self.web_hub: webui.Hub | None = None
        """The web page's state (``webui.hub_for``), kept across restarts; made on first use."""
        self.app = self._build_app()

    # -- lifecycle ---------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[_url_cap], client_max_size=MAX_BODY)
        for path in self.service.paths():
            app.router.add_route("*", path, self._serve)
        if self.control_enabled:
            app.add_routes(self.control_routes())
        webui.setup(app, self)  # the web page at / (smartqq/emulator/webui)
        return app

    @property
    def control_enabled(self) -> bool:
        return _is_loopback(self.host) or bool(self.config.control_token)

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=0.5,
            keepalive_timeout=self.keepalive_timeout,
            max_line_size=_PARSER_LINE_CAP,
        )
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port, backlog=2048)
        await self._site.start()
        server: Any = getattr(self._site, "_server", None)
        sockets: Any = getattr(server, "sockets", None)
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        if server is not None:
            guard_accept(server)

    async def close(self) -> None:
        for s in list(self.service.sessions.values()):
            s.wake.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def restart(self, *, keep_logins: bool = True) -> None:
        """Stop serving (dropping every connection and held poll) and serve again on the same
        port with the same world.

        ``keep_logins=True`` is a front-end restart: sessions and their queued events
        survive, so clients reconnect and lose nothing. ``keep_logins=False`` is a cold
        restart: clients get dead-session answers and must relink or log in again.
        """
        if self._restart_lock is None:
            self._restart_lock = asyncio.Lock()
        async with self._restart_lock:  # overlapping restarts would leak a listening socket
            if self._runner is None:
                raise RuntimeError("the emulator is not running")
            await self.close()
            if not keep_logins:
                self.service.forget_logins()
            self.app = self._build_app()
            await self.start()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def transport(self) -> MemoryTransport:
        """A :class:`~smartqq.transport.Transport` served from this emulator in process:
        no socket, same routing, same cookies (``Client(transport=emu.transport())``)."""
        return MemoryTransport(self.service)

    def user(self, qq: int) -> WorldUser:
        """Act as a world account: send messages, change status, make friends."""
        self.world.account(qq)
        return WorldUser(self.service, qq)

    # -- HTTP plumbing -----------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        incoming = await emu_request(request)
        transport = request.transport
        answer = await self.service.handle(incoming)
        if answer.close:
            if transport is not None:
                transport.close()
            raise asyncio.CancelledError
        resp = web.Response(
            status=answer.status, body=answer.body, headers=CIMultiDict(answer.all_headers())
        )
        try:
            await resp.prepare(request)
            await resp.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            answer.rollback()
            raise
        answer.commit()
        return resp
