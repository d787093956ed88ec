"""Request builders for every call of PROTOCOL.md §1–§8, as :class:`HttpRequest` values.

Builders take the profile (hosts, referers) and, after login, the
:class:`SessionState` (tokens). They never do I/O. POST bodies are one form
field ``r`` holding JSON; WebQQ 3.0 also repeats ``clientid``/``psessionid``.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Mapping
from typing import Any

from .hashing import hash33, time33
from .http import HttpRequest
from .profiles import Profile
from .session import SessionState

__all__ = [
    "captcha_image",
    "change_status2",
    "check",
    "check_sig",
    "get_c2cmsg_sig2",
    "get_discu_info",
    "get_discus_list",
    "get_friend_info2",
    "get_friend_uin2",
    "get_group_info_ext2",
    "get_group_name_list_mask2",
    "get_online_buddies2",
    "get_recent_list2",
    "get_self_info2",
    "get_single_long_nick2",
    "get_user_friends2",
    "getvfwebqq",
    "login",
    "login2",
    "login_page",
    "logout",
    "poll2",
    "ptqrlogin",
    "ptqrshow",
    "send_buddy_msg2",
    "send_discu_msg2",
    "send_qun_msg2",
    "send_sess_msg2",
]

PTLOGIN = "https://ssl.ptlogin2.qq.com/"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) smartqq/0.1"


def _ts() -> str:
    return str(int(time.time() * 1000))


@functools.cache
def _headers(referer: str, origin: str | None = None) -> tuple[tuple[str, str], ...]:
    """The header tuple of an API or channel call: one shared copy per profile, not one
    per request (a held poll keeps its request alive for up to a minute, per client)."""
    if origin is None:
        return (("Referer", referer), ("User-Agent", UA))
    return (("Referer", referer), ("Origin", origin), ("User-Agent", UA))


def _json(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _api_get(s: SessionState, name: str, query: list[tuple[str, str]]) -> HttpRequest:
    p = s.profile
    return HttpRequest(
        "GET",
        p.api + name,
        query=(*query, ("t", _ts())),
        headers=_headers(p.api_referer),
        endpoint=name,
    )


def _api_post(s: SessionState, name: str, r: Mapping[str, Any]) -> HttpRequest:
    p = s.profile
    return HttpRequest(
        "POST",
        p.api + name,
        form=(("r", _json(r)),),
        headers=_headers(p.api_referer, p.api_origin),
        endpoint=name,
    )


def _channel_get(s: SessionState, name: str, query: list[tuple[str, str]]) -> HttpRequest:
    p = s.profile
    return HttpRequest(
        "GET",
        p.channel + name,
        query=(*query, ("t", _ts())),
        headers=_headers(p.channel_referer),
        endpoint=name,
    )


def _channel_post(
    s: SessionState, name: str, r: Mapping[str, Any], timeout: float | None = None
) -> HttpRequest:
    p = s.profile
    form: list[tuple[str, str]] = [("r", _json(r))]
    if p.repeat_form_fields:
        form += [("clientid", str(s.clientid)), ("psessionid", s.psessionid or "null")]
    return HttpRequest(
        "POST",
        p.channel + name,
        form=tuple(form),
        headers=_headers(p.channel_referer, p.channel_origin),
        endpoint=name,
        timeout=timeout,
    )


def _sid(s: SessionState) -> list[tuple[str, str]]:
    return [("clientid", str(s.clientid)), ("psessionid", s.psessionid)]


# -- §1 password login ------------------------------------------------------------------


def login_page(p: Profile) -> HttpRequest:
    return HttpRequest(
        "GET",
        p.login_page.split("?")[0],
        query=tuple(tuple(kv.split("=", 1)) for kv in p.login_page.split("?")[1].split("&")),  # type: ignore[misc]
        headers=(("Referer", f"http://{p.page_host}/"), ("User-Agent", UA)),
        endpoint="login_page",
    )


def check(p: Profile, qq: int, login_sig: str = "", js_ver: str = "") -> HttpRequest:
    return HttpRequest(
        "GET",
        PTLOGIN + "check",
        query=(
            ("uin", str(qq)),
            ("appid", str(p.appid)),
            ("js_ver", js_ver or p.js_ver),
            ("js_type", "0"),
            ("login_sig", login_sig),
            ("u1", p.u1),
            ("r", f"{random.random():.16f}"),
        ),
        headers=(("Referer", p.login_page), ("User-Agent", UA)),
        endpoint="check",
    )


def captcha_image(p: Profile, qq: int, cap_cd: str) -> HttpRequest:
    return HttpRequest(
        "GET",
        "https://ssl.captcha.qq.com/getimage",
        query=(
            ("aid", str(p.appid)),
            ("r", f"{random.random():.16f}"),
            ("uin", str(qq)),
            ("cap_cd", cap_cd),
        ),
        headers=(("Referer", p.login_page), ("User-Agent", UA)),
        endpoint="getimage",
    )


def login(
    p: Profile,
    qq: int,
    p_hash: str,
    verifycode: str,
    login_sig: str = "",
    verifysession: str = "",
    js_ver: str = "",
) -> HttpRequest:
    query: list[tuple[str, str]] = [
        ("u", str(qq)),
        ("p", p_hash),
        ("verifycode", verifycode),
        ("webqq_type", "10"),
        ("remember_uin", "1"),
        ("login2qq", "1"),
        ("aid", str(p.appid)),
        ("u1", p.u1),
        ("h", "1"),
        ("ptredirect", "0"),
        ("ptlang", "2052"),
        ("daid", "164"),
        ("from_ui", "1"),
        ("pttype", "1"),
        ("dumy", ""),
        ("fp", "loginerroralert"),
        ("action", f"4-15-{random.randrange(3000, 20000)}"),
        ("mibao_css", "m_webqq"),
        ("t", "1"),
        ("g", "1"),
        ("js_type", "0"),
        ("js_ver", js_ver or p.js_ver),
        ("login_sig", login_sig),
    ]
    if verifysession:
        query.append(("pt_verifysession_v1", verifysession))
    return HttpRequest(
        "GET",
        PTLOGIN + "login",
        query=tuple(query),
        headers=(("Referer", p.login_page), ("User-Agent", UA)),
        endpoint="login",
    )


def check_sig(url: str) -> HttpRequest:
    """Follow the ``ptuiCB`` URL once, without a Referer, keeping the 302's cookies."""
    return HttpRequest("GET", url, headers=(("User-Agent", UA),), endpoint="check_sig")


