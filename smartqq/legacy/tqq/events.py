"""Typed tqq events (pydantic, on :class:`smartqq.events.Event`), built from GetMsgEx items.

They dispatch through the same :class:`~smartqq.runtime.dispatch.Dispatcher` as SmartQQ
events: ``@client.on(TQQMessage)`` handles every chat message, ``@client.on(TQQEvent)``
everything. MT codes the seeds do not list arrive as :class:`TQQUnknownMessage`, so
nothing the server sends is dropped.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from smartqq.errors import UsageError
from smartqq.events import Event

from .codec import Reassembler
from .models import AckCode, MessageType, RawMessage, Status

__all__ = [
    "TQQAuthAccepted",
    "TQQAuthRejected",
    "TQQAuthRequest",
    "TQQEvent",
    "TQQMessage",
    "TQQStatusChange",
    "TQQSystemMessage",
    "TQQUnknownMessage",
    "to_events",
]


@runtime_checkable
class _Actions(Protocol):
    async def send(self, uin: int, text: str) -> None: ...

    async def ack_add(self, uin: int, code: AckCode, reason: str = "") -> None: ...


class TQQEvent(Event):
    """Base of every tqq event; ``sender`` is the QQ number it came from."""

    poll_type: ClassVar[str] = "tqq"
    from_poll2: ClassVar[bool] = False  # not SmartQQ poll2 types: kept out of its parser
    sender: int

    def _bound(self) -> _Actions:
        # A tqq event is bound to a TQQClient (send, ack_add), not to a SmartQQ Replier.
        private = self.__pydantic_private__
        client = None if private is None else private.get("client")
        if not isinstance(client, _Actions):
            raise UsageError("this event is not bound to a client")
        return client


class TQQMessage(TQQEvent):
    """A chat message (MT 9), reassembled from its segments, trailing space removed."""

    poll_type: ClassVar[str] = "tqq_message"
    text: str

    async def reply(self, text: str) -> None:
        """Send ``text`` back to the sender (split and paced by the client)."""
        await self._bound().send(self.sender, text)


class TQQStatusChange(TQQEvent):
    """A friend's status changed (MT 99 with MG 10/20/30). Invisible shows as OFFLINE."""

    poll_type: ClassVar[str] = "tqq_status"
    status: Status


class TQQSystemMessage(TQQEvent):
    """Any other system message (MT 99)."""

    poll_type: ClassVar[str] = "tqq_system"
    text: str


class TQQAuthRequest(TQQEvent):
    """Someone asks to add you as a friend (MT 2); ``reason`` is their text."""

    poll_type: ClassVar[str] = "tqq_auth_request"
    reason: str

    async def approve(self) -> None:
        await self._bound().ack_add(self.sender, AckCode.APPROVE)

    async def reject(self, reason: str = "") -> None:
        await self._bound().ack_add(self.sender, AckCode.REJECT, reason)


class TQQAuthAccepted(TQQEvent):
    """Your friend request was approved (MT 3)."""

    poll_type: ClassVar[str] = "tqq_auth_accepted"


class TQQAuthRejected(TQQEvent):
    """Your friend request was rejected (MT 4); ``reason`` is theirs."""

    poll_type: ClassVar[str] = "tqq_auth_rejected"
    reason: str


class TQQUnknownMessage(TQQEvent):
    """An MT code the seeds do not describe, kept whole."""

    poll_type: ClassVar[str] = "tqq_unknown"
    type: int
    text: str


def to_events(items: list[RawMessage], reassembler: Reassembler) -> list[TQQEvent]:
    """Events for GetMsgEx items; text segments wait in ``reassembler`` until complete."""
    out: list[TQQEvent] = []
    for item in items:
        event: TQQEvent | None
        if item.type == MessageType.TEXT:
            text = reassembler.feed(item.sender, item.text)
            event = None if text is None else TQQMessage(sender=item.sender, text=text)
        elif item.type == MessageType.SYSTEM:
            event = _system(item)
        elif item.type == MessageType.AUTH_REQUEST:
            event = TQQAuthRequest(sender=item.sender, reason=item.text)
        elif item.type == MessageType.AUTH_ACCEPTED:
            event = TQQAuthAccepted(sender=item.sender)
        elif item.type == MessageType.AUTH_REJECTED:
            event = TQQAuthRejected(sender=item.sender, reason=item.text)
        else:
            event = TQQUnknownMessage(sender=item.sender, type=item.type, text=item.text)
        if event is not None:
            out.append(event)
    return out


def _system(item: RawMessage) -> TQQEvent:
    code: Any = item.text.strip()
    if code.isdigit() and int(code) in (10, 20, 30, 40):
        status = Status(int(code))
        return TQQStatusChange(
            sender=item.sender, status=Status.OFFLINE if status is Status.INVISIBLE else status
        )
    return TQQSystemMessage(sender=item.sender, text=item.text)
