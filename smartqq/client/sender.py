"""Sending: coerce, split, pace, retry before write, 1202; the :class:`Replier` of events.

* Content is coerced and checked before anything is sent: text that cannot be
  encoded (a lone surrogate) or an empty message is a :class:`UsageError`.
* Long content is split into parts; parts are spaced ``send_interval`` apart.
* Only a connection that failed before the request was written is retried
  (:class:`ConnectError`), so a retry can never duplicate a message.
* A dead-session answer (103/100012/121...) means the message was refused:
  the sender waits for the session to be ready again (:meth:`Session.wait_ready`
  joins a recovery already under way, or has the session start one) and resends
  once. Senders never relink or log in themselves.
* 1202 may have been delivered: never resent, reported as ``UNCERTAIN``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Callable, Sequence

from smartqq.content import MAX_PART_BYTES, Content, Font, Segment
from smartqq.errors import (
    ConnectError,
    HTTPStatusError,
    SessionExpiredError,
    SmartQQError,
    UsageError,
)
from smartqq.events import DiscuMessage, GroupMessage, MessageEvent, SessMessage
from smartqq.models import SendResult, SendStatus
from smartqq.protocol import endpoints
from smartqq.protocol.http import HttpRequest, HttpResponse
from smartqq.protocol.parsers import SendOutcome, parse_send_response
from smartqq.protocol.session import SessionState

from .api import Api
from .checks import check_id
from .contacts import Contacts
from .echo import EchoFilter
from .session import Session

__all__ = ["AnyContent", "Sender"]

log = logging.getLogger("smartqq.send")

AnyContent = str | Content | Segment | Sequence[str | Segment]
Build = Callable[[SessionState, str, int], HttpRequest]
_SEND_RETRIES = 2
_BAD_CONTENT = (UnicodeError, ValueError, TypeError, OverflowError, RecursionError)


def check_target(kind: str, target: object) -> None:
    check_id(f"{kind} target", target)


# The wire text of the default font, as Content.encode ends every part with it.
_DEFAULT_FONT_JSON = json.dumps(Font().to_wire(), ensure_ascii=False, separators=(",", ":"))


def _parts(content: AnyContent, font: Font | None) -> list[tuple[str, str]]:
    """(wire JSON, plain text) per part; bad content is a UsageError before any I/O."""
    if content.__class__ is str and font is None:
        # The common send: one short plain string in the default font. The same JSON
        # text as Content.of(content).encode() (a hypothesis test holds them equal),
        # without building segments for it.
        text: str = content
        try:
            size = len(text.encode("utf-8"))  # a lone surrogate fails here, not on the wire
        except UnicodeError:
            raise UsageError("this content cannot be sent (UnicodeEncodeError)") from None
        if size <= MAX_PART_BYTES and text.strip():
            return [(f"[{json.dumps(text, ensure_ascii=False)},{_DEFAULT_FONT_JSON}]", text)]
    try:
        body = Content.coerce(content)
        if not body.segments or (
            not body.text.strip() and not any(not hasattr(s, "text") for s in body.segments)
        ):
            raise UsageError("refusing to send an empty message")
        parts = [(part.encode(font), part.text) for part in body.split()]
        for wire, _ in parts:
            wire.encode("utf-8")  # a lone surrogate fails here, not on the wire
        return parts
    except SmartQQError:
        raise
    except _BAD_CONTENT as exc:
        raise UsageError(f"this content cannot be sent ({type(exc).__name__})") from None


class Sender:
    # One per client: slots instead of a __dict__ save ~50 B each at 1,000 clients.
    __slots__ = (
        "_last_send",
        "_lock",
        "_msg_ids",
        "api",
        "contacts",
        "echo",
        "send_interval",
        "session",
    )

    def __init__(
        self,
        session: Session,
        api: Api,
        contacts: Contacts,
        *,
        send_interval: float,
        echo: EchoFilter | None,
    ) -> None:
        self.session = session
        self.api = api
        self.contacts = contacts
        self.send_interval = send_interval
        self.echo = echo
        self._lock: asyncio.Lock | None = None
        self._last_send = 0.0
        self._msg_ids = itertools.count(endpoints.msg_id_base() + 1)

    async def _pace(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            wait = self._last_send + self.send_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_send = time.monotonic()

    async def send(
        self, kind: str, target: int, content: AnyContent, font: Font | None, build: Build
    ) -> SendResult:
        self.session.require_state()
        check_target(kind, target)
        msg_ids: list[int] = []
        codes: list[int] = []
        uncertain = False
        for wire, text in _parts(content, font):
            if self.send_interval > 0:
                await self._pace()
            else:  # nothing to wait for: the lock and its coroutine would only cost
                self._last_send = time.monotonic()
            msg_id = next(self._msg_ids)
            try:
                outcome = await self._send_part(build, wire, msg_id, retry=True)
            except SessionExpiredError:
                log.warning("%s to %d failed: the session could not be recovered", kind, target)
                raise
            if self.echo is not None:
                self.echo.remember(kind, target, text)
            msg_ids.append(msg_id)
            codes.append(outcome.retcode)
            if outcome.uncertain:
                # 1202: maybe delivered. Never resend blindly (older clients spammed duplicates).
                uncertain = True
                log.warning("%s to %d answered 1202: delivery uncertain", kind, target)
        status = SendStatus.UNCERTAIN if uncertain else SendStatus.SENT
        return SendResult(
            kind=kind, target=target, msg_ids=tuple(msg_ids), status=status, retcodes=tuple(codes)
        )

    async def _send_part(self, build: Build, wire: str, msg_id: int, *, retry: bool) -> SendOutcome:
        """Send one part; after a dead-session answer recover once and resend.

        Resending is safe there: 103/100012/121 mean the server refused the
        message, unlike 1202, which may have been delivered.
        """
        generation = self.session.generation
        request = build(self.session.require_state(), wire, msg_id)
        response = await self._send_once(request)
        if response.status != 200:
            raise HTTPStatusError(response.status, request.endpoint)
        try:
            return parse_send_response(response.body, request.endpoint)
        except SessionExpiredError as exc:
            if not retry:
                raise
            log.warning("%s answered %d; waiting for the session", request.endpoint, exc.retcode)
            if not await self.session.wait_ready(exc.retcode, generation):
                raise
            return await self._send_part(build, wire, msg_id, retry=False)

    async def _send_once(self, request: HttpRequest) -> HttpResponse:
        """Retry only connections that failed before the request was written."""
        attempt = 0
        while True:
            try:
                return await self.session.request(request)
            except ConnectError:
                if attempt == _SEND_RETRIES:
                    raise
                attempt += 1
                await asyncio.sleep(0.2 * attempt)

    # -- the four chats ------------------------------------------------------------------

    async def buddy(self, uin: int, content: AnyContent, font: Font | None) -> SendResult:
        check_target("buddy", uin)
        await self.contacts.require("buddy", uin)
        return await self.send(
            "buddy", uin, content, font, lambda s, c, m: endpoints.send_buddy_msg2(s, uin, c, m)
        )

    async def group(self, gid: int, content: AnyContent, font: Font | None) -> SendResult:
        check_target("group", gid)
        await self.contacts.require("group", gid)
        return await self.send(
            "group", gid, content, font, lambda s, c, m: endpoints.send_qun_msg2(s, gid, c, m)
        )

    async def discu(self, did: int, content: AnyContent, font: Font | None) -> SendResult:
        check_target("discu", did)
        await self.contacts.require("discu", did)
        return await self.send(
            "discu", did, content, font, lambda s, c, m: endpoints.send_discu_msg2(s, did, c, m)
        )

    async def sess(
        self, uin: int, content: AnyContent, group_id: int, service_type: int, font: Font | None
    ) -> SendResult:
        check_target("sess", uin)
        check_id("group_id", group_id)
        if service_type not in (0, 1):
            raise UsageError("service_type must be 0 (group) or 1 (discussion)")
        _parts(content, font)  # bad content fails before the signature is fetched
        group_sig = await self.api.c2c_signature(group_id, uin, service_type)
        return await self.send(
            "sess",
            uin,
            content,
            font,
            lambda s, c, m: endpoints.send_sess_msg2(s, uin, group_sig, service_type, c, m),
        )

    async def reply_to(
        self, event: MessageEvent, content: AnyContent, *, font: Font | None = None
    ) -> SendResult:
        """Answer ``event`` in its own chat."""
        if isinstance(event, GroupMessage):
            return await self.group(event.from_uin, content, font)
        if isinstance(event, DiscuMessage):
            return await self.discu(event.did or event.from_uin, content, font)
        if isinstance(event, SessMessage):
            return await self.sess(event.from_uin, content, event.id, event.service_type, font)
        return await self.buddy(event.from_uin, content, font)
