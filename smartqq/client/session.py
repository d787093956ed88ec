"""The session: login, resume, relink, re-login, secrets, cookies and the session file.

Every request of a :class:`~smartqq.Client` goes through :meth:`Session.request`,
which adds the ``Cookie`` header from the session's own jar, applies the
response size cap and stores every ``Set-Cookie``: the transport keeps no
state. Login flows (:mod:`smartqq.protocol.flows`) are driven here.

Recovery is serialised by a *generation*: a number bumped whenever the
session is re-established. The poll loop, a kick and failing sends can all
notice a dead session at once; each asks :meth:`Session.recover` with the
generation its failing request used, and whoever comes second waits on the
lock and finds the session already fresh, so there is one re-login, not
several that kick each other.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from smartqq.errors import (
    APIError,
    ClientClosedError,
    HTTPStatusError,
    LoginError,
    ProtocolError,
    SessionExpiredError,
    SmartQQError,
    TransportError,
    UsageError,
)
from smartqq.events import Disconnected, Event, LoggedIn, Reconnected, SessionExpired
from smartqq.protocol import endpoints
from smartqq.protocol.cookies import PERSISTED_COOKIES
from smartqq.protocol.flows import (
    LoginFlow,
    NeedCaptcha,
    QRStatus,
    ShowQRCode,
    Wait,
    password_login_flow,
    qr_login_flow,
    relink_flow,
)
from smartqq.protocol.http import CookieJar, HttpRequest, HttpResponse
from smartqq.protocol.parsers import parse_envelope
from smartqq.protocol.profiles import Profile
from smartqq.protocol.redact import register_secret, retire_secret
from smartqq.protocol.session import SessionState
from smartqq.runtime.backoff import Backoff
from smartqq.transport import Transport

from .qrcode import QRCode
from .session_store import load_session, save_session

__all__ = ["LOGIN_CAPS", "Session", "exchange"]

log = logging.getLogger("smartqq.login")

QRCallback = Callable[[QRCode], Awaitable[None] | None]
QRStatusCallback = Callable[[QRStatus], Awaitable[None] | None]
CaptchaCallback = Callable[[bytes], Awaitable[str] | str]

LOGIN_CAPS = {
    "login_page": 1 << 20,
    "check": 64 << 10,
    "login": 64 << 10,
    "check_sig": 1 << 20,
    "ptqrlogin": 64 << 10,
    "ptqrshow": 2 << 20,
    "getimage": 2 << 20,
}
"""Caps (decompressed bytes) for login pages and images; other calls use ``max_response_bytes``."""

# Errors a login step may raise from a hostile answer that are not SmartQQErrors yet.
_FOREIGN = (ValueError, TypeError, OverflowError, RecursionError, UnicodeError, KeyError)


async def maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def _cookie_header(jar: CookieJar, url: str) -> str:
    # A server may have set a value no HTTP header can carry (CR/LF, non-ASCII): drop it
    # rather than let it split the header or fail the request.
    header = jar.header_for(url)
    if header.isascii() and header.isprintable():
        return header
    return "; ".join(p for p in header.split("; ") if p.isascii() and p.isprintable())


async def exchange(
    transport: Transport,
    request: HttpRequest,
    jar: CookieJar,
    *,
    timeout: float | None = None,
    max_bytes: int | None = None,
) -> HttpResponse:
    """One request with ``jar``'s cookies; the answer's ``Set-Cookie`` go back into ``jar``."""
    try:
        cookie = _cookie_header(jar, request.url)
    except ValueError:  # urlsplit on a hostile redirect target ("http://[x")
        raise ProtocolError(f"{request.endpoint} has a malformed URL") from None
    headers = (*request.headers, ("Cookie", cookie)) if cookie else request.headers
    response = await transport.send(
        request.with_headers(headers, max_bytes=max_bytes), timeout=timeout
    )
    set_cookies = response.header_all("Set-Cookie")
    if set_cookies:
        try:
            jar.update_from(request.url, set_cookies)
        except _FOREIGN:
            log.warning("%s set cookies that could not be read", request.endpoint)
    return response


class Session:
    """Owns the :class:`SessionState`, its secrets and how it is (re-)established."""

    # One per client: slots instead of a __dict__ save ~50 B each at 1,000 clients.
    __slots__ = (
        "__password",
        "_backoff",
        "_emit",
        "_forget_contacts",
        "_live_secrets",
        "_pending_jar",
        "_recover_lock",
        "auto_relogin",
        "closed",
        "fatal",
        "generation",
        "max_qr_refreshes",
        "max_response_bytes",
        "on_captcha",
        "on_qr_status",
        "on_qrcode",
        "profile",
        "qq",
        "qr_poll_interval",
        "session_file",
        "state",
        "transport",
    )

    def __init__(
        self,
        transport: Transport,
        profile: Profile,
        emit: Callable[[Event], None],
        *,
        qq: int | None,
        password: str | None,
        session_file: str | os.PathLike[str] | None,
        on_qrcode: QRCallback,
        on_qr_status: QRStatusCallback | None,
        on_captcha: CaptchaCallback | None,
        qr_poll_interval: float,
        max_qr_refreshes: int,
        auto_relogin: bool,
        backoff: Backoff,
        max_response_bytes: int,
        forget_contacts: Callable[[], None],
    ) -> None:
        self.transport = transport
        self.profile = profile
        self.qq = qq
        self.__password = password
        if password:
            register_secret(password)
        self.session_file = session_file
        self.on_qrcode = on_qrcode
        # Told when the code is scanned, waiting for confirmation, or expired.
        self.on_qr_status = on_qr_status
        self.on_captcha = on_captcha
        self.qr_poll_interval = qr_poll_interval
        self.max_qr_refreshes = max_qr_refreshes
        self.auto_relogin = auto_relogin
        self.max_response_bytes = max_response_bytes
        self._emit = emit
        self._backoff = backoff
        self._forget_contacts = forget_contacts
        self.state: SessionState | None = None
        self.closed = False
        self.fatal: SmartQQError | None = None
        """Why the session ended for good (kicked, expired with ``auto_relogin`` off)."""
        self.generation = 0
        self._pending_jar = CookieJar()
        # A tuple, not a set: ~9 values cost 0.1 KiB this way and 0.7 KiB as a set.
        self._live_secrets: tuple[str, ...] = ()
        self._recover_lock: asyncio.Lock | None = None

    def require_state(self) -> SessionState:
        if self.closed:
            raise ClientClosedError("the client is closed")
        if self.state is None:
            raise UsageError("not logged in yet: call login() or use 'async with client'")
        return self.state

    # -- HTTP ----------------------------------------------------------------------------

    async def request(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        """Send with this session's cookies; store the ones the answer sets."""
        if self.closed:
            raise ClientClosedError("the client is closed")
        jar = self.state.cookies if self.state is not None else self._pending_jar
        # One coroutine frame less per held poll matters with a thousand clients.
        return await exchange(
            self.transport, request, jar, timeout=timeout, max_bytes=self._cap(request)
        )

    async def call(self, request: HttpRequest) -> Any:
        """A JSON API call: the envelope's ``result``, or a typed error."""
        response = await self.request(request)
        if response.status != 200:
            raise HTTPStatusError(response.status, request.endpoint)
        return parse_envelope(response.body, request.endpoint)

    def _cap(self, request: HttpRequest) -> int:
        if request.max_bytes is not None:
            return request.max_bytes
        return LOGIN_CAPS.get(request.endpoint, self.max_response_bytes)

    # -- login ---------------------------------------------------------------------------

    async def run_flow(self, flow: LoginFlow, state: SessionState) -> SessionState:
        """Drive a login flow to its end; only :class:`SmartQQError`\\ s come out."""
        self._pending_jar = state.cookies
        answer: Any = None
        while True:
            try:
                step = flow.send(answer)
            except StopIteration as stop:
                result: SessionState = stop.value
                return result
            except SmartQQError:
                raise
            except _FOREIGN as exc:
                raise ProtocolError(
                    f"a login answer could not be read ({type(exc).__name__})"
                ) from None
            if isinstance(step, HttpRequest):
                answer = await exchange(
                    self.transport, step, state.cookies, max_bytes=self._cap(step)
                )
            elif isinstance(step, ShowQRCode):
                log.info("showing QR code (attempt %d)", step.attempt)
                await maybe_await(self.on_qrcode(QRCode(step.png, step.attempt)))
                answer = None
            elif isinstance(step, QRStatus):
                log.info("QR code %d: %s", step.attempt + 1, step.status)
                if self.on_qr_status is not None:
                    await maybe_await(self.on_qr_status(step))
                answer = None
            elif isinstance(step, NeedCaptcha):
                # Flows only ask when a solver was given (has_captcha_solver).
                assert self.on_captcha is not None
                answer = await maybe_await(self.on_captcha(step.image))
            elif isinstance(step, Wait):
                await asyncio.sleep(step.seconds)
                answer = None

    async def full_login(self) -> SessionState:
        state = SessionState(self.profile)
        if self.qq is not None and self.__password is not None:
            log.info("password login for %d (%s)", self.qq, self.profile.name)
            flow = password_login_flow(
                state, self.qq, self.__password, has_captcha_solver=self.on_captcha is not None
            )
        else:
            log.info("QR login (%s)", self.profile.name)
            flow = qr_login_flow(
                state, poll_interval=self.qr_poll_interval, max_refreshes=self.max_qr_refreshes
            )
        return await self.run_flow(flow, state)

    async def _resume(self, saved: SessionState) -> SessionState | None:
        """A saved session if it still works (probe), else relinked, else None."""
        self._pending_jar = saved.cookies
        self.state = saved
        try:
            await self.call(endpoints.get_online_buddies2(saved))
            return saved
        except (APIError, ProtocolError, HTTPStatusError):
            pass
        try:
            return await self.run_flow(relink_flow(saved), saved)
        except (APIError, ProtocolError, HTTPStatusError):
            self.state = None
            return None

    async def login(self) -> SessionState:
        """Resume a saved session if possible, else log in (password or QR)."""
        if self.closed:
            raise ClientClosedError("the client is closed")
        resumed = False
        state: SessionState | None = None
        if self.session_file is not None and os.path.exists(self.session_file):
            saved = load_session(self.session_file)
            if saved.profile is self.profile and (self.qq is None or saved.qq == self.qq):
                state = await self._resume(saved)
                resumed = state is not None
                log.info("saved session %s", "resumed" if resumed else "is stale; logging in again")
        if state is None:
            state = await self.full_login()
        self.adopt(state)
        self._emit(LoggedIn(uin=state.uin, qq=state.qq, nick=state.nick, resumed=resumed))
        return state

    def adopt(self, state: SessionState) -> None:
        # What a saved session keeps is all a live one needs: drop the login-time cookies.
        state.cookies.keep_only(PERSISTED_COOKIES)
        self.swap_secrets(state.secrets())
        if self.state is not None:
            # uins, gids and dids are per login: cached ones now point nowhere.
            self._forget_contacts()
        self.state = state
        if self.session_file is not None:
            save_session(self.session_file, state)

    def rotate_ptwebqq(self, ptwebqq: str) -> None:
        """Poll answered 116: the new value goes in the state and the cookie."""
        state = self.require_state()
        state.cookies.set("ptwebqq", ptwebqq, "qq.com")  # refuses what no header can carry
        state.ptwebqq = ptwebqq
        self.swap_secrets(state.secrets())

    def swap_secrets(self, live: Iterable[str]) -> None:
        """Keep this session's values (and only those) in the redaction registry."""
        new, old = tuple(dict.fromkeys(live)), self._live_secrets
        for secret in new:
            if secret not in old:
                register_secret(secret)
        for secret in old:
            if secret not in new:
                retire_secret(secret)
        self._live_secrets = new

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        target = path or self.session_file
        if target is None:
            raise UsageError("no path given and no session_file configured")
        save_session(target, self.require_state())

    async def aclose(self) -> None:
        self.closed = True
        await self.transport.aclose()
        self.swap_secrets(())

    # -- recovery ------------------------------------------------------------------------

    async def recover(self, retcode: int, generation: int, *, relink_first: bool) -> bool:
        """Re-establish a dead session once per generation; False when it is lost for good.

        ``generation`` is the one the failing request was made with: if the session
        was re-established since (by the poll loop or a send), this just returns.
        """
        return await self.once_per_generation(
            generation, lambda: self._recover_locked(retcode, relink_first=relink_first)
        )

    async def wait_ready(self, retcode: int, generation: int) -> bool:
        """For senders: wait until a session newer than ``generation`` is ready.

        If the poll loop (or another send) is already re-establishing the session,
        this waits for that one; if nobody is (the poll loop is not running or has
        not noticed yet), the session starts it. False when it cannot come back.
        """
        return await self.recover(retcode, generation, relink_first=True)

    async def once_per_generation(
        self, generation: int, reestablish: Callable[[], Awaitable[bool]]
    ) -> bool:
        if self._recover_lock is None:
            self._recover_lock = asyncio.Lock()
        async with self._recover_lock:
            if self.generation != generation:
                return True
            ok = await reestablish()
            if ok:
                self.generation += 1
            return ok

    async def _recover_locked(self, retcode: int, *, relink_first: bool) -> bool:
        state = self.require_state()
        self._emit(SessionExpired(retcode=retcode, will_relogin=self.auto_relogin))
        if relink_first:
            try:
                await self.run_flow(relink_flow(state), state)
                self.adopt(state)
                log.info("relinked after retcode %d", retcode)
                self._emit(Reconnected(how="relink"))
                return True
            except (APIError, ProtocolError, HTTPStatusError, TransportError) as exc:
                log.info("relink failed (%s); logging in again", type(exc).__name__)
        if not self.auto_relogin:
            self.fatal = SessionExpiredError(
                retcode, "poll2", "session ended and auto_relogin is off"
            )
            self._emit(Disconnected(reason="session expired"))
            return False
        await self.relogin(retcode)
        return True

    async def relogin(self, retcode: int) -> bool:
        """Log in again; transient failures back off and retry, a refused login is final."""
        while True:
            try:
                state = await self.full_login()
                break
            except LoginError as exc:
                raise SessionExpiredError(retcode, "poll2", f"re-login failed: {exc}") from None
            except (TransportError, HTTPStatusError, ProtocolError, APIError) as exc:
                log.warning("re-login hit %s; retrying", type(exc).__name__)
                await asyncio.sleep(self._backoff.next())
        self.adopt(state)
        self._emit(Reconnected(how="relogin"))
        self._emit(LoggedIn(uin=state.uin, qq=state.qq, nick=state.nick, resumed=False))
        return True
