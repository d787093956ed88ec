"""Fixtures: a OneBot server over a client logged in to the emulator (loopback, free ports)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from smartqq.client import Client
from smartqq.onebot import OneBotServer

TOKEN = "s3cret-token"
TIMEOUT = 5.0


@pytest.fixture
def onebot_options() -> dict[str, Any]:
    return {"ws": ("127.0.0.1", 0), "http": ("127.0.0.1", 0), "access_token": TOKEN}


@pytest.fixture
async def onebot(client: Client, onebot_options: dict[str, Any]) -> AsyncIterator[OneBotServer]:
    async with OneBotServer(client, **onebot_options) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def recv_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = TIMEOUT) -> Any:
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def recv_until(
    ws: aiohttp.ClientWebSocketResponse, pred: Any, timeout: float = TIMEOUT
) -> Any:
    """The next frame satisfying ``pred`` (heartbeats and other events are skipped)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        frame = await recv_json(ws, max(0.01, end - loop.time()))
        if pred(frame):
            return frame


async def call(
    ws: aiohttp.ClientWebSocketResponse, action: str, echo: Any = "e", **params: Any
) -> Any:
    await ws.send_json({"action": action, "params": params, "echo": echo})
    return await recv_until(ws, lambda f: "post_type" not in f and f.get("echo") == echo)


def is_message(frame: dict[str, Any]) -> bool:
    return frame.get("post_type") == "message"
