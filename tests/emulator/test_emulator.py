"""The emulator over real loopback HTTP, driven by the protocol layer (not the Client)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from smartqq.client.session import exchange
from smartqq.emulator import Emulator, World, WorldError, demo_world
from smartqq.events import BuddyMessage, GroupMessage, KickMessage, PollOutcome, parse_poll
from smartqq.protocol import (
    SMARTQQ,
    WEBQQ3,
    HttpRequest,
    NeedCaptcha,
    SessionState,
    parse_envelope,
    password_login_flow,
    qr_login_flow,
)
from smartqq.protocol import (
    endpoints as ep,
)
from smartqq.protocol.flows import LoginFlow
from smartqq.protocol.http import CookieJar, HttpResponse
from smartqq.transport import AiohttpTransport as _Aiohttp


class AiohttpTransport:
    """A transport with the session's cookie handling (transports keep no cookies)."""

    def __init__(self, base_url: str) -> None:
        self.inner = _Aiohttp(base_url)

    async def send(self, req: HttpRequest, jar: CookieJar) -> HttpResponse:
        return await exchange(self.inner, req, jar)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def drive(
    flow: LoginFlow, t: AiohttpTransport, state: SessionState, captcha: Any = None
) -> SessionState:
    answer: Any = None
    while True:
        try:
            step = flow.send(answer)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if isinstance(step, HttpRequest):
            answer = await t.send(step, state.cookies)
        elif isinstance(step, NeedCaptcha):
            answer = captcha(step)
        else:
            answer = None


@pytest.fixture
async def transport(emu: Emulator) -> AsyncIterator[AiohttpTransport]:
    t = AiohttpTransport(emu.url)
    yield t
    await t.aclose()


async def qr_login(emu: Emulator, t: AiohttpTransport, qq: int = 10001) -> SessionState:
    emu.config.qr_account = qq
    state = SessionState(SMARTQQ)
    return await drive(qr_login_flow(state, poll_interval=0.01), t, state)


async def test_qr_login_and_hosts(emu: Emulator, transport: AiohttpTransport) -> None:
    s = await qr_login(emu, transport)
    assert s.qq == 10001
    assert s.uin == 10001
    assert len(s.vfwebqq) == 80
    assert {"ssl.ptlogin2.qq.com", "d1.web2.qq.com", "s.web2.qq.com"} <= set(emu.hosts)
    for name, domain in [
        ("uin", "qq.com"),
        ("skey", "qq.com"),
        ("p_skey", "web2.qq.com"),
        ("qrsig", "ptlogin2.qq.com"),
    ]:
        assert s.cookies.get(name, domain), name


async def test_qr_states_and_token_check(emu: Emulator, transport: AiohttpTransport) -> None:
    emu.config.qr_confirm_after = None
    state = SessionState(SMARTQQ)
    await transport.send(ep.ptqrshow(SMARTQQ), state.cookies)
    qrsig = state.cookies.get("qrsig")
    assert qrsig
    bad = await transport.send(
        HttpRequest("GET", "https://ssl.ptlogin2.qq.com/ptqrlogin", query=(("ptqrtoken", "1"),)),
        state.cookies,
    )
    assert bad.text.startswith("ptuiCB('65'")
    first = await transport.send(ep.ptqrlogin(SMARTQQ, qrsig), state.cookies)
    assert first.text.startswith("ptuiCB('66'")
    assert emu.confirm_qr(10002) == 1
    done = await transport.send(ep.ptqrlogin(SMARTQQ, qrsig), state.cookies)
    assert done.text.startswith("ptuiCB('0'")
    assert "," not in done.text.split("'")[5]  # the check_sig URL carries no commas
    emu.config.qr_lifetime = 0
    await transport.send(ep.ptqrshow(SMARTQQ), state.cookies)
    expired = await transport.send(
        ep.ptqrlogin(SMARTQQ, state.cookies.get("qrsig") or ""), state.cookies
    )
    assert expired.text.startswith("ptuiCB('65'")


