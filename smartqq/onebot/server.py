"""``OneBotServer``: a OneBot v11 implementation on top of a running smartqq ``Client``.

Design note: the server subscribes to every client event with one handler
that only enqueues (so the order of events is kept and the client's poll loop
is never slowed by a framework), and one worker converts each event once,
serialises it once, and hands the text to every event sink: forward and
reverse WebSocket connections and HTTP POST reporters. Heartbeats go to the
same sinks. A re-login (``LoggedIn``) resets the per-login id caches, since
SmartQQ issues new uins then. The server never owns the client: closing the
server leaves the session as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from smartqq._tasks import cancel_and_wait
from smartqq.errors import SmartQQError, UsageError
from smartqq.events import Disconnected, Event, KickMessage, LoggedIn, Reconnected

from .actions import Actions
from .config import OneBotConfig
from .convert import Converter
from .httpserver import build_app
from .hub import Sink
from .ids import IdMap, MessageStore
from .post import Poster
from .ws import dumps, run_reverse

if TYPE_CHECKING:
    from smartqq.client import Client

__all__ = ["OneBotServer"]

log = logging.getLogger("smartqq.onebot")

_EVENT_QUEUE = 10000


class OneBotServer:
    """Serve OneBot v11 for a logged-in ``client`` on the configured endpoints.

    Keywords are those of :class:`OneBotConfig` (``access_token``, ``secret``,
    ``ws_reverse``, ``ws``, ``http``, ``post_urls``, ``heartbeat_ms``,
    ``reconnect_interval_ms``, ``message_format``, ``discuss_as``…); ``ws`` and
    ``http`` take ``(host, port)`` or ``"HOST:PORT"``.
    """

    def __init__(self, client: Client, config: OneBotConfig | None = None, **options: Any) -> None:
        if config is None:
            config = OneBotConfig(**_normalise(options))
        elif options:
            raise TypeError("pass either a OneBotConfig or keyword options, not both")
        self.client = client
        self.config = config
        self.ids = IdMap(client)
        self.store = MessageStore(config.message_store_size)
        self.conv = Converter(config, self.ids, self.store)
        self.actions = Actions(client, self.conv, rate_interval=config.rate_limit_interval)
        self.sinks: set[Sink] = set()
        self._connections: set[Any] = set()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(_EVENT_QUEUE)
        self._tasks: list[asyncio.Task[Any]] = []
        self._runners: list[web.AppRunner] = []
        self._posters: list[Poster] = []
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._started = False
        self.addresses: dict[str, tuple[str, int]] = {}

    def __repr__(self) -> str:
        return f"OneBotServer(self_id={self.conv.self_id}, {self.config!r})"

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        await self._identify()
        self.client.add_handler(Event, self._on_event)
        self._session = aiohttp.ClientSession()
        self._tasks.append(asyncio.create_task(self._pump(), name="onebot-events"))
        try:
            await self._listen()
        except BaseException:
            await self.close()
            raise
        for url in self.config.post_urls:
            poster = Poster(self, url, self._session)
            self._posters.append(poster)
            self.sinks.add(poster)
        if self._posters:
            self._post_now(self.conv.lifecycle("enable"))
        for url in self.config.ws_reverse:
            self._tasks.append(
                asyncio.create_task(
                    run_reverse(self, url, self._session, lambda: self._closed),
                    name=f"onebot-reverse-{url}",
                )
            )
        if self.config.heartbeat_ms:
            self._tasks.append(asyncio.create_task(self._heartbeat(), name="onebot-heartbeat"))

    async def _identify(self) -> None:
        state = self.client.state
        if state is None:
            raise UsageError("log the client in (await client.start()) before starting OneBot")
        qq, nick = state.qq, state.nick
        if not qq or not nick:
            try:
                info = await self.client.get_self_info()
                qq = qq or info.account or info.uin
                nick = nick or info.nick
            except SmartQQError as exc:
                log.warning("get_self_info failed (%s); self_id may be a uin", exc)
                qq = qq or self.client.uin
        self.conv.self_id = qq
        self.conv.self_nick = nick

    async def _listen(self) -> None:
        wanted: dict[tuple[str, int], set[str]] = {}
        if self.config.ws is not None:
            wanted.setdefault(self.config.ws, set()).add("ws")
        if self.config.http is not None:
            wanted.setdefault(self.config.http, set()).add("http")
        for (host, port), kinds in wanted.items():
            app = build_app(self, ws="ws" in kinds, http="http" in kinds)
            runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            self._runners.append(runner)
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0]
            for kind in kinds:
                self.addresses[kind] = (str(bound[0]), int(bound[1]))
            log.info("OneBot %s listening on %s:%d", "+".join(sorted(kinds)), *bound[:2])

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ValueError):
            self.client.remove_handler(self._on_event)
        if self._posters:
            self._post_now(self.conv.lifecycle("disable"))
        await cancel_and_wait(*self._tasks)
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await conn.ws.close()
        for runner in self._runners:
            await runner.cleanup()
        for poster in self._posters:
            await poster.aclose()
        await self.actions.aclose()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> OneBotServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def url(self, kind: str = "http") -> str:
        """``http://host:port`` (or ``ws://``) of a listener, with the port actually bound."""
        host, port = self.addresses[kind]
        return f"{'ws' if kind == 'ws' else 'http'}://{host}:{port}"

    def track(self, conn: Any) -> None:
        self._connections.add(conn)

    def untrack(self, conn: Any) -> None:
        self._connections.discard(conn)

    # -- events ------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        # A plain function that only enqueues: the dispatcher runs it inline (no task per
        # event), and the order the client saw is the order sent.
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("OneBot event queue full; %s dropped", type(event).__name__)

    async def _pump(self) -> None:
        while True:
            event = await self._queue.get()
            if isinstance(event, LoggedIn | Reconnected):
                if isinstance(event, LoggedIn):  # a new login hands out new uins
                    self.ids.reset()
                    self.conv.sess_routes.clear()
                self.actions.online = True
                continue
            if isinstance(event, Disconnected | KickMessage):
                self.actions.online = False
            try:
                converted = await self.conv.convert(event)
            except SmartQQError as exc:
                log.warning("%s not reported: %s", type(event).__name__, exc)
                continue
            except Exception:
                log.exception("converting %s failed", type(event).__name__)
                continue
            if converted is not None:
                self.broadcast(converted)

    def broadcast(self, event: dict[str, Any], sinks: Iterable[Sink] | None = None) -> None:
        text = dumps(event)
        for sink in list(self.sinks if sinks is None else sinks):
            sink.push(event, text)

    def _post_now(self, event: dict[str, Any]) -> None:
        self.broadcast(event, self._posters)

    async def _heartbeat(self) -> None:
        interval = self.config.heartbeat_ms
        while True:
            await asyncio.sleep(interval / 1000)
            self.broadcast(self.conv.heartbeat(self.actions.status(), interval))


def _normalise(options: dict[str, Any]) -> dict[str, Any]:
    from .config import parse_hostport

    out = dict(options)
    for key in ("ws", "http"):
        if isinstance(out.get(key), str):
            out[key] = parse_hostport(out[key])
    for key in ("ws_reverse", "post_urls"):
        if isinstance(out.get(key), str):
            out[key] = (out[key],)
        elif out.get(key) is not None:
            out[key] = tuple(out[key])
    return out
