"""``d1.web2.qq.com/channel/*``: login2, poll2, the send calls and channel info calls."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from .state import PendingEvent, Service, Session
from .web import form_r, int_param, jsonr, service

__all__ = ["routes"]

ONLINE = ("online", "away", "busy", "silent", "callme")
STATUSES = (*ONLINE, "hidden", "offline")


def _cookie_qq(svc: Service, request: web.Request) -> int | None:
    return svc.skeys.get(request.cookies.get("skey", ""))


def _session(svc: Service, r: dict[str, Any] | None, fields: dict[str, str]) -> Session | None:
    sid = (r or {}).get("psessionid") or fields.get("psessionid") or ""
    return svc.sessions.get(str(sid)) if sid else None


async def login2(request: web.Request) -> web.Response:
    svc = service(request)
    r, _fields = await form_r(request)
    if r is None:
        return jsonr({"retcode": 100006, "errmsg": "bad r"})
    qq = _cookie_qq(svc, request)
    if qq is None:
        return jsonr({"retcode": 108 if not request.cookies else 103, "errmsg": "error"})
    ptwebqq = str(r.get("ptwebqq") or "")
    expected = svc.pending_ptwebqq.get(qq)
    live = svc.live(qq)
    old_sid = str(r.get("psessionid") or "")
    if "key" in r and old_sid and old_sid in svc.sessions:
        s = svc.sessions[old_sid]
        if s.qq != qq or s.ended:
            return jsonr({"retcode": 103, "errmsg": "error"})
        svc.renew(s)
    else:
        known = {"", expected, live.ptwebqq if live else None}
        if ptwebqq not in known:
            return jsonr({"retcode": 100001, "errmsg": "ptwebqq"})
        profile = "webqq3" if "passwd_sig" in r else "smartqq"
        s, _old = svc.open_session(
            qq, str(r.get("clientid", "")), ptwebqq or (expected or ""), profile
        )
        status = str(r.get("status") or "online")
        s.status = status if status in STATUSES else "online"
    host = request.transport.get_extra_info("peername") if request.transport else None
    return jsonr(
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


def _idle(svc: Service) -> web.Response:
    form = svc.config.idle
    if form == "504":
        return web.Response(
            status=504,
            text="<html><body>504 Gateway Time-out</body></html>",
            content_type="text/html",
        )
    if form == "errmsg":
        return jsonr({"errmsg": "error!!!", "retcode": 0})
    return jsonr({"retcode": 102, "errmsg": ""})


async def poll2(request: web.Request) -> web.StreamResponse:
    svc = service(request)
    svc.polls += 1
    r, fields = await form_r(request)
    s = _session(svc, r, fields)
    if s is None:
        return jsonr({"retcode": 103, "errmsg": "error"})
    deadline = time.monotonic() + svc.config.hold
    while True:
        if s.kick_pending:
            s.kick_pending = False
            value = {"way": "poll", "show_reason": 1, "reason": s.kick_reason}
            return jsonr({"retcode": 0, "result": [{"poll_type": "kick_message", "value": value}]})
        if s.ended:
            return jsonr({"retcode": 103, "errmsg": "error"})
        if svc.is_expired(s):
            return jsonr({"retcode": svc.config.expiry_retcode, "t": "0"})
        if svc.config.require_probe and not s.probed:
            return jsonr({"errmsg": "error", "retcode": 103})
        every = svc.config.rotate_ptwebqq_every
        if every is not None and time.time() - s.last_rotation >= every:
            s.last_rotation = time.time()
            s.ptwebqq = svc.token_hex(24)
            return jsonr({"retcode": 116, "p": s.ptwebqq})
        if request.transport is None or request.transport.is_closing():
            raise asyncio.CancelledError  # the client left; keep its events queued
        events = svc.take(s.qq, max(1, svc.config.max_batch))
        if events:
            result = [{"poll_type": e.poll_type, "value": e.build(s)} for e in reversed(events)]
            return await _deliver(request, svc, s.qq, events, result)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _idle(svc)
        s.wake.clear()
        svc.waiters += 1
        try:
            await asyncio.wait_for(s.wake.wait(), remaining)
        except TimeoutError:
            pass
        finally:
            svc.waiters -= 1


async def _deliver(
    request: web.Request,
    svc: Service,
    qq: int,
    events: list[PendingEvent],
    result: list[dict[str, Any]],
) -> web.StreamResponse:
    """Write a batch; events whose response could not be written go back to the queue
    front, so a client that timed out or lost its connection gets them on the next poll."""
    resp = jsonr({"retcode": 0, "result": result})
    try:
        await resp.prepare(request)
        await resp.write_eof()
    except (ConnectionError, asyncio.CancelledError):
        svc.requeue(qq, events)
        raise
    svc.record_delivery(qq, events)
    return resp


def _send_ok(svc: Service) -> web.Response:
    if svc.config.send_form == "errCode":
        return jsonr({"errCode": 0, "msg": "send ok"})
    return jsonr({"retcode": 0, "result": "ok"})


def _rate_limited(svc: Service, s: Session) -> bool:
    rate = svc.config.send_rate
    now = time.monotonic()
    s.send_times.append(now)
    if rate is None:
        return False
    recent = [t for t in s.send_times if now - t < 1.0]
    return len(recent) > rate


def _content(r: dict[str, Any]) -> list[Any] | None:
    raw = r.get("content")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            return None
    if not isinstance(raw, list):
        return None
    for el in raw:
        if not isinstance(el, str | list):
            return None
    return raw


def _text_of(content: list[Any]) -> str:
    out = []
    for el in content:
        if isinstance(el, str):
            out.append(el)
        elif isinstance(el, list) and el and el[0] == "face" and len(el) > 1:
            out.append(f"[face:{el[1]}]")
    return "".join(out)


async def _send(request: web.Request, kind: str) -> web.Response:
    svc = service(request)
    r, fields = await form_r(request)
    if r is None:
        return jsonr({"retcode": 100006, "errmsg": "error!!!"})
    s = _session(svc, r, fields)
    if s is None:
        return jsonr({"retcode": 103, "errmsg": "error!!!"})
    if s.ended or svc.is_expired(s):
        return jsonr({"retcode": 100012, "errmsg": "error!!!"})
    content = _content(r)
    if content is None:
        return jsonr({"retcode": 100006, "errmsg": "error!!!"})
    key = {"buddy": "to", "sess": "to", "group": "group_uin", "discu": "did"}[kind]
    handle = int_param(r.get(key))
    target: int | None = None
    if handle is not None:
        target = s.resolve(
            handle, {"buddy": "qq", "sess": "qq", "group": "group", "discu": "discu"}[kind]
        )
    world = svc.world
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
        or (kind == "sess" and svc.shared_chat(sender, target) is None)
    ):
        return jsonr({"retcode": 100001, "errmsg": "error!!!"})
    limited = _rate_limited(svc, s)
    deliver = not limited or svc.config.deliver_on_1202
    if deliver:
        token = None
        if kind == "buddy":
            svc.deliver_buddy(sender, target, content, token)
        elif kind == "sess":
            via = svc.shared_chat(sender, target)
            assert via is not None  # checked above
            svc.deliver_sess(sender, target, via, content, token)
        elif kind == "group":
            svc.deliver_group(sender, target, content, token)
        else:
            svc.deliver_discu(sender, target, content, token)
    record = {
        "path": request.path,
        "kind": kind,
        "from": sender,
        "to": target,
        "text": _text_of(content),
        "content": content,
        "msg_id": r.get("msg_id"),
        "delivered": deliver,
        "t": time.time(),
    }
    svc.sent.append(record)
    for listener in list(svc.sent_listeners):
        listener(record)
    svc.replies.append(
        {"path": request.path, "to": target, "text": record["text"], "t": record["t"]}
    )
    if limited:
        return jsonr({"errmsg": "error!!!", "retcode": 1202})
    return _send_ok(svc)


async def send_buddy(request: web.Request) -> web.Response:
    return await _send(request, "buddy")


async def send_qun(request: web.Request) -> web.Response:
    return await _send(request, "group")


async def send_discu(request: web.Request) -> web.Response:
    return await _send(request, "discu")


async def send_sess(request: web.Request) -> web.Response:
    return await _send(request, "sess")


async def _query_session(request: web.Request) -> tuple[Service, Session | None]:
    svc = service(request)
    r, fields = await form_r(request)
    s = _session(svc, r, fields)
    if s is None:
        vf = (r or {}).get("vfwebqq") or fields.get("vfwebqq")
        s = svc.find_by_vfwebqq(str(vf)) if vf else None
    if s is not None and s.ended:
        s = None
    return svc, s


async def get_online_buddies2(request: web.Request) -> web.Response:
    svc, s = await _query_session(request)
    if s is None:
        return jsonr({"retcode": 103, "errmsg": "error"})
    s.probed = True
    out = []
    for qq in svc.world.account(s.qq).friends:
        acc = svc.world.accounts[qq]
        live = svc.live(qq)
        status = live.status if live else acc.status
        if status in ONLINE:
            out.append(
                {"uin": s.handle("qq", qq), "status": status, "client_type": 41 if live else 1}
            )
    return jsonr({"retcode": 0, "result": out})


async def get_recent_list2(request: web.Request) -> web.Response:
    svc, s = await _query_session(request)
    if s is None:
        return jsonr({"retcode": 103, "errmsg": "error"})
    out: list[dict[str, int]] = [
        {"uin": s.handle("qq", q), "type": 0} for q in svc.world.account(s.qq).friends
    ]
    out += [{"uin": s.handle("group", g.code), "type": 1} for g in svc.world.groups_of(s.qq)]
    out += [{"uin": s.handle("discu", d.id), "type": 2} for d in svc.world.discussions_of(s.qq)]
    return jsonr({"retcode": 0, "result": out})


async def get_discu_info(request: web.Request) -> web.Response:
    svc, s = await _query_session(request)
    if s is None:
        return jsonr({"retcode": 103, "errmsg": "error"})
    did = int_param(request.query.get("did"))
    target = s.resolve(did, "discu") if did is not None else None
    if target is None or target not in svc.world.discussions:
        return jsonr({"retcode": 6, "errmsg": "error"})
    d = svc.world.discussions[target]
    return jsonr(
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
                    {"uin": s.handle("qq", m), "nick": svc.world.accounts[m].nick}
                    for m in d.members
                ],
                "mem_status": [
                    {"uin": s.handle("qq", m), "status": live.status, "client_type": 41}
                    for m in d.members
                    if (live := svc.live(m)) is not None
                ],
            },
        }
    )


async def change_status2(request: web.Request) -> web.Response:
    svc, s = await _query_session(request)
    if s is None:
        return jsonr({"retcode": 108, "errmsg": "error"})
    status = request.query.get("newstatus", "")
    if status not in STATUSES:
        return jsonr({"retcode": 100006, "errmsg": "bad status"})
    s.status = status
    svc.status_changed(s.qq, status, client_type=41)
    return jsonr({"retcode": 0, "result": "ok"})


async def logout2(request: web.Request) -> web.Response:
    svc, s = await _query_session(request)
    if s is not None:
        svc.status_changed(s.qq, "offline", client_type=41)
        svc.end_session(s)
    return jsonr({"retcode": 0, "result": "ok"})


async def get_c2cmsg_sig2(request: web.Request) -> web.Response:
    svc, s = await _query_session(request)
    if s is None:
        return jsonr({"retcode": 103, "errmsg": "error"})
    return jsonr(
        {"retcode": 0, "result": {"type": 0, "value": svc.token_hex(32), "flags": {"text": 1}}}
    )


async def notify_call(request: web.Request) -> web.Response:
    _, s = await _query_session(request)
    if s is None:
        return jsonr({"retcode": 103, "errmsg": "error"})
    return jsonr({"retcode": 0, "result": "ok"})


def routes() -> list[web.RouteDef]:
    return [
        web.post("/channel/login2", login2),
        web.post("/channel/poll2", poll2),
        web.post("/channel/send_buddy_msg2", send_buddy),
        web.post("/channel/send_qun_msg2", send_qun),
        web.post("/channel/send_discu_msg2", send_discu),
        web.post("/channel/send_sess_msg2", send_sess),
        web.get("/channel/get_online_buddies2", get_online_buddies2),
        web.post("/channel/get_recent_list2", get_recent_list2),
        web.get("/channel/get_discu_info", get_discu_info),
        web.get("/channel/change_status2", change_status2),
        web.get("/channel/logout2", logout2),
        web.get("/channel/get_c2cmsg_sig2", get_c2cmsg_sig2),
        web.get("/channel/shake2", notify_call),
        web.get("/channel/input_notify2", notify_call),
    ]
