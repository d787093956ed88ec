"""ptlogin2 endpoints: login page, check, captcha, /login, QR show/poll, check_sig, logout.

The password is verified exactly as ptlogin did (PROTOCOL §1.4): the client
must send ``p = password_hash(password, qq, verifycode)`` for the verification
code this server handed out (``check``'s ``!XYZ`` or the captcha's letters).
"""

from __future__ import annotations

import random
import secrets
import time
from urllib.parse import quote

from aiohttp import web

from smartqq.protocol.hashing import hash33, password_hash

from .images import CAPTCHA_ALPHABET, captcha_png, qr_png
from .state import QRTicket, Service
from .web import add_cookie, int_param, js, param, service

__all__ = ["routes"]

LOGIN_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>QQ帐号安全登录</title>
<script type="text/javascript">
var g_appid=encodeURIComponent("{appid}"),g_daid=encodeURIComponent("164"),
g_style=encodeURIComponent("{style}"),g_mibao_css=encodeURIComponent("m_webqq"),
g_pt_version=encodeURIComponent("10233"),g_login_sig=encodeURIComponent("{sig}"),
g_s_url=encodeURIComponent("{s_url}");
</script></head><body><form id="loginform">
<input type="hidden" name="aid" value="{appid}"><input type="hidden" name="u1" value="{s_url}">
<input type="hidden" name="pt_vcode_v1" value="0"></form></body></html>"""


def _ptuicb(code: int, url: str, message: str, nick: str, sub: int = 0) -> str:
    # The real body has a space after the fifth comma; URL and nick never carry , or '.
    safe_nick = nick.replace(",", " ").replace("'", " ")
    return f"ptuiCB('{code}','{sub}','{url}','0','{message}', '{safe_nick}');"


async def login_page(request: web.Request) -> web.Response:
    appid = param(request, "appid", "501004106")
    sig = secrets.token_urlsafe(48).replace("-", "*").replace("_", "-")
    page = LOGIN_PAGE.format(
        appid=appid,
        style=param(request, "style", "16"),
        sig=sig,
        s_url=param(request, "s_url", "http://w.qq.com/proxy.html"),
    )
    resp = web.Response(text=page, content_type="text/html", charset="utf-8")
    add_cookie(resp, "pt_login_sig", sig, "ptlogin2.qq.com")
    add_cookie(resp, "pt_clientip", "7f000001", "ptlogin2.qq.com")
    return resp


async def check(request: web.Request) -> web.Response:
    svc = service(request)
    qq = int_param(param(request, "uin"))
    if qq is None:
        return js("ptui_checkVC('1','','\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00','','0');")
    salt = "".join(f"\\x{b:02x}" for b in qq.to_bytes(8, "big"))
    account = svc.world.accounts.get(qq)
    session = secrets.token_hex(32)
    if account is not None and account.needs_captcha:
        cap_cd = secrets.token_urlsafe(36)
        resp = js(f"ptui_checkVC('1','{cap_cd}','{salt}','','0');")
    else:
        code = "!" + "".join(random.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(3))
        svc.check_codes[qq] = code
        resp = js(f"ptui_checkVC('0','{code}','{salt}','{session}','0');")
    add_cookie(resp, "ptvfsession", session, "ptlogin2.qq.com")
    add_cookie(resp, "confirmuin", str(qq), "ptlogin2.qq.com")
    return resp


async def captcha(request: web.Request) -> web.Response:
    svc = service(request)
    qq = int_param(param(request, "uin"))
    if qq is None:
        return web.Response(status=400, text="bad uin")
    code = "".join(random.choice(CAPTCHA_ALPHABET) for _ in range(4))
    svc.captchas[qq] = code
    resp = web.Response(body=captcha_png(code), content_type="image/png")
    add_cookie(resp, "verifysession", secrets.token_hex(32), "qq.com")
    return resp


async def login(request: web.Request) -> web.Response:
    svc = service(request)
    qq = int_param(param(request, "u"))
    p, vc = param(request, "p"), param(request, "verifycode")
    if qq is None or not p or not vc:
        return js(_ptuicb(7, "", "提交参数错误，请检查。", ""))
    if not request.cookies and not request.headers.get("Cookie"):
        pass  # ptlogin accepted /login without prior cookies in practice
    account = svc.world.accounts.get(qq)
    if account is None:
        return js(_ptuicb(3, "", "您输入的帐号或密码不正确，请重新输入。", ""))
    if account.needs_captcha:
        expected_code = svc.captchas.get(qq)
        if expected_code is None or vc.upper() != expected_code.upper():
            svc.captchas.pop(qq, None)  # a wrong answer burns the captcha
            return js(_ptuicb(4, "", "您输入的验证码不正确，请重新输入。", "", sub=2))
    else:
        expected_code = svc.check_codes.get(qq)
        if expected_code is None or vc.upper() != expected_code.upper():
            return js(_ptuicb(4, "", "您输入的验证码不正确，请重新输入。", ""))
    if p.upper() != password_hash(account.password, qq, vc):
        return js(_ptuicb(3, "", "您输入的帐号或密码不正确，请重新输入。", ""))
    svc.captchas.pop(qq, None)
    svc.check_codes.pop(qq, None)
    url = _issue_ticket(svc, request, qq, "login")
    resp = js(_ptuicb(0, url, "登录成功！", account.nick))
    _sso_cookies(resp, qq)
    return resp


def _issue_ticket(svc: Service, request: web.Request, qq: int, service: str) -> str:
    ptsigx = secrets.token_hex(64)
    svc.tickets[ptsigx] = qq
    aid = param(request, "aid", "501004106")
    s_url = param(request, "u1", "http://w.qq.com/proxy.html?login2qq=1&webqq_type=10")
    return (
        f"http://ptlogin4.web2.qq.com/check_sig?pttype=1&uin={qq}&service={service}&nodirect=0"
        f"&ptsigx={ptsigx}&s_url={quote(s_url, safe='')}&f_url=&ptlang=2052&ptredirect=100"
        f"&aid={aid}&daid=164&j_later=0&low_login_hour=0&regmaster=0&pt_login_type=3"
        "&pt_aid=0&pt_aaid=16&pt_light=0&pt_3rd_aid=0"
    )


def _sso_cookies(resp: web.StreamResponse, qq: int) -> None:
    add_cookie(resp, "superuin", f"o{qq:010d}", "ptlogin2.qq.com")
    add_cookie(resp, "superkey", secrets.token_urlsafe(30), "ptlogin2.qq.com")
    add_cookie(resp, "supertoken", str(secrets.randbelow(2**31)), "ptlogin2.qq.com")


async def ptqrshow(request: web.Request) -> web.Response:
    svc = service(request)
    qrsig = secrets.token_urlsafe(48).replace("_", "*")
    svc.qr[qrsig] = QRTicket(qrsig, time.time())
    png = qr_png(f"https://ssl.ptlogin2.qq.com/ptqrlogin?k={qrsig[:24]}")
    resp = web.Response(body=png, content_type="image/png")
    add_cookie(resp, "qrsig", qrsig, "ptlogin2.qq.com")
    return resp


async def ptqrlogin(request: web.Request) -> web.Response:
    svc = service(request)
    token = int_param(param(request, "ptqrtoken"))
    qrsig = request.cookies.get("qrsig", "")
    ticket = svc.qr.get(qrsig)
    n = random.randrange(100000000, 999999999)
    if ticket is None or token is None or token != hash33(qrsig):
        return js(_ptuicb(65, "", f"二维码已失效。({n})", ""))
    cfg = svc.config
    if ticket.done or time.time() - ticket.created > cfg.qr_lifetime:
        return js(_ptuicb(65, "", f"二维码已失效。({n})", ""))
    ticket.checks += 1
    if (
        ticket.confirmed_qq is None
        and cfg.qr_confirm_after is not None
        and ticket.checks > cfg.qr_confirm_after
    ):
        ticket.confirmed_qq = cfg.qr_account or next(iter(svc.world.accounts))
    if ticket.confirmed_qq is None:
        if cfg.qr_confirm_after is not None and ticket.checks > max(1, cfg.qr_confirm_after // 2):
            ticket.scanned = True
        if ticket.scanned:
            return js(_ptuicb(67, "", f"二维码认证中。({n})", ""))
        return js(_ptuicb(66, "", f"二维码未失效。({n})", ""))
    ticket.done = True
    qq = ticket.confirmed_qq
    url = _issue_ticket(svc, request, qq, "ptqrlogin")
    resp = js(_ptuicb(0, url, "登录成功！", svc.world.account(qq).nick))
    _sso_cookies(resp, qq)
    return resp


async def check_sig(request: web.Request) -> web.Response:
    svc = service(request)
    qq = svc.tickets.pop(param(request, "ptsigx"), None)
    if qq is None:
        return web.Response(status=403, text="ticket invalid")
    s_url = param(request, "s_url", "http://w.qq.com/proxy.html?login2qq=1&webqq_type=10")
    resp = web.Response(status=302, headers={"Location": s_url})
    skey = "@" + secrets.token_urlsafe(7)[:9]
    svc.skeys[skey] = qq
    ptwebqq = secrets.token_hex(32)
    svc.pending_ptwebqq[qq] = ptwebqq
    add_cookie(resp, "uin", f"o{qq:010d}", "qq.com")
    add_cookie(resp, "skey", skey, "qq.com")
    add_cookie(resp, "pt2gguin", f"o{qq:010d}", "qq.com")
    add_cookie(resp, "ptwebqq", ptwebqq, "qq.com")
    add_cookie(resp, "p_skey", secrets.token_urlsafe(30), "web2.qq.com")
    add_cookie(resp, "p_uin", f"o{qq:010d}", "web2.qq.com")
    add_cookie(resp, "pt4_token", secrets.token_urlsafe(30), "web2.qq.com")
    add_cookie(resp, "p_skey", "", "qq.com", max_age=0)
    return resp


async def logout(request: web.Request) -> web.Response:
    svc = service(request)
    qq = svc.skeys.pop(request.cookies.get("skey", ""), None)
    if qq is not None:
        s = svc.live(qq)
        if s is not None:
            svc.end_session(s)
    resp = js("ptuiCB('0','0','','0','logout', '');")
    for name in ("uin", "skey", "ptwebqq", "pt2gguin"):
        add_cookie(resp, name, "", "qq.com", max_age=0)
    return resp


async def proxy_page(request: web.Request) -> web.Response:
    return web.Response(
        text="<html><body>proxy</body></html>", content_type="text/html", charset="utf-8"
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/cgi-bin/login", login_page),
        web.get("/cgi-bin/xlogin", login_page),
        web.get("/check", check),
        web.get("/cgi-bin/check", check),
        web.get("/getimage", captcha),
        web.get("/login", login),
        web.get("/ptqrshow", ptqrshow),
        web.get("/ptqrlogin", ptqrlogin),
        web.get("/check_sig", check_sig),
        web.get("/logout", logout),
        web.get("/proxy.html", proxy_page),
        web.get("/cfproxy.html", proxy_page),
        web.get("/loginproxy.html", proxy_page),
    ]
