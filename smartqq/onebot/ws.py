"""One OneBot WebSocket connection (either side), and the reverse WebSocket client.

Design note: a connection has one writer task draining a bounded queue, so
events, heartbeats and API answers never interleave mid-frame and a slow
framework cannot make the server buffer without limit (events beyond the
bound are dropped with a warning; API answers are always queued). Each API
call runs in its own task: a slow ``send_msg`` does not hold up a quick
``get_status`` behind it, and a framework that disconnects mid-call only loses
the answer; the call itself completes, so a half-sent message is not cut off.
The reverse client reconnects every ``reconnect_interval`` until closed, and
every (re)connection starts with the lifecycle ``connect`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from yarl import URL

import smartqq
from smartqq._tasks import cancel_and_wait

if TYPE_CHECKING:
    from .hub import Hub

__all__ = ["WsConnection", "dumps", "run_reverse"]

log = logging.getLogger("smartqq.onebot")

MAX_FRAME = 16 * 1024 * 1024  # larger frames close the connection (1009)
_QUEUE = 2000


def dumps(value: Any) -> str:
    """Compact JSON with non-ASCII kept (what the frameworks expect)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _error(retcode: int, message: str, echo: Any = None, has_echo: bool = False) -> str:
    body: dict[str, Any] = {
        "status": "failed",
        "retcode": retcode,
        "data": None,
        "message": message,
        "wording": message,
    }
    if has_echo:
        body["echo"] = echo
    return dumps(body)


WebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


class WsConnection:
    """Serve OneBot over an open WebSocket: API calls in, answers and events out."""

    def __init__(self, server: Hub, ws: WebSocket, *, api: bool, events: bool, name: str) -> None:
        self.server = server
        self.ws = ws
        self.api = api
        self.events = events
        self.name = name
        self._out: asyncio.Queue[str] = asyncio.Queue()
        self._calls: set[asyncio.Task[None]] = set()
        self._dropped = 0

    def push(self, event: dict[str, Any], text: str) -> None:
        if self._out.qsize() >= _QUEUE:
            self._dropped += 1
            if self._dropped in (1, 100, 10000):
                log.warning("%s: slow reader, %d events dropped", self.name, self._dropped)
            return
        self._out.put_nowait(text)

    async def run(self) -> None:
        if self.events:
            # The lifecycle event goes first, before the connection can receive anything else.
            self._out.put_nowait(dumps(self.server.conv.lifecycle("connect")))
            self.server.sinks.add(self)
        writer = asyncio.create_task(self._write(), name=f"onebot-write-{self.name}")
        try:
            async for msg in self.ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    if self.api:
                        self._handle(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    if self.api:
                        self._out.put_nowait(_error(1400, "binary frames are not OneBot calls"))
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    break
        finally:
            self.server.sinks.discard(self)
            await cancel_and_wait(writer)
            if not self.ws.closed:
                with contextlib.suppress(Exception):
                    await self.ws.close()

    async def _write(self) -> None:
        while True:
            text = await self._out.get()
            try:
                await self.ws.send_str(text)
            except (ConnectionError, aiohttp.ClientError, RuntimeError):
                return

    def _handle(self, text: str) -> None:
        try:
            request = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            self._out.put_nowait(_error(1400, "the frame is not JSON"))
            return
        if not isinstance(request, dict):
            self._out.put_nowait(_error(1400, "a call must be a JSON object"))
            return
        task = asyncio.create_task(self._call(request))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, request: dict[str, Any]) -> None:
        has_echo = "echo" in request
        echo = request.get("echo")
        action, params = request.get("action"), request.get("params")
        if params is None:
            params = {}
        if not isinstance(action, str) or not isinstance(params, dict):
            self._out.put_nowait(
                _error(1400, "'action' must be a string and 'params' an object", echo, has_echo)
            )
            return
        answer = await self.server.actions.call(action, params)
        if answer is None:
            self._out.put_nowait(_error(1404, f"no action {action[:80]!r}", echo, has_echo))
            return
        if has_echo:
            answer["echo"] = echo
        try:
            text = dumps(answer)
        except (TypeError, ValueError, RecursionError):
            text = _error(1400, "the echo cannot be returned", None, False)
        self._out.put_nowait(text)


async def run_reverse(
    server: Hub, url: str, session: aiohttp.ClientSession, stopped: Callable[[], bool]
) -> None:
    """Keep one Universal connection to ``url`` open until the server closes."""
    interval = server.config.reconnect_interval_ms / 1000
    headers = {
        "X-Self-ID": str(server.conv.self_id),
        "X-Client-Role": "Universal",
        "User-Agent": f"smartqq-onebot/{smartqq.__version__}",
    }
    if server.config.access_token:
        headers["Authorization"] = f"Bearer {server.config.access_token}"
    shown = str(URL(url).with_query(None))  # a token in the query stays out of logs
    failures = 0
    while not stopped():
        try:
            ws = await session.ws_connect(url, headers=headers, max_msg_size=MAX_FRAME)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            failures += 1
            if failures in (1, 10) or failures % 100 == 0:
                log.warning("reverse WebSocket %s: cannot connect (%s); retrying", shown, exc)
        else:
            failures = 0
            log.info("reverse WebSocket %s connected", shown)
            conn = WsConnection(server, ws, api=True, events=True, name=f"reverse {shown}")
            try:
                await conn.run()
            except (aiohttp.ClientError, OSError) as exc:
                log.warning("reverse WebSocket %s: %s", shown, exc)
            log.info("reverse WebSocket %s closed; reconnecting", shown)
        await asyncio.sleep(interval)
