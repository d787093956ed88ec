"""The web page's JSON + WebSocket API without a browser: access rule, bad input, behaviour."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from smartqq import Client
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.emulator.webui import hub_for
from smartqq.emulator.webui.chat import MAX_TEXT
from smartqq.testing import until

ALICE, BOB = 10002, 10003


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, emu: Emulator, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    method = "GET" if body is None else "POST"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.request(
        method,
        emu.url + path,
        data=None if body is None else data,
        headers={"Content-Type": "application/json", **headers},
    ) as resp:
        return resp.status, await resp.json()


async def sign_in(http: aiohttp.ClientSession, emu: Emulator, qq: int, password: str) -> str:
    status, data = await call(http, emu, "/_web/api/login", {"qq": qq, "password": password})
    assert status == 200, data
    return str(data["session"])


async def test_pages_and_files_are_served_with_a_strict_policy(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    for path, marker in (("/", "login-submit"), ("/phone", "qr-list"), ("/operator", "journal")):
        async with http.get(emu.url + path) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
            assert f'data-testid="{marker}"' in await resp.text()
    async with http.get(emu.url + "/_web/static/chat.js") as resp:
        assert resp.content_type == "application/javascript"
    for missing in ("/_web/static/nope.js", "/_web/static/..%2Fchat.py", "/_web/api/nothing"):
        async with http.get(emu.url + missing) as resp:
            assert resp.status == 404
            assert (await resp.json())["ok"] is False


async def test_login_rules(emu: Emulator, http: aiohttp.ClientSession) -> None:
    assert (await call(http, emu, "/_web/api/login", {"qq": ALICE, "password": "nope"}))[0] == 401
    assert (await call(http, emu, "/_web/api/login", {"qq": 99, "password": "x"}))[0] == 401
    status, data = await call(http, emu, "/_web/api/login", {"qq": "abc", "password": "x"})
    assert (status, data["error"]) == (400, "the QQ number must be a number")
    token = await sign_in(http, emu, ALICE, "alice-pw")
    status, me = await call(http, emu, "/_web/api/me", **{"X-Web-Session": token})
    assert status == 200
    assert me["nick"] == "Alice"
    bot = next(f for f in me["friends"] if f["qq"] == BOT_QQ)
    assert bot["status"] == "offline"  # the bot has not logged in
    assert [g["code"] for g in me["groups"]] == [200001]
    assert [d["id"] for d in me["discussions"]] == [300001]
    assert (await call(http, emu, "/_web/api/me", **{"X-Web-Session": "forged"}))[0] == 401


async def test_a_captcha_account_needs_the_letters(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    creds = {"qq": 10004, "password": "carol-pw"}
    status, data = await call(http, emu, "/_web/api/login", creds)
    assert (status, data["captcha"]) == (401, True)
    async with http.get(emu.url + "/_web/api/captcha?qq=10004") as resp:
        assert resp.content_type == "image/png"
        assert (await resp.read())[:8] == b"\x89PNG\r\n\x1a\n"
    code = emu.captcha_code(10004)
    assert code is not None
    status, _ = await call(http, emu, "/_web/api/login", {**creds, "captcha": "ZZZZZ"})
    assert status == 401
    assert emu.captcha_code(10004) is None  # a wrong answer burns the picture
    async with http.get(emu.url + "/_web/api/captcha?qq=10004"):
        pass
    status, data = await call(
        http, emu, "/_web/api/login", {**creds, "captcha": str(emu.captcha_code(10004))}
    )
    assert (status, data["nick"]) == (200, "Carol & Co")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"\xff\xfe\x00 not utf-8", 400, "the request is not valid UTF-8"),
        (b"{not json", 400, "the request is not valid JSON"),
        (b"[1, 2]", 400, "the request must be a JSON object"),
        (b"x" * 70_000, 413, "request too large (limit 65536 bytes)"),
        (
            {"kind": "buddy", "to": BOT_QQ, "content": ["x" * (MAX_TEXT + 1)]},
            413,
            "message too long",
        ),
        ({"kind": "buddy", "to": BOT_QQ, "content": ["bad \ud800"]}, 400, "not valid Unicode"),
        ({"kind": "buddy", "to": BOT_QQ, "content": [["face", 999]]}, 400, "only text and"),
        ({"kind": "buddy", "to": BOT_QQ, "content": [{"x": 1}]}, 400, "only text and"),
        ({"kind": "buddy", "to": BOT_QQ, "content": ["   "]}, 400, "the message is empty"),
        ({"kind": "buddy", "to": BOT_QQ, "content": []}, 400, "non-empty list"),
        ({"kind": "buddy", "to": 10004, "text": "hi"}, 404, "is not a friend"),
        ({"kind": "group", "to": 1, "text": "hi"}, 404, "is not in group"),
        ({"kind": "discu", "to": "x", "text": "hi"}, 400, "to must be a number"),
        ({"kind": "nope", "to": BOT_QQ, "text": "hi"}, 400, "kind must be"),
        ({"kind": "buddy", "to": True, "text": "hi"}, 400, "to must be a number"),
    ],
)
async def test_bad_sends_get_a_clear_4xx(
    emu: Emulator, http: aiohttp.ClientSession, body: Any, status: int, error: str
) -> None:
    token = await sign_in(http, emu, ALICE, "alice-pw")
    body_bytes = body if isinstance(body, bytes) else json.dumps(body).encode()
    got, data = await call(http, emu, "/_web/api/send", body_bytes, **{"X-Web-Session": token})
    assert got == status
    assert error in data["error"]
    assert hub_for(emu).history_of(ALICE) == []


async def test_posts_must_be_json_and_same_origin(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        emu.url + "/_web/api/login", data="qq=10002", headers={"Content-Type": "text/plain"}
    ) as resp:
        assert resp.status == 415
    status, data = await call(
        http, emu, "/_web/api/operator/fault", {"clear": True}, Origin="http://evil.example"
    )
    assert (status, data["error"]) == (403, "cross-origin requests are refused")
    assert (await call(http, emu, "/_web/api/send", {"kind": "buddy"}))[0] == 401


async def test_messages_reach_other_accounts_live_with_history(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    alice = await sign_in(http, emu, ALICE, "alice-pw")
    bob = await sign_in(http, emu, BOB, "bob-pw")
    first = {"kind": "buddy", "to": BOB, "content": ["before ", ["face", 14]]}
    status, sent = await call(http, emu, "/_web/api/send", first, **{"X-Web-Session": alice})
    assert (status, sent["delivered_to"]) == (200, 0)  # Bob has no SmartQQ session
    async with http.ws_connect(emu.url + f"/_web/api/ws?session={bob}") as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "hello"
        assert [m["content"] for m in hello["history"]] == [["before ", ["face", 14]]]
        live = {"kind": "group", "to": 200001, "text": "<b>group</b>"}
        assert (await call(http, emu, "/_web/api/send", live, **{"X-Web-Session": alice}))[0] == 200
        pushed = await ws.receive_json(timeout=5)
        assert pushed["message"]["from"] == ALICE
        assert pushed["message"]["content"] == ["<b>group</b>"]
    # Carol is not in the discussion: she never sees its messages.
    hub = hub_for(emu)
    disc = {"kind": "discu", "to": 300001, "text": "weekend?"}
    assert (await call(http, emu, "/_web/api/send", disc, **{"X-Web-Session": alice}))[0] == 200
    assert [m["to"] for m in hub.history_of(10004)] == [200001]


async def test_the_phone_api_confirms_one_code(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.get(emu.url + "/ptqrshow?appid=501004106"):
        pass
    status, data = await call(http, emu, "/_web/api/qr")
    assert status == 200
    [pending] = data["pending"]
    async with http.get(emu.url + pending["image"]) as resp:
        assert (await resp.read())[:4] == b"\x89PNG"
    path = f"/_web/api/qr/{pending['id']}/confirm"
    assert (await call(http, emu, path, {"qq": BOT_QQ, "password": "x"}))[0] == 401
    status, data = await call(http, emu, path, {"qq": BOT_QQ, "password": "bot-password"})
    assert (status, data["qq"]) == (200, BOT_QQ)
    assert (await call(http, emu, "/_web/api/qr"))[1]["pending"] == []
    assert (await call(http, emu, path, {"qq": BOT_QQ, "password": "bot-password"}))[0] == 404
    assert [t.confirmed_qq for t in emu.service.qr.values()] == [BOT_QQ]


async def test_operator_controls_and_journal(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(emu.url + "/_web/api/operator/ws") as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "journal"
        bad = [
            {"endpoint": "poll2", "action": "explode"},
            {"endpoint": "poll2", "action": "retcode", "mode": "sometimes"},
            {"endpoint": "poll2", "action": "retcode", "value": "lots"},
            {"endpoint": "", "action": "close"},
        ]
        for rule in bad:
            assert (await call(http, emu, "/_web/api/operator/fault", rule))[0] == 400
        rule = {"endpoint": "*", "action": "status", "value": 500, "mode": "every", "n": 1}
        assert (await call(http, emu, "/_web/api/operator/fault", rule))[1]["rules"] == 1
        # A "*" rule breaks the SmartQQ endpoints, never the page that steers them.
        async with http.get(emu.url + "/channel/poll2") as resp:
            assert resp.status == 500
        status, state = await call(http, emu, "/_web/api/operator/state")
        assert status == 200
        assert state["faults"][0]["fired"] == 1
        entry = (await ws.receive_json(timeout=5))["entry"]
        while entry.get("endpoint") != "poll2":
            entry = (await ws.receive_json(timeout=5))["entry"]
        assert (entry["status"], entry["fault"]) == (500, True)
        assert (await call(http, emu, "/_web/api/operator/fault", {"clear": True}))[0] == 200
        assert emu.faults.rules == []
    assert (await call(http, emu, "/_web/api/operator/kick", {"qq": BOT_QQ}))[0] == 404
    assert (await call(http, emu, "/_web/api/operator/expire", {"qq": BOT_QQ}))[0] == 404
    assert (await call(http, emu, "/_web/api/operator/expire", {}))[0] == 200
    assert (await call(http, emu, "/_web/api/operator/restart", {"keep_logins": "y"}))[0] == 400
    status, _ = await call(http, emu, "/_web/api/operator/restart", {"keep_logins": True})
    assert status == 202
    await until(lambda: any("restart" in str(e.get("text")) for e in hub_for(emu).journal))

    async def back() -> int:
        while True:
            try:
                async with http.get(emu.url + "/") as resp:
                    return resp.status
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)

    assert await asyncio.wait_for(back(), 10) == 200


async def test_a_token_guards_the_api(http: aiohttp.ClientSession) -> None:
    async with Emulator(hold=1.0, control_token="s3cret") as emu:
        assert (await call(http, emu, "/_web/api/qr"))[0] == 401
        assert (await call(http, emu, "/_web/api/qr", Authorization="Bearer wrong"))[0] == 401
        assert (await call(http, emu, "/_web/api/qr", Authorization="Bearer s3cret"))[0] == 200
        async with http.ws_connect(emu.url + "/_web/api/operator/ws?token=s3cret") as ws:
            assert (await ws.receive_json(timeout=5))["type"] == "journal"
        with pytest.raises(aiohttp.WSServerHandshakeError):
            async with http.ws_connect(emu.url + "/_web/api/operator/ws"):
                pass


def test_off_loopback_without_a_token_there_is_no_page() -> None:
    emu = Emulator(host="192.0.2.1")  # never started: only its routing table is read
    paths = {r.resource.canonical for r in emu.app.router.routes() if r.resource is not None}
    assert "/" not in paths
    assert not any(p.startswith("/_web/") for p in paths)
    with_token = Emulator(host="192.0.2.1", control_token="t")
    paths = {r.resource.canonical for r in with_token.app.router.routes() if r.resource}
    assert {"/", "/phone", "/operator", "/_web/api/send"} <= paths


async def test_scripted_and_injected_messages_reach_the_page_once(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    alice = await sign_in(http, emu, ALICE, "alice-pw")
    async with http.ws_connect(emu.url + f"/_web/api/ws?session={alice}") as ws:
        assert (await ws.receive_json(timeout=5))["history"] == []
        emu.user(BOB).send_group("Python Fans", ["from a script ", ["face", 76]])
        pushed = (await ws.receive_json(timeout=5))["message"]
        assert (pushed["from"], pushed["to"], pushed["via"]) == (BOB, 200001, "script")
        assert pushed["content"] == ["from a script ", ["face", 76]]
        inject = {"kind": "buddy", "from": BOB, "to": ALICE, "text": "via /_emu/inject"}
        async with http.post(emu.url + "/_emu/inject", json=inject) as resp:
            assert resp.status == 200
        pushed = (await ws.receive_json(timeout=5))["message"]
        assert (pushed["kind"], pushed["from"], pushed["content"]) == (
            "buddy",
            BOB,
            ["via /_emu/inject"],
        )
        page = {"kind": "buddy", "to": BOB, "text": "answer from the page"}
        assert (await call(http, emu, "/_web/api/send", page, **{"X-Web-Session": alice}))[0] == 200
        pushed = (await ws.receive_json(timeout=5))["message"]
        assert pushed["via"] == "page"
    assert [m["via"] for m in hub_for(emu).history] == ["script", "script", "page"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"retcode":0,"result":[{"poll_type":"message","value":{"content":["\\"poll_type\\":\\"x\\""]}}]}',
            {"retcode": 0, "events": ["message"]},
        ),
        ('{"errmsg":"error","retcode":103}', {"retcode": 103}),
        ('{"errCode":0,"msg":"send ok"}', {"retcode": 0}),
        ("ptuiCB('66','0','','0','wait', '');", {"retcode": 66}),
        ("<html>502</html>", {}),
    ],
)
def test_the_journal_reads_retcodes_and_events(body: str, expected: dict[str, Any]) -> None:
    from aiohttp import web

    from smartqq.emulator.webui.http import _outcome

    assert _outcome(web.Response(text=body)) == {"status": 200, **expected}


@pytest.mark.parametrize(
    "path",
    [
        "/_web/api/captcha?qq=%ff",
        "/_web/api/captcha?qq=99999999999999999999",
        "/_web/api/ws?session=%ff",
        "/_web/static/%ff",
        "/_web/static/%2e%2e%2fhttp.py",
        "/_web/api/qr/%ff.png",
        "/_web/api/qr/zz/confirm",
        "/_web/api/me?session=%ff%fe",
        "/_web/api/operator/kick",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
async def test_hostile_requests_get_a_4xx_json_answer(
    emu: Emulator, http: aiohttp.ClientSession, path: str, method: str
) -> None:
    async with http.request(
        method, emu.url + path, data=b"\xff\xfe", headers={"Content-Type": "application/json"}
    ) as resp:
        assert 400 <= resp.status < 500
        assert (await resp.json())["ok"] is False


async def test_the_journal_names_the_account_of_polls_and_sends(emu: Emulator, bot: Client) -> None:
    # The journal reads a request's form before the service handles it (from the one
    # parsed request both share: smartqq/emulator/incoming.py).
    await bot.contacts.refresh()
    friend = next(iter(bot.contacts.friends.values()))
    journal = hub_for(emu).journal
    start = journal[-1]["id"] if journal else 0
    await bot.send_buddy_msg(friend.uin, "journal me")
    await until(lambda: any(e.get("endpoint") == "send_buddy_msg2" for e in journal))
    await until(lambda: any(e.get("endpoint") == "poll2" and e["id"] > start for e in journal))
    entries = [e for e in journal if e["id"] > start and e.get("type") == "http"]
    assert [e["endpoint"] for e in entries].count("send_buddy_msg2") == 1
    assert {e["qq"] for e in entries if e["endpoint"] in ("poll2", "send_buddy_msg2")} == {BOT_QQ}
