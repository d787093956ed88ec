"""ptlogin2 endpoints: login page, check, captcha, /login, QR show/poll, check_sig, logout.

The password is verified exactly as ptlogin did (PROTOCOL §1.4): the client
must send ``p = password_hash(password, qq, verifycode)`` for the verification
code this server handed out (``check``'s ``!XYZ`` or the captcha's letters).
"""

from __future__ import annotations

import html as html_text
import random
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from smartqq.protocol.hashing import hash33, password_hash

from .http import EmuRequest, EmuResponse, add_cookie, html, int_param, script_response
from .images import CAPTCHA_ALPHABET, captcha_png, qr_png
from .state import QRTicket, State

__all__ = ["ROUTES"]

# The real page's style, kept byte-for-byte where third-party clients scrape it: one
# ``g_name=encodeURIComponent("…")`` per variable, and self-closing hidden inputs with a
# space before ``/>`` (``<input type="hidden" name="aid" value="(\d+)" />``).
LOGIN_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>QQ帐号安全登录</title>
<script type="text/javascript">
var g_href=encodeURIComponent("{href}"),
g_appid=encodeURIComponent("{appid}"),
g_daid=encodeURIComponent("164"),
g_style=encodeURIComponent("{style}"),
g_mibao_css=encodeURIComponent("m_webqq"),
g_pt_version=encodeURIComponent("10233"),
g_login_sig=encodeURIComponent("{sig}"),
g_s_url=encodeURIComponent("{s_url}"),
g_jumpname=encodeURIComponent(""),
g_qtarget=encodeURIComponent("");
</script>
</head>
<body>
<form id="loginform" autocomplete="off" name="loginform" action="" method="post" target="_self" style="margin:0px;">
<input type="hidden" name="aid" value="{appid}" />
<input type="hidden" name="u1" value="{s_url}" />
<input type="hidden" name="from_ui" value="1" />
<input type="hidden" name="ptlang" value="2052" />
<input type="hidden" name="pt_vcode_v1" value="0" />
<input type="hidden" name="pt_verifysession_v1" value="" />
</form>
</body>
</html>
"""
DEFAULT_APPID = "501004106"
DEFAULT_S_URL = "http://w.qq.com/proxy.html"
DEFAULT_PROXIED = "http://w.qq.com/proxy.html?login2qq=1&webqq_type=10"
# w.qq.com/proxy.html (and the d1/s web2 proxies): a blank page that only widens
# document.domain so the web client's frames may call each other.
PROXY_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<script type="text/javascript">document.domain="qq.com";</script>
</head>
<body></body>
</html>
"""


def _digits(value: str, default: str) -> str:
    return value if value.isdigit() and len(value) <= 12 else default


def _url(value: str, default: str) -> str:
    """A URL we may echo in a page or a Location header (no control characters)."""
    ok = value.startswith(("http://", "https://")) and value.isprintable() and len(value) < 2048
    return value if ok else default


def _ptuicb(code: int, url: str, message: str, nick: str, sub: int = 0) -> str:
    # The real body has a space after the fifth comma; URL and nick never carry , or '.
    safe_nick = nick.replace(",", " ").replace("'", " ")
    return f"ptuiCB('{code}','{sub}','{url}','0','{message}', '{safe_nick}');"


async def login_page(state: State, request: EmuRequest) -> EmuResponse:
    sig = secrets.token_urlsafe(48).replace("-", "*").replace("_", "-")
    s_url = html_text.escape(_url(request.param("s_url"), DEFAULT_S_URL), quote=True)
    page = LOGIN_PAGE.format(
        href=html_text.escape(f"https://{request.host or 'ui.ptlogin2.qq.com'}{request.path}"),
        appid=_digits(request.param("appid"), DEFAULT_APPID),
        style=_digits(request.param("style"), "16"),
        sig=sig,
        s_url=s_url,
    )
    resp = html(page)
    add_cookie(resp, "pt_login_sig", sig, "ptlogin2.qq.com")
    add_cookie(resp, "pt_clientip", "7f000001", "ptlogin2.qq.com")
    return resp


