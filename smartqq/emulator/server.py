"""The :class:`Emulator`: one aiohttp.web app on one port answering every host.

Routing is by path only; the ``Host`` header (``d1.web2.qq.com``,
``ssl.ptlogin2.qq.com`` …) is recorded and otherwise ignored, so a client that
keeps the real Host and only redirects the connection reaches the right
handler. The control API under ``/_emu/`` is served only on loopback binds
unless a ``control_token`` is configured.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import api, auth, channel, webui
from .faults import Fault, FaultSet
from .state import Config, Service
from .users import WorldUser
from .web import SERVICE, jsonr
from .world import World, WorldError, demo_world

__all__ = ["Emulator"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Emulator:
    """A local SmartQQ / WebQQ 3.0 server.

    ``async with Emulator() as emu:`` starts it on ``127.0.0.1`` and a free
    port; ``emu.url`` is its address. Keyword arguments are :class:`Config`
    fields (``hold``, ``idle``, ``max_batch``, ``qr_confirm_after`` …).
    """

    def __init__(
        self, world: World | None = None, host: str = "127.0.0.1", port: int = 0, **config: Any
    ) -> None:
        self.world = world if world is not None else demo_world()
        self.config = Config(**config)
        self.host = host
        self.port = port
        self.faults = FaultSet()
        self.service = Service(self.world, self.config)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._restart_lock: asyncio.Lock | None = None
        self.app = self._build_app()

    # -- lifecycle ---------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=1024 * 1024)
        app[SERVICE] = self.service
        app.add_routes(auth.routes() + channel.routes() + api.routes())
        if self.control_enabled:
            app.add_routes(
                [
                    web.post("/_emu/inject", self._inject),
                    web.get("/_emu/stats", self._stats),
                    web.post("/_emu/fault", self._fault),
                    web.post("/_emu/qr/confirm", self._qr_confirm),
                    web.get("/_emu/captcha/{qq}", self._captcha),
                ]
            )
        webui.setup(app, self)  # the web page at / (smartqq/emulator/webui)
        return app

    @property
    def control_enabled(self) -> bool:
        return _is_loopback(self.host) or bool(self.config.control_token)

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port, backlog=2048)
        await self._site.start()
        sockets: Any = getattr(self._site._server, "sockets", None)
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

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

    # -- scripting ---------------------------------------------------------------------

    def user(self, qq: int) -> WorldUser:
        """Act as a world account: send messages, change status, make friends."""
        self.world.account(qq)
        return WorldUser(self.service, qq)

    def inject(
        self,
        kind: str,
        sender: int | None = None,
        to: int | None = None,
        text: str = "",
        token: str | None = None,
        content: list[Any] | None = None,
    ) -> int:
        """Queue one message from a world account; returns how many sessions got it."""
        return self.service.inject(kind, sender, to, text, token, content)

    def confirm_qr(self, qq: int | None = None) -> int:
        """Confirm every pending QR code as ``qq`` (default: the configured QR account)."""
        target = qq or self.config.qr_account or next(iter(self.world.accounts))
        count = 0
        for ticket in self.service.qr.values():
            if not ticket.done and ticket.confirmed_qq is None:
                ticket.confirmed_qq = target
                count += 1
        return count

    def captcha_code(self, qq: int) -> str | None:
        return self.service.captchas.get(qq)

    def expire_sessions(self) -> None:
        for s in self.service.by_qq.values():
            s.expired = True
            s.wake.set()

    def kick(self, qq: int) -> bool:
        s = self.service.live(qq)
        if s is None:
            return False
        self.service.kick(s)
        return True

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every message clients sent, oldest first (``kind``, ``from``, ``to``, ``text``, ``t`` …)."""
        return self.service.sent

    def on_sent(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``callback(record)`` for each message a client sends; returns an unsubscriber."""
        self.service.sent_listeners.append(callback)
        return lambda: self.service.sent_listeners.remove(callback)

    @property
    def hosts(self) -> dict[str, int]:
        return self.service.hosts

    def stats(self) -> dict[str, Any]:
        svc = self.service
        return {
            "online_at": svc.online_at,
            "waiters": svc.waiters,
            "polls": svc.polls,
            "sessions": len(svc.by_qq),
            "injected": list(svc.injected),
            "delivered": [{"token": d.token, "qq": d.qq, "t": d.t} for d in svc.delivered],
            "replies": list(svc.replies),
            "hosts": dict(svc.hosts),
        }

    # -- HTTP plumbing -----------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "").split(":")[0]
        self.service.hosts[host] = self.service.hosts.get(host, 0) + 1
        if request.path.startswith("/_emu/"):
            token = self.config.control_token
            if token and request.headers.get("Authorization") != f"Bearer {token}":
                return jsonr({"error": "unauthorized"}, status=401)
            return await handler(request)
        endpoint = request.path.rsplit("/", 1)[-1]
        rule = self.faults.pick(endpoint)
        if rule is not None:
            early = await self._apply_fault(request, rule)
            if early is not None:
                return early
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except (WorldError, ValueError, KeyError, TypeError) as exc:
            # Hostile input must never become a 500 or a crash.
            return jsonr({"retcode": 100006, "errmsg": type(exc).__name__})

    async def _apply_fault(self, request: web.Request, rule: Fault) -> web.StreamResponse | None:
        if rule.action == "delay":
            await asyncio.sleep(rule.value)
            return None
        if rule.action == "close":
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        if rule.action == "status":
            return web.Response(
                status=int(rule.value),
                text=f"<html>{int(rule.value)}</html>",
                content_type="text/html",
            )
        if rule.action == "malformed":
            return web.Response(
                text='{"retcode":0,"result":[{"poll_type":', content_type="application/json"
            )
        return jsonr({"retcode": int(rule.value), "errmsg": "error!!!"})

    # -- control API -------------------------------------------------------------------

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="body must be JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return data

    async def _inject(self, request: web.Request) -> web.Response:
        """Queue a message; ``"repeat": N`` queues N copies (tokens get ``-i`` suffixes)."""
        data = await self._body(request)
        kind = data.get("kind")
        if kind not in ("buddy", "group", "discuss", "discu", "sess"):
            raise web.HTTPBadRequest(text="kind must be buddy, group, discuss or sess")
        sender = data.get("from")
        to = data.get("to")
        token = data.get("token")
        try:
            repeat = int(data.get("repeat", 1))
            if not 1 <= repeat <= 100_000:
                raise ValueError("repeat must be 1..100000")
            count = 0
            for i in range(repeat):
                count += self.inject(
                    "discu" if kind == "discuss" else kind,
                    int(sender) if sender is not None else None,
                    int(to) if to is not None else None,
                    str(data.get("text", "")),
                    None if token is None else (str(token) if repeat == 1 else f"{token}-{i}"),
                )
        except (WorldError, ValueError, TypeError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return jsonr({"ok": True, "delivered_to": count})

    async def _stats(self, request: web.Request) -> web.Response:
        return jsonr(self.stats())

    async def _fault(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        if data.get("clear"):
            self.faults.clear()
            return jsonr({"ok": True, "rules": 0})
        try:
            self.faults.rules.append(Fault.from_dict(data))
        except (ValueError, TypeError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return jsonr({"ok": True, "rules": len(self.faults.rules)})

    async def _qr_confirm(self, request: web.Request) -> web.Response:
        try:
            data = await request.json() if request.can_read_body else {}
        except ValueError:
            data = {}
        qq = data.get("qq") if isinstance(data, dict) else None
        return jsonr({"ok": True, "confirmed": self.confirm_qr(int(qq) if qq else None)})

    async def _captcha(self, request: web.Request) -> web.Response:
        try:
            qq = int(request.match_info["qq"])
        except ValueError:
            raise web.HTTPBadRequest(text="qq must be a number") from None
        return jsonr({"qq": qq, "code": self.captcha_code(qq)})
