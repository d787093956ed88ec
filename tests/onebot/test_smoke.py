from __future__ import annotations

import aiohttp

from smartqq.emulator import Emulator
from smartqq.onebot import OneBotServer

from .conftest import AUTH, call, is_message, recv_json, recv_until


async def test_private_message_roundtrip(
    emulator: Emulator, onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(onebot.url("ws") + "/", headers=AUTH) as ws:
        first = await recv_json(ws)
        assert first["meta_event_type"] == "lifecycle"
        emulator.user(10002).send_buddy(10001, "ping")
        ev = await recv_until(ws, is_message)
        print(ev)
        assert ev["user_id"] == 10002
        answer = await call(ws, "send_private_msg", user_id=10002, message="pong")
        print(answer)
        assert answer["status"] == "ok"
        assert emulator.sent[-1]["text"] == "pong"
