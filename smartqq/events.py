"""Typed events from ``poll2`` (PROTOCOL §6.3) and :func:`parse_poll` (§6.2, §10).

Events form a class hierarchy; a handler registered for a base class sees
every subclass (``MessageEvent`` sees buddy, group, discussion and sess
messages)::

    Event
    ├── MessageEvent ── BuddyMessage, GroupMessage, DiscuMessage, SessMessage
    ├── BuddiesStatusChange, KickMessage, InputNotify, ShakeMessage,
    │   SystemMessage, SysGroupMessage, GroupWebMessage, FileMessage,
    │   FileServerTransfer, PushOfflineFile, NotifyOfflineFile, AVRequest,
    │   AVRefuse, Tips, BuddylistChange, NickChange
    ├── UnknownEvent                      -- any other poll_type, value kept raw
    └── LifecycleEvent ── LoggedIn, Disconnected, Reconnected, SessionExpired

``parse_poll`` never raises anything but :class:`~smartqq.errors.ProtocolError`,
and a malformed element of a batch becomes an :class:`UnknownEvent` carrying
``error`` instead of costing the rest of the batch. Batches arrive newest
first; events come out oldest first by (time, msg_id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from .content import Content, Font, Segment
from .errors import ProtocolError
from .protocol.parsers import decode_json, snippet

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .models import SendResult

__all__ = [
    "AVRefuse",
    "AVRequest",
    "BuddiesStatusChange",
    "BuddyMessage",
    "BuddylistChange",
    "Disconnected",
    "DiscuMessage",
    "Event",
    "FileMessage",
    "FileServerTransfer",
    "GroupMessage",
    "GroupWebMessage",
    "InputNotify",
    "KickMessage",
    "LifecycleEvent",
    "LoggedIn",
    "MessageEvent",
    "NickChange",
    "NotifyOfflineFile",
    "PollOutcome",
    "PollResult",
    "PushOfflineFile",
    "Reconnected",
    "SessMessage",
    "SessionExpired",
    "ShakeMessage",
    "SysGroupMessage",
    "SystemMessage",
    "Tips",
    "UnknownEvent",
    "event_class_for",
    "parse_event",
    "parse_poll",
]


class Replier(Protocol):
    """What an event needs from the client to answer in its chat."""

    async def reply_to(
        self,
        event: MessageEvent,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        font: Font | None = None,
    ) -> SendResult: ...

    async def ask(
        self,
        event: MessageEvent,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        timeout: float | None = None,
    ) -> MessageEvent: ...


def _content(value: Any) -> Content:
    if isinstance(value, Content):
        return value
    return Content.parse(value)


ContentField = Annotated[Content, BeforeValidator(_content)]


class Event(BaseModel):
    """Base of every event."""

    model_config = ConfigDict(extra="allow", frozen=True, arbitrary_types_allowed=True)
    poll_type: ClassVar[str] = ""

    # The receiving client lives in ``__pydantic_private__`` without a declared
    # PrivateAttr: declaring one makes pydantic initialise it on every construction,
    # which doubled the cost of building an event (benchmarks/, parse + dispatch row).
    def bind(self, client: Any) -> None:
        """Attach the client that received this event (done by the dispatcher)."""
        object.__setattr__(self, "__pydantic_private__", {"client": client})

    @property
    def client(self) -> Any:
        """The client that received this event (``None`` until dispatched)."""
        private = self.__pydantic_private__
        return None if private is None else private.get("client")

    @property
    def _client(self) -> Any:
        return self.client

    @property
    def kind(self) -> str:
        return self.poll_type


class MessageEvent(Event):
    """A chat message of any kind."""

    msg_id: int
    from_uin: int
    to_uin: int = 0
    msg_type: int = 0
    time: int = 0
    content: ContentField = Content()
    msg_id2: int | None = None
    reply_ip: int | None = None

    @property
    def text(self) -> str:
        return self.content.text

    @property
    def sender_uin(self) -> int:
        """The uin of the person who wrote it."""
        return self.from_uin

    @property
    def chat_key(self) -> tuple[str, int]:
        """(kind, id) of the chat this message belongs to."""
        return (self.poll_type, self.from_uin)

    async def reply(
        self,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        font: Font | None = None,
    ) -> SendResult:
        """Answer in the same chat (buddy, group or discussion)."""
        if self._client is None:
            from .errors import UsageError

            raise UsageError("this event is not bound to a client")
        client: Replier = self._client
        return await client.reply_to(self, content, font=font)

    async def ask(
        self,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        timeout: float | None = None,
    ) -> MessageEvent:
        """Say ``content`` here and return the sender's next message in this chat.

        That answer is consumed: no handler also sees it (so an answer that looks
        like a command is not run as one). ``TimeoutError`` after ``timeout``.
        """
        if self._client is None:
            from .errors import UsageError

            raise UsageError("this event is not bound to a client")
        client: Replier = self._client
        return await client.ask(self, content, timeout=timeout)

    async def get_sender(self) -> str:
        """The sender's display name, resolved through the client's contact cache."""
        if self._client is None:
            return str(self.sender_uin)
        name: str = await self._client.display_name_for(self)
        return name


class BuddyMessage(MessageEvent):
    poll_type: ClassVar[str] = "message"


class GroupMessage(MessageEvent):
    poll_type: ClassVar[str] = "group_message"
    group_code: int = 0
    send_uin: int = 0
    seq: int | None = None
    info_seq: int | None = None

    @property
    def group_uin(self) -> int:
        """The group's ``gid`` (``from_uin`` of group messages)."""
        return self.from_uin

    @property
    def sender_uin(self) -> int:
        return self.send_uin