# -- §2 QR login ------------------------------------------------------------------------


def ptqrshow(p: Profile) -> HttpRequest:
    return HttpRequest(
        "GET",
        PTLOGIN + "ptqrshow",
        query=(
            ("appid", str(p.appid)),
            ("e", "0"),
            ("l", "M"),
            ("s", "5"),
            ("d", "72"),
            ("v", "4"),
            ("t", f"{random.random():.16f}"),
        ),
        headers=(("Referer", p.login_page), ("User-Agent", UA)),
        endpoint="ptqrshow",
    )


def ptqrlogin(p: Profile, qrsig: str, login_sig: str = "", started_ms: int = 0) -> HttpRequest:
    elapsed = max(0, int(time.time() * 1000) - started_ms) if started_ms else 0
    return HttpRequest(
        "GET",
        PTLOGIN + "ptqrlogin",
        query=(
            ("ptqrtoken", str(hash33(qrsig))),
            ("webqq_type", "10"),
            ("remember_uin", "1"),
            ("login2qq", "1"),
            ("aid", str(p.appid)),
            ("u1", p.u1),
            ("ptredirect", "0"),
            ("ptlang", "2052"),
            ("daid", "164"),
            ("from_ui", "1"),
            ("pttype", "1"),
            ("dumy", ""),
            ("fp", "loginerroralert"),
            ("action", f"0-0-{elapsed}"),
            ("mibao_css", "m_webqq"),
            ("t", "undefined"),
            ("g", "1"),
            ("js_type", "0"),
            ("js_ver", p.js_ver),
            ("login_sig", login_sig),
            ("pt_randsalt", "0"),
        ),
        headers=(("Referer", p.login_page), ("User-Agent", UA)),
        endpoint="ptqrlogin",
    )


