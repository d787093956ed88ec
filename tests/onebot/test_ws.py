"""Forward WebSocket: paths, the lifecycle event first, echo, 1400/1404, async calls, heartbeats,
and a framework that disconnects mid-call."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from smartqq.client import Client
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.onebot import OneBotServer
from smartqq.testing import until

from .conftest import AUTH, call, is_message, recv_json, recv_until


@pytest.mark.parametrize("path", ["", "/", "/api", "/api/", "/event", "/event/"])
async def test_every_path_connects(
    onebot: OneBotServer, http: aiohttp.ClientSession, path: str
) -> None:
    async with http.ws_connect(onebot.url("ws") + path, headers=AUTH) as ws:
        if path.startswith("/api"):
            # API-only: no lifecycle event; a call is answered.
            await ws.send_json({"action": "get_version_info", "echo": path})
            answer = await recv_json(ws)
            assert answer["data"]["protocol_version"] == "v11"
            assert answer["echo"] == path
        else:
            first = await recv_json(ws)
            assert first["post_type"] == "meta_event"
            assert first["meta_event_type"] == "lifecycle"
            assert first["sub_type"] == "connect"
            assert first["self_id"] == BOT_QQ
            assert isinstance(first["time"], int)


async def test_event_path_ignores_calls_and_api_path_gets_no_events(
    emulator: Emulator, onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    async with (
        http.ws_connect(onebot.url("ws") + "/event", headers=AUTH) as events,
        http.ws_connect(onebot.url("ws") + "/api", headers=AUTH) as api,
    ):
        await recv_json(events)  # lifecycle
        await events.send_json({"action": "get_status", "echo": 1})
        emulator.user(10002).send_buddy(BOT_QQ, "to both")
        frame = await recv_until(events, lambda f: f.get("post_type") == "message")
        assert frame["raw_message"] == "to both"
        await api.send_json({"action": "get_status", "echo": 2})
        answer = await recv_json(api)  # the first frame on /api is this answer, not an event
        assert answer["echo"] == 2


@pytest.mark.parametrize("echo", ["abc", 12, 1.5, {"seq": 7, "x": [1, "2"]}, [1, 2], None, True])
async def test_echo_comes_back_with_its_json_type(
    onebot: OneBotServer, http: aiohttp.ClientSession, echo: Any
) -> None:
    async with http.ws_connect(onebot.url("ws") + "/api", headers=AUTH) as ws:
        await ws.send_str(json.dumps({"action": "get_status", "params": {}, "echo": echo}))
        answer = await recv_json(ws)
        assert answer["echo"] == echo
        assert type(answer["echo"]) is type(echo)
        assert answer["status"] == "ok"


async def test_no_echo_no_echo_field(onebot: OneBotServer, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(onebot.url("ws") + "/api", headers=AUTH) as ws:
        await ws.send_json({"action": "get_status"})
        assert "echo" not in await recv_json(ws)


async def test_unknown_actions_and_bad_frames_are_answered_at_once(
    onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(onebot.url("ws") + "/api", headers=AUTH) as ws:
        for i, action in enumerate(["no_such", "get_guild_service_profile", "_async", ""]):
            await ws.send_json({"action": action, "echo": i})
            answer = await recv_json(ws, timeout=2)
            assert (answer["status"], answer["retcode"], answer["echo"]) == ("failed", 1404, i)
            assert answer["data"] is None
        await ws.send_str("{broken")
        assert (await recv_json(ws))["retcode"] == 1400
        await ws.send_str("[1, 2]")
        assert (await recv_json(ws))["retcode"] == 1400
        await ws.send_json({"action": 5, "echo": "n"})
        bad = await recv_json(ws)
        assert (bad["retcode"], bad["echo"]) == (1400, "n")
        await ws.send_json({"action": "get_status", "params": [1], "echo": "p"})
        assert (await recv_json(ws))["retcode"] == 1400
        await ws.send_bytes(b"\x00\x01")
        assert (await recv_json(ws))["retcode"] == 1400
        # The connection is still good.
        assert (await call(ws, "get_status", echo="after"))["status"] == "ok"


async def test_async_and_rate_limited_suffixes(
    emulator: Emulator, onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(onebot.url("ws") + "/api", headers=AUTH) as ws:
        answer = await call(ws, "send_private_msg_async", user_id=10002, message="later")
        assert (answer["status"], answer["retcode"], answer["data"]) == ("async", 1, None)
        answer = await call(ws, "send_msg_rate_limited", echo="r", user_id=10002, message="queued")
        assert (answer["status"], answer["retcode"]) == ("async", 1)
        await until(lambda: len(emulator.sent) == 2)
        assert sorted(s["text"] for s in emulator.sent) == ["later", "queued"]


async def test_quick_operation_action(
    emulator: Emulator, onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(onebot.url("ws") + "/", headers=AUTH) as ws:
        emulator.user(10003).send_group(200001, "hey")
        event = await recv_until(ws, is_message)
        context = {k: v for k, v in event.items() if k not in ("message", "raw_message", "sender")}
        answer = await call(
            ws, ".handle_quick_operation", context=context, operation={"reply": "[CQ:face,id=14]yo"}
        )
        assert answer["status"] == "ok"
        await until(lambda: emulator.sent)
    # at_sender defaults to true in groups: SmartQQ has no real @, the group card goes first.
    assert emulator.sent[0]["kind"] == "group"
    assert emulator.sent[0]["content"][:3] == ["@Bobby ", ["face", 14], "yo"]


@pytest.fixture
def onebot_options() -> dict[str, Any]:
    return {"ws": ("127.0.0.1", 0), "heartbeat_ms": 50, "access_token": "s3cret-token"}


async def test_heartbeat_fields(onebot: OneBotServer, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(onebot.url("ws"), headers=AUTH) as ws:
        assert (await recv_json(ws))["meta_event_type"] == "lifecycle"
        beat = await recv_until(ws, lambda f: f.get("meta_event_type") == "heartbeat")
    assert beat["post_type"] == "meta_event"
    assert beat["interval"] == 50
    assert beat["status"]["online"] is True
    assert beat["status"]["good"] is True
    assert beat["self_id"] == BOT_QQ


async def test_disconnect_mid_call_keeps_server_and_session(
    client: Client, emulator: Emulator, onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    for _ in range(3):
        ws = await http.ws_connect(onebot.url("ws") + "/", headers=AUTH)
        for i in range(5):
            await ws.send_json(
                {"action": "send_group_msg", "params": {"group_id": 200001, "message": f"m{i}"}}
            )
            await ws.send_json({"action": "get_group_member_list", "params": {"group_id": 200001}})
        await ws.close()  # without waiting for a single answer
    await until(lambda: len(emulator.sent) == 15)
    async with http.ws_connect(onebot.url("ws") + "/", headers=AUTH) as ws:
        answer = await call(ws, "get_status")
        assert answer["data"] == {"online": True, "good": True}
        emulator.user(10002).send_buddy(BOT_QQ, "still here")
        assert (await recv_until(ws, is_message))["raw_message"] == "still here"
    assert client.logged_in
    await until(lambda: not onebot.sinks)  # closed connections leave the event sinks


async def test_absurdly_deep_json_is_1400_not_a_dead_connection(
    onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(onebot.url("ws") + "/api", headers=AUTH) as ws:
        await ws.send_str("[" * 100_000 + "]" * 100_000)
        assert (await recv_json(ws))["retcode"] == 1400
        await ws.send_str('{"action": "get_status", "echo": ' + "[" * 5000 + "]" * 5000 + "}")
        # Python 3.11 cannot read 5000 levels (1400); 3.13 can, and then echoes them back.
        deep = await ws.receive(timeout=5)
        assert deep.type == aiohttp.WSMsgType.TEXT
        assert '"retcode":1400' in deep.data or deep.data.endswith("[" * 5000 + "]" * 5000 + "}")
        assert (await call(ws, "get_status", echo="fine"))["status"] == "ok"
