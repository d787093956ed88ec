"""``s.web2.qq.com/api/*``: getvfwebqq and the list/info calls, with hash checking."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from smartqq.protocol.hashing import friend_hash, friend_hash_password_error, friend_hash_quicksort

from .http import EmuRequest, EmuResponse, int_param, json_response, read_r
from .state import Session, State

__all__ = ["ROUTES"]


def _session(state: State, request: EmuRequest) -> tuple[Session | None, dict[str, Any] | None]:
    r, fields = read_r(request)
    vf = (r or {}).get("vfwebqq") or fields.get("vfwebqq")
    s = state.find_by_vfwebqq(str(vf)) if vf else None
    if s is None:
        # get_self_info2 carries only cookies; so did some clients' other GETs.
        qq = state.skeys.get(request.cookies.get("skey", ""))
        s = state.live(qq) if qq is not None else None
    return s, r


def _denied() -> EmuResponse:
    return json_response({"retcode": 100101, "errmsg": "error"})


async def getvfwebqq(state: State, request: EmuRequest) -> EmuResponse:
    qq = state.skeys.get(request.cookies.get("skey", ""))
    referer = request.header("Referer")
    if qq is None or "qq.com" not in referer:
        return json_response({"retcode": 100000})
    ptwebqq = request.param("ptwebqq", "")
    if ptwebqq not in ("", state.pending_ptwebqq.get(qq)):
        return json_response({"retcode": 100001})
    live = state.live(qq)
    vf = live.vfwebqq if live else state.pending_vfwebqq.setdefault(qq, secrets.token_hex(40))
    return json_response({"retcode": 0, "result": {"vfwebqq": vf}})


def _hash_ok(s: Session, given: Any) -> bool:
    if not isinstance(given, str):
        return False
    variants = [friend_hash]
    if s.profile == "webqq3":
        variants += [friend_hash_password_error, friend_hash_quicksort]
    return any(given.upper() == f(s.qq, p) for f in variants for p in {s.ptwebqq, ""})


def _hashed_session(state: State, request: EmuRequest) -> tuple[Session | None, EmuResponse]:
    """The session of a POST whose ``r`` must carry a valid friend hash, or the refusal."""
    s, r = _session(state, request)
    if s is None or r is None:
        return None, _denied()
    if not _hash_ok(s, r.get("hash")):
        return None, json_response({"retcode": 100101, "errmsg": "hash"})
    return s, _denied()


async def get_user_friends2(state: State, request: EmuRequest) -> EmuResponse:
    s, refusal = _hashed_session(state, request)
    if s is None:
        return refusal
    acc = state.world.account(s.qq)
    friends, marknames, vipinfo, info = [], [], [], []
    for qq, entry in acc.friends.items():
        f = state.world.accounts[qq]
        uin = s.handle("qq", qq)
        friends.append({"flag": entry.category * 4, "uin": uin, "categories": entry.category})
        if entry.markname:
            marknames.append({"uin": uin, "markname": entry.markname, "type": 0})
        vipinfo.append({"vip_level": 0, "u": uin, "is_vip": 0})
        info.append({"face": f.face, "flag": 8388608, "nick": f.nick, "uin": uin})
    categories = [{"index": i, "sort": i, "name": n} for i, n in enumerate(acc.categories) if i > 0]
    return json_response(
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


async def get_group_name_list_mask2(state: State, request: EmuRequest) -> EmuResponse:
    s, refusal = _hashed_session(state, request)
    if s is None:
        return refusal
    groups = state.world.groups_of(s.qq)
    return json_response(
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


async def get_discus_list(state: State, request: EmuRequest) -> EmuResponse:
    s, _ = _session(state, request)
    if s is None:
        return _denied()
    return json_response(
        {
            "retcode": 0,
            "result": {
                "dnamelist": [
                    {"name": d.name, "did": s.handle("discu", d.id)}
                    for d in state.world.discussions_of(s.qq)
                ]
            },
        }
    )


def _profile(state: State, s: Session, qq: int) -> dict[str, Any]:
    a = state.world.accounts[qq]
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


async def get_self_info2(state: State, request: EmuRequest) -> EmuResponse:
    s, _ = _session(state, request)
    if s is None:
        return _denied()
    info = _profile(state, s, s.qq)
    info.update(account=s.qq, lnick=state.world.account(s.qq).lnick, vfwebqq=s.vfwebqq)
    return json_response({"retcode": 0, "result": info})


def _target(s: Session, request: EmuRequest) -> int | None:
    tuin = int_param(request.param("tuin"))
    return s.resolve(tuin, "qq") if tuin is not None else None


async def get_friend_info2(state: State, request: EmuRequest) -> EmuResponse:
    s, _ = _session(state, request)
    if s is None:
        return _denied()
    qq = _target(s, request)
    if qq is None:
        return json_response({"retcode": 100001, "errmsg": "error"})
    info = _profile(state, s, qq)
    live = state.live(qq)
    info["stat"] = 10 if live else 20
    info["client_type"] = 41 if live else 1
    return json_response({"retcode": 0, "result": info})


async def get_single_long_nick2(state: State, request: EmuRequest) -> EmuResponse:
    s, _ = _session(state, request)
    if s is None:
        return _denied()
    qq = _target(s, request)
    if qq is None:
        return json_response({"retcode": 100001, "errmsg": "error"})
    return json_response(
        {
            "retcode": 0,
            "result": [{"uin": s.handle("qq", qq), "lnick": state.world.accounts[qq].lnick}],
        }
    )


async def get_friend_uin2(state: State, request: EmuRequest) -> EmuResponse:
    s, _ = _session(state, request)
    if s is None:
        return _denied()
    tuin = int_param(request.param("tuin"))
    if request.param("type") == "4" and tuin in state.world.groups:
        return json_response({"retcode": 0, "result": {"uiuin": "", "account": tuin, "uin": tuin}})
    qq = _target(s, request)
    if qq is None:
        return json_response({"retcode": 100001, "errmsg": "error"})
    return json_response({"retcode": 0, "result": {"uiuin": "", "account": qq, "uin": tuin}})


async def get_group_info_ext2(state: State, request: EmuRequest) -> EmuResponse:
    s, _ = _session(state, request)
    if s is None:
        return _denied()
    code = int_param(request.param("gcode"))
    g = state.world.groups.get(code) if code is not None else None
    if g is None or s.qq not in g.members:
        return json_response({"retcode": 6, "errmsg": "error"})
    accounts = state.world.accounts
    members = [{"muin": s.handle("qq", m), "mflag": 0} for m in g.members]
    return json_response(
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
                    if state.live(m) is not None
                ],
                "cards": [{"muin": s.handle("qq", m), "card": c} for m, c in g.cards.items()],
                "vipinfo": [
                    {"vip_level": 0, "u": s.handle("qq", m), "is_vip": 0} for m in g.members
                ],
            },
        }
    )


async def get_msg_tip(state: State, request: EmuRequest) -> EmuResponse:
    return EmuResponse(200, b'{"retcode":0,"result":{"success":0}}')


Handler = Callable[[State, EmuRequest], Awaitable[EmuResponse]]
ROUTES: dict[str, tuple[str, Handler]] = {
    "/api/getvfwebqq": ("GET", getvfwebqq),
    "/api/get_user_friends2": ("POST", get_user_friends2),
    "/api/get_group_name_list_mask2": ("GET POST", get_group_name_list_mask2),
    "/api/get_discus_list": ("GET", get_discus_list),
    "/api/get_self_info2": ("GET", get_self_info2),
    "/api/get_friend_info2": ("GET", get_friend_info2),
    "/api/get_single_long_nick2": ("GET", get_single_long_nick2),
    "/api/get_friend_uin2": ("GET", get_friend_uin2),
    "/api/get_group_info_ext2": ("GET", get_group_info_ext2),
    "/web2/get_msg_tip": ("GET", get_msg_tip),
}
