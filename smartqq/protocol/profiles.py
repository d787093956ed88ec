"""The two eras of the protocol as data: hosts, appids, referers, clientid policy (§0.2, §8)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote

from .hashing import friend_hash, friend_hash_password_error

__all__ = ["PROFILES", "SMARTQQ", "WEBQQ3", "ClientIdPolicy", "Profile", "profile_by_name"]


class ClientIdPolicy(Enum):
    FIXED = "fixed"  # SmartQQ: the constant 53999199
    RANDOM = "random"  # WebQQ 3.0: random(0..99) + now_ms % 1e6, once per login


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    appid: int
    page_host: str
    channel_host: str
    api_host: str
    login_page: str
    s_url: str
    api_referer: str
    channel_referer: str
    channel_origin: str
    api_origin: str
    js_ver: str
    clientid_policy: ClientIdPolicy
    uses_getvfwebqq: bool
    repeat_form_fields: bool
    """WebQQ 3.0 repeated clientid/psessionid as form fields beside ``r``."""
    friend_hash: Callable[[int, str], str]
    scheme: str = "https"

    @property
    def channel(self) -> str:
        return f"{self.scheme}://{self.channel_host}/channel/"

    @property
    def api(self) -> str:
        return f"{self.scheme}://{self.api_host}/api/"

    def new_clientid(self) -> int:
        if self.clientid_policy is ClientIdPolicy.FIXED:
            return 53999199
        return int(f"{random.randrange(100)}{int(time.time() * 1000) % 1_000_000}")

    @property
    def u1(self) -> str:
        return self.s_url + "?login2qq=1&webqq_type=10"


def _login_page(appid: int, style: int, s_url: str, t: str) -> str:
    return (
        "https://ui.ptlogin2.qq.com/cgi-bin/login?daid=164&target=self"
        f"&style={style}&mibao_css=m_webqq&appid={appid}&enable_qlogin=0&no_verifyimg=1"
        f"&s_url={quote(s_url, safe='')}&f_url=loginerroralert&strong_login=1"
        f"&login_state=10&t={t}"
    )


SMARTQQ = Profile(
    name="smartqq",
    appid=501004106,
    page_host="w.qq.com",
    channel_host="d1.web2.qq.com",
    api_host="s.web2.qq.com",
    login_page=_login_page(501004106, 16, "http://w.qq.com/proxy.html", "20131024001"),
    s_url="http://w.qq.com/proxy.html",
    api_referer="http://s.web2.qq.com/proxy.html?v=20130916001&callback=1&id=1",
    channel_referer="http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2",
    channel_origin="http://d1.web2.qq.com",
    api_origin="http://s.web2.qq.com",
    js_ver="10141",
    clientid_policy=ClientIdPolicy.FIXED,
    uses_getvfwebqq=True,
    repeat_form_fields=False,
    friend_hash=friend_hash,
)

WEBQQ3 = Profile(
    name="webqq3",
    appid=1003903,
    page_host="web2.qq.com",
    channel_host="d.web2.qq.com",
    api_host="s.web2.qq.com",
    login_page=_login_page(1003903, 5, "http://web2.qq.com/loginproxy.html", "20140612002"),
    s_url="http://web2.qq.com/loginproxy.html",
    api_referer="http://s.web2.qq.com/proxy.html?v=20110412001&callback=1&id=3",
    channel_referer="http://d.web2.qq.com/proxy.html?v=20110331002&callback=1&id=2",
    channel_origin="http://d.web2.qq.com",
    api_origin="http://s.web2.qq.com",
    js_ver="10040",
    clientid_policy=ClientIdPolicy.RANDOM,
    uses_getvfwebqq=False,
    repeat_form_fields=True,
    friend_hash=friend_hash_password_error,
    scheme="http",
)

PROFILES: dict[str, Profile] = {p.name: p for p in (SMARTQQ, WEBQQ3)}


def profile_by_name(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}") from None