class DiscuMessage(MessageEvent):
    poll_type: ClassVar[str] = "discu_message"
    did: int = 0
    send_uin: int = 0
    seq: int | None = None
    info_seq: int | None = None

    @property
    def sender_uin(self) -> int:
        return self.send_uin

    @property
    def chat_key(self) -> tuple[str, int]:
        return (self.poll_type, self.did or self.from_uin)


class SessMessage(MessageEvent):
    """A temporary-session message from a group or discussion member."""

    poll_type: ClassVar[str] = "sess_message"
    id: int = 0
    ruin: int = 0
    service_type: int = 0
    flags: dict[str, Any] | None = None


class BuddiesStatusChange(Event):
    poll_type: ClassVar[str] = "buddies_status_change"
    uin: int
    status: str = ""
    client_type: int = 0


class KickMessage(Event):
    """The server ended this session (usually: logged in elsewhere)."""

    poll_type: ClassVar[str] = "kick_message"
    way: str = ""
    show_reason: int = 0
    reason: str = ""


class InputNotify(Event):
    poll_type: ClassVar[str] = "input_notify"
    from_uin: int
    to_uin: int = 0
    msg_id: int = 0
    msg_type: int = 0


class ShakeMessage(Event):
    poll_type: ClassVar[str] = "shake_message"
    from_uin: int
    to_uin: int = 0
    msg_id: int = 0
    msg_type: int = 0


class SystemMessage(Event):
    """Friend requests and their outcomes (``type`` = verify_required, …)."""

    poll_type: ClassVar[str] = "system_message"
    type: str = ""
    from_uin: int = 0
    account: int = 0
    msg: str = ""
    stat: int = 0
    client_type: int = 0


class SysGroupMessage(Event):
    """Group system notices (``sys_g_msg``): join, leave, admin changes."""

    poll_type: ClassVar[str] = "sys_g_msg"
    type: str = ""
    from_uin: int = 0
    gcode: int = 0
    t_gcode: int = 0
    op_type: int = 0
    msg_id: int = 0


