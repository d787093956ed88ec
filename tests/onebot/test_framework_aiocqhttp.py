"""An unmodified third-party OneBot v11 framework (aiocqhttp, from PyPI) against the server.

aiocqhttp is a bot SDK: it runs the reverse WebSocket *server* a OneBot
implementation connects to, and the HTTP POST receiver whose API calls go to
the implementation's HTTP API. Both are exercised here through the emulator:
the bot receives private and group messages, and its replies must arrive in
the right chat exactly once (``Emulator.sent``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiocqhttp import CQHttp, Event

from smartqq.client import Client
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.onebot import OneBotServer
from smartqq.testing import until

TOKEN = "framework-token"
SECRET = "framework-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve(bot: CQHttp, port: int) -> Callable[[], Any]:
    """Run the framework's own server (Quart/hypercorn) until the returned stopper is awaited."""
    stop = asyncio.Event()
    task = asyncio.ensure_future(
        bot.run_task(host="127.0.0.1", port=port, shutdown_trigger=stop.wait)
    )
    loop = asyncio.get_running_loop()
    end = loop.time() + 5
    while True:  # until it accepts connections
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            break
        except OSError:
            if task.done() or loop.time() > end:
                raise
            await asyncio.sleep(0.02)

    async def stopper() -> None:
        stop.set()
        await asyncio.wait_for(task, 5)

    return stopper


def echo_bot(**options: Any) -> tuple[CQHttp, list[dict[str, Any]]]:
    bot = CQHttp(api_timeout_sec=5, **options)
    seen: list[dict[str, Any]] = []

    @bot.on_message
    async def handle(event: Event) -> Any:
        seen.append(dict(event))
        if event.message_type == "group" and event.raw_message.startswith("quick"):
            # A quick operation: answered in the HTTP POST response (or via the API on WS).
            return {"reply": "quick " + event.raw_message, "at_sender": False}
        await bot.send(event, "echo " + event.raw_message)
        return None

    return bot, seen


def sent_to(emulator: Emulator, kind: str, to: int) -> list[str]:
    return [r["text"] for r in emulator.sent if r["kind"] == kind and r["to"] == to]


@pytest.fixture
async def reverse_pair(client: Client) -> AsyncIterator[tuple[OneBotServer, list[dict[str, Any]]]]:
    port = free_port()
    bot, seen = echo_bot(access_token=TOKEN)
    stop = await serve(bot, port)
    server = OneBotServer(
        client,
        ws_reverse=[f"ws://127.0.0.1:{port}/ws/"],
        access_token=TOKEN,
        reconnect_interval_ms=100,
    )
    await server.start()
    try:
        yield server, seen
    finally:
        await server.close()
        await stop()


async def test_aiocqhttp_reverse_ws_private_and_group(
    emulator: Emulator, reverse_pair: tuple[OneBotServer, list[dict[str, Any]]]
) -> None:
    server, seen = reverse_pair
    await until(lambda: server.sinks, timeout=5)  # the Universal connection is up
    emulator.user(10002).send_buddy(BOT_QQ, "hello bot")
    await until(lambda: sent_to(emulator, "buddy", 10002), timeout=5)
    emulator.user(10003).send_group(200001, "hi group")
    await until(lambda: sent_to(emulator, "group", 200001), timeout=5)
    emulator.user(10003).send_group(200001, "quick one")
    await until(lambda: len(sent_to(emulator, "group", 200001)) >= 2, timeout=5)
    await asyncio.sleep(0.3)  # any duplicate would have arrived by now
    assert sent_to(emulator, "buddy", 10002) == ["echo hello bot"]
    assert sent_to(emulator, "group", 200001) == ["echo hi group", "quick quick one"]
    kinds = [(e["message_type"], e["user_id"]) for e in seen]
    assert kinds == [("private", 10002), ("group", 10003), ("group", 10003)]
    assert seen[1]["group_id"] == 200001
    assert all(e["self_id"] == BOT_QQ for e in seen)


async def test_aiocqhttp_http_api_and_post(client: Client, emulator: Emulator) -> None:
    port = free_port()
    server = OneBotServer(
        client,
        http=("127.0.0.1", 0),
        post_urls=[f"http://127.0.0.1:{port}/"],
        access_token=TOKEN,
        secret=SECRET,
        heartbeat_ms=0,
    )
    await server.start()
    try:
        bot, seen = echo_bot(api_root=server.url("http"), access_token=TOKEN, secret=SECRET)
        stop = await serve(bot, port)
        try:
            emulator.user(10002).send_buddy(BOT_QQ, "over http")
            await until(lambda: sent_to(emulator, "buddy", 10002), timeout=5)
            emulator.user(10003).send_group(200001, "group over http")
            await until(lambda: sent_to(emulator, "group", 200001), timeout=5)
            emulator.user(10003).send_group(200001, "quick reply")
            await until(lambda: len(sent_to(emulator, "group", 200001)) >= 2, timeout=5)
            await asyncio.sleep(0.3)
        finally:
            await stop()
    finally:
        await server.close()
    assert sent_to(emulator, "buddy", 10002) == ["echo over http"]
    assert sent_to(emulator, "group", 200001) == ["echo group over http", "quick quick reply"]
    messages = [e for e in seen if e["post_type"] == "message"]
    assert [(e["message_type"], e["user_id"]) for e in messages] == [
        ("private", 10002),
        ("group", 10003),
        ("group", 10003),
    ]
