"""``smartqq.Client``: login, the long-poll task, dispatch, contacts and sending.

The poll loop follows DESIGN.md §4:

* idle answers (102, ``retcode 0`` + errmsg, 100012, HTTP 502/504) re-poll at once;
* 116 stores the new ptwebqq (session and cookie);
* 103 gets one ``get_online_buddies2`` probe; a second 103 in a row escalates;
* 120/121 try a relink (``login2`` with the current session), then a re-login;
* 100/108/100000–100002 re-login (password, else QR through ``on_qrcode``);
* ``kick_message`` is dispatched, the session ends, ``run_until_disconnected``
  raises :class:`~smartqq.errors.Kicked` (unless ``relogin_on_kick=True``);
* network errors, timeouts and 5xx back off with jitter to a cap, reset on success;
* events are dispatched oldest first, once (a bounded window of seen ids).

Library code never calls ``asyncio.run``; :meth:`Client.run` is the one
script convenience and the only place that installs signal handlers.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, overload

from smartqq.content import Content, Font, Segment
from smartqq.errors import (
    APIError,
    ClientClosedError,
    ConnectError,
    HTTPStatusError,
    Kicked,
    LoginError,
    ProtocolError,
    SessionExpiredError,
    SmartQQError,
    TransportError,
    UsageError,
)
from smartqq.events import (
    Disconnected,
    DiscuMessage,
    Event,
    GroupMessage,
    KickMessage,
    LoggedIn,
    MessageEvent,
    PollOutcome,
    Reconnected,
    SessionExpired,
    SessMessage,
    parse_poll,
)
from smartqq.models import (
    Discu,
    DiscuInfo,
    Friend,
    FriendInfo,
    Group,
    GroupInfo,
    OnlineBuddy,
    RecentContact,
    SelfInfo,
    SendResult,
    SendStatus,
    parse_discu_info,
    parse_discu_list,
    parse_friend_list,
    parse_group_info,
    parse_group_list,
    parse_model,
    parse_models,
)
from smartqq.protocol import endpoints as ep
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
from smartqq.protocol.parsers import SendOutcome, parse_envelope, parse_send_response
from smartqq.protocol.profiles import profile_by_name
from smartqq.protocol.redact import register_secret, retire_secret
from smartqq.protocol.session import SessionState
from smartqq.runtime.backoff import Backoff
from smartqq.runtime.dispatch import Dispatcher, ErrorHook, EventStream, HandlerRegistry

from .contacts import Contacts
from .qrcode import QRCode
from .session_store import load_session, save_session
from .transport import AiohttpTransport

__all__ = ["Client"]

E = TypeVar("E", bound=Event)
QRCallback = Callable[[QRCode], Awaitable[None] | None]
QRStatusCallback = Callable[[QRStatus], Awaitable[None] | None]
CaptchaCallback = Callable[[bytes], Awaitable[str] | str]

log_login = logging.getLogger("smartqq.login")
log_poll = logging.getLogger("smartqq.poll")
log_send = logging.getLogger("smartqq.send")

_IDLE_STATUSES = (502, 504)
_SEND_RETRIES = 2
_UNKNOWN_LIMIT = 3


async def _maybe_await(value: Any) -> Any:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value


def _check_target(kind: str, target: object) -> None:
    if isinstance(target, bool) or not isinstance(target, int) or target <= 0:
        raise UsageError(f"{kind} target must be a positive int id, not {target!r}")


def _default_on_qrcode(qr: QRCode) -> None:
    # Without a callback the only place a person can see the code is the terminal.
    sys.stderr.write("Scan this QR code with the QQ mobile app:\n" + qr.terminal() + "\n")
    sys.stderr.flush()


class Client(HandlerRegistry):
    """An asyncio SmartQQ client. See the module docstring and README for a tour."""

    def __init__(
        self,
        qq: int | None = None,
        password: str | None = None,
        *,
        session_file: str | os.PathLike[str] | None = None,
        base_url: str | None = None,
        profile: str = "smartqq",
        on_qrcode: QRCallback | None = None,
        on_qr_status: QRStatusCallback | None = None,
        on_captcha: CaptchaCallback | None = None,
        on_error: ErrorHook | None = None,
        send_interval: float = 0.5,
        poll_timeout: float = 90.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        qr_poll_interval: float = 1.0,
        max_qr_refreshes: int = 10,
        relogin_on_kick: bool = False,
        auto_relogin: bool = True,
        event_buffer: int = 1000,
        dedup_window: int = 4096,
        contacts_refresh: float | None = 600.0,
    ) -> None:
        if (qq is None) != (password is None):
            raise UsageError("password login needs both qq= and password=")
        if qq is not None and (isinstance(qq, bool) or not isinstance(qq, int) or qq <= 0):
            raise UsageError("qq must be a positive int")
        if send_interval < 0 or poll_timeout <= 0 or event_buffer < 1:
            raise UsageError(
                "send_interval >= 0, poll_timeout > 0 and event_buffer >= 1 are required"
            )
        self.qq = qq
        self.__password = password
        if password:
            register_secret(password)
        # This session's values in the process-wide redaction registry; retired when the
        # session is replaced or the client closes, so the registry tracks live sessions.
        self._live_secrets: set[str] = set()
        self.session_file = session_file
        self.profile = profile_by_name(profile)
        self.on_qrcode = on_qrcode or _default_on_qrcode
        # Told when the code is scanned, waiting for confirmation, or expired.
        self.on_qr_status = on_qr_status
        self.on_captcha = on_captcha
        self.send_interval = send_interval
        self.poll_timeout = poll_timeout
        self.qr_poll_interval = qr_poll_interval
        self.max_qr_refreshes = max_qr_refreshes
        self.relogin_on_kick = relogin_on_kick
        self.auto_relogin = auto_relogin
        self.event_buffer = event_buffer
        self._backoff = Backoff(backoff_base, backoff_cap)
        self._transport = AiohttpTransport(base_url)
        self._dispatcher = Dispatcher(self, on_error)
        self.contacts = Contacts(self, refresh_interval=contacts_refresh)
        self.state: SessionState | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._fatal: BaseException | None = None
        self._closed = False
        self._connected = False
        self._seen: OrderedDict[tuple[str, int, int], None] = OrderedDict()
        self._dedup_window = dedup_window
        self._send_lock: asyncio.Lock | None = None
        self._recover_lock: asyncio.Lock | None = None
        self._generation = 0
        """Bumped whenever the session is re-established, so concurrent failures recover once."""
        self._last_send = 0.0
        self._msg_ids = itertools.count(ep.msg_id_base() + 1)
        self._pending_jar = CookieJar()

    # -- repr / properties ---------------------------------------------------------------

    def __repr__(self) -> str:
        who = (
            f"qq={self.state.qq}"
            if self.state
            else ("qq=" + str(self.qq) if self.qq else "QR login")
        )
        return f"<smartqq.Client {who} profile={self.profile.name} logged_in={self.logged_in}>"

    @property
    def logged_in(self) -> bool:
        return self.state is not None and bool(self.state.psessionid)

    @property
    def uin(self) -> int:
        return self._require_state().uin

    def _require_state(self) -> SessionState:
        if self._closed:
            raise ClientClosedError("the client is closed")
        if self.state is None:
            raise UsageError("not logged in yet: call login() or use 'async with client'")
        return self.state

    # -- HTTP ----------------------------------------------------------------------------

    async def _send(self, req: HttpRequest, timeout: float | None = None) -> HttpResponse:
        if self._closed:
            raise ClientClosedError("the client is closed")
        jar = self.state.cookies if self.state is not None else self._pending_jar
        return await self._transport.send(req, jar, timeout)

    async def _call(self, req: HttpRequest) -> Any:
        resp = await self._send(req)
        if resp.status != 200:
            raise HTTPStatusError(resp.status, req.endpoint)
        return parse_envelope(resp.body, req.endpoint)

    # -- login ---------------------------------------------------------------------------

    async def _run_flow(self, flow: LoginFlow, state: SessionState) -> SessionState:
        self._pending_jar = state.cookies
        answer: Any = None
        while True:
            try:
                step = flow.send(answer)
            except StopIteration as stop:
                result: SessionState = stop.value
                return result
            if isinstance(step, HttpRequest):
                answer = await self._transport.send(step, state.cookies)
            elif isinstance(step, ShowQRCode):
                log_login.info("showing QR code (attempt %d)", step.attempt)
                await _maybe_await(self.on_qrcode(QRCode(step.png, step.attempt)))
                answer = None
            elif isinstance(step, QRStatus):
                log_login.info("QR code %d: %s", step.attempt + 1, step.status)
                if self.on_qr_status is not None:
                    await _maybe_await(self.on_qr_status(step))
                answer = None
            elif isinstance(step, NeedCaptcha):
                if self.on_captcha is None:
                    flow.close()
                    raise LoginError("a captcha is required and no on_captcha callback was given")
                answer = await _maybe_await(self.on_captcha(step.image))
            elif isinstance(step, Wait):
                await asyncio.sleep(step.seconds)
                answer = None

    async def _full_login(self) -> SessionState:
        state = SessionState(self.profile)
        if self.qq is not None and self.__password is not None:
            log_login.info("password login for %d (%s)", self.qq, self.profile.name)
            flow = password_login_flow(
                state, self.qq, self.__password, has_captcha_solver=self.on_captcha is not None
            )
        else:
            log_login.info("QR login (%s)", self.profile.name)
            flow = qr_login_flow(
                state, poll_interval=self.qr_poll_interval, max_refreshes=self.max_qr_refreshes
            )
        return await self._run_flow(flow, state)

    async def _resume(self, saved: SessionState) -> SessionState | None:
        """A saved session if it still works (probe), else relinked, else None."""
        self._pending_jar = saved.cookies
        self.state = saved
        try:
            await self._call(ep.get_online_buddies2(saved))
            return saved
        except (APIError, ProtocolError, HTTPStatusError):
            pass
        try:
            return await self._run_flow(relink_flow(saved), saved)
        except (APIError, ProtocolError, HTTPStatusError):
            self.state = None
            return None

    async def login(self) -> SessionState:
        """Resume a saved session if possible, else log in (password or QR)."""
        if self._closed:
            raise ClientClosedError("the client is closed")
        resumed = False
        state: SessionState | None = None
        if self.session_file is not None and os.path.exists(self.session_file):
            saved = load_session(self.session_file)
            if saved.profile is self.profile and (self.qq is None or saved.qq == self.qq):
                state = await self._resume(saved)
                resumed = state is not None
                log_login.info(
                    "saved session %s", "resumed" if resumed else "is stale; logging in again"
                )
        if state is None:
            state = await self._full_login()
        self._adopt(state)
        self._dispatch(LoggedIn(uin=state.uin, qq=state.qq, nick=state.nick, resumed=resumed))
        return state

    def _adopt(self, state: SessionState) -> None:
        self._swap_secrets(set(state.secrets()))
        if self.state is not None:
            # uins, gids and dids are per login: cached ones now point nowhere.
            self.contacts.invalidate()
        self.state = state
        self._connected = True
        if self.session_file is not None:
            save_session(self.session_file, state)

    def _swap_secrets(self, live: set[str]) -> None:
        for secret in live - self._live_secrets:
            register_secret(secret)
        for secret in self._live_secrets - live:
            retire_secret(secret)
        self._live_secrets = live

    def save_session(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the current session (no password) to ``path`` with mode 0600."""
        target = path or self.session_file
        if target is None:
            raise UsageError("no path given and no session_file configured")
        save_session(target, self._require_state())

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Log in if needed and start the poll task."""
        if self.state is None:
            await self.login()
        if self._poll_task is None or self._poll_task.done():
            self._fatal = None
            self._poll_task = asyncio.get_running_loop().create_task(
                self._poll_loop(), name="smartqq-poll"
            )
            self.contacts.start()

    async def close(self) -> None:
        """Stop polling, finish (then cancel) handlers, close the connection pool."""
        if self._closed:
            return
        self._closed = True
        task, self._poll_task = self._poll_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.contacts.stop()
        self._dispatcher.end_streams()
        await self._dispatcher.drain(timeout=5.0)
        await self._transport.aclose()
        self._swap_secrets(set())

    async def __aenter__(self) -> Client:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def run_until_disconnected(self) -> None:
        """Wait until polling ends; raise :class:`Kicked` or the error that ended it."""
        if self._poll_task is None:
            raise UsageError("the client is not started")
        await asyncio.shield(self._poll_task)
        if self._fatal is not None:
            raise self._fatal

    def run(self) -> None:
        """Blocking convenience for scripts: start, poll until disconnected or SIGINT/SIGTERM."""

        async def main() -> None:
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, stop.set)
                except (NotImplementedError, RuntimeError):
                    pass
            async with self:
                assert self._poll_task is not None
                stopper = loop.create_task(stop.wait())
                await asyncio.wait({self._poll_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
            if self._fatal is not None and not stop.is_set():
                raise self._fatal

        asyncio.run(main())

    # -- dispatch ------------------------------------------------------------------------

    @overload
    def events(self, *, buffer: int | None = None) -> EventStream[Event]: ...

    @overload
    def events(self, event_type: type[E], *, buffer: int | None = None) -> EventStream[E]: ...

    def events(
        self, event_type: type[Event] | None = None, *, buffer: int | None = None
    ) -> EventStream[Any]:
        """Events as they arrive, for ``async for`` (subscribed from this call on).

        Each stream has its own bounded buffer (``buffer``, default
        ``event_buffer``); when it is full the oldest event is dropped and
        counted in ``stream.dropped``. Use ``async with client.events() as s``
        (or ``s.close()``) to unsubscribe before the client closes.
        """
        return self._dispatcher.stream(event_type or Event, buffer or self.event_buffer)

    def feed_raw_event(self, element: dict[str, Any]) -> Event:
        """Dispatch one raw ``{"poll_type":…,"value":…}`` element (tests, replays)."""
        from smartqq.events import parse_event

        event = parse_event(element)
        self._dispatch(event)
        return event

    def _dispatch(self, event: Event) -> None:
        self._dispatcher.dispatch(event)

    @property
    def handler_tasks(self) -> set[asyncio.Task[None]]:
        return self._dispatcher.tasks

    # -- the poll loop -------------------------------------------------------------------

    def _is_new(self, event: Event) -> bool:
        msg_id = getattr(event, "msg_id", None)
        if not isinstance(msg_id, int) or isinstance(msg_id, bool) or not msg_id:
            return True  # nothing reliable to de-duplicate on (untyped events keep raw fields)
        sender = getattr(event, "from_uin", 0)
        key = (event.kind, msg_id, sender if isinstance(sender, int) else 0)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._dedup_window:
            self._seen.popitem(last=False)
        return True

    async def _poll_loop(self) -> None:
        probed = False
        unknown = 0
        try:
            while not self._closed and self._fatal is None:
                state = self._require_state()
                gen = self._generation
                try:
                    resp = await self._send(ep.poll2(state), timeout=self.poll_timeout)
                except TransportError as exc:
                    await self._network_trouble(str(exc))
                    continue
                if resp.status in _IDLE_STATUSES:
                    self._recovered()
                    continue
                if resp.status != 200:
                    await self._network_trouble(f"HTTP {resp.status}")
                    continue
                try:
                    result = parse_poll(resp.body)
                except ProtocolError as exc:
                    log_poll.warning("unreadable poll answer: %s", exc)
                    await self._network_trouble("unreadable answer")
                    continue
                self._recovered()
                outcome = result.outcome
                if outcome is not PollOutcome.PROBE:
                    probed = False
                if outcome is not PollOutcome.UNKNOWN:
                    unknown = 0
                if outcome is PollOutcome.EVENTS:
                    for event in result.events:
                        if self._is_new(event):
                            self._dispatch(event)
                            if isinstance(event, KickMessage) and await self._kicked(event, gen):
                                return
                elif outcome is PollOutcome.NEW_PTWEBQQ and result.ptwebqq is not None:
                    log_poll.info("ptwebqq rotated (116)")
                    state.ptwebqq = result.ptwebqq
                    state.cookies.set("ptwebqq", result.ptwebqq, "qq.com")
                    self._swap_secrets(set(state.secrets()))
                elif outcome is PollOutcome.PROBE:
                    if not probed:
                        probed = True
                        log_poll.info("103: probing get_online_buddies2")
                        try:
                            await self._call(ep.get_online_buddies2(state))
                        except (APIError, ProtocolError, HTTPStatusError, TransportError):
                            pass
                    else:
                        probed = False
                        if not await self._recover(result.retcode, gen, relink_first=True):
                            return
                elif outcome is PollOutcome.RELINK:
                    if not await self._recover(result.retcode, gen, relink_first=True):
                        return
                elif outcome is PollOutcome.RELOGIN:
                    if not await self._recover(result.retcode, gen, relink_first=False):
                        return
                elif outcome is PollOutcome.UNKNOWN:
                    unknown += 1
                    log_poll.warning(
                        "unknown poll retcode %d (%d in a row)", result.retcode, unknown
                    )
                    if unknown > _UNKNOWN_LIMIT:
                        unknown = 0
                        if not await self._recover(result.retcode, gen, relink_first=True):
                            return
                    else:
                        await asyncio.sleep(self._backoff.next())
        except asyncio.CancelledError:
            raise
        except SmartQQError as exc:
            self._fatal = exc
            self._dispatch(Disconnected(reason=str(exc)))
        finally:
            if self._fatal is not None:
                self._dispatcher.end_streams()

    async def _network_trouble(self, reason: str) -> None:
        if self._connected:
            self._connected = False
            log_poll.warning("poll failed: %s; backing off", reason)
            self._dispatch(Disconnected(reason=reason))
        await asyncio.sleep(self._backoff.next())

    def _recovered(self) -> None:
        self._backoff.reset()
        if not self._connected:
            self._connected = True
            self._dispatch(Reconnected(how="network"))

    async def _kicked(self, event: KickMessage, generation: int) -> bool:
        """Handle a kick; True when polling must end."""
        log_poll.warning("kicked: %s", event.reason)
        if self.relogin_on_kick and self.auto_relogin:
            await self._once_per_generation(generation, lambda: self._relogin(0))
            return False
        self._fatal = Kicked(event.reason)
        self._connected = False
        self._dispatch(Disconnected(reason="kicked"))
        return True

    async def _recover(self, retcode: int, generation: int, *, relink_first: bool) -> bool:
        """Relink and/or re-login after a dead-session answer; False when the session is lost.

        ``generation`` is the session generation the failing request was made
        with: if the session was re-established since (by the poll loop or a
        send), there is nothing left to do.
        """
        return await self._once_per_generation(
            generation, lambda: self._recover_locked(retcode, relink_first=relink_first)
        )

    async def _once_per_generation(
        self, generation: int, reestablish: Callable[[], Awaitable[bool | None]]
    ) -> bool:
        """Run ``reestablish`` unless the session changed since ``generation``.

        The poll loop, a kick and failing sends can all notice a dead session at
        once; serialising here means one re-login, not several that kick each other.
        """
        if self._recover_lock is None:
            self._recover_lock = asyncio.Lock()
        async with self._recover_lock:
            if self._generation != generation:
                return True
            ok = await reestablish() is not False
            if ok:
                self._generation += 1
            return ok

    async def _recover_locked(self, retcode: int, *, relink_first: bool) -> bool:
        state = self._require_state()
        can_relogin = self.auto_relogin
        self._dispatch(SessionExpired(retcode=retcode, will_relogin=can_relogin))
        if relink_first:
            try:
                await self._run_flow(relink_flow(state), state)
                self._adopt(state)
                log_poll.info("relinked after retcode %d", retcode)
                self._dispatch(Reconnected(how="relink"))
                return True
            except (APIError, ProtocolError, HTTPStatusError, TransportError) as exc:
                log_poll.info("relink failed (%s); logging in again", type(exc).__name__)
        if not can_relogin:
            self._fatal = SessionExpiredError(
                retcode, "poll2", "session ended and auto_relogin is off"
            )
            self._connected = False
            self._dispatch(Disconnected(reason="session expired"))
            return False
        await self._relogin(retcode)
        return True

    async def _relogin(self, retcode: int) -> None:
        """Log in again; transient failures back off and retry, a refused login is final."""
        while True:
            try:
                state = await self._full_login()
                break
            except LoginError as exc:
                raise SessionExpiredError(retcode, "poll2", f"re-login failed: {exc}") from exc
            except (TransportError, HTTPStatusError, ProtocolError, APIError) as exc:
                log_login.warning("re-login hit %s; retrying", type(exc).__name__)
                await asyncio.sleep(self._backoff.next())
        self._adopt(state)
        self._dispatch(Reconnected(how="relogin"))
        self._dispatch(LoggedIn(uin=state.uin, qq=state.qq, nick=state.nick, resumed=False))

    # -- sending -------------------------------------------------------------------------

    async def _pace(self) -> None:
        if self._send_lock is None:
            self._send_lock = asyncio.Lock()
        async with self._send_lock:
            wait = self._last_send + self.send_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_send = time.monotonic()

    async def _send_parts(
        self,
        kind: str,
        target: int,
        content: str | Content | Segment | Sequence[str | Segment],
        font: Font | None,
        build: Callable[[SessionState, str, int], HttpRequest],
    ) -> SendResult:
        self._require_state()
        _check_target(kind, target)
        body = Content.coerce(content)
        if not body.segments or (
            not body.text.strip() and not any(not hasattr(s, "text") for s in body.segments)
        ):
            raise UsageError("refusing to send an empty message")
        msg_ids: list[int] = []
        codes: list[int] = []
        uncertain = False
        for part in body.split():
            encoded = part.encode(font)
            await self._pace()
            msg_id = next(self._msg_ids)
            try:
                outcome = await self._send_part(build, encoded, msg_id, retry=True)
            except SessionExpiredError:
                log_send.warning(
                    "%s to %d failed: the session could not be recovered", kind, target
                )
                raise
            msg_ids.append(msg_id)
            codes.append(outcome.retcode)
            if outcome.uncertain:
                # 1202: maybe delivered. Never resend blindly (older clients spammed duplicates).
                uncertain = True
                log_send.warning("%s to %d answered 1202: delivery uncertain", kind, target)
        status = SendStatus.UNCERTAIN if uncertain else SendStatus.SENT
        return SendResult(
            kind=kind, target=target, msg_ids=tuple(msg_ids), status=status, retcodes=tuple(codes)
        )

    async def _send_part(
        self,
        build: Callable[[SessionState, str, int], HttpRequest],
        encoded: str,
        msg_id: int,
        *,
        retry: bool,
    ) -> SendOutcome:
        """Send one part; after a dead-session answer recover once and resend.

        Resending is safe there: 103/100012/121 mean the server refused the
        message, unlike 1202, which may have been delivered.
        """
        generation = self._generation
        req = build(self._require_state(), encoded, msg_id)
        resp = await self._send_once(req)
        if resp.status != 200:
            raise HTTPStatusError(resp.status, req.endpoint)
        try:
            return parse_send_response(resp.body, req.endpoint)
        except SessionExpiredError as exc:
            if not retry:
                raise
            log_send.warning("%s answered %d; recovering the session", req.endpoint, exc.retcode)
            if not await self._recover(exc.retcode, generation, relink_first=True):
                raise
            return await self._send_part(build, encoded, msg_id, retry=False)

    async def _send_once(self, req: HttpRequest) -> HttpResponse:
        """Retry only connections that failed before the request was written."""
        for attempt in range(_SEND_RETRIES + 1):
            try:
                return await self._send(req)
            except ConnectError:
                if attempt == _SEND_RETRIES:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def send_buddy_msg(
        self,
        uin: int,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        font: Font | None = None,
    ) -> SendResult:
        """Send to a friend by uin. Long content is split; see :class:`SendResult`."""
        _check_target("buddy", uin)
        await self.contacts.require("buddy", uin)
        face = self.contacts.self_face
        return await self._send_parts(
            "buddy", uin, content, font, lambda s, c, m: ep.send_buddy_msg2(s, uin, c, m, face)
        )

    async def send_qun_msg(
        self,
        gid: int,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        font: Font | None = None,
    ) -> SendResult:
        """Send to a group by its ``gid``."""
        _check_target("group", gid)
        await self.contacts.require("group", gid)
        face = self.contacts.self_face
        return await self._send_parts(
            "group", gid, content, font, lambda s, c, m: ep.send_qun_msg2(s, gid, c, m, face)
        )

    async def send_discu_msg(
        self,
        did: int,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        font: Font | None = None,
    ) -> SendResult:
        """Send to a discussion by its ``did``."""
        _check_target("discu", did)
        await self.contacts.require("discu", did)
        face = self.contacts.self_face
        return await self._send_parts(
            "discu", did, content, font, lambda s, c, m: ep.send_discu_msg2(s, did, c, m, face)
        )

    async def send_sess_msg(
        self,
        uin: int,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        group_id: int,
        service_type: int = 0,
        font: Font | None = None,
    ) -> SendResult:
        """A temporary-session message to a group (service_type 0) or discussion (1) member."""
        state = self._require_state()
        sig = await self._call(ep.get_c2cmsg_sig2(state, group_id, uin, service_type))
        group_sig = str(sig.get("value", "")) if isinstance(sig, dict) else ""
        return await self._send_parts(
            "sess",
            uin,
            content,
            font,
            lambda s, c, m: ep.send_sess_msg2(s, uin, group_sig, service_type, c, m),
        )

    async def reply_to(
        self,
        event: MessageEvent,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        font: Font | None = None,
    ) -> SendResult:
        """Answer ``event`` in its own chat."""
        if isinstance(event, GroupMessage):
            return await self.send_qun_msg(event.from_uin, content, font=font)
        if isinstance(event, DiscuMessage):
            return await self.send_discu_msg(event.did or event.from_uin, content, font=font)
        if isinstance(event, SessMessage):
            return await self.send_sess_msg(
                event.from_uin,
                content,
                group_id=event.id,
                service_type=event.service_type,
                font=font,
            )
        return await self.send_buddy_msg(event.from_uin, content, font=font)

    async def display_name_for(self, event: MessageEvent) -> str:
        return await self.contacts.display_name(event)

    # -- contacts and info ---------------------------------------------------------------

    async def get_friends(self) -> list[Friend]:
        state = self._require_state()
        return list(parse_friend_list(await self._call(ep.get_user_friends2(state))).friends)

    async def get_groups(self) -> list[Group]:
        state = self._require_state()
        return list(parse_group_list(await self._call(ep.get_group_name_list_mask2(state))).groups)

    async def get_discus(self) -> list[Discu]:
        return parse_discu_list(await self._call(ep.get_discus_list(self._require_state())))

    async def get_group_info(self, group: Group | int) -> GroupInfo:
        """Members and cards of a group (a :class:`Group`, or its ``code``)."""
        code = group.code if isinstance(group, Group) else group
        return parse_group_info(
            await self._call(ep.get_group_info_ext2(self._require_state(), code))
        )

    async def get_discu_info(self, did: int) -> DiscuInfo:
        return parse_discu_info(await self._call(ep.get_discu_info(self._require_state(), did)))

    async def get_self_info(self) -> SelfInfo:
        return parse_model(
            SelfInfo, await self._call(ep.get_self_info2(self._require_state())), "get_self_info2"
        )

    async def get_online_buddies(self) -> list[OnlineBuddy]:
        data = await self._call(ep.get_online_buddies2(self._require_state()))
        return parse_models(OnlineBuddy, data, "get_online_buddies2")

    async def get_recent_list(self) -> list[RecentContact]:
        data = await self._call(ep.get_recent_list2(self._require_state()))
        return parse_models(RecentContact, data, "get_recent_list2")

    async def get_friend_info(self, uin: int) -> FriendInfo:
        data = await self._call(ep.get_friend_info2(self._require_state(), uin))
        return parse_model(FriendInfo, data, "get_friend_info2")

    async def get_long_nick(self, uin: int) -> str:
        data = await self._call(ep.get_single_long_nick2(self._require_state(), uin))
        if isinstance(data, list) and data and isinstance(data[0], dict):
            return str(data[0].get("lnick", ""))
        raise ProtocolError(
            "get_single_long_nick2 result is not a list of objects", repr(data)[:80]
        )

    async def get_qq_number(self, uin: int, *, kind: int = 1) -> int:
        """The real QQ number behind a uin (Tencent disabled this in April 2017).

        ``kind=4`` asks for a group's number given its ``code`` instead.
        """
        data = await self._call(ep.get_friend_uin2(self._require_state(), uin, kind))
        if not isinstance(data, dict) or "account" not in data:
            raise ProtocolError("get_friend_uin2 gave no account", repr(data)[:80])
        return int(data["account"])

    async def change_status(self, status: str) -> None:
        allowed = ("online", "callme", "away", "busy", "silent", "hidden", "offline")
        if status not in allowed:
            raise UsageError(f"status must be one of {', '.join(allowed)}")
        state = self._require_state()
        await self._call(ep.change_status2(state, status))
        state.status = status

    async def logout(self) -> None:
        """Log out on the server, then close the client."""
        state = self._require_state()
        try:
            resp = await self._send(ep.logout(state))
            log_login.info("logout answered HTTP %d", resp.status)
        finally:
            state.psessionid = ""
            await self.close()
