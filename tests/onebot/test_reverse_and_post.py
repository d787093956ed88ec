"""Reverse WebSocket (Universal client, headers, reconnect) and HTTP POST reporting
(signature, compact UTF-8 JSON, quick operations), against bare aiohttp servers."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from smartqq.client import Client
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.onebot import OneBotServer
from smartqq.testing import until

TOKEN = "rev-token"
SECRET = "post-secret"


async def start_app(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"{host}:{port}"


class FakeBot:
    """A bare reverse-WebSocket endpoint: records handshakes and frames, can drop connections."""

    def __init__(self) -> None:
        self.handshakes: list[list[tuple[bytes, bytes]]] = []
        self.frames: list[dict[str, Any]] = []
        self.sockets: list[web.WebSocketResponse] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        self.handshakes.append(list(request.raw_headers))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        async for msg in ws:
            self.frames.append(json.loads(msg.data))
        return ws


@pytest.fixture
async def fake_bot() -> AsyncIterator[tuple[FakeBot, str]]:
    bot = FakeBot()
    app = web.Application()
    app.router.add_get("/onebot/v11/ws", bot.handle)
    runner, where = await start_app(app)
    yield bot, f"ws://{where}/onebot/v11/ws"
    for ws in bot.sockets:
        await ws.close()
    await runner.cleanup()


async def test_reverse_universal_headers_lifecycle_calls_and_reconnect(
    client: Client, emulator: Emulator, fake_bot: tuple[FakeBot, str]
) -> None:
    bot, url = fake_bot
    async with OneBotServer(
        client, ws_reverse=[url], access_token=TOKEN, reconnect_interval_ms=50, heartbeat_ms=0
    ):
        await until(lambda: bot.frames)
        raw = dict(bot.handshakes[0])
        # Exact header names as sent (some frameworks match them case-sensitively).
        assert raw[b"X-Client-Role"] == b"Universal"
        assert raw[b"X-Self-ID"] == str(BOT_QQ).encode()
        assert raw[b"Authorization"] == f"Bearer {TOKEN}".encode()
        assert bot.frames[0]["meta_event_type"] == "lifecycle"
        assert bot.frames[0]["sub_type"] == "connect"
        await bot.sockets[0].send_json(
            {
                "action": "send_group_msg",
                "params": {"group_id": 200001, "message": "hi"},
                "echo": {"seq": 1},
            }
        )
        await until(lambda: any(f.get("echo") == {"seq": 1} for f in bot.frames))
        assert [s["text"] for s in emulator.sent] == ["hi"]
        emulator.user(10002).send_buddy(BOT_QQ, "event over reverse")
        await until(lambda: any(f.get("raw_message") == "event over reverse" for f in bot.frames))
        # The bot side drops the connection: the server comes back and says connect again.
        await bot.sockets[0].close()
        await until(lambda: len(bot.handshakes) >= 2)
        await until(lambda: sum(f.get("sub_type") == "connect" for f in bot.frames) >= 2)


async def test_reverse_keeps_retrying_an_absent_bot(client: Client) -> None:
    async with OneBotServer(
        client, ws_reverse=["ws://127.0.0.1:9/nothing"], reconnect_interval_ms=20, heartbeat_ms=0
    ) as server:
        await asyncio.sleep(0.2)
        assert not server.sinks
        assert client.logged_in


class PostSink:
    def __init__(self, reply: Callable[[dict[str, Any]], web.Response]) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.reply = reply

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        return self.reply(json.loads(body))


def quick(event: dict[str, Any]) -> web.Response:
    if event.get("post_type") != "message":
        return web.Response(status=204)
    text = event["raw_message"]
    if text == "silent":
        return web.Response(text="")
    if text == "escape":
        return web.json_response({"reply": "[CQ:face,id=1]", "auto_escape": True})
    return web.json_response({"reply": f"你说 {text}", "at_sender": text.startswith("at")})


async def test_post_reporting_signature_body_and_quick_operations(
    client: Client, emulator: Emulator
) -> None:
    sink = PostSink(quick)
    app = web.Application()
    app.router.add_post("/", sink.handle)
    runner, where = await start_app(app)
    try:
        async with OneBotServer(
            client,
            post_urls=[f"http://{where}/"],
            secret=SECRET,
            access_token=TOKEN,
            heartbeat_ms=0,
        ):
            await until(lambda: sink.requests)
            emulator.user(10002).send_buddy(BOT_QQ, "你好, world")
            await until(lambda: [s for s in emulator.sent if s["kind"] == "buddy"])
            emulator.user(10002).send_buddy(BOT_QQ, "silent")
            emulator.user(10002).send_buddy(BOT_QQ, "escape")
            emulator.user(10003).send_group(200001, "at me")
            emulator.user(10003).send_group(200001, "plain")
            await until(lambda: len(emulator.sent) == 4)
            await asyncio.sleep(0.2)  # nothing more arrives
    finally:
        await runner.cleanup()
    first = json.loads(sink.requests[0][1])
    assert (first["meta_event_type"], first["sub_type"]) == ("lifecycle", "enable")
    for headers, body in sink.requests:
        assert headers["X-Self-ID"] == str(BOT_QQ)
        assert headers["Authorization"] == f"Bearer {TOKEN}"  # NoneBot's receiver checks it
        expected = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
        assert headers["X-Signature"] == expected
        assert headers["Content-Type"].startswith("application/json")
    message_body = next(b for _, b in sink.requests if b"world" in b)
    assert "你好, world".encode() in message_body  # non-ASCII kept, not \\u-escaped
    assert b'","' in message_body  # compact separators
    assert b'", "' not in message_body
    # Posts run concurrently, so replies may arrive in any order; each exactly once.
    assert sorted((s["kind"], s["text"]) for s in emulator.sent) == sorted(
        [
            ("buddy", "你说 你好, world"),
            ("buddy", "[CQ:face,id=1]"),
            ("group", "@Bobby 你说 at me"),
            ("group", "你说 plain"),
        ]
    )