async def check(state: State, request: EmuRequest) -> EmuResponse:
    qq = int_param(request.param("uin"))
    if qq is None or not 0 <= qq < 2**64:
        return script_response(
            "ptui_checkVC('1','','\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00','','0');"
        )
    salt = "".join(f"\\x{b:02x}" for b in qq.to_bytes(8, "big"))
    account = state.world.accounts.get(qq)
    session = secrets.token_hex(32)
    if account is not None and account.needs_captcha:
        cap_cd = secrets.token_urlsafe(36)
        resp = script_response(f"ptui_checkVC('1','{cap_cd}','{salt}','','0');")
    else:
        code = "!" + "".join(random.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(3))
        state.check_codes.put(qq, code)
        resp = script_response(f"ptui_checkVC('0','{code}','{salt}','{session}','0');")
    add_cookie(resp, "ptvfsession", session, "ptlogin2.qq.com")
    add_cookie(resp, "confirmuin", str(qq), "ptlogin2.qq.com")
    return resp


async def captcha(state: State, request: EmuRequest) -> EmuResponse:
    qq = int_param(request.param("uin"))
    if qq is None:
        return EmuResponse(400, b"bad uin", "text/plain; charset=utf-8")
    code = "".join(random.choice(CAPTCHA_ALPHABET) for _ in range(4))
    state.captchas.put(qq, code)
    resp = EmuResponse(200, captcha_png(code), "image/png")
    add_cookie(resp, "verifysession", secrets.token_hex(32), "qq.com")
    return resp


async def login(state: State, request: EmuRequest) -> EmuResponse:
    # ptlogin accepted /login without prior cookies in practice: none are required.
    qq = int_param(request.param("u"))
    p, vc = request.param("p"), request.param("verifycode")
    if qq is None or not p or not vc:
        return script_response(_ptuicb(7, "", "提交参数错误，请检查。", ""))
    account = state.world.accounts.get(qq)
    if account is None:
        return script_response(_ptuicb(3, "", "您输入的帐号或密码不正确，请重新输入。", ""))
    if account.needs_captcha:
        expected_code = state.captchas.get(qq)
        if expected_code is None or vc.upper() != expected_code.upper():
            state.captchas.pop(qq)  # a wrong answer burns the captcha
            return script_response(_ptuicb(4, "", "您输入的验证码不正确，请重新输入。", "", sub=2))
    else:
        expected_code = state.check_codes.get(qq)
        if expected_code is None or vc.upper() != expected_code.upper():
            return script_response(_ptuicb(4, "", "您输入的验证码不正确，请重新输入。", ""))
    if p.upper() != password_hash(account.password, qq, vc):
        return script_response(_ptuicb(3, "", "您输入的帐号或密码不正确，请重新输入。", ""))
    state.captchas.pop(qq)
    state.check_codes.pop(qq)
    url = _issue_ticket(state, request, qq, "login")
    resp = script_response(_ptuicb(0, url, "登录成功！", account.nick))
    _sso_cookies(resp, qq)
    return resp


def _issue_ticket(state: State, request: EmuRequest, qq: int, service: str) -> str:
    ptsigx = secrets.token_hex(64)
    state.tickets.put(ptsigx, qq)
    aid = _digits(request.param("aid"), DEFAULT_APPID)
    s_url = _url(request.param("u1"), DEFAULT_PROXIED)
    return (
        f"http://ptlogin4.web2.qq.com/check_sig?pttype=1&uin={qq}&service={service}&nodirect=0"
        f"&ptsigx={ptsigx}&s_url={quote(s_url, safe='')}&f_url=&ptlang=2052&ptredirect=100"
        f"&aid={aid}&daid=164&j_later=0&low_login_hour=0&regmaster=0&pt_login_type=3"
        "&pt_aid=0&pt_aaid=16&pt_light=0&pt_3rd_aid=0"
    )


def _sso_cookies(resp: EmuResponse, qq: int) -> None:
    add_cookie(resp, "superuin", f"o{qq:010d}", "ptlogin2.qq.com")
    add_cookie(resp, "superkey", secrets.token_urlsafe(30), "ptlogin2.qq.com")
    add_cookie(resp, "supertoken", str(secrets.randbelow(2**31)), "ptlogin2.qq.com")


async def ptqrshow(state: State, request: EmuRequest) -> EmuResponse:
    qrsig = secrets.token_urlsafe(48).replace("_", "*")
    state.qr.put(qrsig, QRTicket(qrsig, state.clock()))
    png = qr_png(f"https://ssl.ptlogin2.qq.com/ptqrlogin?k={qrsig[:24]}")
    resp = EmuResponse(200, png, "image/png")
    add_cookie(resp, "qrsig", qrsig, "ptlogin2.qq.com")
    return resp