# -- §3 session -------------------------------------------------------------------------


def getvfwebqq(s: SessionState) -> HttpRequest:
    return _api_get(
        s, "getvfwebqq", [("ptwebqq", s.ptwebqq), ("clientid", str(s.clientid)), ("psessionid", "")]
    )


def login2(s: SessionState, *, relink: bool = False) -> HttpRequest:
    """``channel/login2``; ``relink=True`` re-uses the current psessionid with ``key:""``."""
    r: dict[str, Any]
    if relink:
        r = {
            "ptwebqq": s.ptwebqq,
            "clientid": s.clientid,
            "psessionid": s.psessionid,
            "key": "",
            "status": s.status,
        }
    elif s.profile.uses_getvfwebqq:
        r = {"ptwebqq": s.ptwebqq, "clientid": s.clientid, "psessionid": "", "status": s.status}
    else:
        r = {
            "status": s.status,
            "ptwebqq": s.ptwebqq,
            "passwd_sig": "",
            "clientid": str(s.clientid),
            "psessionid": None,
        }
    return _channel_post(s, "login2", r)


# -- §5 info / list APIs ----------------------------------------------------------------


def get_user_friends2(s: SessionState) -> HttpRequest:
    return _api_post(
        s,
        "get_user_friends2",
        {"vfwebqq": s.vfwebqq, "hash": s.profile.friend_hash(s.uin, s.ptwebqq)},
    )


def get_group_name_list_mask2(s: SessionState) -> HttpRequest:
    return _api_post(
        s,
        "get_group_name_list_mask2",
        {"vfwebqq": s.vfwebqq, "hash": s.profile.friend_hash(s.uin, s.ptwebqq)},
    )


def get_discus_list(s: SessionState) -> HttpRequest:
    return _api_get(s, "get_discus_list", [*_sid(s), ("vfwebqq", s.vfwebqq)])


def get_self_info2(s: SessionState) -> HttpRequest:
    return _api_get(s, "get_self_info2", [])


def get_online_buddies2(s: SessionState) -> HttpRequest:
    return _channel_get(s, "get_online_buddies2", [("vfwebqq", s.vfwebqq), *_sid(s)])


def get_recent_list2(s: SessionState) -> HttpRequest:
    return _channel_post(
        s,
        "get_recent_list2",
        {"vfwebqq": s.vfwebqq, "clientid": s.clientid, "psessionid": s.psessionid},
    )


def get_friend_info2(s: SessionState, uin: int) -> HttpRequest:
    return _api_get(s, "get_friend_info2", [("tuin", str(uin)), ("vfwebqq", s.vfwebqq), *_sid(s)])


def get_single_long_nick2(s: SessionState, uin: int) -> HttpRequest:
    return _api_get(s, "get_single_long_nick2", [("tuin", str(uin)), ("vfwebqq", s.vfwebqq)])


def get_group_info_ext2(s: SessionState, gcode: int) -> HttpRequest:
    return _api_get(s, "get_group_info_ext2", [("gcode", str(gcode)), ("vfwebqq", s.vfwebqq)])


def get_discu_info(s: SessionState, did: int) -> HttpRequest:
    return _channel_get(s, "get_discu_info", [("did", str(did)), ("vfwebqq", s.vfwebqq), *_sid(s)])


