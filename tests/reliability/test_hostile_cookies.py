"""A hostile server's cookies (issue 13 item 5): the jar is bounded per domain and in
all, refuses public suffixes and foreign domains, ignores oversize and injecting
values, and a saved session holds only the cookies the protocol needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from smartqq.emulator import Emulator
from smartqq.errors import ProtocolError, SmartQQError
from smartqq.protocol import CookieJar
from smartqq.protocol.cookies import (
    MAX_PER_DOMAIN,
    MAX_SET_COOKIE,
    MAX_TOTAL,
    MAX_VALUE_BYTES,
    PERSISTED_COOKIES,
    cookie_domain,
)
from smartqq.testing import make_client

from .hostile import hostile_server, tampering_proxy

PTLOGIN = "https://ssl.ptlogin2.qq.com/ptqrlogin"
CHECK_SIG = "http://ptlogin4.web2.qq.com/check_sig"
POLL = "https://d1.web2.qq.com/channel/poll2"


@pytest.mark.parametrize(
    "domain",
    ["com", ".com", "COM", "cn", "com.cn", ".com.cn", "net.cn", "com.hk", "co.uk", "github.io"],
)
def test_public_suffix_domains_are_refused(domain: str) -> None:
    jar = CookieJar()
    jar.update_from(CHECK_SIG, [f"skey=evil; Domain={domain}; Path=/"])
    jar.update_from("https://www.example.com.cn/", [f"skey=evil; Domain={domain}"])
    assert jar.get("skey") is None
    assert jar.header_for("https://anything.com/") == ""
    assert len(jar) == 0


def test_domains_outside_the_request_host_are_refused() -> None:
    jar = CookieJar()
    jar.update_from(
        CHECK_SIG,
        [
            "a=1; Domain=example.org",
            "b=1; Domain=ptlogin2.qq.com",  # a sibling, not a parent
            "c=1; Domain=eb2.qq.com",  # a suffix of the string, not of the labels
            "d=1; Domain=sub.ptlogin4.web2.qq.com",  # narrower than the host
            "ok=1; Domain=qq.com",
            "ok2=1; Domain=web2.qq.com",
            "ok3=1",
        ],
    )
    assert sorted(c.name for c in jar.cookies()) == ["ok", "ok2", "ok3"]
    # No Domain attribute: host-only (not sent to subdomains or siblings).
    assert "ok3=1" in jar.header_for(CHECK_SIG)
    assert "ok3" not in jar.header_for("http://x.ptlogin4.web2.qq.com/")
    assert "ok3" not in jar.header_for(POLL)


def test_ip_hosts_and_single_labels() -> None:
    assert cookie_domain("127.0.0.1", "0.0.1") is None
    assert cookie_domain("127.0.0.1", "127.0.0.1") == ("127.0.0.1", True)
    assert cookie_domain("127.0.0.1", "") == ("127.0.0.1", True)
    assert cookie_domain("localhost", "localhost") == ("localhost", True)
    assert cookie_domain("a.localhost", "localhost") is None
    assert cookie_domain("w.qq.com", ".QQ.com.") == ("qq.com", False)


def test_unsafe_values_and_names_are_ignored() -> None:
    jar = CookieJar()
    jar.update_from(
        PTLOGIN,
        [
            '"skey=x"',
            'skey="a\r\nX-Injected: 1"; Domain=qq.com',  # real CR LF inside quotes
            'skey="a\nb"; Domain=qq.com',
            'skey="a\tb"; Domain=qq.com',
            "skey=caf\u00e9; Domain=qq.com",
            "sk ey=1; Domain=qq.com",
            "sk(ey=1; Domain=qq.com",
            "=novalue; Domain=qq.com",
            'skey="nul\x00"; Domain=qq.com',
            'skey="del\x7f"; Domain=qq.com',
            f"skey={'v' * (MAX_VALUE_BYTES + 1)}; Domain=qq.com",
            f"{'n' * 300}=1; Domain=qq.com",
            "x" * 100_000,
            "skey=" + "v" * 50_000,
        ],
    )
    assert len(jar) == 0
    # A ";" ends the value (RFC 6265): what is stored holds no ";" to inject with.
    jar.update_from(PTLOGIN, ['skey="a;b"; Domain=qq.com'])
    assert jar.get("skey") == '"a'
    jar.update_from(PTLOGIN, ["skey=fine; Domain=qq.com"])
    assert jar.header_for(POLL) == "skey=fine"
    # A value the caller stores itself is checked too (e.g. ptwebqq from poll 116).
    for bad in ("a\r\nb", "a;b", "\x00", "é", "v" * (MAX_VALUE_BYTES + 1)):
        with pytest.raises(ProtocolError, match="refusing an unsafe value"):
            jar.set("ptwebqq", bad, "qq.com")
    assert jar.get("ptwebqq") is None


def test_the_jar_is_bounded_per_domain_and_in_total() -> None:
    jar = CookieJar()
    jar.update_from(CHECK_SIG, ["skey=keep; Domain=qq.com", "uin=o1; Domain=qq.com"])
    for start in range(0, 5_000, 100):  # 50 responses of 100 cookies each
        jar.update_from(CHECK_SIG, [f"junk{i}=x; Domain=qq.com" for i in range(start, start + 100)])
    on_qq = [c for c in jar.cookies() if c.domain == "qq.com"]
    assert len(on_qq) == MAX_PER_DOMAIN
    # The protocol's own cookies survive the flood; the oldest junk made room.
    assert jar.get("skey") == "keep"
    assert jar.get("uin") == "o1"
    assert jar.get("junk4999") == "x"
    assert jar.get("junk0") is None
    for i in range(40):
        jar.update_from(f"http://h{i}.web2.qq.com/", [f"j{k}=x" for k in range(60)])
    assert len(jar) == MAX_TOTAL
    assert jar.get("skey") == "keep"
    # Updating a cookie the jar already holds is always possible, full or not.
    jar.update_from(CHECK_SIG, ["skey=renewed; Domain=qq.com"])
    assert jar.get("skey") == "renewed"


def test_only_the_first_set_cookie_lines_of_a_response_are_read() -> None:
    jar = CookieJar()
    lines = [f"j{i}=x; Domain=ptlogin4.web2.qq.com" for i in range(MAX_SET_COOKIE)]
    jar.update_from(CHECK_SIG, [*lines, "late=1; Domain=qq.com"])
    assert jar.get("late") is None
    jar.update_from(CHECK_SIG, ["late=1; Domain=qq.com"])
    assert jar.get("late") == "1"


def test_one_set_cookie_line_is_one_cookie() -> None:
    jar = CookieJar()
    line = "; ".join(f"c{i}=x" for i in range(500))
    jar.update_from(CHECK_SIG, [line, "skey=S; extra=1; Domain=qq.com"])
    assert sorted(c.name for c in jar.cookies()) == ["c0", "skey"]
    assert jar.header_for("http://ptlogin4.web2.qq.com/") == "c0=x; skey=S"
    assert jar.header_for("http://[::1") == ""


def test_protocol_cookies_on_many_paths_cannot_grow_the_jar() -> None:
    jar = CookieJar()
    for start in range(0, 1000, 100):
        paths = range(start, start + 100)
        jar.update_from(CHECK_SIG, [f"skey={i}; Domain=qq.com; Path=/p{i}" for i in paths])
    assert len(jar) == MAX_PER_DOMAIN
    jar.delete("skey")
    assert len(jar) == 0
    jar.update_from(CHECK_SIG, ["skey=again; Domain=qq.com"])  # the count went down too
    assert jar.get("skey") == "again"


def test_expiry_attributes_are_bounded() -> None:
    jar = CookieJar()
    jar.update_from(
        CHECK_SIG,
        [
            "a=1; Domain=qq.com; Max-Age=" + "9" * 5000,
            "b=1; Domain=qq.com; Max-Age=1e999",
            "c=1; Domain=qq.com; Expires=Fri, 31 Dec 9999 23:59:59 GMT",
            "d=1; Domain=qq.com; Max-Age=²",
            "e=1; Domain=qq.com; Max-Age=10",
        ],
        now=1000.0,
    )
    assert sorted(c.name for c in jar.cookies()) == ["a", "b", "c", "d", "e"]
    assert "e=1" in jar.header_for(POLL, now=1005.0)
    assert "e=1" not in jar.header_for(POLL, now=1011.0)
    # Lifetimes are clamped to ten years: nothing overflows, nothing lives forever.
    later = 1000.0 + 11 * 365 * 86400
    assert jar.header_for(POLL, now=later) == "b=1; d=1"  # a, c, e expired; b, d never do
    jar.update_from(CHECK_SIG, ["a=; Domain=qq.com; Max-Age=0"], now=1000.0)
    assert jar.get("a") is None


def test_only_protocol_cookies_are_persisted() -> None:
    jar = CookieJar()
    jar.update_from(
        CHECK_SIG,
        [
            "skey=S; Domain=qq.com",
            "qrsig=Q; Domain=qq.com",
            "tracking=T; Domain=qq.com",
            "p_skey=P; Domain=web2.qq.com",
        ],
    )
    saved = jar.to_list()
    assert {c["name"] for c in saved} == {"skey", "p_skey"}
    assert {c["name"] for c in saved} <= PERSISTED_COOKIES
    restored = CookieJar.from_list([*saved, {"name": "tracking", "value": "T", "domain": "qq.com"}])
    assert sorted(c.name for c in restored.cookies()) == ["p_skey", "skey"]
    copy = jar.copy()
    assert len(copy) == len(jar) == 4


def _hostile_cookies(request: web.Request, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    host = request.headers.get("Host", "")
    evil = [
        "skey=evil; Domain=com; Path=/",
        "skey=evil; Domain=com.cn; Path=/",
        "uin=o666; Domain=example.org; Path=/",
        "ptwebqq=" + "f" * (MAX_VALUE_BYTES + 10) + "; Domain=qq.com; Path=/",
        *(f"junk{i}_{host}=x; Domain=qq.com; Path=/" for i in range(60)),
    ]
    return headers + [("Set-Cookie", line) for line in evil]


async def test_a_login_through_a_hostile_proxy_keeps_a_clean_session(
    emu: Emulator, tmp_path: Path
) -> None:
    session = tmp_path / "s.json"
    async with tampering_proxy(emu.url, _hostile_cookies) as proxy:
        await _login_via(proxy.url, session)
        sent = [c for c in proxy.cookies if c]
    assert sent, "the client sent no cookies at all"
    for header in sent:
        assert "evil" not in header
        assert "o666" not in header
        assert len(header.split("; ")) <= MAX_PER_DOMAIN * 3  # three domains in play
    saved = json.loads(session.read_text())["session"]["cookies"]
    names = {c["name"] for c in saved}
    assert names <= PERSISTED_COOKIES
    assert {"skey", "uin", "p_skey"} <= names
    assert all(c["value"] != "evil" for c in saved)
    # The clean file is enough to resume the same session without a new login.
    sid = json.loads(session.read_text())["session"]["psessionid"]
    resumed = make_client(emu, session_file=session)
    try:
        state = await resumed.login()
    finally:
        await resumed.close()
    assert state.qq == 10001
    assert state.psessionid == sid


async def _login_via(url: str, session: Path) -> None:
    from smartqq.client import Client

    client = Client(
        base_url=url,
        session_file=session,
        on_qrcode=lambda qr: None,
        qr_poll_interval=0.01,
    )
    try:
        await client.login()
    finally:
        await client.close()


async def test_a_server_that_only_sends_cookies_gets_a_typed_error(tmp_path: Path) -> None:
    from smartqq.client import Client

    async def flood(request: web.Request) -> web.StreamResponse:
        resp = web.Response(text="<html>no login here</html>", content_type="text/html")
        for i in range(90):
            resp.headers.add("Set-Cookie", f"j{i}=x; Domain=qq.com; Path=/")
        resp.headers.add("Set-Cookie", "skey=evil; Domain=com")
        return resp

    async with hostile_server(flood) as server:
        client = Client(base_url=server.url, session_file=tmp_path / "s.json", on_qrcode=print)
        try:
            with pytest.raises(SmartQQError):
                await client.login()
        finally:
            await client.close()
    assert server.requests  # the client really talked to it
    assert not (tmp_path / "s.json").exists()