class GroupWebMessage(Event):
    poll_type: ClassVar[str] = "group_web_message"
    from_uin: int = 0
    group_code: int = 0
    group_type: int = 0
    send_uin: int = 0
    xml: str = ""
    msg_id: int = 0


class FileMessage(Event):
    poll_type: ClassVar[str] = "file_message"
    mode: str = ""
    from_uin: int = 0
    to_uin: int = 0
    session_id: int = 0
    name: str = ""
    time: int = 0


class FileServerTransfer(Event):
    poll_type: ClassVar[str] = "filesrv_transfer"
    from_uin: int = 0
    to_uin: int = 0


class PushOfflineFile(Event):
    poll_type: ClassVar[str] = "push_offfile"
    from_uin: int = 0


class NotifyOfflineFile(Event):
    poll_type: ClassVar[str] = "notify_offfile"
    from_uin: int = 0
    action: int = 0
    filename: str = ""


class AVRequest(Event):
    poll_type: ClassVar[str] = "av_request"
    from_uin: int = 0
    msg_id: int = 0


class AVRefuse(Event):
    poll_type: ClassVar[str] = "av_refuse"
    from_uin: int = 0
    msg_id: int = 0


class Tips(Event):
    poll_type: ClassVar[str] = "tips"
    url: str = ""
    txt3: str = ""
    from_uin: int = 0


class BuddylistChange(Event):
    poll_type: ClassVar[str] = "buddylist_change"
    removed_friends: list[dict[str, Any]] = []


class NickChange(Event):
    poll_type: ClassVar[str] = "nick_change"


class UnknownEvent(Event):
    """A ``poll_type`` we do not know (or an element we could not read: see ``error``)."""

    type_name: str = ""
    value: Any = None
    error: str | None = None

    @property
    def kind(self) -> str:
        return self.type_name


class LifecycleEvent(Event):
    """Client-side events about the connection itself."""


class LoggedIn(LifecycleEvent):
    uin: int = 0
    qq: int = 0
    nick: str = ""
    resumed: bool = False


class Disconnected(LifecycleEvent):
    reason: str = ""


class Reconnected(LifecycleEvent):
    how: str = ""
    """``relink``, ``relogin`` or ``network``."""


class SessionExpired(LifecycleEvent):
    retcode: int = 0
    will_relogin: bool = False


_EVENT_CLASSES: dict[str, type[Event]] = {
    cls.poll_type: cls
    for cls in (
        BuddyMessage,
        GroupMessage,
        DiscuMessage,
        SessMessage,
        BuddiesStatusChange,
        KickMessage,
        InputNotify,
        ShakeMessage,
        SystemMessage,
        SysGroupMessage,
        GroupWebMessage,
        FileMessage,
        FileServerTransfer,
        PushOfflineFile,
        NotifyOfflineFile,
        AVRequest,
        AVRefuse,
        Tips,
        BuddylistChange,
        NickChange,
    )
}


def event_class_for(poll_type: str) -> type[Event] | None:
    return _EVENT_CLASSES.get(poll_type)


def parse_event(element: Any) -> Event:
    """One ``{"poll_type":…,"value":{…}}`` element as a typed event (never raises)."""
    if not isinstance(element, Mapping):
        return UnknownEvent(value=element, error="batch element is not an object")
    poll_type = element.get("poll_type")
    value = element.get("value")
    if not isinstance(poll_type, str):
        return UnknownEvent(value=dict(element), error="batch element has no poll_type")
    cls = _EVENT_CLASSES.get(poll_type)
    if cls is None:
        return UnknownEvent(type_name=poll_type, value=value)
    if not isinstance(value, Mapping):
        return UnknownEvent(type_name=poll_type, value=value, error="value is not an object")
    try:
        return cls.model_validate(value)
    except (ValidationError, ProtocolError) as exc:
        return UnknownEvent(type_name=poll_type, value=value, error=_reason(exc))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


