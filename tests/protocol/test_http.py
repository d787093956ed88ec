from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartqq.protocol import CookieJar, HttpRequest, redact
from smartqq.protocol.http import form_encode
from smartqq.protocol.redact import register_secret


def test_cookie_domains_match_real_hosts() -> None:
    jar = CookieJar()
    # Each response sets cookies for domains its own host is inside (as the real hosts did).
    jar.update_from(
        "https://ssl.ptlogin2.qq.com/ptqrshow",
        ["qrsig=abc; Domain=ptlogin2.qq.com; Path=/", "bad cookie line without equals"],
    )
    jar.update_from(
        "http://ptlogin4.web2.qq.com/check_sig",
        ["uin=o0123456789; Domain=qq.com; Path=/", "p_skey=PS; Domain=web2.qq.com; Path=/"],
    )
    assert jar.get("uin") == "o0123456789"
    header = jar.header_for("https://d1.web2.qq.com/channel/poll2")
    assert "uin=o0123456789" in header
    assert "p_skey=PS" in header
    assert "qrsig" not in header
    assert "qrsig=abc" in jar.header_for("https://ssl.ptlogin2.qq.com/ptqrlogin")
    assert jar.header_for("https://example.com/") == ""


def test_cookie_deletion_and_specific_domain_wins() -> None:
    jar = CookieJar()
    jar.set("p_skey", "wide", "qq.com")
    jar.set("p_skey", "narrow", "web2.qq.com")
    assert "p_skey=narrow" in jar.header_for("http://s.web2.qq.com/api/x")
    jar.update_from("http://ptlogin4.web2.qq.com/", ["p_skey=; Domain=qq.com; Max-Age=0"])
    assert jar.get("p_skey") == "narrow"
    jar.update_from(
        "http://x.qq.com/", ["a=1; Domain=qq.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]
    )
    assert jar.get("a") is None
    restored = CookieJar.from_list(jar.to_list())
    assert restored.get("p_skey", "web2.qq.com") == "narrow"
    assert "p_skey" in repr(restored)
    assert "narrow" not in repr(restored)


def test_request_repr_redacts() -> None:
    req = HttpRequest(
        "GET", "https://s.web2.qq.com/api/getvfwebqq", query=(("ptwebqq", "deadbeef"),)
    )
    assert "deadbeef" not in repr(req)
    assert req.full_url.endswith("ptwebqq=deadbeef")
    assert req.host == "s.web2.qq.com"


def test_redact_forms() -> None:
    text = 'r={"psessionid":"abcdef","vfwebqq":"1234","to":5}&skey=@xyz; ptwebqq=99'
    out = redact(text)
    for secret in ("abcdef", "1234", "@xyz", "=99"):
        assert secret not in out
    assert '"to":5' in out
    register_secret("hunter2hunter2")
    assert "hunter2" not in redact("the password is hunter2hunter2")


# -- form_encode: urlencode's output, byte for byte ------------------------------------


@given(
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_categories=("Cs",))),
            st.text(st.characters(blacklist_categories=("Cs",))),
        ),
        max_size=4,
    )
)
def test_form_encode_is_urlencode(pairs: list[tuple[str, str]]) -> None:
    assert form_encode(pairs) == urlencode(pairs).encode("ascii")


def test_form_encode_of_a_poll2_form() -> None:
    r = '{"ptwebqq":"p t+q","clientid":53999199,"psessionid":"8368\u4e2d","key":""}'
    form = (("r", r), ("clientid", "53999199"))
    assert form_encode(form) == urlencode(form).encode("ascii")
    assert form_encode(form).startswith(b"r=%7B%22ptwebqq%22%3A%22p+t%2Bq%22")


def test_with_headers_is_replace_of_headers_and_max_bytes_and_keeps_every_other_field() -> None:
    request = HttpRequest(
        "POST",
        "https://d1.web2.qq.com/channel/send_buddy_msg2",
        query=(("a", "1"),),
        form=(("r", "{}"),),
        headers=(("Referer", "x"),),
        endpoint="send_buddy_msg2",
        timeout=7.0,
        max_bytes=10,
        body=b"raw",
    )
    # Every field is set to a non-default value above, so a field added to HttpRequest
    # and forgotten in with_headers shows up here.
    settable = [f for f in dataclasses.fields(HttpRequest) if f.init]  # not the cached form
    assert all(getattr(request, f.name) != f.default for f in settable), (
        "give every field a non-default value in this test"
    )
    headers = (("Cookie", "a=b"),)
    assert request.with_headers(headers, max_bytes=99) == dataclasses.replace(
        request, headers=headers, max_bytes=99
    )


def test_the_form_is_encoded_once_per_request_and_carried_by_with_headers() -> None:
    request = HttpRequest("POST", "https://d1.web2.qq.com/channel/poll2", form=(("r", "{}"),))
    copy = request.with_headers((("Cookie", "a=b"),), max_bytes=None)
    assert copy.form_body() == b"r=%7B%7D"
    # The same bytes object: encoded once, on the request the poller keeps and resends.
    assert copy.form_body() is request.form_body()
    assert request.with_headers((), max_bytes=1).form_body() is request.form_body()
    # A request without a form has nothing encoded to carry.
    bare = HttpRequest("GET", "https://s.web2.qq.com/api/x")
    assert bare.with_headers((), max_bytes=None).form_body() == b""


POLL2 = "https://d1.web2.qq.com/channel/poll2"


def test_the_cookie_header_is_remembered_until_the_jar_changes() -> None:
    jar = CookieJar()
    jar.set("ptwebqq", "one", "qq.com")
    first = jar.header_for(POLL2)
    assert first == "ptwebqq=one"
    assert jar.header_for(POLL2) is first  # asked again, unchanged: the same string
    jar.set("ptwebqq", "two", "qq.com")
    assert jar.header_for(POLL2) == "ptwebqq=two"
    jar.set("skey", "s", "qq.com")
    assert jar.header_for(POLL2) == "ptwebqq=two; skey=s"
    jar.delete("skey")
    assert jar.header_for(POLL2) == "ptwebqq=two"
    assert jar.header_for("https://example.com/") == ""  # another URL: worked out afresh
    assert jar.header_for(POLL2) == "ptwebqq=two"


def test_a_remembered_cookie_header_ends_when_a_cookie_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jar = CookieJar()
    start = 1_800_000_000.0
    jar.update_from(POLL2, ["keep=1; Domain=qq.com", "brief=2; Domain=qq.com; Max-Age=60"], start)
    monkeypatch.setattr("smartqq.protocol.cookies.time.time", lambda: start + 1)
    assert jar.header_for(POLL2) == "keep=1; brief=2"
    monkeypatch.setattr("smartqq.protocol.cookies.time.time", lambda: start + 61)
    assert jar.header_for(POLL2) == "keep=1"
    # An explicit moment is answered for that moment, never from what was remembered.
    assert jar.header_for(POLL2, now=start + 1) == "keep=1; brief=2"
    assert jar.header_for(POLL2) == "keep=1"
