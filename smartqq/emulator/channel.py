"""``d1.web2.qq.com/channel/*``: login2, poll2, the send calls and channel info calls.

poll2 holds an idle poll by awaiting the session's wake event (set when an event is
queued, the session ends or the emulator closes) with a timeout: an asyncio wait, no
socket I/O, so the same code serves the aiohttp shell and the in-memory transport. The
answer carries ``commit``/``rollback``: the front end commits once it has written the
batch, and a batch it could not write goes back to the front of the queue.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from smartqq.content import Content

from .http import EmuRequest, EmuResponse, html, int_param, json_response, read_r
from .mailbox import BadContent, PendingEvent, encode_content, parse_content
from .state import Session, State

__all__ = ["ROUTES"]

ONLINE = ("online", "away", "busy", "silent", "callme")
STATUSES = (*ONLINE, "hidden", "offline")


def _cookie_qq(state: State, request: EmuRequest) -> int | None:
    return state.skeys.get(request.cookies.get("skey", ""))


def _session(state: State, r: dict[str, Any] | None, fields: dict[str, str]) -> Session | None:
    sid = (r or {}).get("psessionid") or fields.get("psessionid") or ""
    return state.sessions.get(str(sid)) if sid else None


async def login2(state: State, request: EmuRequest) -> EmuResponse:
    r, _fields = read_r(request)
    if r is None:
        return json_response({"retcode": 100006, "errmsg": "bad r"})
    qq = _cookie_qq(state, request)
    if qq is None:
        return json_response({"retcode": 108 if not request.cookies else 103, "errmsg": "error"})
    ptwebqq = str(r.get("ptwebqq") or "")
    expected = state.pending_ptwebqq.get(qq)
    live = state.live(qq)
    old_sid = str(r.get("psessionid") or "")
    if "key" in r and old_sid and old_sid in state.sessions:
        s = state.sessions[old_sid]
        if s.qq != qq or s.ended:
            return json_response({"retcode": 103, "errmsg": "error"})
        state.renew(s)
    else:
        known = {"", expected, live.ptwebqq if live else None}
        if ptwebqq not in known:
            return json_response({"retcode": 100001, "errmsg": "ptwebqq"})
        profile = "webqq3" if "passwd_sig" in r else "smartqq"
        s = state.open_session(qq, str(r.get("clientid", "")), ptwebqq or (expected or ""), profile)
        status = str(r.get("status") or "online")
        s.status = status if status in STATUSES else "online"
    host = request.peer
    return json_response(
        {
            "retcode": 0,
            "result": {
                "uin": s.qq,
                "cip": 2130706433,
                "index": 1075,
                "port": int(host[1]) if host else 0,
                "status": s.status,
                "vfwebqq": s.vfwebqq,
                "psessionid": s.psessionid,
                "user_state": 0,
                "f": 0,
            },
        }
    )


def _idle(state: State) -> EmuResponse:
    form = state.config.idle
    if form == "504":
        return html("<html><body>504 Gateway Time-out</body></html>", status=504)
    if form == "errmsg":
        return json_response({"errmsg": "error!!!", "retcode": 0})
    return json_response({"retcode": 102, "errmsg": ""})


async def poll2(state: State, request: EmuRequest) -> EmuResponse:
    state.journal.polls += 1
    r, fields = read_r(request)
    s = _session(state, r, fields)
    if s is None:
        return json_response({"retcode": 103, "errmsg": "error"})
    deadline = state.clock() + state.config.hold
    while True:
        if s.kick_pending:
            s.kick_pending = False
            value = {"way": "poll", "show_reason": 1, "reason": s.kick_reason}
            return json_response(
                {"retcode": 0, "result": [{"poll_type": "kick_message", "value": value}]}
            )
        if s.ended:
            return json_response({"retcode": 103, "errmsg": "error"})
        if state.is_expired(s):
            return json_response({"retcode": state.config.expiry_retcode, "t": "0"})
        if state.config.require_probe and not s.probed:
            return json_response({"errmsg": "error", "retcode": 103})
        every = state.config.rotate_ptwebqq_every
        if every is not None and state.clock() - s.last_rotation >= every:
            s.last_rotation = state.clock()
            s.ptwebqq = secrets.token_hex(24)
            return json_response({"retcode": 116, "p": s.ptwebqq})
        if not request.alive():
            raise asyncio.CancelledError  # the client left; keep its events queued
        events = state.mail.take(s.qq, max(1, state.config.max_batch))
        if events:
            return _deliver(state, s, events)
        remaining = deadline - state.clock()
        if remaining <= 0:
            return _idle(state)
        s.wake.clear()
        state.journal.waiters += 1
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for wraps the wait in a task of
            # its own, one more task per held poll (issue 17: 1,000 held polls per burst).
            async with asyncio.timeout(remaining):
                await s.wake.wait()
        except TimeoutError:
            pass
        finally:
            state.journal.waiters -= 1


def _deliver(state: State, s: Session, events: list[PendingEvent]) -> EmuResponse:
    """The batch, with what to do once it was (or could not be) written."""
    body, carried = state.mail.answer(s, events)
    qq = s.qq
    resp = EmuResponse(200, body)
    resp.commit = lambda: state.record_delivery(qq, carried)
    resp.rollback = lambda: state.mail.requeue(qq, carried)
    return resp


def _send_ok(state: State) -> EmuResponse:
    if state.config.send_form == "errCode":
        return json_response({"errCode": 0, "msg": "send ok"})
    return json_response({"retcode": 0, "result": "ok"})


def _rate_limited(state: State, s: Session) -> bool:
    rate = state.config.send_rate
    now = state.clock()
    s.send_times.append(now)
    if rate is None:
        return False
    recent = [t for t in s.send_times if now - t < 1.0]
    return len(recent) > rate


def _text_of(content: Content) -> str:
    return str(content)


async def _send(state: State, request: EmuRequest, kind: str) -> EmuResponse:
    r, fields = read_r(request)
    if r is None:
        return json_response({"retcode": 100006, "errmsg": "error!!!"})
    s = _session(state, r, fields)
    if s is None:
        return json_response({"retcode": 103, "errmsg": "error!!!"})
    if s.ended or state.is_expired(s):
        return json_response({"retcode": 100012, "errmsg": "error!!!"})
    try:
        # Refused here, not at poll time: one peer's unencodable content (a lone
        # surrogate, nesting too deep) must never cost another client its messages.
        content = parse_content(r.get("content"))
        encode_content(content)
    except BadContent:
        return json_response({"retcode": 100006, "errmsg": "error!!!"})
    key = {"buddy": "to", "sess": "to", "group": "group_uin", "discu": "did"}[kind]
    handle = int_param(r.get(key))
    target: int | None = None
    if handle is not None:
        target = s.resolve(
            handle, {"buddy": "qq", "sess": "qq", "group": "group", "discu": "discu"}[kind]
        )
    world = state.world
    sender = s.qq
    if target is None or (
        (kind == "buddy" and target not in world.account(sender).friends)
        or (
            kind == "group"
            and (target not in world.groups or sender not in world.groups[target].members)
        )
        or (
            kind == "discu"
            and (target not in world.discussions or sender not in world.discussions[target].members)
        )
        or (kind == "sess" and state.shared_chat(sender, target) is None)
    ):
        return json_response({"retcode": 100001, "errmsg": "error!!!"})
    limited = _rate_limited(state, s)
    deliver = not limited or state.config.deliver_on_1202
    if deliver:
        state.deliver(kind, sender, target, content, echo=state.config.self_echo and kind != "sess")
    state.journal.record_sent(
        {
            "path": request.path,
            "kind": kind,
            "from": sender,
            "to": target,
            "text": _text_of(content),
            "content": list(content.raw or ()),
            "msg_id": r.get("msg_id"),
            "delivered": deliver,
            "t": state.clock(),
        }
    )
    if limited:
        return json_response({"errmsg": "error!!!", "retcode": 1202})
    return _send_ok(state)


async def send_buddy(state: State, request: EmuRequest) -> EmuResponse:
    return await _send(state, request, "buddy")


async def send_qun(state: State, request: EmuRequest) -> EmuResponse:
    return await _send(state, request, "group")


async def send_discu(state: State, request: EmuRequest) -> EmuResponse:
    return await _send(state, request, "discu")


async def send_sess(state: State, request: EmuRequest) -> EmuResponse:
    return await _send(state, request, "sess")


def _query_session(state: State, request: EmuRequest) -> Session | None:
    r, fields = read_r(request)
    s = _session(state, r, fields)
    if s is None:
        vf = (r or {}).get("vfwebqq") or fields.get("vfwebqq")
        s = state.find_by_vfwebqq(str(vf)) if vf else None
    if s is not None and s.ended:
        s = None
    return s


async def get_online_buddies2(state: State, request: EmuRequest) -> EmuResponse:
    s = _query_session(state, request)
    if s is None:
        return json_response({"retcode": 103, "errmsg": "error"})
    s.probed = True
    out = []
    for qq in state.world.account(s.qq).friends:
        acc = state.world.accounts[qq]
        live = state.live(qq)
        status = live.status if live else acc.status
        if status in ONLINE:
            out.append(
                {"uin": s.handle("qq", qq), "status": status, "client_type": 41 if live else 1}
            )
    return json_response({"retcode": 0, "result": out})


async def get_recent_list2(state: State, request: EmuRequest) -> EmuResponse:
    s = _query_session(state, request)
    if s is None:
        return json_response({"retcode": 103, "errmsg": "error"})
    out: list[dict[str, int]] = [
        {"uin": s.handle("qq", q), "type": 0} for q in state.world.account(s.qq).friends
    ]
    out += [{"uin": s.handle("group", g.code), "type": 1} for g in state.world.groups_of(s.qq)]
    out += [{"uin": s.handle("discu", d.id), "type": 2} for d in state.world.discussions_of(s.qq)]
    return json_response({"retcode": 0, "result": out})


async def get_discu_info(state: State, request: EmuRequest) -> EmuResponse:
    s = _query_session(state, request)
    if s is None:
        return json_response({"retcode": 103, "errmsg": "error"})
    did = int_param(request.param("did"))
    target = s.resolve(did, "discu") if did is not None else None
    if target is None or target not in state.world.discussions:
        return json_response({"retcode": 6, "errmsg": "error"})
    d = state.world.discussions[target]
    return json_response(
        {
            "retcode": 0,
            "result": {
                "info": {
                    "did": did,
                    "discu_name": d.name,
                    "discu_owner": s.handle("qq", d.owner),
                    "mem_list": [{"mem_uin": s.handle("qq", m), "ruin": m} for m in d.members],
                },
                "mem_info": [
                    {"uin": s.handle("qq", m), "nick": state.world.accounts[m].nick}
                    for m in d.members
                ],
                "mem_status": [
                    {"uin": s.handle("qq", m), "status": live.status, "client_type": 41}
                    for m in d.members
                    if (live := state.live(m)) is not None
                ],
            },
        }
    )


async def change_status2(state: State, request: EmuRequest) -> EmuResponse:
    s = _query_session(state, request)
    if s is None:
        return json_response({"retcode": 108, "errmsg": "error"})
    status = request.param("newstatus", "")
    if status not in STATUSES:
        return json_response({"retcode": 100006, "errmsg": "bad status"})
    s.status = status
    state.status_changed(s.qq, status, client_type=41)
    return json_response({"retcode": 0, "result": "ok"})


async def logout2(state: State, request: EmuRequest) -> EmuResponse:
    s = _query_session(state, request)
    if s is not None:
        state.status_changed(s.qq, "offline", client_type=41)
        state.end_session(s)
    return json_response({"retcode": 0, "result": "ok"})


async def get_c2cmsg_sig2(state: State, request: EmuRequest) -> EmuResponse:
    s = _query_session(state, request)
    if s is None:
        return json_response({"retcode": 103, "errmsg": "error"})
    return json_response(
        {"retcode": 0, "result": {"type": 0, "value": secrets.token_hex(32), "flags": {"text": 1}}}
    )


async def notify_call(state: State, request: EmuRequest) -> EmuResponse:
    s = _query_session(state, request)
    if s is None:
        return json_response({"retcode": 103, "errmsg": "error"})
    return json_response({"retcode": 0, "result": "ok"})


Handler = Callable[[State, EmuRequest], Awaitable[EmuResponse]]
ROUTES: dict[str, tuple[str, Handler]] = {
    "/channel/login2": ("POST", login2),
    "/channel/poll2": ("POST", poll2),
    "/channel/send_buddy_msg2": ("POST", send_buddy),
    "/channel/send_qun_msg2": ("POST", send_qun),
    "/channel/send_discu_msg2": ("POST", send_discu),
    "/channel/send_sess_msg2": ("POST", send_sess),
    "/channel/get_online_buddies2": ("GET", get_online_buddies2),
    "/channel/get_recent_list2": ("POST", get_recent_list2),
    "/channel/get_discu_info": ("GET", get_discu_info),
    "/channel/change_status2": ("GET", change_status2),
    "/channel/logout2": ("GET", logout2),
    "/channel/get_c2cmsg_sig2": ("GET", get_c2cmsg_sig2),
    "/channel/shake2": ("GET", notify_call),
    "/channel/input_notify2": ("GET", notify_call),
}
