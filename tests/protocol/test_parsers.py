from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartqq.errors import APIError, ProtocolError, SessionExpiredError
from smartqq.protocol import (
    parse_check_vc,
    parse_envelope,
    parse_login_page,
    parse_ptuicb,
    parse_send_response,
)


def test_check_vc_two_args() -> None:
    vc = parse_check_vc("ptui_checkVC('1','a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6');")
    assert vc.needs_captcha
    assert vc.salt is None
    assert vc.code.startswith("a1b2")


def test_check_vc_three_args_decodes_salt() -> None:
    vc = parse_check_vc(r"ptui_checkVC('0','!PTH','\x00\x00\x00\x00\x64\x74\x8b\x05');")
    assert not vc.needs_captcha
    assert vc.code == "!PTH"
    assert vc.salt == b"\x00\x00\x00\x00\x64\x74\x8b\x05"
    assert int.from_bytes(vc.salt, "big") == 1685359365


def test_check_vc_five_args() -> None:
    vc = parse_check_vc(
        r"ptui_checkVC('0','!ABC','\x00\x00\x00\x00\x49\x96\x02\xd2','f5e1f3c4a9b8','2');"
    )
    assert vc.verifysession == "f5e1f3c4a9b8"
    assert vc.rand_salt == "2"
    assert vc.salt == (1234567890).to_bytes(8, "big")


def test_check_vc_short_salt_padded_to_8() -> None:
    vc = parse_check_vc(r"ptui_checkVC('0','!ABC','\x49\x96\x02\xd2')")
    assert vc.salt == b"\x00\x00\x00\x00\x49\x96\x02\xd2"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nothing here",
        "ptui_checkVC(",
        "ptui_checkVC()",
        "ptui_checkVC('7','x')",
        "ptui_checkVC('0')",
        r"ptui_checkVC('0','!A','zz')",
    ],
)
def test_check_vc_rejects(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_check_vc(text)


def test_ptuicb_success_with_space_after_comma() -> None:
    cb = parse_ptuicb(
        "ptuiCB('0','0','http://ptlogin4.web2.qq.com/check_sig?pttype=1&uin=123&service=ptqrlogin',"
        "'0','登录成功！', '小明');"
    )
    assert (cb.code, cb.subcode, cb.redirect, cb.message, cb.nick) == (
        0,
        0,
        "0",
        "登录成功！",
        "小明",
    )
    assert cb.url.endswith("service=ptqrlogin")


@pytest.mark.parametrize("code", [65, 66, 67])
def test_ptuicb_qr_states(code: int) -> None:
    cb = parse_ptuicb(f"ptuiCB('{code}','0','','0','二维码未失效。(1234)', '')")
    assert cb.code == code


def test_ptuicb_message_with_commas_and_quotes() -> None:
    cb = parse_ptuicb("ptuiCB('4','2','','0','wrong, try \\'again\\', please', 'nick, with comma')")
    assert cb.code == 4
    assert cb.subcode == 2
    assert cb.message == "wrong, try \\'again\\', please"
    assert cb.nick == "nick, with comma"


def test_ptuicb_bad_code() -> None:
    with pytest.raises(ProtocolError):
        parse_ptuicb("ptuiCB('x','0','','0','m', '')")


def test_login_page_scrape() -> None:
    page = (
        'var g_login_sig=encodeURIComponent("sigVALUE-_*"),g_pt_version=encodeURIComponent("10233"),'
        'g_appid=encodeURIComponent("501004106");'
    )
    found = parse_login_page(page)
    assert found["login_sig"] == "sigVALUE-_*"
    assert found["pt_version"] == "10233"
    assert found["appid"] == "501004106"


def test_envelope_result_and_errors() -> None:
    assert parse_envelope(b'{"retcode":0,"result":{"a":1}}') == {"a": 1}
    assert parse_envelope('{"errCode":0,"msg":"send ok"}') is None
    with pytest.raises(SessionExpiredError) as ei:
        parse_envelope(b'{"retcode":103,"errmsg":"error"}', "poll2")
    assert ei.value.retcode == 103
    with pytest.raises(APIError) as ei2:
        parse_envelope(b'{"retcode":6}', "get_group_info_ext2")
    assert not isinstance(ei2.value, SessionExpiredError)
    for bad in (
        b"[1]",
        b"{}",
        b'{"retcode":"x"}',
        b'{"retcode":[1]}',
        b"not json",
        b'{"retcode":true}',
    ):
        with pytest.raises(ProtocolError):
            parse_envelope(bad)


def test_protocol_error_snippet_is_redacted() -> None:
    with pytest.raises(ProtocolError) as ei:
        parse_envelope(
            b'{"psessionid":"8368046764001d636f6e6e7365727665725f77656271714031302e3133', "x"
        )
    assert "8368046764" not in str(ei.value)


@pytest.mark.parametrize(
    ("body", "sent", "uncertain"),
    [
        (b'{"retcode":0,"result":"ok"}', True, False),
        (b'{"errCode":0,"msg":"send ok"}', True, False),
        (b'{"errmsg":"error!!!","retcode":100100}', True, False),
        (b'{"retcode":1202,"errmsg":""}', False, True),
    ],
)
def test_send_response(body: bytes, sent: bool, uncertain: bool) -> None:
    out = parse_send_response(body)
    assert (out.sent, out.uncertain) == (sent, uncertain)


def test_send_response_errors() -> None:
    with pytest.raises(SessionExpiredError):
        parse_send_response(b'{"errmsg":"error!!!","retcode":100012}')
    with pytest.raises(APIError):
        parse_send_response(b'{"errCode":5,"errMsg":"ERROR"}')
    with pytest.raises(ProtocolError):
        parse_send_response(b'{"msg":"?"}')


@given(st.text(max_size=200))
def test_ptlogin_parsers_only_raise_protocol_error(text: str) -> None:
    for parser in (parse_check_vc, parse_ptuicb):
        try:
            parser(text)
        except ProtocolError:
            pass