async def ptqrlogin(state: State, request: EmuRequest) -> EmuResponse:
    token = int_param(request.param("ptqrtoken"))
    qrsig = request.cookies.get("qrsig", "")
    ticket = state.qr.get(qrsig)
    n = random.randrange(100000000, 999999999)
    if ticket is None or token is None or token != hash33(qrsig):
        return script_response(_ptuicb(65, "", f"二维码已失效。({n})", ""))
    cfg = state.config
    if ticket.done or state.clock() - ticket.created > cfg.qr_lifetime:
        return script_response(_ptuicb(65, "", f"二维码已失效。({n})", ""))
    ticket.checks += 1
    if (
        ticket.confirmed_qq is None
        and cfg.qr_confirm_after is not None
        and ticket.checks > cfg.qr_confirm_after
    ):
        ticket.confirmed_qq = cfg.qr_account or next(iter(state.world.accounts))
    if ticket.confirmed_qq is None:
        if cfg.qr_confirm_after is not None and ticket.checks > max(1, cfg.qr_confirm_after // 2):
            ticket.scanned = True
        if ticket.scanned:
            return script_response(_ptuicb(67, "", f"二维码认证中。({n})", ""))
        return script_response(_ptuicb(66, "", f"二维码未失效。({n})", ""))
    ticket.done = True
    qq = ticket.confirmed_qq
    url = _issue_ticket(state, request, qq, "ptqrlogin")
    resp = script_response(_ptuicb(0, url, "登录成功！", state.world.account(qq).nick))
    _sso_cookies(resp, qq)
    return resp


async def check_sig(state: State, request: EmuRequest) -> EmuResponse:
    qq = state.tickets.pop(request.param("ptsigx"))
    if qq is None:
        return html("<html><body>403 Forbidden</body></html>", status=403)
    s_url = _url(request.param("s_url"), DEFAULT_PROXIED)
    resp = html("", status=302)
    resp.headers.append(("Location", s_url))
    skey = "@" + secrets.token_urlsafe(7)[:9]
    state.logins.add_skey(skey, qq)
    ptwebqq = secrets.token_hex(32)
    state.pending_ptwebqq[qq] = ptwebqq
    add_cookie(resp, "uin", f"o{qq:010d}", "qq.com")
    add_cookie(resp, "skey", skey, "qq.com")
    add_cookie(resp, "pt2gguin", f"o{qq:010d}", "qq.com")
    add_cookie(resp, "ptwebqq", ptwebqq, "qq.com")
    add_cookie(resp, "p_skey", secrets.token_urlsafe(30), "web2.qq.com")
    add_cookie(resp, "p_uin", f"o{qq:010d}", "web2.qq.com")
    add_cookie(resp, "pt4_token", secrets.token_urlsafe(30), "web2.qq.com")
    add_cookie(resp, "p_skey", "", "qq.com", max_age=0)
    return resp


async def logout(state: State, request: EmuRequest) -> EmuResponse:
    qq = state.skeys.pop(request.cookies.get("skey", ""), None)
    if qq is not None:
        s = state.live(qq)
        if s is not None:
            state.end_session(s)
    resp = script_response("ptuiCB('0','0','','0','logout', '');")
    for name in ("uin", "skey", "ptwebqq", "pt2gguin"):
        add_cookie(resp, name, "", "qq.com", max_age=0)
    return resp


async def proxy_page(state: State, request: EmuRequest) -> EmuResponse:
    return html(PROXY_PAGE)


Handler = Callable[[State, EmuRequest], Awaitable[EmuResponse]]
ROUTES: dict[str, tuple[str, Handler]] = {
    "/cgi-bin/login": ("GET", login_page),
    "/cgi-bin/xlogin": ("GET", login_page),
    "/check": ("GET", check),
    "/cgi-bin/check": ("GET", check),
    "/getimage": ("GET", captcha),
    "/login": ("GET", login),
    "/ptqrshow": ("GET", ptqrshow),
    "/ptqrlogin": ("GET", ptqrlogin),
    "/check_sig": ("GET", check_sig),
    "/logout": ("GET", logout),
    "/proxy.html": ("GET", proxy_page),
    "/cfproxy.html": ("GET", proxy_page),
    "/loginproxy.html": ("GET", proxy_page),
}
