"""The event classes and their registry (re-exported by :mod:`smartqq.events`).

Every class here is a frozen pydantic model. A class that declares ``poll_type``
registers itself in ``EVENT_TYPES`` (``Event.__init_subclass__``); the parser in
:mod:`smartqq.events` validates poll answers against that registry. An event is
bound to the :class:`Replier` that received it (stored in
``__pydantic_private__``), which is what ``reply``, ``ask`` and ``get_sender``
call. The class tree and the parsing rules are described in
:mod:`smartqq.events`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from .content import Content, Font, LazyContent, ReceivedContent, Segment

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .models import SendResult

__all__ = [
    "EVENT_TYPES",
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
    "PushOfflineFile",
    "Reconnected",
    "Replier",
    "SessMessage",
    "SessionExpired",
    "ShakeMessage",
    "SysGroupMessage",
    "SystemMessage",
    "Tips",
    "UnknownEvent",
]


class Replier(Protocol):
    """What an event needs from whoever received it: answer in its chat, name its sender.

    :class:`~smartqq.Client` implements it (so do the cluster worker and test harnesses).
    """

    async def reply_to(
        self,
        event: MessageEvent,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        font: Font | None = None,
    ) -> SendResult: ...

    async def display_name_for(self, event: MessageEvent) -> str: ...

    async def ask(
        self,
        event: MessageEvent,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        timeout: float | None = None,
    ) -> MessageEvent: ...


_REGISTRY: dict[str, type[Event]] = {}
_registry_version = [0]
EVENT_TYPES: Mapping[str, type[Event]] = MappingProxyType(_REGISTRY)
"""poll_type -> event class, filled by :meth:`Event.__init_subclass__`."""


class Event(BaseModel):
    """Base of every event."""

    model_config = ConfigDict(extra="allow", frozen=True, arbitrary_types_allowed=True)
    poll_type: ClassVar[str] = ""
    from_poll2: ClassVar[bool] = True
    """False for event families of other channels (the legacy tqq events)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Register a class that declares its own ``poll_type``. The parser reads the
        registry, so a class defined later is parsed from the next poll on; a
        subclass of the registered class may take its poll_type over (a refinement),
        an unrelated class may not."""
        super().__init_subclass__(**kwargs)
        poll_type = cls.__dict__.get("poll_type")
        if cls.from_poll2 and isinstance(poll_type, str) and poll_type:
            taken = _REGISTRY.get(poll_type)
            if taken is not None and not issubclass(cls, taken):
                from .errors import UsageError

                raise UsageError(f"poll_type {poll_type!r} is already {taken.__qualname__}'s")
            _REGISTRY[poll_type] = cls
            _registry_version[0] += 1

    # The receiving client lives in ``__pydantic_private__`` without a declared
    # PrivateAttr: declaring one makes pydantic initialise it on every construction,
    # which doubled the cost of building an event (benchmarks/, parse + dispatch row).
    def bind(self, replier: Replier) -> None:
        """Attach the :class:`Replier` that received this event (done by the dispatcher)."""
        object.__setattr__(self, "__pydantic_private__", {"client": replier})

    @property
    def client(self) -> Replier | None:
        """The client that received this event (``None`` until dispatched)."""
        private = self.__pydantic_private__
        return None if private is None else private.get("client")

    @property
    def _client(self) -> Replier | None:
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
    content: ReceivedContent = Content()
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
        return await self._client.reply_to(self, content, font=font)

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
        return await self._client.ask(self, content, timeout=timeout)

    async def get_sender(self) -> str:
        """The sender's display name, resolved through the client's contact cache."""
        if self._client is None:
            return str(self.sender_uin)
        return await self._client.display_name_for(self)

    # ``content`` as pydantic-core left it from JSON may still be the wire array (see
    # LazyContent): comparing, hashing and showing an event read it as Content first.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, MessageEvent):
            _ = self.content, other.content
        return super().__eq__(other)

    def __hash__(self) -> int:  # pydantic's frozen-model hash: its fields' values
        _ = self.content
        fields = self.__dict__
        return hash(tuple(fields.get(name) for name in type(self).__pydantic_fields__))

    def __repr_args__(self) -> Any:
        _ = self.content
        return super().__repr_args__()


# Set after pydantic built the class, so the field stays ``content`` (its type, default,
# validation and dumps); subclasses inherit the descriptor.
_lazy_content = LazyContent()
_lazy_content.__set_name__(MessageEvent, "content")
type.__setattr__(MessageEvent, "content", _lazy_content)


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
