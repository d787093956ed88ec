"""A login against a hostile service: every failure is a SmartQQError (issue 13 item 2).

A scripted QR login (MockTransport, no sockets) answers well at every step but
one, which answers with something a broken or hostile server could send.
"""

from __future__ import annotations

import json

import pytest

from smartqq import Client
from smartqq.errors import SmartQQError
from smartqq.protocol.http import HttpRequest, HttpResponse
from smartqq.transport import MockTransport

GOOD = {
    "login_page": HttpResponse(200, b"<html></html>"),
    "ptqrshow": HttpResponse(
        200, b"\x89PNG not really", (("Set-Cookie", "qrsig=q1; Domain=ptlogin2.qq.com"),)
    ),
    "ptqrlogin": HttpResponse(
        200, b"ptuiCB('0','0','https://ptlogin2.web2.qq.com/check_sig?x=1','0','ok', 'bot')"
    ),
    "check_sig": HttpResponse(
        302,
        b"",
        (
            ("Set-Cookie", "uin=o0001000; Domain=qq.com; Path=/"),
            ("Set-Cookie", "ptwebqq=abc; Domain=qq.com; Path=/"),
        ),
    ),
    "getvfwebqq": HttpResponse(200, b'{"retcode":0,"result":{"vfwebqq":"v"}}'),
    "login2": HttpResponse(
        200, b'{"retcode":0,"result":{"uin":1000,"psessionid":"ps","status":"online"}}'
    ),
    "get_online_buddies2": HttpResponse(200, b'{"retcode":0,"result":[]}'),
}

DEEP = b"[" * 100_000 + b"]" * 100_000
HOSTILE = [
    ("login_page", HttpResponse(200, b"x" * (3 << 20))),
    ("ptqrshow", HttpResponse(200, b"\x89PNG", (("Set-Cookie", "qrsig=; Max-Age=0"),))),
    ("ptqrlogin", HttpResponse(200, b"ptuiCB('0','0','http://[broken','0','ok','bot')")),
    ("ptqrlogin", HttpResponse(200, b"ptuiCB('" + b"9" * 5000 + b"','0','','0','x','y')")),
    ("ptqrlogin", HttpResponse(200, DEEP)),
    (
        "check_sig",
        HttpResponse(302, b"", (("Set-Cookie", "uin=o" + "9" * 5000 + "; Domain=qq.com"),)),
    ),
    ("getvfwebqq", HttpResponse(200, b'{"retcode":0,"result":{"vfwebqq":1e999}}')),
    ("getvfwebqq", HttpResponse(200, DEEP)),
    ("login2", HttpResponse(200, b'{"retcode":0,"result":{"uin":Infinity,"psessionid":"p"}}')),
    (
        "login2",
        HttpResponse(
            200, b'{"retcode":0,"result":{"uin":"' + b"1" * 5000 + b'","psessionid":"p"}}'
        ),
    ),
    ("login2", HttpResponse(200, b'{"retcode":NaN}')),
    ("login2", HttpResponse(200, b'{"retcode":0,"result":{"uin":[1],"psessionid":{}}}')),
    ("login2", HttpResponse(500, b"")),
]


def service(step: str, hostile: HttpResponse) -> MockTransport:
    def handler(request: HttpRequest) -> HttpResponse:
        if request.endpoint == step:
            return hostile
        return GOOD.get(request.endpoint, HttpResponse(404))

    return MockTransport(handler)


async def test_the_good_script_logs_in() -> None:
    client = Client(transport=service("none", HttpResponse(200)), on_qrcode=lambda qr: None)
    try:
        state = await client.login()
    finally:
        await client.close()
    assert (state.qq, state.uin, state.psessionid) == (1000, 1000, "ps")


@pytest.mark.parametrize(
    ("step", "hostile"), HOSTILE, ids=[f"{s}-{i}" for i, (s, _) in enumerate(HOSTILE)]
)
async def test_a_hostile_answer_at_any_step_is_a_typed_error(
    step: str, hostile: HttpResponse
) -> None:
    client = Client(transport=service(step, hostile), on_qrcode=lambda qr: None, max_qr_refreshes=0)
    try:
        with pytest.raises(SmartQQError):
            await client.login()
    finally:
        await client.close()


def test_the_table_covers_every_step_of_the_flow() -> None:
    assert {step for step, _ in HOSTILE} == set(GOOD) - {"get_online_buddies2"}
    assert json.loads(GOOD["getvfwebqq"].body)["retcode"] == 0
