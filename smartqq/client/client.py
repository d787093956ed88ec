"""``smartqq.Client``: the facade over the session, the poller, the sender and the API.

Each job lives in its own module (see docs/client.md):

* :mod:`.session` logs in, resumes, relinks, re-logs in and owns cookies and secrets;
* :mod:`.poller` drives the pure :class:`~smartqq.protocol.poll.PollMachine`;
* :mod:`.sender` coerces, splits, paces and sends, and answers events (the ``Replier``);
* :mod:`.api` makes the list/info calls and :mod:`.contacts` caches their results.

Requests go through a :class:`~smartqq.transport.Transport` (by default an
:class:`~smartqq.transport.AsyncioTransport` of the client's own; ``Client(transport=...)``
for aiohttp's client, a mock or the in-memory emulator). Library code
never calls ``asyncio.run``; :meth:`Client.run` is the one script convenience.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, TypeVar, overload

from smartqq._tasks import cancel_and_wait
from smartqq.content import Font
from smartqq.errors import UsageError
from smartqq.events import Event, MessageEvent, parse_event
from smartqq.models import SendResult
from smartqq.protocol.poll import PollMachine
from smartqq.protocol.profiles import profile_by_name
from smartqq.protocol.session import SessionState
from smartqq.runtime.backoff import Backoff
from smartqq.runtime.dispatch import Concurrency, Dispatcher, ErrorHook, EventStream
from smartqq.runtime.lifecycle import BotRuntime
from smartqq.transport import AsyncioTransport, Transport

from .api import Api, InfoCalls
from .checks import check_options, check_stream
from .contacts import Contacts
from .echo import EchoFilter
from .poller import Poller, PollStats
from .qrcode import show_in_terminal
from .sender import AnyContent, Sender
from .session import CaptchaCallback, QRCallback, QRStatusCallback, Session

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "Client"]

E = TypeVar("E", bound=Event)
log = logging.getLogger("smartqq.poll")
DEFAULT_MAX_RESPONSE_BYTES = 8 << 20
"""Cap on poll2 and list/info bodies (decompressed); login pages and images have their own."""


class Client(InfoCalls, BotRuntime):
    """An asyncio SmartQQ client. See the module docstring and README for a tour."""

    def __init__(
        self,
        qq: int | None = None,
        password: str | None = None,
        *,
        session_file: str | os.PathLike[str] | None = None,
        base_url: str | None = None,
        transport: Transport | None = None,
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
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        ignore_self_echo: bool = True,
        handler_concurrency: Concurrency = "chat",
        stop_grace: float = 5.0,
        poll_ahead: bool = True,
        max_pending: int = 10_000,
    ) -> None:
        check_options(
            qq=qq,
            password=password,
            seconds={"send_interval": send_interval, "qr_poll_interval": qr_poll_interval},
            positive={"poll_timeout": poll_timeout, "backoff_base": backoff_base},
            backoff_cap=backoff_cap,
            counts={
                "event_buffer": event_buffer,
                "max_response_bytes": max_response_bytes,
                "dedup_window": dedup_window,
                "max_pending": max_pending,
            },
        )
        if transport is not None and base_url is not None:
            raise UsageError("give base_url= or transport=, not both")
        self.qq = qq
        self.profile = profile_by_name(profile)
        self.event_buffer = event_buffer
        self.relogin_on_kick = relogin_on_kick
        backoff = Backoff(backoff_base, backoff_cap)
        self._dispatcher = Dispatcher(self, on_error, concurrency=handler_concurrency)
        self.stop_grace = stop_grace
        self._session = Session(
            transport or AsyncioTransport(base_url),
            self.profile,
            self._dispatch,
            qq=qq,
            password=password,
            session_file=session_file,
            on_qrcode=on_qrcode or show_in_terminal,
            on_qr_status=on_qr_status,
            on_captcha=on_captcha,
            qr_poll_interval=qr_poll_interval,
            max_qr_refreshes=max_qr_refreshes,
            auto_relogin=auto_relogin,
            backoff=backoff,
            max_response_bytes=max_response_bytes,
            forget_contacts=lambda: self.contacts.invalidate(),
        )
        self._api = Api(self._session)
        self.contacts = Contacts(self._api, refresh_interval=contacts_refresh)
        echo = EchoFilter() if ignore_self_echo else None
        self._sender = Sender(
            self._session, self._api, self.contacts, send_interval=send_interval, echo=echo
        )
        self._poller = Poller(
            self._session,
            PollMachine(backoff, relogin_on_kick=relogin_on_kick and auto_relogin),
            self._dispatcher.dispatch,  # no hop through the client per received event
            self._report,
            poll_timeout=poll_timeout,
            dedup_window=dedup_window,
            echo=echo,
            knows_sender=self.contacts.knows_sender,
            poll_ahead=poll_ahead,
            backlog=self._dispatcher.backlog,
            max_pending=max_pending,
        )
        self._poll_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = self.state
        who = f"qq={state.qq}" if state else ("qq=" + str(self.qq) if self.qq else "QR login")
        return f"<smartqq.Client {who} profile={self.profile.name} logged_in={self.logged_in}>"

    @property
    def state(self) -> SessionState | None:
        return self._session.state

    @property
    def transport(self) -> Transport:
        return self._session.transport

    @property
    def session_file(self) -> str | os.PathLike[str] | None:
        return self._session.session_file

    @property
    def stats(self) -> PollStats:
        """Counters of the poll loop: polls, events, duplicates, echoes dropped, errors..."""
        return self._poller.stats

    @property
    def logged_in(self) -> bool:
        return self.state is not None and bool(self.state.psessionid)

    @property
    def uin(self) -> int:
        return self._session.require_state().uin

    async def login(self) -> SessionState:
        """Resume a saved session if possible, else log in (password or QR)."""
        return await self._session.login()

    def save_session(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the current session (no password) to ``path`` with mode 0600."""
        self._session.save(path)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Log in if needed and start the poll task."""
        if self.state is None:
            await self.login()
        if self._poll_task is None or self._poll_task.done():
            self._session.fatal = None
            self._poll_task = asyncio.get_running_loop().create_task(
                self._poll_loop(), name="smartqq-poll"
            )
            self.contacts.start()
        await self._run_startup_hooks()

    async def _poll_loop(self) -> None:
        try:
            await self._poller.run()
        finally:
            if self._session.fatal is not None:
                self._dispatcher.end_streams()

    async def close(self) -> None:
        """Stop polling, finish (then cancel) handlers, close the connection pool:
        :meth:`stop` (safe from a handler too)."""
        await self.stop()

    async def _halt(self) -> None:  # the runtime's stop sequence, step 1
        task, self._poll_task = self._poll_task, None
        if task is not None and not task.done():
            await cancel_and_wait(task)
        await self.contacts.stop()

    async def _release(self) -> None:  # the runtime's stop sequence, last step
        self._session.closed = True
        await self._session.aclose()

    def _failure(self) -> BaseException | None:
        return self._session.fatal

    async def __aenter__(self) -> Client:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

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
        check_stream(event_type, buffer)
        return self._dispatcher.stream(event_type or Event, buffer or self.event_buffer)

    def feed_raw_event(self, element: dict[str, Any]) -> Event:
        """Dispatch one raw ``{"poll_type":…,"value":…}`` element (tests, replays)."""
        event = parse_event(element)
        self._dispatch(event)
        return event

    def _dispatch(self, event: Event) -> None:
        self._dispatcher.dispatch(event)

    async def _report(self, exc: BaseException, event: Event) -> None:
        """A poll-loop failure goes to the error hook like a handler's (the loop is the handler)."""
        hook = self._dispatcher.error_hook
        if hook is None:
            return  # the poller has logged it
        try:
            result = hook(exc, event, self._poll_handler)
            if asyncio.iscoroutine(result):
                await result
        except Exception:
            log.exception("the error hook itself failed")

    def _poll_handler(self, event: Event) -> None:
        """Stands for the poll loop where the error hook expects the failing handler."""

    @property
    def handler_tasks(self) -> set[asyncio.Task[None]]:
        return self._dispatcher.tasks

    # -- sending (the Replier of events) -------------------------------------------------

    async def send_buddy_msg(
        self, uin: int, content: AnyContent, *, font: Font | None = None
    ) -> SendResult:
        """Send to a friend by uin. Long content is split; see :class:`SendResult`."""
        return await self._sender.buddy(uin, content, font)

    async def send_qun_msg(
        self, gid: int, content: AnyContent, *, font: Font | None = None
    ) -> SendResult:
        """Send to a group by its ``gid``."""
        return await self._sender.group(gid, content, font)

    async def send_discu_msg(
        self, did: int, content: AnyContent, *, font: Font | None = None
    ) -> SendResult:
        """Send to a discussion by its ``did``."""
        return await self._sender.discu(did, content, font)

    async def send_sess_msg(
        self,
        uin: int,
        content: AnyContent,
        *,
        group_id: int,
        service_type: int = 0,
        font: Font | None = None,
    ) -> SendResult:
        """A temporary-session message to a group (service_type 0) or discussion (1) member."""
        return await self._sender.sess(uin, content, group_id, service_type, font)

    async def reply_to(
        self, event: MessageEvent, content: AnyContent, *, font: Font | None = None
    ) -> SendResult:
        """Answer ``event`` in its own chat."""
        return await self._sender.reply_to(event, content, font=font)

    async def display_name_for(self, event: MessageEvent) -> str:
        return await self.contacts.display_name(event)

    async def logout(self) -> None:
        """Log out on the server, then close the client (``stop(logout=True)``)."""
        self._session.require_state()
        await self.stop(logout=True)

    async def _logout_request(self) -> None:
        await self._api.logout()
