"""``TQQClient``: an asyncio client for the tqq HTTP interface.

One POST per command (``text/plain; charset=UTF-8``), one answer per POST. After
:meth:`TQQClient.login` a task polls GetMsgEx every ``poll_interval`` seconds and
dispatches typed events (:mod:`.events`) to handlers registered with ``on()``, exactly
as :class:`smartqq.Client` does. The server drops a login that stays idle for ``LI``
seconds, so the poll loop doubles as the keep-alive; a ``RES=20`` answer (the login
was dropped) triggers one re-login.

Sending: :meth:`TQQClient.send` cuts text into pieces under 400 bytes and spaces
CLTMSGs ``send_interval`` apart, because the server punishes both long and fast
messages with ``RES=3`` after a 20-second wait. Each piece arrives as a message of its
own (the protocol has no way to join them). ``RES=3`` means the piece was *not*
delivered, so it is resent after another interval (``too_fast_retries`` times).
Change_Stat, DelFromList and Ack_AddToList are rate-limited the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import TypeVar

from smartqq._tasks import cancel_and_wait
from smartqq.errors import (
    ClientClosedError,
    HTTPStatusError,
    SmartQQError,
    TransportError,
    UsageError,
)
from smartqq.events import Event
from smartqq.legacy.errors import NotLoggedInError, TooFastError
from smartqq.protocol.http import HttpRequest
from smartqq.protocol.redact import register_secret, retire_secret
from smartqq.runtime.backoff import Backoff
from smartqq.runtime.dispatch import Dispatcher, EventStream
from smartqq.runtime.registry import HandlerRegistry
from smartqq.transport import AiohttpTransport, Transport

from . import commands as cmd
from .codec import VERSION, Answer, Reassembler, decode_answer, split_for_send
from .events import TQQEvent, to_events
from .models import (
    AckCode,
    AddResult,
    FingerEntry,
    FriendList,
    LoginResult,
    OnlineList,
    Status,
    UserInfo,
)

__all__ = ["DEFAULT_BASE_URL", "TQQClient"]

DEFAULT_BASE_URL = "http://tqq.tencent.com:8000"
log = logging.getLogger("smartqq.legacy.tqq")
E = TypeVar("E", bound=Event)


class TQQClient(HandlerRegistry):
    """A tqq account: ``async with TQQClient(qq, password, base_url=...) as c: ...``."""

    def __init__(
        self,
        qq: int,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        poll_interval: float = 1.0,
        send_interval: float = 1.0,
        too_fast_retries: int = 1,
        timeout: float = 30.0,
        version: str = VERSION,
        transport: Transport | None = None,
        max_response_bytes: int = 1 << 20,
    ) -> None:
        if isinstance(qq, bool) or not isinstance(qq, int) or qq <= 0:
            raise UsageError("qq must be a positive int")
        if not password:
            raise UsageError("a password is required")
        if poll_interval <= 0 or send_interval < 0 or too_fast_retries < 0 or timeout <= 0:
            raise UsageError(
                "poll_interval > 0, send_interval >= 0, too_fast_retries >= 0 and timeout > 0"
            )
        self.qq = qq
        self.__ps = cmd.password_md5(password)
        register_secret(password)
        register_secret(self.__ps)
        self._retire = (password, self.__ps)
        self.base_url = base_url.rstrip("/") + "/"
        self.poll_interval = poll_interval
        self.send_interval = send_interval
        self.too_fast_retries = too_fast_retries
        self.timeout = timeout
        self.version = version
        self.login_result: LoginResult | None = None
        self._seq = random.randint(1000, 9000)  # the seeds' own choice of starting SEQ
        self.max_response_bytes = max_response_bytes
        self._transport: Transport = transport or AiohttpTransport()
        self._dispatcher = Dispatcher(self)
        self._reassembler = Reassembler()
        self._poll_task: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._last_paced: dict[str, float] = {}
        self._closed = False
        self._fatal: BaseException | None = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "logged in" if self.logged_in else "logged out"
        return f"<TQQClient qq={self.qq} {state}>"

    @property
    def logged_in(self) -> bool:
        return self.login_result is not None

    # -- transport -------------------------------------------------------------------

    async def _post(self, body: str, name: str) -> str:
        if self._closed:
            raise ClientClosedError("the client is closed")
        request = HttpRequest(
            "POST",
            self.base_url,
            headers=(("Content-Type", "text/plain; charset=UTF-8"),),
            body=body.encode(),
            endpoint=name,
            max_bytes=self.max_response_bytes,
        )
        response = await self._transport.send(request, timeout=self.timeout)
        if response.status != 200:
            raise HTTPStatusError(response.status, name)
        return response.body.decode("utf-8", errors="replace")

    async def call(self, request: cmd.TQQRequest) -> Answer:
        """Send one command; the decoded answer, or the typed error for NULL / RES / RS."""
        self._seq += 1
        log.debug("%r", request)
        body = await self._post(request.encode(self.qq, self._seq, self.version), request.cmd)
        return decode_answer(body, request.cmd)

    # -- session ---------------------------------------------------------------------

    async def login(self) -> LoginResult:
        """Log in (md5 password, ``M5=1``, the fixed ``LC``)."""
        self.login_result = cmd.parse_login(await self.call(cmd.login(self.__ps)))
        log.info("logged in as %d", self.qq)
        return self.login_result

    async def start(self) -> None:
        """Log in if needed and start the GetMsgEx poll loop."""
        if not self.logged_in:
            await self.login()
        if self._poll_task is None or self._poll_task.done():
            self._fatal = None
            self._poll_task = asyncio.get_running_loop().create_task(
                self._poll_loop(), name=f"tqq-poll-{self.qq}"
            )

    async def logout(self) -> None:
        """Logout (the server answers RES=0 whether or not we were logged in)."""
        await self._stop_polling()
        await self.call(cmd.logout())
        self.login_result = None

    async def close(self) -> None:
        """Stop polling, log out (best effort), finish handlers, close the connection pool."""
        if self._closed:
            return
        await self._stop_polling()
        self._dispatcher.end_streams()
        await self._dispatcher.drain(timeout=5.0)  # handlers may still reply
        if self.logged_in:
            with contextlib.suppress(SmartQQError):
                await self.call(cmd.logout())
            self.login_result = None
        self._closed = True
        await self._transport.aclose()
        for secret in self._retire:
            retire_secret(secret)

    async def __aenter__(self) -> TQQClient:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def run_until_disconnected(self) -> None:
        """Wait until polling ends; raise the error that ended it, if any."""
        if self._poll_task is not None:
            await asyncio.gather(self._poll_task, return_exceptions=True)
        if self._fatal is not None:
            raise self._fatal

    # -- receiving -------------------------------------------------------------------

    async def poll_once(self) -> list[TQQEvent]:
        """One GetMsgEx: dispatch and return the complete events it carried."""
        items = cmd.parse_messages(await self.call(cmd.get_msg_ex()))
        events = to_events(items, self._reassembler)
        for event in events:
            self._dispatcher.dispatch(event)
        return events

    async def _poll_loop(self) -> None:
        backoff = Backoff(base=self.poll_interval, cap=max(30.0, self.poll_interval))
        relogged = False
        while True:
            try:
                await self.poll_once()
            except NotLoggedInError:
                if relogged:
                    self._fatal = NotLoggedInError("GetMsgEx", 20)
                    log.error("the server keeps answering RES=20; polling stops")
                    return
                relogged = True
                log.warning("the login was dropped (RES=20); logging in again")
                try:
                    await self.login()
                except SmartQQError as exc:
                    self._fatal = exc
                    log.error("re-login failed: %s", exc)
                    return
                continue
            except (TransportError, HTTPStatusError) as exc:
                delay = backoff.next()
                log.warning("GetMsgEx failed: %s; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            except SmartQQError as exc:  # NULL or an unreadable answer: keep going, slower
                delay = backoff.next()
                log.warning("GetMsgEx: %s; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            relogged = False
            backoff.reset()
            await asyncio.sleep(self.poll_interval)

    async def _stop_polling(self) -> None:
        task, self._poll_task = self._poll_task, None
        if task is not None and not task.done():
            await cancel_and_wait(task)

    def events(self, event_type: type[E] = TQQEvent, *, buffer: int = 1000) -> EventStream[E]:  # type: ignore[assignment]
        """Events as they arrive, for ``async for`` (oldest dropped when ``buffer`` is full)."""
        return self._dispatcher.stream(event_type, buffer)

    # -- sending ---------------------------------------------------------------------

    async def send(self, uin: int, text: str) -> int:
        """Send ``text`` to ``uin``, cut into pieces under 400 bytes; the number of pieces.

        Pieces are spaced ``send_interval`` apart. A piece answered RES=3 was not
        delivered and is resent after another interval, up to ``too_fast_retries`` times;
        then :class:`TooFastError` is raised (earlier pieces were delivered).
        """
        if not isinstance(text, str) or not text:
            raise UsageError("text must be a non-empty str")
        pieces = split_for_send(text)
        async with self._send_lock:
            for piece in pieces:
                await self._paced_call(cmd.cltmsg(uin, piece))
        return len(pieces)

    async def _paced_call(self, request: cmd.TQQRequest) -> Answer:
        """A rate-limited command: spaced ``send_interval`` from the last of its kind,
        resent after RES=3 (which means it was not carried out)."""
        for attempt in range(self.too_fast_retries + 1):
            wait = self._last_paced.get(request.cmd, 0.0) + self.send_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_paced[request.cmd] = time.monotonic()
            try:
                return await self.call(request)
            except TooFastError:
                if attempt == self.too_fast_retries:
                    raise
                log.warning("%s answered RES=3 (too fast): sending it again", request.cmd)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- contacts and status -----------------------------------------------------------

    async def list_friends(self) -> FriendList:
        """Every friend's QQ number (List with ``TN=160``)."""
        return cmd.parse_list(await self.call(cmd.list_friends()))

    async def friend_count(self) -> int:
        """How many friends (List with ``TN=0``)."""
        return cmd.parse_list(await self.call(cmd.list_friends(tn=0))).count

    async def online_friends(self) -> OnlineList:
        """Friends who are online or busy, with face and nick (Query_Stat ``TN=50``)."""
        return cmd.parse_query_stat(await self.call(cmd.query_stat()))

    async def get_info(self, uin: int, level: int = 2) -> UserInfo:
        return cmd.parse_info(await self.call(cmd.get_info(uin, level)))

    async def add_friend(self, uin: int) -> AddResult:
        """AddToList: added at once, needs their approval (then :meth:`request_auth`), or refused."""
        return cmd.parse_add(await self.call(cmd.add_to_list(uin)))

    async def ack_add(self, uin: int, code: AckCode, reason: str = "") -> None:
        """Ack_AddToList: approve or reject ``uin``'s request, or ask ``uin`` to approve ours."""
        await self._paced_call(cmd.ack_add_to_list(uin, code, reason))

    async def request_auth(self, uin: int, reason: str = "") -> None:
        """Ask ``uin`` to approve our friend request (Ack_AddToList ``CD=2``)."""
        await self.ack_add(uin, AckCode.REQUEST, reason)

    async def remove_friend(self, uin: int) -> None:
        await self._paced_call(cmd.del_from_list(uin))

    async def set_status(self, status: Status) -> None:
        """Change_Stat; friends get a status message (INVISIBLE shows as OFFLINE)."""
        await self._paced_call(cmd.change_stat(status))

    async def find(
        self, age: int | None = None, sex: int | None = None, province: str = ""
    ) -> list[FingerEntry]:
        """Finger: users matching age, sex (0 male, 1 female) and province (``None``: any)."""
        return cmd.parse_finger(await self.call(cmd.finger(age, sex, province)))
