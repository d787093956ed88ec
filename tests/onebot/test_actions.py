"""The action list: information actions, what SmartQQ cannot do, and bad input."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from smartqq.client import Client
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.onebot import OneBotServer
from smartqq.onebot.actions import UNSUPPORTED

from .conftest import AUTH, call


@pytest.fixture
async def api(onebot: OneBotServer, http: aiohttp.ClientSession) -> AsyncIterator[Any]:
    async with http.ws_connect(onebot.url("ws") + "/api", headers=AUTH) as conn:
        yield conn


async def test_login_version_status_capabilities(api: Any) -> None:
    assert (await call(api, "get_login_info"))["data"] == {
        "user_id": BOT_QQ,
        "nickname": "SmartBot",
    }
    version = (await call(api, "get_version_info"))["data"]
    assert version["protocol_version"] == "v11"
    assert version["app_name"]
    assert version["app_version"]
    assert (await call(api, "get_status"))["data"] == {"online": True, "good": True}
    assert (await call(api, "can_send_image"))["data"] == {"yes": False}
    assert (await call(api, "can_send_record"))["data"] == {"yes": False}


async def test_friends_groups_members(api: Any) -> None:
    friends = (await call(api, "get_friend_list"))["data"]
    assert sorted((f["user_id"], f["nickname"]) for f in friends) == [
        (10002, "Alice"),
        (10003, "Bob"),
        (10004, "Carol & Co"),
    ]
    assert {f["remark"] for f in friends} >= {"Ally"}
    info = (await call(api, "get_group_info", group_id=200001))["data"]
    assert info == {
        "group_id": 200001,
        "group_name": "Python Fans",
        "member_count": 4,
        "max_member_count": 500,
    }
    members = (await call(api, "get_group_member_list", group_id="200001"))["data"]
    assert sorted(m["user_id"] for m in members) == [BOT_QQ, 10002, 10003, 10004]
    owner = next(m for m in members if m["user_id"] == 10002)
    assert owner["role"] == "owner"
    bob = (await call(api, "get_group_member_info", group_id=200001, user_id=10003))["data"]
    assert (bob["nickname"], bob["card"], bob["role"], bob["group_id"]) == (
        "Bob",
        "Bobby",
        "member",
        200001,
    )
    nobody = await call(api, "get_group_member_info", group_id=200001, user_id=1)
    assert (nobody["status"], nobody["retcode"]) == ("failed", 102)
    stranger = (await call(api, "get_stranger_info", user_id=10002))["data"]
    assert (stranger["user_id"], stranger["nickname"]) == (10002, "Alice")
    assert stranger["sex"] in ("male", "female", "unknown")
    unknown_group = await call(api, "get_group_info", group_id=123)
    assert (unknown_group["status"], unknown_group["retcode"]) == ("failed", 102)


@pytest.mark.parametrize("action", sorted(UNSUPPORTED))
async def test_what_smartqq_cannot_do_fails_honestly(api: Any, action: str) -> None:
    answer = await call(api, action, group_id=200001, user_id=10002, message_id=1, flag="f")
    assert (answer["status"], answer["retcode"], answer["data"]) == ("failed", 103, None)
    assert answer["message"]


async def test_delete_msg_fails_and_nothing_leaks(api: Any, client: Client) -> None:
    answer = await call(api, "delete_msg", message_id=1)
    assert "recall" in answer["message"]
    cookies = await call(api, "get_cookies", domain="qun.qq.com")
    assert client.state is not None
    assert client.state.psessionid not in str(cookies)


async def test_bad_input_never_stops_the_server(
    emulator: Emulator, api: Any, client: Client, onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    huge = "x" * 1_000_000
    answer = await call(api, "send_private_msg", user_id=10002, message=huge)
    assert (answer["status"], answer["retcode"]) == ("failed", 100)
    answer = await call(api, "send_private_msg", echo=2, user_id=10002, message="[CQ:face,id]")
    assert (answer["status"], answer["retcode"]) == ("failed", 100)
    answer = await call(api, "send_private_msg", echo=3, user_id=10002, message="[CQ:image,file=a]")
    assert (answer["status"], answer["retcode"]) == ("failed", 100)
    assert "image" in answer["message"]
    answer = await call(api, "send_group_msg", echo=4, group_id={"x": 1}, message="hi")
    assert (answer["status"], answer["retcode"]) == ("failed", 100)
    answer = await call(api, "get_msg", echo=5, message_id="abc")
    assert answer["retcode"] == 100
    async with http.post(
        f"{onebot.url('http')}/send_private_msg",
        json={"user_id": 10002, "message": huge},
        headers=AUTH,
    ) as r:
        assert r.status == 200
        assert (await r.json())["retcode"] == 100
    async with http.post(
        f"{onebot.url('http')}/send_private_msg",
        data=io.BytesIO(b"{" + b" " * (20 * 1024 * 1024) + b"}"),
        headers={**AUTH, "Content-Type": "application/json"},
    ) as r:
        assert r.status == 413  # over the body limit: refused, not a 500
    assert emulator.sent == []
    answer = await call(api, "send_private_msg", echo="ok", user_id=10002, message="fine")
    assert answer["status"] == "ok"
    assert [s["text"] for s in emulator.sent] == ["fine"]
    assert client.logged_in


async def test_clean_cache_then_everything_still_resolves(api: Any) -> None:
    assert (await call(api, "clean_cache"))["status"] == "ok"
    assert (await call(api, "get_group_info", echo=2, group_id=200001))["status"] == "ok"


async def test_queued_calls_are_bounded(
    api: Any, onebot: OneBotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smartqq.onebot.actions as actions_module

    monkeypatch.setattr(actions_module, "_MAX_PENDING", 3)
    onebot.actions.rate_interval = 60  # the queue does not drain during the test
    statuses = []
    for i in range(6):
        answer = await call(api, "get_status_rate_limited", echo=i)
        statuses.append(answer["status"])
    # the first is taken by the worker at once, three wait, the rest are refused
    assert statuses == ["async", "async", "async", "async", "failed", "failed"]


async def test_sends_as_string_array_and_one_segment(emulator: Emulator, api: Any) -> None:
    forms: list[Any] = [
        "a&amp;b &#91;x&#93; [CQ:face,id=14]",
        [{"type": "text", "data": {"text": "arr "}}, {"type": "face", "data": {"id": "5"}}],
        {"type": "text", "data": {"text": "one segment"}},
        "[CQ:face,id=14] kept",
    ]
    for i, message in enumerate(forms):
        answer = await call(
            api, "send_msg", echo=i, user_id=10002, message=message, auto_escape=(i == 3)
        )
        assert answer["status"] == "ok", answer
    assert [s["content"][:-1] for s in emulator.sent] == [
        ["a&b [x] ", ["face", 14]],
        ["arr ", ["face", 5]],
        ["one segment"],
        ["[CQ:face,id=14] kept"],  # auto_escape: sent as plain text
    ]
