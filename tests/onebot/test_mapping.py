"""Id mapping fallbacks, group member notices from sys_g_msg, and a session that is gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from smartqq.client import Client
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.events import Event, LoggedIn, Reconnected
from smartqq.onebot import OneBotServer

from .conftest import AUTH, call, is_message, recv_json, recv_until


@pytest.fixture
async def ws(onebot: OneBotServer, http: aiohttp.ClientSession) -> AsyncIterator[Any]:
    async with http.ws_connect(onebot.url("ws") + "/", headers=AUTH) as conn:
        assert (await recv_json(conn))["sub_type"] == "connect"
        yield conn


async def test_refused_get_friend_uin2_falls_back_to_the_uin(
    client: Client, emulator: Emulator, ws: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.faults.add("get_friend_uin2", "retcode", 100101, mode="every", n=1)
    emulator.user(10002).send_buddy(BOT_QQ, "who am I")
    ev = await recv_until(ws, is_message)
    friends = await client.get_friends()
    alice = next(f for f in friends if f.nick == "Alice")
    assert ev["user_id"] == alice.uin
    assert ev["sender"]["smartqq_uin"] == alice.uin
    assert "falls back to the session uin" in caplog.text
    answer = await call(ws, "send_private_msg", user_id=alice.uin, message="hi uin")
    assert answer["status"] == "ok"
    assert [(s["kind"], s["to"]) for s in emulator.sent] == [("buddy", 10002)]


async def test_group_member_notices_from_sys_g_msg(client: Client, ws: Any) -> None:
    groups = await client.get_groups()
    code = groups[0].code
    base = {"msg_id": 1, "from_uin": groups[0].gid, "to_uin": 0, "msg_type": 34, "gcode": code}
    client.feed_raw_event(
        {"poll_type": "sys_g_msg", "value": {**base, "type": "group_join", "t_new_member": 10007}}
    )
    joined = await recv_until(ws, lambda f: f.get("post_type") == "notice")
    assert (joined["notice_type"], joined["sub_type"]) == ("group_increase", "approve")
    assert (joined["group_id"], joined["user_id"]) == (200001, 10007)
    client.feed_raw_event(
        {
            "poll_type": "sys_g_msg",
            "value": {
                **base,
                "msg_id": 2,
                "type": "group_leave",
                "op_type": 3,
                "t_old_member": 10007,
                "t_admin_uin": 10002,
            },
        }
    )
    left = await recv_until(ws, lambda f: f.get("post_type") == "notice")
    assert (left["notice_type"], left["sub_type"]) == ("group_decrease", "kick")
    assert (left["user_id"], left["operator_id"], left["group_id"]) == (10007, 10002, 200001)


async def test_a_closed_session_answers_104_and_offline(client: Client, ws: Any) -> None:
    await client.close()
    answer = await call(ws, "send_private_msg", echo=0, user_id=10002, message="x")
    assert (answer["status"], answer["retcode"]) == ("failed", 104)
    answer = await call(ws, "get_friend_list", echo=1)
    assert (answer["status"], answer["retcode"]) == ("failed", 104)
    status = await call(ws, "get_status", echo=2)
    assert status["data"] == {"online": False, "good": False}


async def test_ids_survive_a_relogin(
    client: Client, emulator: Emulator, onebot: OneBotServer, ws: Any
) -> None:
    emulator.user(10002).send_buddy(BOT_QQ, "before")
    before = await recv_until(ws, is_message)
    back = asyncio.ensure_future(
        client.wait_for(Event, check=lambda e: isinstance(e, LoggedIn | Reconnected), timeout=15)
    )
    await asyncio.sleep(0)
    emulator.expire_sessions()  # the client recovers (a relink: same uins)
    assert isinstance(await back, Reconnected)
    emulator.user(10002).send_buddy(BOT_QQ, "between")
    assert (await recv_until(ws, is_message))["user_id"] == 10002
    old_uins = {f.uin for f in await client.get_friends()}
    back = asyncio.ensure_future(client.wait_for(LoggedIn, timeout=20))
    await asyncio.sleep(0)
    await emulator.restart(keep_logins=False)  # the server forgets us: a full login, new uins
    await back
    assert {f.uin for f in await client.get_friends()} != old_uins
    emulator.user(10002).send_buddy(BOT_QQ, "after")
    after = await recv_until(ws, lambda f: is_message(f) and f["raw_message"] == "after")
    assert after["user_id"] == before["user_id"] == 10002
    answer = await call(ws, "send_private_msg", echo="r", user_id=10002, message="still you")
    assert answer["status"] == "ok"
    assert emulator.sent[-1]["to"] == 10002
