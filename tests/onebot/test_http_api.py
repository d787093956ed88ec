"""The HTTP API (/:action) and the forward WebSocket handshake: auth, status codes, params."""

from __future__ import annotations

import json

import aiohttp
import pytest

from smartqq.client import Client
from smartqq.emulator import Emulator
from smartqq.onebot import OneBotServer

from .conftest import AUTH, TOKEN


async def test_token_missing_401_wrong_403_accepted_three_ways(
    onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    base = onebot.url("http")
    async with http.get(f"{base}/get_status") as r:
        assert r.status == 401
    async with http.get(f"{base}/get_status", headers={"Authorization": "Bearer nope"}) as r:
        assert r.status == 403
    async with http.get(f"{base}/get_status?access_token=nope") as r:
        assert r.status == 403
    for headers, query in (
        (AUTH, ""),
        ({"Authorization": f"Token {TOKEN}"}, ""),
        ({}, f"?access_token={TOKEN}"),
    ):
        async with http.get(f"{base}/get_status{query}", headers=headers) as r:
            assert r.status == 200
            body = await r.json()
            assert body["status"] == "ok"
            assert body["retcode"] == 0
            assert body["data"] == {"online": True, "good": True}


async def test_ws_handshake_401_and_403(onebot: OneBotServer, http: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as missing:
        await http.ws_connect(onebot.url("ws") + "/")
    assert missing.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as wrong:
        await http.ws_connect(onebot.url("ws") + "/api", headers={"Authorization": "Bearer x"})
    assert wrong.value.status == 403
    async with http.ws_connect(f"{onebot.url('ws')}/event?access_token={TOKEN}") as ws:
        assert not ws.closed


async def test_status_codes_406_400_404(onebot: OneBotServer, http: aiohttp.ClientSession) -> None:
    base = onebot.url("http")
    async with http.post(
        f"{base}/get_status", data=b"x", headers={**AUTH, "Content-Type": "text/plain"}
    ) as r:
        assert r.status == 406
    for body in (b"{not json", b"[1, 2]", b'"str"', b"[" * 100_000, b"\xff\xfe"):
        async with http.post(
            f"{base}/send_private_msg",
            data=body,
            headers={**AUTH, "Content-Type": "application/json"},
        ) as r:
            assert r.status == 400, body
    for path in ("/no_such_action", "/no_such_action/", "/send_private_msg_nope"):
        async with http.get(base + path, headers=AUTH) as r:
            assert r.status == 404
    # An unknown action is 404 even before its body is looked at.
    async with http.post(f"{base}/nope", json={"a": 1}, headers=AUTH) as r:
        assert r.status == 404


async def test_params_from_query_form_and_json_with_numeric_strings(
    emulator: Emulator, onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    base = onebot.url("http")
    async with http.get(
        f"{base}/send_private_msg",
        params={"user_id": "10002", "message": "via query"},
        headers=AUTH,
    ) as r:
        assert (await r.json())["status"] == "ok"
    async with http.post(
        f"{base}/send_private_msg/", data={"user_id": "10002", "message": "via form"}, headers=AUTH
    ) as r:
        assert (await r.json())["status"] == "ok"
    async with http.post(
        f"{base}/send_group_msg", json={"group_id": "200001", "message": "via json"}, headers=AUTH
    ) as r:
        body = await r.json()
        assert body["status"] == "ok"
        assert isinstance(body["data"]["message_id"], int)
    async with http.post(
        f"{base}/send_private_msg?user_id=10002", json={"message": "query+json"}, headers=AUTH
    ) as r:
        assert (await r.json())["status"] == "ok"
    assert [s["text"] for s in emulator.sent] == ["via query", "via form", "via json", "query+json"]
    assert [s["kind"] for s in emulator.sent] == ["buddy", "buddy", "group", "buddy"]


async def test_wrong_parameter_types_are_retcode_100(
    emulator: Emulator, onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    base = onebot.url("http")
    for params in (
        {"user_id": "alice", "message": "x"},
        {"user_id": True, "message": "x"},
        {"user_id": [1], "message": "x"},
        {"message": "x"},
        {"user_id": 10002},
        {"user_id": 10002, "message": 5},
        {"user_id": 10002, "message": [{"data": {}}]},
        {"user_id": 10002, "message": "x", "auto_escape": "maybe"},
    ):
        async with http.post(f"{base}/send_private_msg", json=params, headers=AUTH) as r:
            assert r.status == 200
            body = await r.json()
            assert body["status"] == "failed", params
            assert body["retcode"] == 100, params
            assert body["data"] is None
    assert emulator.sent == []
    async with http.get(f"{base}/get_status", headers=AUTH) as r:
        assert (await r.json())["data"]["online"] is True


async def test_empty_post_uses_the_query_and_answers_compact_utf8(
    onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{onebot.url('http')}/get_login_info", headers=AUTH) as r:
        assert r.status == 200
        text = await r.text()
    body = json.loads(text)
    assert body["data"] == {"user_id": 10001, "nickname": "SmartBot"}
    assert ", " not in text


async def test_one_port_serves_both_and_a_ws_listener_has_no_actions(
    client: Client, onebot: OneBotServer, http: aiohttp.ClientSession
) -> None:
    # The fixture asks for ws and http on the same address: one application serves both.
    assert onebot.addresses["ws"] == onebot.addresses["http"]
    async with http.ws_connect(
        onebot.url("http").replace("http:", "ws:") + "/api/", headers=AUTH
    ) as ws:
        await ws.send_json({"action": "get_status", "echo": 1})
        assert (await ws.receive_json(timeout=5))["echo"] == 1
    async with OneBotServer(client, ws="127.0.0.1:0", heartbeat_ms=0) as ws_only:
        plain = ws_only.url("ws").replace("ws:", "http:")
        async with http.get(f"{plain}/get_status") as r:
            assert r.status == 404  # no HTTP API there
        async with http.get(f"{plain}/api") as r:
            assert r.status == 400  # only WebSocket upgrades are served there