async def test_password_login_with_and_without_captcha(
    emu: Emulator, transport: AiohttpTransport
) -> None:
    state = SessionState(SMARTQQ)
    s = await drive(password_login_flow(state, 10002, "alice-pw"), transport, state)
    assert s.qq == 10002
    state = SessionState(WEBQQ3)
    s2 = await drive(
        password_login_flow(state, 10004, "carol-pw"),
        transport,
        state,
        captcha=lambda step: emu.captcha_code(10004),
    )
    assert s2.qq == 10004
    assert s2.vfwebqq


async def test_password_errors(emu: Emulator, transport: AiohttpTransport) -> None:
    from smartqq.errors import WrongCaptcha, WrongPassword

    state = SessionState(SMARTQQ)
    with pytest.raises(WrongPassword):
        await drive(password_login_flow(state, 10002, "nope"), transport, state)
    state = SessionState(SMARTQQ)
    with pytest.raises(WrongCaptcha):
        await drive(
            password_login_flow(state, 10004, "carol-pw", max_captcha_attempts=1),
            transport,
            state,
            captcha=lambda step: "ZZZZ",
        )
    page = await transport.send(ep.login(SMARTQQ, 10002, "", ""), state.cookies)
    assert page.text.startswith("ptuiCB('7'")


async def post(t: AiohttpTransport, s: SessionState, req: HttpRequest) -> Any:
    resp = await t.send(req, s.cookies)
    assert resp.status == 200, resp
    return json.loads(resp.body)


async def test_poll_103_until_probe_then_events_newest_first(
    emu: Emulator, transport: AiohttpTransport
) -> None:
    emu.config.max_batch = 10
    s = await qr_login(emu, transport)
    # the flow already probed; a fresh session without the probe answers 103
    emu.service.live(10001).probed = False  # type: ignore[union-attr]
    assert (await post(transport, s, ep.poll2(s)))["retcode"] == 103
    await post(transport, s, ep.get_online_buddies2(s))
    emu.user(10002).send_buddy(10001, "one", token="t1")
    emu.user(10003).send_group("Python Fans", ["two", ["face", 14]], token="t2")
    body = await post(transport, s, ep.poll2(s))
    assert [e["poll_type"] for e in body["result"]] == ["group_message", "message"]
    result = parse_poll(body)
    assert [type(e) for e in result.events] == [BuddyMessage, GroupMessage]
    assert result.events[0].from_uin != 10002  # a session handle, not the QQ number
    stats = emu.stats()
    assert {d["token"] for d in stats["delivered"]} == {"t1", "t2"}


async def test_idle_forms_and_rotation(emu: Emulator, transport: AiohttpTransport) -> None:
    s = await qr_login(emu, transport)
    emu.config.hold = 0.05
    assert parse_poll(await post(transport, s, ep.poll2(s))).outcome is PollOutcome.IDLE
    emu.config.idle = "errmsg"
    assert (await post(transport, s, ep.poll2(s))) == {"errmsg": "error!!!", "retcode": 0}
    emu.config.idle = "504"
    assert (await transport.send(ep.poll2(s), s.cookies)).status == 504
    emu.config.rotate_ptwebqq_every = 0
    rotated = parse_poll(await post(transport, s, ep.poll2(s)))
    assert rotated.outcome is PollOutcome.NEW_PTWEBQQ
    assert rotated.ptwebqq
    assert len(rotated.ptwebqq) == 48


async def test_max_batch_one(emu: Emulator, transport: AiohttpTransport) -> None:
    emu.config.max_batch = 1
    s = await qr_login(emu, transport)
    for i in range(3):
        emu.user(10002).send_buddy(10001, f"m{i}")
    texts = []
    for _ in range(3):
        body = await post(transport, s, ep.poll2(s))
        assert len(body["result"]) == 1
        texts.append(body["result"][0]["value"]["content"][1])
    assert texts == ["m0", "m1", "m2"]


