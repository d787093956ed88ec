"""``s.web2.qq.com/api/*``: getvfwebqq and the list/info calls, with hash checking."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from smartqq.protocol.hashing import friend_hash, friend_hash_password_error, friend_hash_quicksort

from .state import Service, Session
from .web import form_r, int_param, jsonr, service

__all__ = ["routes"]


async def _session(request: web.Request) -> tuple[Service, Session | None, dict[str, Any] | None]:
    svc = service(request)
    r, fields = await form_r(request)
    vf = (r or {}).get("vfwebqq") or fields.get("vfwebqq")
    s = svc.find_by_vfwebqq(str(vf)) if vf else None
    if s is None:
        # get_self_info2 carries only cookies; so did some clients' other GETs.
        qq = svc.skeys.get(request.cookies.get("skey", ""))
        s = svc.live(qq) if qq is not None else None
    return svc, s, r


def _denied() -> web.Response:
    return jsonr({"retcode": 100101, "errmsg": "error"})


async def getvfwebqq(request: web.Request) -> web.Response:
    svc = service(request)
    qq = svc.skeys.get(request.cookies.get("skey", ""))
    referer = request.headers.get("Referer", "")
    if qq is None or "qq.com" not in referer:
        return jsonr({"retcode": 100000})
    ptwebqq = request.query.get("ptwebqq", "")
    if ptwebqq not in ("", svc.pending_ptwebqq.get(qq)):
        return jsonr({"retcode": 100001})
    live = svc.live(qq)
    vf = live.vfwebqq if live else svc.pending_vfwebqq.setdefault(qq, secrets.token_hex(40))
    return jsonr({"retcode": 0, "result": {"vfwebqq": vf}})


def _hash_ok(s: Session, given: Any) -> bool:
    if not isinstance(given, str):
        return False
    variants = [friend_hash]
    if s.profile == "webqq3":
        variants += [friend_hash_password_error, friend_hash_quicksort]
    return any(given.upper() == f(s.qq, p) for f in variants for p in {s.ptwebqq, ""})


async def _hashed_session(request: web.Request) -> tuple[Service, Session | None, web.Response]:
    """The session of a POST whose ``r`` must carry a valid friend hash, or the refusal."""
    svc, s, r = await _session(request)
    if s is None or r is None:
        return svc, None, _denied()
    if not _hash_ok(s, r.get("hash")):
        return svc, None, jsonr({"retcode": 100101, "errmsg": "hash"})
    return svc, s, _denied()


async def get_user_friends2(request: web.Request) -> web.Response:
    svc, s, refusal = await _hashed_session(request)
    if s is None:
        return refusal
    acc = svc.world.account(s.qq)
    friends, marknames, vipinfo, info = [], [], [], []
    for qq, entry in acc.friends.items():
        f = svc.world.accounts[qq]
        uin = s.handle("qq", qq)
        friends.append({"flag": entry.category * 4, "uin": uin, "categories": entry.category})
        if entry.markname:
            marknames.append({"uin": uin, "markname": entry.markname, "type": 0})
        vipinfo.append({"vip_level": 0, "u": uin, "is_vip": 0})
        info.append({"face": f.face, "flag": 8388608, "nick": f.nick, "uin": uin})
    categories = [{"index": i, "sort": i, "name": n} for i, n in enumerate(acc.categories) if i > 0]
    return jsonr(
        {
            "retcode": 0,
            "result": {
                "friends": friends,
                "marknames": marknames,
                "categories": categories,
                "vipinfo": vipinfo,
                "info": info,
            },
        }
    )


async def get_group_name_list_mask2(request: web.Request) -> web.Response:
    svc, s, refusal = await _hashed_session(request)
    if s is None:
        return refusal
    groups = svc.world.groups_of(s.qq)
    return jsonr(
        {
            "retcode": 0,
            "result": {
                "gmasklist": [],
                "gnamelist": [
                    {
                        "flag": 16777217,
                        "name": g.name,
                        "gid": s.handle("group", g.code),
                        "code": g.code,
                    }
                    for g in groups
                ],
                "gmarklist": [],
            },
        }
    )


async def get_discus_list(request: web.Request) -> web.Response:
    svc, s, _ = await _session(request)
    if s is None:
        return _denied()
    return jsonr(
        {
            "retcode": 0,
            "result": {
                "dnamelist": [
                    {"name": d.name, "did": s.handle("discu", d.id)}
                    for d in svc.world.discussions_of(s.qq)
                ]
            },
        }
    )


def _profile(svc: Service, s: Session, qq: int) -> dict[str, Any]:
    a = svc.world.accounts[qq]
    return {
        "birthday": {"month": 1, "year": 1990, "day": 1},
        "face": a.face,
        "phone": "",
        "occupation": "",
        "allow": 1,
        "college": "",
        "uin": s.handle("qq", qq),
        "blood": 0,
        "constel": 0,
        "homepage": "",
        "vip_info": 0,
        "city": "",
        "country": "",
        "personal": "",
        "shengxiao": 0,
        "nick": a.nick,
        "email": "",
        "province": "",
        "gender": a.gender,
        "mobile": "",
    }


async def get_self_info2(request: web.Request) -> web.Response:
    svc, s, _ = await _session(request)
    if s is None:
        return _denied()
    info = _profile(svc, s, s.qq)
    info.update(account=s.qq, lnick=svc.world.account(s.qq).lnick, vfwebqq=s.vfwebqq)
    return jsonr({"retcode": 0, "result": info})


def _target(s: Session, request: web.Request) -> int | None:
    tuin = int_param(request.query.get("tuin"))
    return s.resolve(tuin, "qq") if tuin is not None else None


async def get_friend_info2(request: web.Request) -> web.Response:
    svc, s, _ = await _session(request)
    if s is None:
        return _denied()
    qq = _target(s, request)
    if qq is None:
        return jsonr({"retcode": 100001, "errmsg": "error"})
    info = _profile(svc, s, qq)
    live = svc.live(qq)
    info["stat"] = 10 if live else 20
    info["client_type"] = 41 if live else 1
    return jsonr({"retcode": 0, "result": info})


async def get_single_long_nick2(request: web.Request) -> web.Response:
    svc, s, _ = await _session(request)
    if s is None:
        return _denied()
    qq = _target(s, request)
    if qq is None:
        return jsonr({"retcode": 100001, "errmsg": "error"})
    return jsonr(
        {
            "retcode": 0,
            "result": [{"uin": s.handle("qq", qq), "lnick": svc.world.accounts[qq].lnick}],
        }
    )


async def get_friend_uin2(request: web.Request) -> web.Response:
    svc, s, _ = await _session(request)
    if s is None:
        return _denied()
    tuin = int_param(request.query.get("tuin"))
    if request.query.get("type") == "4" and tuin in svc.world.groups:
        return jsonr({"retcode": 0, "result": {"uiuin": "", "account": tuin, "uin": tuin}})
    qq = _target(s, request)
    if qq is None:
        return jsonr({"retcode": 100001, "errmsg": "error"})
    return jsonr({"retcode": 0, "result": {"uiuin": "", "account": qq, "uin": tuin}})


async def get_group_info_ext2(request: web.Request) -> web.Response:
    svc, s, _ = await _session(request)
    if s is None:
        return _denied()
    code = int_param(request.query.get("gcode"))
    g = svc.world.groups.get(code) if code is not None else None
    if g is None or s.qq not in g.members:
        return jsonr({"retcode": 6, "errmsg": "error"})
    accounts = svc.world.accounts
    members = [{"muin": s.handle("qq", m), "mflag": 0} for m in g.members]
    return jsonr(
        {
            "retcode": 0,
            "result": {
                "ginfo": {
                    "face": 0,
                    "memo": g.memo,
                    "class": 10011,
                    "fingermemo": "",
                    "code": g.code,
                    "createtime": 1400000000,
                    "flag": 16777217,
                    "level": 0,
                    "name": g.name,
                    "gid": s.handle("group", g.code),
                    "owner": s.handle("qq", g.owner),
                    "members": members,
                    "option": 2,
                },
                "minfo": [
                    {
                        "nick": accounts[m].nick,
                        "province": "",
                        "gender": accounts[m].gender,
                        "uin": s.handle("qq", m),
                        "country": "",
                        "city": "",
                    }
                    for m in g.members
                ],
                "stats": [
                    {"client_type": 41, "uin": s.handle("qq", m), "stat": 10}
                    for m in g.members
                    if svc.live(m) is not None
                ],
                "cards": [{"muin": s.handle("qq", m), "card": c} for m, c in g.cards.items()],
                "vipinfo": [
                    {"vip_level": 0, "u": s.handle("qq", m), "is_vip": 0} for m in g.members
                ],
            },
        }
    )


async def get_msg_tip(request: web.Request) -> web.Response:
    return web.Response(
        text='{"retcode":0,"result":{"success":0}}',
        content_type="application/json",
        charset="utf-8",
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/getvfwebqq", getvfwebqq),
        web.post("/api/get_user_friends2", get_user_friends2),
        web.post("/api/get_group_name_list_mask2", get_group_name_list_mask2),
        web.get("/api/get_group_name_list_mask2", get_group_name_list_mask2),
        web.get("/api/get_discus_list", get_discus_list),
        web.get("/api/get_self_info2", get_self_info2),
        web.get("/api/get_friend_info2", get_friend_info2),
        web.get("/api/get_single_long_nick2", get_single_long_nick2),
        web.get("/api/get_friend_uin2", get_friend_uin2),
        web.get("/api/get_group_info_ext2", get_group_info_ext2),
        web.get("/web2/get_msg_tip", get_msg_tip),
    ]