class PollOutcome(StrEnum):
    EVENTS = "events"
    IDLE = "idle"
    NEW_PTWEBQQ = "new_ptwebqq"
    PROBE = "needs_online_buddies_probe"
    RELINK = "relink"
    RELOGIN = "relogin"
    UNKNOWN = "unknown"


_IDLE_CODES = frozenset({102, 1202, 100003, 100012})
_RELINK_CODES = frozenset({120, 121})
_RELOGIN_CODES = frozenset({100, 108, 100000, 100001, 100002})


@dataclass(frozen=True, slots=True)
class PollResult:
    retcode: int
    outcome: PollOutcome
    events: tuple[Event, ...] = ()
    ptwebqq: str | None = None
    errmsg: str = ""

    def __repr__(self) -> str:
        return (
            f"PollResult(retcode={self.retcode}, outcome={self.outcome.value}, "
            f"events={len(self.events)})"
        )


def _int_attr(ev: Event, name: str) -> int:
    # Untyped events keep unknown fields as received: a "msg_id" may be anything.
    value = getattr(ev, name, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _sort_key(ev: Event, idx: int, last_time: int) -> tuple[int, int, int]:
    return (_int_attr(ev, "time") or last_time, _int_attr(ev, "msg_id"), idx)


def parse_poll(body: bytes | str | Mapping[str, Any]) -> PollResult:
    """Classify one poll2 answer and parse its events (oldest first)."""
    if isinstance(body, Mapping):
        obj: Any = body
        raw: bytes | str = repr(dict(body))[:200]
    elif isinstance(body, bytes | str):
        obj = decode_json(body)
        raw = body
    else:
        raise ProtocolError("poll2 answer is not a JSON object", repr(body)[:120])
    if not isinstance(obj, Mapping):
        raise ProtocolError("poll2 answer is not a JSON object", snippet(raw))
    code = obj.get("retcode")
    if isinstance(code, bool) or not isinstance(code, int | str):
        raise ProtocolError("poll2 answer has no integer retcode", snippet(raw))
    try:
        retcode = int(code)
    except ValueError:
        raise ProtocolError("poll2 retcode is not an integer", snippet(raw)) from None
    errmsg = str(obj.get("errmsg") or obj.get("retmsg") or "")
    if retcode == 0:
        result = obj.get("result")
        if result is None or isinstance(result, str):
            return PollResult(0, PollOutcome.IDLE, errmsg=errmsg)
        if not isinstance(result, list):
            raise ProtocolError("poll2 result is neither a list nor a string", snippet(raw))
        if not result:
            return PollResult(0, PollOutcome.IDLE, errmsg=errmsg)
        # newest first on the wire: walk oldest-first, then order by (time, msg_id).
        ordered = [parse_event(el) for el in reversed(result)]
        keyed = []
        last_time = 0
        for idx, ev in enumerate(ordered):
            key = _sort_key(ev, idx, last_time)
            last_time = key[0]
            keyed.append((key, ev))
        keyed.sort(key=lambda kv: kv[0])
        return PollResult(0, PollOutcome.EVENTS, tuple(ev for _, ev in keyed), errmsg=errmsg)
    if retcode == 116:
        p = obj.get("p")
        if not isinstance(p, str):
            raise ProtocolError("poll2 retcode 116 without a string p", snippet(raw))
        return PollResult(116, PollOutcome.NEW_PTWEBQQ, ptwebqq=p, errmsg=errmsg)
    if retcode in _IDLE_CODES:
        return PollResult(retcode, PollOutcome.IDLE, errmsg=errmsg)
    if retcode == 103:
        return PollResult(retcode, PollOutcome.PROBE, errmsg=errmsg)
    if retcode in _RELINK_CODES:
        return PollResult(retcode, PollOutcome.RELINK, errmsg=errmsg)
    if retcode in _RELOGIN_CODES:
        return PollResult(retcode, PollOutcome.RELOGIN, errmsg=errmsg)
    return PollResult(retcode, PollOutcome.UNKNOWN, errmsg=errmsg)
