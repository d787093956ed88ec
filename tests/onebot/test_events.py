"""Message events and notices: every field the spec lists, the id mapping, temporary sessions,
discussions (as groups and as the older discuss form), pictures and faces, get_msg, 1202."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from smartqq.emulator import BOT_QQ, Emulator, World, demo_world
from smartqq.onebot import DISCUSS_ID_BASE, DISCUSS_ID_END, OneBotServer
from smartqq.testing import until

from .conftest import AUTH, TOKEN, call, is_message, recv_json, recv_until

STRANGER = 10005


@pytest.fixture
def smartqq_world() -> World:
    w = demo_world()
    w.add_account(STRANGER, password="dave-pw", nick="Dave", gender="male")
    w.groups[200001].members.append(STRANGER)
    return w


@pytest.fixture
async def ws(onebot: OneBotServer, http: aiohttp.ClientSession) -> AsyncIterator[Any]:
    async with http.ws_connect(onebot.url("ws") + "/", headers=AUTH) as conn:
        assert (await recv_json(conn))["sub_type"] == "connect"
        yield conn


PRIVATE_FIELDS = {
    "time",
    "self_id",
    "post_type",
    "message_type",
    "sub_type",
    "message_id",
    "user_id",
    "message",
    "raw_message",
    "font",
    "sender",
}
GROUP_FIELDS = PRIVATE_FIELDS | {"group_id", "anonymous"}


def check_int32(message_id: Any) -> None:
    assert isinstance(message_id, int)
    assert 0 < message_id < 2**31


async def test_private_friend_message_fields(emulator: Emulator, ws: Any) -> None:
    emulator.user(10002).send_buddy(BOT_QQ, ["a&b [x] ", ["face", 14], "!"])
    ev = await recv_until(ws, is_message)
    assert set(ev) >= PRIVATE_FIELDS
    assert (ev["post_type"], ev["message_type"], ev["sub_type"]) == ("message", "private", "friend")
    assert ev["self_id"] == BOT_QQ
    assert ev["user_id"] == 10002  # the QQ number, not the per-login uin
    check_int32(ev["message_id"])
    assert isinstance(ev["font"], int)
    assert ev["message"] == [
        {"type": "text", "data": {"text": "a&b [x] "}},
        {"type": "face", "data": {"id": "14"}},
        {"type": "text", "data": {"text": "!"}},
    ]
    assert ev["raw_message"] == "a&amp;b &#91;x&#93; [CQ:face,id=14]!"
    assert ev["sender"]["user_id"] == 10002
    assert ev["sender"]["nickname"] == "Alice"
    assert ev["sender"]["sex"] in ("male", "female", "unknown")
    assert isinstance(ev["sender"]["age"], int)
    assert "smartqq_uin" not in ev["sender"]


async def test_group_message_fields(emulator: Emulator, ws: Any) -> None:
    emulator.user(10003).send_group(200001, "hello group")
    ev = await recv_until(ws, is_message)
    assert set(ev) >= GROUP_FIELDS
    assert (ev["message_type"], ev["sub_type"]) == ("group", "normal")
    assert ev["group_id"] == 200001  # the group number, not the gid
    assert ev["user_id"] == 10003
    assert ev["anonymous"] is None
    sender = ev["sender"]
    assert {"user_id", "nickname", "card", "sex", "age", "area", "level", "role", "title"} <= set(
        sender
    )
    assert (sender["nickname"], sender["card"], sender["role"]) == ("Bob", "Bobby", "member")
    emulator.user(10002).send_group(200001, "from the owner")
    ev = await recv_until(ws, is_message)
    assert ev["sender"]["role"] == "owner"


async def test_temporary_session_is_private_group_and_reply_goes_back(
    emulator: Emulator, ws: Any
) -> None:
    emulator.user(STRANGER).send_sess(BOT_QQ, "psst")
    ev = await recv_until(ws, is_message)
    assert (ev["message_type"], ev["sub_type"]) == ("private", "group")
    assert ev["user_id"] == STRANGER
    assert ev["sender"]["nickname"] == "Dave"  # from the group it came through
    answer = await call(ws, "send_private_msg", user_id=STRANGER, message="psst back")
    assert answer["status"] == "ok"
    await until(lambda: emulator.sent)
    assert [(s["kind"], s["to"], s["text"]) for s in emulator.sent] == [
        ("sess", STRANGER, "psst back")
    ]


async def test_non_friend_in_a_shared_group_without_a_session_first(
    emulator: Emulator, ws: Any
) -> None:
    answer = await call(ws, "send_msg", user_id=STRANGER, message="cold open")
    assert answer["status"] == "ok"
    answer = await call(ws, "send_private_msg", echo="x", user_id=999999, message="nobody")
    assert (answer["status"], answer["retcode"]) == ("failed", 102)
    # go-cqhttp's group_id names the group of the temporary session.
    answer = await call(
        ws, "send_private_msg", echo="g", user_id=STRANGER, group_id=200001, message="via group"
    )
    assert answer["status"] == "ok"
    answer = await call(
        ws, "send_private_msg", echo="w", user_id=STRANGER, group_id=123, message="no group"
    )
    assert (answer["status"], answer["retcode"]) == ("failed", 102)
    await until(lambda: len(emulator.sent) == 2)
    assert [(s["kind"], s["to"]) for s in emulator.sent] == [("sess", STRANGER), ("sess", STRANGER)]


async def test_discussion_as_group_with_a_synthetic_id(emulator: Emulator, ws: Any) -> None:
    emulator.user(10003).send_discu(300001, "weekend?")
    ev = await recv_until(ws, is_message)
    assert set(ev) >= GROUP_FIELDS
    assert ev["message_type"] == "group"
    assert DISCUSS_ID_BASE <= ev["group_id"] < DISCUSS_ID_END
    assert ev["user_id"] == 10003
    assert ev["sender"]["role"] == "owner"
    answer = await call(ws, "send_group_msg", group_id=ev["group_id"], message="sure")
    assert answer["status"] == "ok"
    await until(lambda: emulator.sent)
    assert [(s["kind"], s["to"], s["text"]) for s in emulator.sent] == [("discu", 300001, "sure")]
    groups = (await call(ws, "get_group_list", echo="g"))["data"]
    assert {g["group_id"] for g in groups} == {200001, ev["group_id"]}


async def test_discussion_id_is_stable_across_logins(emulator: Emulator) -> None:
    from smartqq.testing import make_client

    ids, dids = [], []
    for _ in range(2):  # two logins one after the other: new dids, same OneBot id
        async with (
            make_client(emulator) as bot,
            OneBotServer(bot, ws="127.0.0.1:0", heartbeat_ms=0) as server,
        ):
            await server.ids.load()
            did = next(iter(server.ids.discus))
            dids.append(did)
            ids.append(await server.ids.discuss_id_of(did))
    assert ids[0] == ids[1]
    assert DISCUSS_ID_BASE <= ids[0] < DISCUSS_ID_END


class TestDiscussForm:
    @pytest.fixture
    def onebot_options(self) -> dict[str, Any]:
        return {"ws": "127.0.0.1:0", "access_token": TOKEN, "discuss_as": "discuss"}

    async def test_discuss_message_type_and_send_discuss_msg(
        self, emulator: Emulator, ws: Any
    ) -> None:
        emulator.user(10002).send_discu(300001, "old style")
        ev = await recv_until(ws, is_message)
        assert ev["message_type"] == "discuss"
        assert DISCUSS_ID_BASE <= ev["discuss_id"] < DISCUSS_ID_END
        assert "group_id" not in ev
        answer = await call(ws, "send_discuss_msg", discuss_id=ev["discuss_id"], message="ok")
        assert answer["status"] == "ok"
        answer = await call(ws, "send_msg", echo=2, discuss_id=ev["discuss_id"], message="ok2")
        assert answer["status"] == "ok"
        await until(lambda: len(emulator.sent) == 2)
        assert {s["kind"] for s in emulator.sent} == {"discu"}
        groups = (await call(ws, "get_group_list", echo="g"))["data"]
        assert [g["group_id"] for g in groups] == [200001]


class TestStringFormat:
    @pytest.fixture
    def onebot_options(self) -> dict[str, Any]:
        return {"ws": "127.0.0.1:0", "access_token": TOKEN, "message_format": "string"}

    async def test_message_is_a_cq_string(self, emulator: Emulator, ws: Any) -> None:
        emulator.user(10002).send_buddy(BOT_QQ, ["x,y ", ["face", 5]])
        ev = await recv_until(ws, is_message)
        assert ev["message"] == "x,y [CQ:face,id=5]"
        assert ev["raw_message"] == ev["message"]
        got = await call(ws, "get_msg", message_id=ev["message_id"])
        assert got["data"]["message"] == "x,y [CQ:face,id=5]"


async def test_pictures_become_image_segments(emulator: Emulator, ws: Any) -> None:
    emulator.user(10002).send_buddy(
        BOT_QQ, ["look", ["offpic", {"success": 1, "file_path": "/a-b"}]]
    )
    ev = await recv_until(ws, is_message)
    assert ev["message"][1]["type"] == "image"
    assert ev["message"][1]["data"]["file"] == "/a-b"
    emulator.user(10003).send_group(
        200001, [["cface", {"name": "{X}.jpg", "file_id": 1, "key": "k", "server": "1.2.3.4:80"}]]
    )
    ev = await recv_until(ws, is_message)
    assert ev["message"][0]["type"] == "image"
    assert ev["raw_message"].startswith("[CQ:image,file={X}.jpg")


async def test_get_msg_and_one_id_per_split_send(emulator: Emulator, ws: Any) -> None:
    emulator.user(10002).send_buddy(BOT_QQ, "remember me")
    ev = await recv_until(ws, is_message)
    got = await call(ws, "get_msg", message_id=ev["message_id"])
    assert got["data"]["message_id"] == ev["message_id"]
    assert got["data"]["message_type"] == "private"
    assert got["data"]["sender"]["user_id"] == 10002
    assert got["data"]["message"] == [{"type": "text", "data": {"text": "remember me"}}]
    check_int32(got["data"]["real_id"])
    long_text = "长" * 1000  # 3000 UTF-8 bytes: the client sends it in several parts
    answer = await call(ws, "send_group_msg", echo="long", group_id=200001, message=long_text)
    assert answer["status"] == "ok"
    check_int32(answer["data"]["message_id"])
    await until(lambda: "".join(s["text"] for s in emulator.sent) == long_text)
    assert len(emulator.sent) > 1
    got = await call(ws, "get_msg", echo="g2", message_id=answer["data"]["message_id"])
    assert got["data"]["raw_message"] == long_text
    assert got["data"]["group_id"] == 200001
    missing = await call(ws, "get_msg", echo="g3", message_id=2**31 - 1)
    assert (missing["status"], missing["retcode"]) == ("failed", 102)
    ids = {ev["message_id"], answer["data"]["message_id"]}
    assert len(ids) == 2


async def test_1202_is_ok_and_uncertain(emulator: Emulator, ws: Any) -> None:
    emulator.config.send_rate = 1  # a second send within a second answers 1202
    first = await call(ws, "send_private_msg", echo=1, user_id=10002, message="one")
    second = await call(ws, "send_private_msg", echo=2, user_id=10002, message="two")
    assert first["data"].get("uncertain") is None
    assert second["status"] == "ok"
    assert second["retcode"] == 0
    assert second["data"]["uncertain"] is True
    check_int32(second["data"]["message_id"])
    # Never resent: the emulator saw each send once.
    assert [s["text"] for s in emulator.sent] == ["one", "two"]


async def test_friend_status_notice(emulator: Emulator, ws: Any) -> None:
    emulator.user(10003).set_status("busy")
    ev = await recv_until(ws, lambda f: f.get("post_type") == "notice")
    assert ev["notice_type"] == "friend_status"
    assert ev["user_id"] == 10003
    assert ev["status"] == "busy"
