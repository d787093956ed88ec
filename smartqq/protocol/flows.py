"""Login flows as generators, in the style of httpx's ``Auth.auth_flow``.

A flow yields *steps* and is sent the answer of each:

=================  =========================================  ==========================
step               the driver must                            and send back
=================  =========================================  ==========================
``HttpRequest``    perform it with ``state.cookies``          the ``HttpResponse``
                   (add Cookie, store Set-Cookie)
``ShowQRCode``     show ``png`` to a person                   ``None``
``NeedCaptcha``    ask a person to read ``image``             the code as ``str``
``Wait``           sleep ``seconds``                          ``None``
=================  =========================================  ==========================

The flow returns the completed :class:`SessionState` (``StopIteration.value``)
or raises a :mod:`smartqq.errors` exception. Because flows never touch a
socket, every branch is tested with canned responses and no event loop.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from smartqq.errors import (
    CaptchaRequired,
    HTTPStatusError,
    ProtocolError,
    QRCodeExpired,
    login_error_for,
)

from . import endpoints
from .hashing import password_hash_salted, uin_salt
from .http import HttpRequest, HttpResponse
from .parsers import parse_check_vc, parse_envelope, parse_login_page, parse_ptuicb, snippet
from .session import SessionState

__all__ = [
    "LoginFlow",
    "NeedCaptcha",
    "QRStatus",
    "ShowQRCode",
    "Step",
    "Wait",
    "establish_flow",
    "password_login_flow",
    "qq_from_cookies",
    "qr_login_flow",
    "relink_flow",
]


@dataclass(frozen=True, slots=True)
class ShowQRCode:
    png: bytes
    attempt: int


@dataclass(frozen=True, slots=True)
class QRStatus:
    """The QR code changed state: ``waiting`` (not scanned yet), ``scanned`` (waiting for
    the phone to confirm) or ``expired`` (a new code follows; after the last allowed
    refresh the flow raises :class:`QRCodeExpired` instead). ``attempt`` counts codes
    from 0, like :class:`ShowQRCode`."""

    status: str
    attempt: int


@dataclass(frozen=True, slots=True)
class NeedCaptcha:
    image: bytes
    attempt: int


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float


Step = HttpRequest | ShowQRCode | QRStatus | NeedCaptcha | Wait
LoginFlow = Generator[Step, Any, SessionState]


def _ok(resp: HttpResponse, req: HttpRequest, allowed: tuple[int, ...] = (200,)) -> HttpResponse:
    if resp.status not in allowed:
        raise HTTPStatusError(resp.status, req.endpoint)
    return resp


def _get(req: HttpRequest, allowed: tuple[int, ...] = (200,)) -> Generator[Step, Any, HttpResponse]:
    resp = yield req
    if not isinstance(resp, HttpResponse):
        raise TypeError("a flow must be sent an HttpResponse for an HttpRequest step")
    return _ok(resp, req, allowed)


def qq_from_cookies(state: SessionState) -> int:
    """The QQ number from ``uin=o0123…`` (strip ``o``, parse; copes with zero padding) or ``superuin``."""
    for name in ("uin", "superuin", "p_uin"):
        raw = state.cookies.get(name)
        if raw:
            digits = raw.lstrip("oO")
            if digits.isdigit():
                return int(digits)
    raise ProtocolError("no uin cookie after check_sig")


def _login_sig(state: SessionState, page: HttpResponse) -> tuple[str, str]:
    found = parse_login_page(page.text)
    sig = state.cookies.get("pt_login_sig") or found.get("login_sig", "")
    return sig, found.get("pt_version", "")


def qr_login_flow(
    state: SessionState, *, poll_interval: float = 1.0, max_refreshes: int = 10
) -> LoginFlow:
    """ptqrshow → ptqrlogin (66 → 67 → 0; 65 fetches a new code) → check_sig → login2."""
    p = state.profile
    page = yield from _get(endpoints.login_page(p))
    login_sig, _ = _login_sig(state, page)
    refreshes = 0
    while True:
        qr = yield from _get(endpoints.ptqrshow(p))
        qrsig = state.cookies.get("qrsig")
        if not qrsig:
            raise ProtocolError("ptqrshow set no qrsig cookie")
        yield ShowQRCode(qr.body, refreshes)
        started = int(time.time() * 1000)
        shown = 0  # the last code reported through QRStatus (only changes are reported)
        while True:
            answer = yield from _get(endpoints.ptqrlogin(p, qrsig, login_sig, started))
            cb = parse_ptuicb(answer.text)
            if cb.code in (66, 67):
                if cb.code != shown:
                    shown = cb.code
                    yield QRStatus("waiting" if cb.code == 66 else "scanned", refreshes)
                yield Wait(poll_interval)
                continue
            if cb.code == 65:
                refreshes += 1
                if refreshes > max_refreshes:
                    raise QRCodeExpired(f"QR code expired {refreshes} times")
                yield QRStatus("expired", refreshes - 1)  # a new code follows
                break
            if cb.code == 0:
                return (yield from establish_flow(state, cb.url, cb.nick))
            raise login_error_for(cb.code, cb.message)


def password_login_flow(
    state: SessionState,
    qq: int,
    password: str,
    *,
    max_captcha_attempts: int = 3,
    has_captcha_solver: bool = True,
) -> LoginFlow:
    """check → (captcha) → /login with the md5 hash → check_sig → login2."""
    p = state.profile
    page = yield from _get(endpoints.login_page(p))
    login_sig, js_ver = _login_sig(state, page)
    attempt = 0
    while True:
        answer = yield from _get(endpoints.check(p, qq, login_sig, js_ver))
        vc = parse_check_vc(answer.text)
        salt = vc.salt or uin_salt(qq)
        verifysession = vc.verifysession
        code = vc.code
        if vc.needs_captcha:
            if not has_captcha_solver:
                raise CaptchaRequired("this account needs a captcha; pass on_captcha=")
            image = yield from _get(endpoints.captcha_image(p, qq, vc.code))
            typed = yield NeedCaptcha(image.body, attempt)
            if not isinstance(typed, str) or not typed:
                raise CaptchaRequired("the captcha callback returned no code")
            code = typed
            verifysession = verifysession or state.cookies.get("verifysession") or ""
        p_hash = password_hash_salted(password, salt, code)
        result = yield from _get(
            endpoints.login(p, qq, p_hash, code, login_sig, verifysession, js_ver)
        )
        cb = parse_ptuicb(result.text)
        if cb.code == 0:
            return (yield from establish_flow(state, cb.url, cb.nick))
        attempt += 1
        if cb.code == 4 and vc.needs_captcha and attempt < max_captcha_attempts:
            continue
        raise login_error_for(cb.code, cb.message)


def establish_flow(state: SessionState, check_sig_url: str, nick: str = "") -> LoginFlow:
    """check_sig → (getvfwebqq) → login2 → one get_online_buddies2 (§1.7, §3, §2.6)."""
    yield from _get(endpoints.check_sig(check_sig_url), allowed=(200, 301, 302, 303))
    state.qq = qq_from_cookies(state)
    state.ptwebqq = state.cookies.get("ptwebqq") or ""
    state.nick = nick
    state.clientid = state.profile.new_clientid()
    return (yield from _login2(state, relink=False))


def relink_flow(state: SessionState) -> LoginFlow:
    """``login2`` with the current psessionid (after poll 120/121)."""
    return (yield from _login2(state, relink=True))


def _login2(state: SessionState, *, relink: bool) -> LoginFlow:
    if state.profile.uses_getvfwebqq and not relink:
        resp = yield from _get(endpoints.getvfwebqq(state))
        result = parse_envelope(resp.body, "getvfwebqq")
        if not isinstance(result, dict) or not isinstance(result.get("vfwebqq"), str):
            raise ProtocolError("getvfwebqq gave no vfwebqq", snippet(resp.body))
        state.vfwebqq = result["vfwebqq"]
    resp = yield from _get(endpoints.login2(state, relink=relink))
    result = parse_envelope(resp.body, "login2")
    if not isinstance(result, dict):
        raise ProtocolError("login2 result is not an object", snippet(resp.body))
    try:
        state.uin = int(result["uin"])
        state.psessionid = str(result["psessionid"])
    except (KeyError, TypeError, ValueError):
        raise ProtocolError("login2 result lacks uin/psessionid", snippet(resp.body)) from None
    if not state.profile.uses_getvfwebqq and isinstance(result.get("vfwebqq"), str):
        state.vfwebqq = result["vfwebqq"]
    if relink and isinstance(result.get("ptwebqq"), str):
        state.ptwebqq = result["ptwebqq"]
    state.status = str(result.get("status") or state.status)
    # The real page called get_online_buddies2 right away; without it the
    # first polls answer 103 (§2.6). Its answer is not needed.
    probe = yield endpoints.get_online_buddies2(state)
    if not isinstance(probe, HttpResponse):
        raise TypeError("a flow must be sent an HttpResponse for an HttpRequest step")
    return state