def get_friend_uin2(s: SessionState, uin: int, kind: int = 1) -> HttpRequest:
    return _api_get(
        s, "get_friend_uin2", [("tuin", str(uin)), ("type", str(kind)), ("vfwebqq", s.vfwebqq)]
    )


def get_c2cmsg_sig2(
    s: SessionState, gid_or_did: int, to_uin: int, service_type: int
) -> HttpRequest:
    return _channel_get(
        s,
        "get_c2cmsg_sig2",
        [
            ("id", str(gid_or_did)),
            ("to_uin", str(to_uin)),
            ("service_type", str(service_type)),
            *_sid(s),
        ],
    )


def change_status2(s: SessionState, status: str) -> HttpRequest:
    return _channel_get(s, "change_status2", [("newstatus", status), *_sid(s)])


def logout(s: SessionState) -> HttpRequest:
    """WebQQ 3.0 ``logout2``; SmartQQ logs out of ptlogin (§5.13)."""
    if not s.profile.uses_getvfwebqq:
        return _channel_get(s, "logout2", [("ids", ""), *_sid(s)])
    skey = s.cookies.get("skey") or ""
    return HttpRequest(
        "GET",
        "https://ptlogin2.qq.com/logout",
        query=(
            ("pt4_token", s.cookies.get("pt4_token") or ""),
            ("pt4_hkey", str(time33(skey))),
            ("pt4_ptcz", str(hash33(s.cookies.get("ptcz") or ""))),
            ("deep_logout", "1"),
        ),
        headers=(("Referer", f"http://{s.profile.page_host}/"), ("User-Agent", UA)),
        endpoint="logout",
    )


# -- §6 poll, §7 send -------------------------------------------------------------------


def poll2(s: SessionState, timeout: float | None = None) -> HttpRequest:
    if s.profile.uses_getvfwebqq:
        r: dict[str, Any] = {
            "ptwebqq": s.ptwebqq,
            "clientid": s.clientid,
            "psessionid": s.psessionid,
            "key": "",
        }
    else:
        r = {"clientid": str(s.clientid), "psessionid": s.psessionid, "key": "", "ids": []}
    return _channel_post(s, "poll2", r, timeout=timeout)


def _send(
    s: SessionState, name: str, target: dict[str, Any], content: str, msg_id: int, face: int
) -> HttpRequest:
    r = {
        **target,
        "content": content,
        "face": face,
        "clientid": s.clientid,
        "msg_id": msg_id,
        "psessionid": s.psessionid,
    }
    return _channel_post(s, name, r)


def send_buddy_msg2(
    s: SessionState, to: int, content: str, msg_id: int, face: int = 0
) -> HttpRequest:
    """``content`` is the already-encoded JSON text (see :meth:`Content.encode`)."""
    return _send(s, "send_buddy_msg2", {"to": to}, content, msg_id, face)


def send_qun_msg2(
    s: SessionState, group_uin: int, content: str, msg_id: int, face: int = 0
) -> HttpRequest:
    return _send(s, "send_qun_msg2", {"group_uin": group_uin}, content, msg_id, face)


def send_discu_msg2(
    s: SessionState, did: int, content: str, msg_id: int, face: int = 0
) -> HttpRequest:
    return _send(s, "send_discu_msg2", {"did": did}, content, msg_id, face)


def send_sess_msg2(
    s: SessionState,
    to: int,
    group_sig: str,
    service_type: int,
    content: str,
    msg_id: int,
    face: int = 0,
) -> HttpRequest:
    return _send(
        s,
        "send_sess_msg2",
        {"to": to, "group_sig": group_sig, "service_type": service_type},
        content,
        msg_id,
        face,
    )


def msg_id_base(now_ms: int | None = None) -> int:
    """Tencent's msg_id start: ``(floor(now_ms / 1000) mod 10000) * 10000`` (§7.4)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return (ms // 1000 % 10000) * 10000
