"""``Emulator.transport()``: raw ``HttpRequest``s served in process, with no socket.

The caller keeps the cookies (CONTRACTS §1): it puts ``Cookie`` in the request and reads
every ``Set-Cookie`` from the response, as the session does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from typing import Any

import pytest

from smartqq.emulator import Emulator
from smartqq.emulator.memory import MemoryTransport
from smartqq.errors import NetworkError, RequestTimeout
from smartqq.events import BuddyMessage, parse_poll
from smartqq.protocol import SMARTQQ, HttpRequest, SessionState, password_login_flow
from smartqq.protocol import endpoints as ep
from smartqq.protocol.flows import LoginFlow
from smartqq.protocol.http import HttpResponse


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection or listener opened while the test runs fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the in-memory transport opened a socket")

    for name in ("create_connection", "create_server", "sock_connect"):
        monkeypatch.setattr(asyncio.BaseEventLoop, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


async def send(t: MemoryTransport, state: SessionState, req: HttpRequest) -> HttpResponse:
    cookie = state.cookies.header_for(req.url)
    if cookie:
        req = dataclasses.replace(req, headers=(*req.headers, ("Cookie", cookie)))
    resp = await t.send(req)
    state.cookies.update_from(req.url, resp.header_all("Set-Cookie"))
    return resp


async def drive(flow: LoginFlow, t: MemoryTransport, state: SessionState) -> SessionState:
    answer: Any = None
    while True:
        try:
            step = flow.send(answer)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        answer = await send(t, state, step) if isinstance(step, HttpRequest) else None


async def test_password_login_and_a_poll_without_a_socket(no_sockets: None) -> None:
    emu = Emulator(hold=5)  # never started: no port is opened
    t = emu.transport()
    state = SessionState(SMARTQQ)
    s = await drive(password_login_flow(state, 10001, "bot-password"), t, state)
    assert s.qq == 10001
    assert s.psessionid
    assert len(s.vfwebqq) == 80
    assert s.cookies.get("skey", "qq.com")
    assert s.cookies.get("p_skey", "web2.qq.com")
    # Routed by the real URL and counted under its Host, exactly as over loopback.
    assert {"ui.ptlogin2.qq.com", "d1.web2.qq.com", "s.web2.qq.com"} <= set(emu.hosts)

    probe = await send(t, state, ep.get_online_buddies2(state))
    assert json.loads(probe.body)["retcode"] == 0
    poll = asyncio.ensure_future(send(t, state, ep.poll2(state)))
    await asyncio.sleep(0)
    assert emu.user(10002).send_buddy(10001, "hello in memory", token="m1") == 1
    resp = await poll
    outcome = parse_poll(resp.body)
    [event] = outcome.events
    assert isinstance(event, BuddyMessage)
    assert event.text == "hello in memory"
    assert [d.token for d in emu.service.delivered] == ["m1"]
    await t.aclose()


async def test_unknown_paths_methods_and_no_control_api() -> None:
    emu = Emulator()
    t = emu.transport()
    missing = await t.send(HttpRequest("GET", "https://d1.web2.qq.com/channel/nope"))
    assert missing.status == 404
    wrong = await t.send(HttpRequest("GET", "https://d1.web2.qq.com/channel/poll2"))
    assert wrong.status == 405
    control = await t.send(HttpRequest("GET", "http://127.0.0.1/_emu/stats"))
    assert control.status == 404


async def test_timeout_keeps_events_and_close_fault_is_a_network_error() -> None:
    emu = Emulator(hold=30)
    t = emu.transport()
    state = SessionState(SMARTQQ)
    await drive(password_login_flow(state, 10001, "bot-password"), t, state)
    await send(t, state, ep.get_online_buddies2(state))
    with pytest.raises(RequestTimeout):
        await t.send(
            dataclasses.replace(
                ep.poll2(state),
                headers=(("Cookie", state.cookies.header_for(ep.poll2(state).url)),),
            ),
            timeout=0.05,
        )
    emu.user(10002).send_buddy(10001, "after the timeout", token="kept")
    outcome = parse_poll((await send(t, state, ep.poll2(state))).body)
    assert [e.text for e in outcome.events if isinstance(e, BuddyMessage)] == ["after the timeout"]

    emu.faults.add("poll2", "close")
    emu.user(10002).send_buddy(10001, "survives the fault", token="f1")
    with pytest.raises(NetworkError):
        await send(t, state, ep.poll2(state))
    outcome = parse_poll((await send(t, state, ep.poll2(state))).body)
    assert [e.text for e in outcome.events if isinstance(e, BuddyMessage)] == ["survives the fault"]


async def test_a_cancelled_poll_puts_its_batch_back() -> None:
    emu = Emulator(hold=30)
    t = emu.transport()
    state = SessionState(SMARTQQ)
    await drive(password_login_flow(state, 10001, "bot-password"), t, state)
    await send(t, state, ep.get_online_buddies2(state))
    poll = asyncio.ensure_future(send(t, state, ep.poll2(state)))
    await asyncio.sleep(0.01)
    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll
    emu.user(10002).send_buddy(10001, "not lost", token="c1")
    outcome = parse_poll((await send(t, state, ep.poll2(state))).body)
    assert [e.text for e in outcome.events if isinstance(e, BuddyMessage)] == ["not lost"]


async def test_a_closed_transport_refuses_with_a_transport_error() -> None:
    t = Emulator().transport()
    await t.aclose()
    with pytest.raises(NetworkError, match="closed"):
        await t.send(HttpRequest("GET", "https://ssl.ptlogin2.qq.com/check"))