async def test_two_clients_talk_and_kick(emu: Emulator, transport: AiohttpTransport) -> None:
    bot = await qr_login(emu, transport, 10001)
    t2 = AiohttpTransport(emu.url)
    try:
        alice = await qr_login(emu, t2, 10002)
        friends = parse_envelope(json.dumps(await post(t2, alice, ep.get_user_friends2(alice))))
        bot_uin = next(i["uin"] for i in friends["info"] if i["nick"] == "SmartBot")
        content = json.dumps(
            [
                "hi bot",
                ["font", {"name": "宋体", "size": "10", "style": [0, 0, 0], "color": "000000"}],
            ]
        )
        sent = await post(t2, alice, ep.send_buddy_msg2(alice, bot_uin, content, 1))
        assert sent == {"retcode": 0, "result": "ok"}
        body = await post(transport, bot, ep.poll2(bot))
        assert body["result"][0]["value"]["content"][1] == "hi bot"
        # a second login of the bot kicks the first session
        t3 = AiohttpTransport(emu.url)
        try:
            await qr_login(emu, t3, 10001)
        finally:
            await t3.aclose()
        kicked = parse_poll(await post(transport, bot, ep.poll2(bot)))
        assert isinstance(kicked.events[0], KickMessage)
        assert (await post(transport, bot, ep.poll2(bot)))["retcode"] == 103
    finally:
        await t2.aclose()


async def test_send_errors_rate_limit_and_forms(emu: Emulator, transport: AiohttpTransport) -> None:
    s = await qr_login(emu, transport)
    bad = HttpRequest(
        "POST", "https://d1.web2.qq.com/channel/send_buddy_msg2", form=(("r", "{nope"),)
    )
    assert json.loads((await transport.send(bad, s.cookies)).body)["retcode"] == 100006
    assert (await post(transport, s, ep.send_buddy_msg2(s, 42, '["x"]', 1)))["retcode"] == 100001
    friends = (await post(transport, s, ep.get_user_friends2(s)))["result"]
    uin = friends["friends"][0]["uin"]
    emu.config.send_form = "errCode"
    assert await post(transport, s, ep.send_buddy_msg2(s, uin, '["x"]', 2)) == {
        "errCode": 0,
        "msg": "send ok",
    }
    emu.config.send_rate = 1
    await post(transport, s, ep.send_buddy_msg2(s, uin, '["y"]', 3))
    limited = await post(transport, s, ep.send_buddy_msg2(s, uin, '["z"]', 4))
    assert limited["retcode"] == 1202
    assert emu.sent[-1]["text"] == "z"


async def test_lists_and_info(emu: Emulator, transport: AiohttpTransport) -> None:
    s = await qr_login(emu, transport)
    friends = (await post(transport, s, ep.get_user_friends2(s)))["result"]
    assert {i["nick"] for i in friends["info"]} == {"Alice", "Bob", "Carol & Co"}
    groups = (await post(transport, s, ep.get_group_name_list_mask2(s)))["result"]
    code = groups["gnamelist"][0]["code"]
    info = (await post(transport, s, ep.get_group_info_ext2(s, code)))["result"]
    assert {c["card"] for c in info["cards"]} == {"Bobby"}
    assert (await post(transport, s, ep.get_group_info_ext2(s, 1)))["retcode"] == 6
    discus = (await post(transport, s, ep.get_discus_list(s)))["result"]["dnamelist"]
    did = discus[0]["did"]
    dinfo = (await post(transport, s, ep.get_discu_info(s, did)))["result"]
    assert {m["ruin"] for m in dinfo["info"]["mem_list"]} == {10001, 10002, 10003}
    me = (await post(transport, s, ep.get_self_info2(s)))["result"]
    assert me["account"] == 10001
    uin = friends["info"][0]["uin"]
    assert (await post(transport, s, ep.get_friend_uin2(s, uin)))["result"]["account"] in (
        10002,
        10003,
        10004,
    )
    assert "stat" in (await post(transport, s, ep.get_friend_info2(s, uin)))["result"]
    assert isinstance((await post(transport, s, ep.get_single_long_nick2(s, uin)))["result"], list)
    assert isinstance((await post(transport, s, ep.get_recent_list2(s)))["result"], list)
    online = (await post(transport, s, ep.get_online_buddies2(s)))["result"]
    assert all(o["status"] != "offline" for o in online)
    bad_hash = HttpRequest(
        "POST",
        "https://s.web2.qq.com/api/get_user_friends2",
        form=(("r", json.dumps({"vfwebqq": s.vfwebqq, "hash": "00"})),),
    )
    assert json.loads((await transport.send(bad_hash, s.cookies)).body)["retcode"] == 100101
    assert (await post(transport, s, ep.change_status2(s, "away")))["retcode"] == 0
    assert (await post(transport, s, ep.change_status2(s, "weird")))["retcode"] == 100006
    # WebQQ 3.0's get_msg_tip keep-alive: the client never sends it, old clients did.
    tip = HttpRequest("GET", "http://web.qq.com/web2/get_msg_tip", query=(("rc", "1"),))
    assert (await transport.send(tip, s.cookies)).status == 200


