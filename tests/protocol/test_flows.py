"""Login flows driven by canned responses: no sockets, no event loop."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from smartqq.errors import (
    CaptchaRequired,
    HTTPStatusError,
    ProtocolError,
    QRCodeExpired,
    WrongCaptcha,
    WrongPassword,
)
from smartqq.protocol import (
    SMARTQQ,
    WEBQQ3,
    HttpRequest,
    HttpResponse,
    NeedCaptcha,
    QRStatus,
    SessionState,
    ShowQRCode,
    Wait,
    hash33,
    password_hash,
    password_login_flow,
    qr_login_flow,
    relink_flow,
)
from smartqq.protocol.flows import LoginFlow

Handler = Callable[[HttpRequest], HttpResponse]
PAGE = b'g_login_sig=encodeURIComponent("SIG"),g_pt_version=encodeURIComponent("10233");'
CHECK_SIG = "http://ptlogin4.web2.qq.com/check_sig?pttype=1&uin=1234567890&ptsigx=ab"
SESSION_COOKIES = [
    "uin=o1234567890; Domain=qq.com; Path=/",
    "skey=@abc; Domain=qq.com; Path=/",
    "ptwebqq=" + "f" * 64 + "; Domain=qq.com; Path=/",
    "p_skey=ps; Domain=web2.qq.com; Path=/",
]


def drive(
    flow: LoginFlow, handler: Handler, state: SessionState, answers: dict[type, Any]
) -> tuple[SessionState, list[Any]]:
    """A synchronous driver doing what the async client does."""
    steps: list[Any] = []
    send: Any = None
    while True:
        try:
            step = flow.send(send)
        except StopIteration as stop:
            return stop.value, steps
        steps.append(step)
        if isinstance(step, HttpRequest):
            resp = handler(step)
            state.cookies.update_from(step.url, resp.header_all("Set-Cookie"))
            send = resp
        elif isinstance(step, NeedCaptcha):
            send = answers[NeedCaptcha](step)
        else:
            send = None


def ok(body: str | bytes, cookies: list[str] = (), status: int = 200) -> HttpResponse:  # type: ignore[assignment]
    data = body.encode() if isinstance(body, str) else body
    return HttpResponse(status, data, tuple(("Set-Cookie", c) for c in cookies))


def channel(req: HttpRequest) -> HttpResponse | None:
    if req.endpoint == "getvfwebqq":
        return ok(json.dumps({"retcode": 0, "result": {"vfwebqq": "v" * 80}}))
    if req.endpoint == "login2":
        r = json.loads(dict(req.form or ())["r"])
        assert "ptwebqq" in r
        return ok(
            json.dumps(
                {
                    "retcode": 0,
                    "result": {
                        "uin": 1234567890,
                        "psessionid": "s" * 40,
                        "vfwebqq": "w" * 80,
                        "status": "online",
                    },
                }
            )
        )
    if req.endpoint == "get_online_buddies2":
        return ok('{"retcode":0,"result":[]}')
    if req.endpoint == "check_sig":
        assert req.header("Referer") is None
        return ok(b"", SESSION_COOKIES, status=302)
    return None


def test_qr_flow_66_67_65_then_0() -> None:
    states = iter([66, 67, 65, 66, 0])
    shown: list[int] = []

    def handler(req: HttpRequest) -> HttpResponse:
        if req.endpoint == "login_page":
            return ok(PAGE, ["pt_login_sig=SIG; Domain=ptlogin2.qq.com"])
        if req.endpoint == "ptqrshow":
            shown.append(1)
            return ok(b"\x89PNG...", [f"qrsig=QR{len(shown)}; Domain=ptlogin2.qq.com; Path=/"])
        if req.endpoint == "ptqrlogin":
            q = dict(req.query)
            assert q["ptqrtoken"] == str(hash33(f"QR{len(shown)}"))
            assert q["login_sig"] == "SIG"
            code = next(states)
            url = CHECK_SIG if code == 0 else ""
            return ok(f"ptuiCB('{code}','0','{url}','0','msg', 'Bot')")
        resp = channel(req)
        assert resp is not None, req
        return resp

    state = SessionState(SMARTQQ)
    final, steps = drive(qr_login_flow(state, poll_interval=0.5), handler, state, {})
    assert final.qq == 1234567890
    assert final.uin == 1234567890
    assert final.psessionid == "s" * 40
    assert final.vfwebqq == "v" * 80  # getvfwebqq's value, not login2's (SmartQQ)
    assert final.ptwebqq == "f" * 64
    assert final.nick == "Bot"
    assert [s.attempt for s in steps if isinstance(s, ShowQRCode)] == [0, 1]
    assert sum(isinstance(s, Wait) for s in steps) == 3
    # Progress is reported on changes only: 66 waiting, 67 scanned, 65 expired.
    assert [(s.status, s.attempt) for s in steps if isinstance(s, QRStatus)] == [
        ("waiting", 0),
        ("scanned", 0),
        ("expired", 0),
        ("waiting", 1),
    ]
    # the real page's order: login2 then one get_online_buddies2
    endpoints = [s.endpoint for s in steps if isinstance(s, HttpRequest)]
    assert endpoints[-3:] == ["getvfwebqq", "login2", "get_online_buddies2"]


def test_qr_flow_gives_up_after_refresh_limit() -> None:
    def handler(req: HttpRequest) -> HttpResponse:
        if req.endpoint == "ptqrshow":
            return ok(b"png", ["qrsig=Q; Domain=ptlogin2.qq.com"])
        if req.endpoint == "ptqrlogin":
            return ok("ptuiCB('65','0','','0','expired', '')")
        return ok(b"")

    state = SessionState(SMARTQQ)
    with pytest.raises(QRCodeExpired):
        drive(qr_login_flow(state, max_refreshes=2), handler, state, {})


def test_qr_flow_needs_qrsig_and_status_200() -> None:
    state = SessionState(SMARTQQ)
    with pytest.raises(ProtocolError):
        drive(qr_login_flow(state), lambda r: ok(b""), state, {})
    state = SessionState(SMARTQQ)
    with pytest.raises(HTTPStatusError):
        drive(qr_login_flow(state), lambda r: ok(b"", status=502), state, {})


def _password_handler(captcha: bool, results: list[int]) -> Handler:
    answers = iter(results)

    def handler(req: HttpRequest) -> HttpResponse:
        if req.endpoint == "login_page":
            return ok(PAGE)
        if req.endpoint == "check":
            if captcha:
                return ok(
                    "ptui_checkVC('1','CAPCD','\\x00\\x00\\x00\\x00\\x49\\x96\\x02\\xd2','','0');"
                )
            return ok(
                "ptui_checkVC('0','!ABC','\\x00\\x00\\x00\\x00\\x49\\x96\\x02\\xd2','VS','0');"
            )
        if req.endpoint == "getimage":
            assert dict(req.query)["cap_cd"] == "CAPCD"
            return ok(b"JPEG", ["verifysession=VSC; Domain=qq.com"])
        if req.endpoint == "login":
            q = dict(req.query)
            code = next(answers)
            if captcha:
                assert q["pt_verifysession_v1"] == "VSC"
                assert q["p"] == password_hash("password", 1234567890, q["verifycode"])
            else:
                assert q["p"] == "7B6ED3472181A432C2A35EE534A133CE"
                assert q["pt_verifysession_v1"] == "VS"
            url = CHECK_SIG if code == 0 else ""
            return ok(f"ptuiCB('{code}','0','{url}','0','m', 'Nick')")
        resp = channel(req)
        assert resp is not None, req
        return resp

    return handler


def test_password_flow_without_captcha() -> None:
    state = SessionState(SMARTQQ)
    final, _ = drive(
        password_login_flow(state, 1234567890, "password"), _password_handler(False, [0]), state, {}
    )
    assert final.psessionid == "s" * 40


def test_password_flow_wrong_captcha_then_right() -> None:
    state = SessionState(SMARTQQ)
    codes = iter(["abcd", "wxyz"])
    final, steps = drive(
        password_login_flow(state, 1234567890, "password"),
        _password_handler(True, [4, 0]),
        state,
        {NeedCaptcha: lambda step: next(codes)},
    )
    assert [s.attempt for s in steps if isinstance(s, NeedCaptcha)] == [0, 1]
    assert final.qq == 1234567890


def test_password_flow_errors() -> None:
    state = SessionState(SMARTQQ)
    with pytest.raises(WrongPassword):
        drive(
            password_login_flow(state, 1234567890, "password"),
            _password_handler(False, [3]),
            state,
            {},
        )
    state = SessionState(SMARTQQ)
    with pytest.raises(CaptchaRequired):
        drive(
            password_login_flow(state, 1234567890, "password", has_captcha_solver=False),
            _password_handler(True, [0]),
            state,
            {},
        )
    state = SessionState(SMARTQQ)
    with pytest.raises(WrongCaptcha):
        drive(
            password_login_flow(state, 1234567890, "password", max_captcha_attempts=2),
            _password_handler(True, [4, 4]),
            state,
            {NeedCaptcha: lambda s: "zzzz"},
        )
    state = SessionState(SMARTQQ)
    with pytest.raises(CaptchaRequired):
        drive(
            password_login_flow(state, 1234567890, "password"),
            _password_handler(True, [0]),
            state,
            {NeedCaptcha: lambda s: ""},
        )


def test_webqq3_profile_uses_login2_vfwebqq_and_form_fields() -> None:
    seen: list[HttpRequest] = []

    def handler(req: HttpRequest) -> HttpResponse:
        seen.append(req)
        return _password_handler(False, [0])(req)

    state = SessionState(WEBQQ3)
    final, _ = drive(password_login_flow(state, 1234567890, "password"), handler, state, {})
    assert final.vfwebqq == "w" * 80
    login2 = next(r for r in seen if r.endpoint == "login2")
    form = dict(login2.form or ())
    assert form["psessionid"] == "null"
    assert json.loads(form["r"])["passwd_sig"] == ""
    assert login2.url.startswith("http://d.web2.qq.com/channel/")
    assert not any(r.endpoint == "getvfwebqq" for r in seen)


def test_relink_flow_sends_current_psessionid() -> None:
    state = SessionState(SMARTQQ, qq=1, uin=1, psessionid="OLD", ptwebqq="p")

    def handler(req: HttpRequest) -> HttpResponse:
        if req.endpoint == "login2":
            r = json.loads(dict(req.form or ())["r"])
            assert r["psessionid"] == "OLD"
            assert r["key"] == ""
        resp = channel(req)
        assert resp is not None
        return resp

    final, _ = drive(relink_flow(state), handler, state, {})
    assert final.psessionid == "s" * 40


def test_login2_bad_answers() -> None:
    state = SessionState(SMARTQQ, psessionid="x")
    with pytest.raises(ProtocolError):
        drive(relink_flow(state), lambda r: ok('{"retcode":0,"result":{"nope":1}}'), state, {})
    with pytest.raises(ProtocolError):
        drive(relink_flow(state), lambda r: ok('{"retcode":0,"result":[]}'), state, {})
