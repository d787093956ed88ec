"""The SmartQQ emulator service driven directly: no sockets, no transport, a fake clock."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from smartqq.emulator import Config, demo_world
from smartqq.emulator.http import EmuRequest, EmuResponse
from smartqq.emulator.journal import MAX_HOSTS
from smartqq.emulator.service import SmartQQService
from smartqq.emulator.sessions import CODE_LIFETIME, MAX_CODES, MAX_QR
from smartqq.protocol.hashing import hash33, password_hash


class Clock:
    def __init__(self) -> None:
        self.now = 1_450_000_000.0

    def __call__(self) -> float:
        return self.now


class Browser:
    """Just enough of a client to talk to the service: a cookie dict and request helpers."""

    def __init__(self, svc: SmartQQService) -> None:
        self.svc = svc
        self.cookies: dict[str, str] = {}

    async def call(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        r: dict[str, Any] | None = None,
        host: str = "d1.web2.qq.com",
    ) -> EmuResponse:
        headers = {"Host": host, "Referer": "http://s.web2.qq.com/proxy.html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = urlencode({"r": json.dumps(r)}).encode() if r is not None else b""
        req = EmuRequest.build(method, path, urlencode(query or {}), body, headers)
        resp = await self.svc.handle(req)
        for name, value in resp.headers:
            if name == "Set-Cookie":
                cname, _, rest = value.partition("=")
                self.cookies[cname] = rest.split(";", 1)[0]
        resp.commit()
        return resp


def service(**config: Any) -> tuple[SmartQQService, Clock]:
    clock = Clock()
    config.setdefault("hold", 0)
    return SmartQQService(demo_world(), Config(**config), clock=clock), clock


async def login(b: Browser, qq: int = 10001, password: str = "bot-password") -> dict[str, Any]:
    check = (await b.call("GET", "/check", {"uin": qq}, host="ssl.ptlogin2.qq.com")).body.decode()
    code = check.split("'")[3]
    p = password_hash(password, qq, code)
    done = await b.call(
        "GET", "/login", {"u": qq, "p": p, "verifycode": code}, host="ssl.ptlogin2.qq.com"
    )
    url = done.body.decode().split("'")[5]
    parts = urlsplit(url)
    redirect = await b.call("GET", parts.path, dict(_pairs(parts.query)), host=parts.netloc)
    assert redirect.status == 302
    login2 = await b.call(
        "POST", "/channel/login2", r={"ptwebqq": b.cookies["ptwebqq"], "clientid": 53999199}
    )
    result: dict[str, Any] = json.loads(login2.body)["result"]
    await b.call(
        "GET",
        "/channel/get_online_buddies2",
        {"vfwebqq": result["vfwebqq"], "psessionid": result["psessionid"]},
    )
    return result


def _pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


async def poll(b: Browser, sid: str) -> Any:
    resp = await b.call("POST", "/channel/poll2", r={"psessionid": sid, "key": ""})
    return json.loads(resp.body)


async def test_login_page_matches_third_party_scrapers() -> None:
    svc, _ = service()
    page = (await Browser(svc).call("GET", "/cgi-bin/login", {"appid": "501004106"})).body
    text = page.decode()
    assert re.search(r'<input type="hidden" name="aid" value="(\d+)" />', text).group(1) == (  # type: ignore[union-attr]
        "501004106"
    )
    sig = re.search(r'g_login_sig=encodeURIComponent\("([^"]+)"\)', text)
    assert sig is not None
    assert re.search(r'g_pt_version=encodeURIComponent\("(\d+)"\)', text)
    # Reflected parameters cannot break out of the page.
    hostile = await Browser(svc).call(
        "GET", "/cgi-bin/login", {"appid": '1"><script>', "s_url": 'http://x/"><b>'}
    )
    assert b'<script>"' not in hostile.body
    assert b'"><b>' not in hostile.body
    assert b'name="aid" value="501004106" />' in hostile.body


async def test_password_login_poll_and_idle_with_a_fake_clock() -> None:
    svc, clock = service(session_lifetime=100)
    b = Browser(svc)
    result = await login(b)
    sid = result["psessionid"]
    assert (await poll(b, sid))["retcode"] == 102  # hold=0: idle at once
    assert svc.inject("buddy", 10002, 10001, "hi", "t1") == 1
    body = await poll(b, sid)
    assert body["result"][0]["value"]["content"][1] == "hi"
    assert body["result"][0]["value"]["content"][0][0] == "font"  # rendered font first
    assert [d.token for d in svc.delivered] == ["t1"]
    clock.now += 101
    assert (await poll(b, sid))["retcode"] == 121  # the session outlived its lifetime


async def test_a_held_poll_wakes_on_an_event_and_rollback_requeues() -> None:
    svc, _ = service(hold=30)
    b = Browser(svc)
    sid = (await login(b))["psessionid"]
    req = EmuRequest.build(
        "POST", "/channel/poll2", "", urlencode({"r": json.dumps({"psessionid": sid})}).encode()
    )
    held = asyncio.ensure_future(svc.handle(req))
    await asyncio.sleep(0)
    assert not held.done()
    assert svc.journal.waiters == 1
    svc.inject("group", 10002, 200001, "to the group", "g1")
    answer = await held
    assert b"to the group" in answer.body
    answer.rollback()  # the front end could not write it
    assert svc.delivered == []
    again = await poll(b, sid)
    assert again["result"][0]["value"]["content"][1] == "to the group"
    assert [d.token for d in svc.delivered] == ["g1"]


async def test_poison_content_is_refused_and_costs_nobody_anything() -> None:
    svc, _ = service()
    bot, alice = Browser(svc), Browser(svc)
    bot_sid = (await login(bot))["psessionid"]
    alice_sid = (await login(alice, 10002, "alice-pw"))["psessionid"]
    svc.inject("buddy", 10003, 10002, "innocent 1", "i1")
    alice_handle = next(h for (kind, qq), h in svc.live(10001).handles.items() if qq == 10002)  # type: ignore[union-attr]
    poison = {
        "to": alice_handle,
        "content": '["\\ud800 lone surrogate",["font",{"name":"x","size":10}]]',
        "psessionid": bot_sid,
        "clientid": 53999199,
        "msg_id": 1,
    }
    refused = json.loads((await bot.call("POST", "/channel/send_buddy_msg2", r=poison)).body)
    assert refused["retcode"] == 100006
    deep = dict(poison, content="[" * 5000 + "]" * 5000)
    assert (
        json.loads((await bot.call("POST", "/channel/send_buddy_msg2", r=deep)).body)["retcode"]
        == 100006
    )
    with pytest.raises(ValueError, match="encoded"):
        svc.inject("buddy", 10003, 10002, "\udc80 bad", "poison")
    svc.inject("buddy", 10003, 10002, "innocent 2", "i2")
    body = await poll(alice, alice_sid)
    assert [e["value"]["content"][1] for e in body["result"]] == ["innocent 2", "innocent 1"]
    assert svc.journal.poisoned == 0


async def test_qr_codes_wait_for_the_control_api_and_expire() -> None:
    svc, clock = service()
    b = Browser(svc)
    await b.call("GET", "/ptqrshow", host="ssl.ptlogin2.qq.com")
    token = hash33(b.cookies["qrsig"])
    for _ in range(10):  # no auto-confirm: nobody becomes the bot by polling
        answer = await b.call("GET", "/ptqrlogin", {"ptqrtoken": token})
        assert answer.body.startswith(b"ptuiCB('66'")
    clock.now += svc.config.qr_lifetime + 1
    assert (await b.call("GET", "/ptqrlogin", {"ptqrtoken": token})).body.startswith(b"ptuiCB('65'")


async def test_unauthenticated_state_is_capped_and_expires() -> None:
    svc, clock = service()
    b = Browser(svc)
    for i in range(MAX_QR + 50):
        await b.call("GET", "/ptqrshow", host=f"h{i}.example")
    assert len(svc.qr) <= MAX_QR
    assert len(svc.hosts) <= MAX_HOSTS + 1
    assert svc.hosts["(other)"] > 0
    for qq in range(10**6, 10**6 + MAX_CODES + 10):
        svc.check_codes.put(qq, "!AAA")
    assert len(svc.check_codes) <= MAX_CODES
    await b.call("GET", "/check", {"uin": 10002})
    assert svc.check_codes.get(10002) is not None
    clock.now += CODE_LIFETIME + 1
    assert svc.check_codes.get(10002) is None


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/check", {"uin": "-1"}),
        ("/check", {"uin": "1" * 30}),
        ("/getimage", {"uin": "1e999"}),
        ("/login", {"u": "1" * 30, "p": "x", "verifycode": "!AAA"}),
        ("/channel/get_discu_info", {"did": "1e999", "psessionid": "x"}),
    ],
)
async def test_hostile_parameters_never_500(path: str, query: dict[str, str]) -> None:
    svc, _ = service()
    resp = await Browser(svc).call("GET", path, query)
    assert resp.status < 500


async def test_self_echo_era_option() -> None:
    svc, _ = service(self_echo=True)
    b = Browser(svc)
    sid = (await login(b))["psessionid"]
    s = svc.live(10001)
    assert s is not None
    gid = s.handle("group", 200001)
    sent = await b.call(
        "POST",
        "/channel/send_qun_msg2",
        r={"group_uin": gid, "content": '["echo me",["font",{}]]', "psessionid": sid},
    )
    assert json.loads(sent.body)["retcode"] == 0
    [event] = (await poll(b, sid))["result"]
    assert event["poll_type"] == "group_message"
    assert event["value"]["content"][1] == "echo me"
    assert s.resolve(event["value"]["send_uin"], "qq") is None  # an unknown sender uin
    svc.config.self_echo = False
    await b.call(
        "POST",
        "/channel/send_qun_msg2",
        r={"group_uin": gid, "content": '["no echo",["font",{}]]', "psessionid": sid},
    )
    assert (await poll(b, sid))["retcode"] == 102


async def test_content_is_encoded_once_per_message_not_per_recipient(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from smartqq.emulator import mailbox

    svc, _ = service()
    browsers = [Browser(svc) for _ in range(3)]
    sids = [
        (await login(b, qq, pw))["psessionid"]
        for b, (qq, pw) in zip(
            browsers,
            [(10001, "bot-password"), (10002, "alice-pw"), (10003, "bob-pw")],
            strict=True,
        )
    ]
    calls: list[object] = []
    real = mailbox._dumps

    def counting(value: object) -> bytes:
        calls.append(value)
        return real(value)

    monkeypatch.setattr(mailbox, "_dumps", counting)
    assert svc.inject("group", 10004, 200001, "one encoding", None) == 3
    bodies = [await poll(b, sid) for b, sid in zip(browsers, sids, strict=True)]
    assert len(calls) == 1  # the content, once; each recipient only formats its handles
    handles = {body["result"][0]["value"]["send_uin"] for body in bodies}
    assert len(handles) == 3  # every session still sees its own handle for the sender
    assert all(body["result"][0]["value"]["content"][1] == "one encoding" for body in bodies)


async def test_a_held_poll_times_out_idle_and_a_cancelled_one_keeps_its_events() -> None:
    svc, clock = service(hold=0.05)
    b = Browser(svc)
    sid = (await login(b))["psessionid"]
    idle = asyncio.ensure_future(poll(b, sid))
    await asyncio.sleep(0.01)
    assert svc.journal.waiters == 1
    clock.now += 1  # past the deadline: the next wake-up (the 0.05 s timer) answers idle
    assert (await asyncio.wait_for(idle, 5))["retcode"] == 102
    assert svc.journal.waiters == 0
    req = EmuRequest.build(
        "POST", "/channel/poll2", "", urlencode({"r": json.dumps({"psessionid": sid})}).encode()
    )
    held = asyncio.ensure_future(svc.handle(req))
    await asyncio.sleep(0)
    assert svc.journal.waiters == 1
    held.cancel()  # the front end dropped the request while it was held
    with pytest.raises(asyncio.CancelledError):
        await held
    assert svc.journal.waiters == 0
    svc.inject("buddy", 10002, 10001, "after the cancel", "c1")
    body = await poll(b, sid)
    assert body["result"][0]["value"]["content"][1] == "after the cancel"


@pytest.mark.parametrize("max_batch", [50, 8])
async def test_a_burst_to_held_polls_is_one_answer_each_up_to_max_batch(max_batch: int) -> None:
    """Issue 17: 20 messages queued in one go wake each held poll once, and that one answer
    carries the whole burst (oldest last, as before), never more than ``max_batch``."""
    svc, _ = service(hold=30, max_batch=max_batch)
    accounts = [(10001, "bot-password"), (10002, "alice-pw"), (10003, "bob-pw")]
    browsers = [Browser(svc) for _ in accounts]
    sids = [
        (await login(b, qq, pw))["psessionid"]
        for b, (qq, pw) in zip(browsers, accounts, strict=True)
    ]

    def held_poll(sid: str) -> asyncio.Future[EmuResponse]:
        body = urlencode({"r": json.dumps({"psessionid": sid})}).encode()
        return asyncio.ensure_future(
            svc.handle(EmuRequest.build("POST", "/channel/poll2", "", body))
        )

    held = [held_poll(sid) for sid in sids]
    await asyncio.sleep(0)
    assert svc.journal.waiters == 3
    polls = svc.journal.polls
    for i in range(20):
        assert svc.inject("group", 10004, 200001, f"burst {i}", f"b{i}") == 3
    answers = [json.loads((await h).body) for h in held]
    assert svc.journal.polls == polls  # no extra poll was needed to carry the burst
    expected = [f"burst {i}" for i in range(min(20, max_batch))][::-1]
    for answer in answers:
        assert [e["value"]["content"][1] for e in answer["result"]] == expected
    assert sorted(svc.queues) == [10001, 10002, 10003]  # no queue for members not logged in
    assert all(len(svc.queues[qq]) == 20 - len(expected) for qq in svc.queues)