async def test_faults_and_control_api(emu: Emulator, transport: AiohttpTransport) -> None:
    s = await qr_login(emu, transport)
    emu.faults.add("poll2", "status", 502)
    assert (await transport.send(ep.poll2(s), s.cookies)).status == 502
    emu.faults.add("poll2", "retcode", 121)
    assert (await post(transport, s, ep.poll2(s)))["retcode"] == 121
    emu.faults.add("poll2", "malformed")
    with pytest.raises(Exception):  # noqa: B017 - any ProtocolError subclass
        parse_poll((await transport.send(ep.poll2(s), s.cookies)).body)
    emu.faults.add("poll2", "close")
    from smartqq.errors import NetworkError

    with pytest.raises(NetworkError):
        await transport.send(ep.poll2(s), s.cookies)
    async with aiohttp.ClientSession() as http:
        r = await http.post(
            emu.url + "/_emu/inject",
            json={
                "kind": "buddy",
                "from": 10002,
                "to": 10001,
                "text": "via control",
                "token": "c1",
            },
        )
        assert (await r.json())["delivered_to"] == 1
        r = await http.post(emu.url + "/_emu/inject", json={"kind": "bogus"})
        assert r.status == 400
        r = await http.post(
            emu.url + "/_emu/fault", json={"endpoint": "poll2", "action": "delay", "value": 0.01}
        )
        assert (await r.json())["rules"] >= 1
        r = await http.post(emu.url + "/_emu/fault", json={"action": "explode"})
        assert r.status == 400
        r = await http.post(emu.url + "/_emu/fault", json={"clear": True})
        stats = await (await http.get(emu.url + "/_emu/stats")).json()
        assert stats["injected"][-1]["token"] == "c1"
        assert "d1.web2.qq.com" in stats["hosts"]
        r = await http.post(emu.url + "/_emu/qr/confirm", json={"qq": 10001})
        assert (await r.json())["ok"]
        r = await http.get(emu.url + "/_emu/captcha/10004")
        assert (await r.json())["qq"] == 10004


async def test_hostile_requests_never_500(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        for path in (
            "/channel/poll2",
            "/channel/login2",
            "/api/get_user_friends2",
            "/channel/send_qun_msg2",
        ):
            for data in ("r=%7B%22psessionid%22%3A5%7D", "r=[1,2]", "x=1", "r=" + "9" * 5000):
                r = await http.post(
                    emu.url + path,
                    data=data,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                assert r.status < 500, (path, data)
        r = await http.get(emu.url + "/channel/poll2")
        assert r.status == 405
        r = await http.get(emu.url + "/check?uin=abc")
        assert "ptui_checkVC('1'" in await r.text()


def test_world_round_trip_and_errors(tmp_path: Any) -> None:
    w = demo_world()
    p = tmp_path / "w.json"
    w.save(p)
    back = World.load(p)
    assert back.to_dict() == w.to_dict()
    toml = tmp_path / "w.toml"
    toml.write_text('[[accounts]]\nqq = 1\nnick = "A"\n[[accounts]]\nqq = 2\n')
    assert set(World.load(toml).accounts) == {1, 2}
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(WorldError):
        World.load(tmp_path / "bad.json")
    with pytest.raises(WorldError):
        World.from_dict({"accounts": [{"qq": 1, "friends": [{"qq": 9}]}]})
    with pytest.raises(WorldError):
        World.load(tmp_path / "missing.json")


def test_non_loopback_bind_disables_control_without_token() -> None:
    assert not Emulator(host="0.0.0.0").control_enabled
    assert Emulator(host="0.0.0.0", control_token="t").control_enabled
    assert Emulator().control_enabled
