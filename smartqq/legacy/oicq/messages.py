"""Every OICQ message type of the seed, as a typed record with a generic codec.

Fields are declared with their wire type (``t()``, ``l()``, ``s()``, ``m()``, ``b()``,
or ``repeat(Item)`` for the seed's ``count(t) + {...}`` groups); the declaration
order is the wire order. ``message.encode(dialect)`` gives the whole frame;
:func:`decode_message` turns a :class:`~.codec.Frame` back into the record, using
the sender to tell a user's request (``CLIENT_MESSAGES``) from a server's answer
(``SERVER_MESSAGES``) -- the two directions reuse type numbers.

Names follow the seed's descriptions: e.g. client 0x02 "老用户注册" (an existing
user signs on) is :class:`Login`, server 0x02 is :class:`LoginResult`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from smartqq.legacy.errors import FrameError

from .codec import DEFAULT, Dialect, Frame, Party, Reader, Writer

__all__ = [
    "CLIENT_MESSAGES",
    "SERVER_MESSAGES",
    "AddFriend",
    "AddFriendResult",
    "AddGroup",
    "AddGroupResult",
    "AnswerFriendRequest",
    "Broadcast",
    "CustomSearch",
    "DeleteFriend",
    "DeleteFriendResult",
    "DeleteGroup",
    "DeleteGroupResult",
    "FileAnswer",
    "FileAnswerNotice",
    "FileData",
    "FileDataNotice",
    "FileOffer",
    "FileOfferNotice",
    "FriendAdded",
    "FriendEntry",
    "FriendInfo",
    "FriendStatus",
    "GetFriendInfo",
    "GroupEntry",
    "Incoming",
    "Login",
    "LoginResult",
    "Message",
    "ModeResult",
    "Monitor",
    "MoveEntry",
    "MoveFriends",
    "MoveFriendsResult",
    "OnlineUsers",
    "Ping",
    "Pong",
    "Record",
    "Register",
    "RegisterResult",
    "RenameGroup",
    "RenameGroupResult",
    "RequestFriend",
    "SearchResult",
    "SendMessage",
    "SetMode",
    "UpdateProfile",
    "UpdateProfileResult",
    "UserEntry",
    "WhoIsOnline",
    "decode_message",
]


def _f(kind: str, default: Any) -> Any:
    return field(default=default, metadata={"oicq": kind})


def t(default: int = 0) -> Any:
    """One byte."""
    return _f("t", default)


def l(default: int = 0) -> Any:  # noqa: E743 - the seed's name for the type
    """A 32-bit number."""
    return _f("l", default)


def s(default: str = "") -> Any:
    """A string."""
    return _f("s", default)


def m(default: int = 0) -> Any:
    """A portrait number (width: ``Dialect.m_width``)."""
    return _f("m", default)


def b(default: bytes = b"") -> Any:
    """Binary: the rest of the body."""
    return _f("b", default)


def repeat(item: type[Record]) -> Any:
    """``count(t)`` followed by that many ``item`` records."""
    return field(default_factory=list, metadata={"oicq": item})


R = TypeVar("R", bound="Record")


class Record:
    """A sequence of typed fields (a message body, or one item of a repeated group)."""

    def write(self, w: Writer) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            kind = f.metadata["oicq"]
            value = getattr(self, f.name)
            if isinstance(kind, type):
                w.byte(len(value))
                for item in value:
                    item.write(w)
            elif kind == "t":
                w.byte(value)
            elif kind == "l":
                w.number(value)
            elif kind == "s":
                w.string(value)
            elif kind == "m":
                w.portrait(value)
            else:
                w.binary(value)

    @classmethod
    def read(cls: type[R], r: Reader) -> R:
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            kind = f.metadata["oicq"]
            if isinstance(kind, type) and issubclass(kind, Record):
                values[f.name] = [kind.read(r) for _ in range(r.byte())]
            else:
                values[f.name] = {
                    "t": r.byte,
                    "l": r.number,
                    "s": r.string,
                    "m": r.portrait,
                    "b": r.binary,
                }[kind]()
        return cls(**values)


class Message(Record):
    """A whole frame's body. ``TYPE`` is the seed's 报文类型; ``SENDER``/``RECEIVER``
    the parties of its direction."""

    TYPE: ClassVar[int]
    SENDER: ClassVar[Party]
    RECEIVER: ClassVar[Party]

    def frame(self, dialect: Dialect = DEFAULT) -> Frame:
        w = Writer(dialect)
        self.write(w)
        return Frame(self.SENDER, self.RECEIVER, self.TYPE, w.getvalue())

    def encode(self, dialect: Dialect = DEFAULT) -> bytes:
        return self.frame(dialect).encode(dialect)


CLIENT_MESSAGES: dict[int, type[Message]] = {}
SERVER_MESSAGES: dict[int, type[Message]] = {}
M = TypeVar("M", bound=type[Message])


def _client(type_: int) -> Any:
    def register(cls: M) -> M:
        cls.TYPE, cls.SENDER, cls.RECEIVER = type_, Party.USER, Party.OICQ_SERVER
        CLIENT_MESSAGES[type_] = cls
        return cls

    return register


def _server(type_: int) -> Any:
    def register(cls: M) -> M:
        cls.TYPE, cls.SENDER, cls.RECEIVER = type_, Party.OICQ_SERVER, Party.USER
        SERVER_MESSAGES[type_] = cls
        return cls

    return register


def decode_message(frame: Frame, dialect: Dialect = DEFAULT) -> Message:
    """The typed message in ``frame``; :class:`FrameError` for an unknown type or a body
    that does not match its type's fields exactly."""
    table = CLIENT_MESSAGES if frame.sender == Party.USER else SERVER_MESSAGES
    cls = table.get(frame.type)
    if cls is None:
        side = "user" if frame.sender == Party.USER else "server"
        raise FrameError(f"unknown {side} message type 0x{frame.type:02x}")
    r = Reader(frame.body, dialect)
    msg = cls.read(r)
    r.done()
    return msg


# -- repeated items ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoveEntry(Record):
    friend: int = l()
    group: int = t()


@dataclass(frozen=True, slots=True)
class FriendEntry(Record):
    """A friend in a login result; ``face`` is a byte here (肖像编号(t))."""

    uin: int = l()
    face: int = t()
    status: int = t()
    nick: str = s()


@dataclass(frozen=True, slots=True)
class GroupEntry(Record):
    name: str = s()
    group: int = t()
    friends: list[FriendEntry] = repeat(FriendEntry)


@dataclass(frozen=True, slots=True)
class UserEntry(Record):
    uin: int = l()
    nick: str = s()
    face: int = m()
    province: int = t()
    city: str = s()


# -- a user to the OICQ server (引导符 0x81 0x0a 0x01) -----------------------------------


@_client(0x01)
@dataclass(frozen=True, slots=True)
class Register(Message):
    """A new user registers; ``auth`` = 1 asks people who add them to be approved."""

    nick: str = s()
    face: int = m()
    password: str = s()
    gender: int = t()
    age: int = t()
    real_name: str = s()
    country: int = t()
    province: int = t()
    city: str = s()
    address: str = s()
    postcode: str = s()
    education: int = t()
    school: str = s()
    job: int = t()
    phone: str = s()
    pager: str = s()
    email: str = s()
    hobby: str = s()
    intro: str = s()
    auth: int = t()

    def __repr__(self) -> str:
        return f"Register(nick={self.nick!r}, password='***')"


@_client(0x02)
@dataclass(frozen=True, slots=True)
class Login(Message):
    """An existing user signs on; ``mode`` 0 normal, 1 invisible."""

    uin: int = l()
    password: str = s()
    mode: int = t()

    def __repr__(self) -> str:
        return f"Login(uin={self.uin}, password='***', mode={self.mode})"


@_client(0x03)
@dataclass(frozen=True, slots=True)
class SendMessage(Message):
    uin: int = l()
    to: int = l()
    text: str = s()


@_client(0x04)
@dataclass(frozen=True, slots=True)
class Broadcast(Message):
    """A message to a friend group; ``group`` 0 means every friend."""

    uin: int = l()
    group: int = l()
    text: str = s()


@_client(0x05)
@dataclass(frozen=True, slots=True)
class GetFriendInfo(Message):
    uin: int = l()
    friend: int = l()


@_client(0x06)
@dataclass(frozen=True, slots=True)
class AddGroup(Message):
    uin: int = l()
    name: str = s()


@_client(0x07)
@dataclass(frozen=True, slots=True)
class RenameGroup(Message):
    uin: int = l()
    group: int = t()
    name: str = s()


@_client(0x08)
@dataclass(frozen=True, slots=True)
class DeleteGroup(Message):
    uin: int = l()
    group: int = t()


@_client(0x09)
@dataclass(frozen=True, slots=True)
class MoveFriends(Message):
    uin: int = l()
    moves: list[MoveEntry] = repeat(MoveEntry)


@_client(0x0A)
@dataclass(frozen=True, slots=True)
class WhoIsOnline(Message):
    """Who is online, from ``start``; ``direction`` 1 towards smaller numbers, 2 larger."""

    uin: int = l()
    start: int = l()
    count: int = t()
    direction: int = t()


@_client(0x0B)
@dataclass(frozen=True, slots=True)
class CustomSearch(Message):
    """The seed's "自定义查找" carries an SQL statement; servers must not run it as SQL."""

    uin: int = l()
    sql: str = s()


@_client(0x0C)
@dataclass(frozen=True, slots=True)
class AddFriend(Message):
    uin: int = l()
    friend: int = l()


@_client(0x0D)
@dataclass(frozen=True, slots=True)
class RequestFriend(Message):
    uin: int = l()
    friend: int = l()
    reason: str = s()


@_client(0x0E)
@dataclass(frozen=True, slots=True)
class DeleteFriend(Message):
    uin: int = l()
    friend: int = l()


@_client(0x10)
@dataclass(frozen=True, slots=True)
class SetMode(Message):
    """``mode`` 1 online, 2 hidden, 3 do not disturb, 4 offline."""

    uin: int = l()
    mode: int = t()


@_client(0x11)
@dataclass(frozen=True, slots=True)
class Monitor(Message):
    """The seed's "监视某人谈话" (watch someone's conversation)."""

    uin: int = l()
    target: int = l()


@_client(0x12)
@dataclass(frozen=True, slots=True)
class UpdateProfile(Message):
    uin: int = l()
    nick: str = s()
    face: int = m()
    password: str = s()
    gender: int = t()
    age: int = t()
    real_name: str = s()
    country: int = t()
    province: int = t()
    city: str = s()
    address: str = s()
    postcode: str = s()
    education: int = t()
    school: str = s()
    job: int = t()
    phone: str = s()
    pager: str = s()
    email: str = s()
    hobby: str = s()
    intro: str = s()
    auth: int = t()

    def __repr__(self) -> str:
        return f"UpdateProfile(uin={self.uin}, nick={self.nick!r}, password='***')"


@_client(0x13)
@dataclass(frozen=True, slots=True)
class FileOffer(Message):
    uin: int = l()
    friend: int = l()
    filename: str = s()
    size: int = l()


@_client(0x14)
@dataclass(frozen=True, slots=True)
class FileAnswer(Message):
    """``allow``: 1 accept, 0 refuse (the seed gives no type; a byte here)."""

    uin: int = l()
    friend: int = l()
    allow: int = t()


@_client(0x15)
@dataclass(frozen=True, slots=True)
class FileData(Message):
    uin: int = l()
    friend: int = l()
    data: bytes = b()


@_client(0x16)
@dataclass(frozen=True, slots=True)
class Ping(Message):
    """Connection test."""

    uin: int = l()


@_client(0x17)
@dataclass(frozen=True, slots=True)
class AnswerFriendRequest(Message):
    """``agree``: 0 refuse, 1 agree."""

    uin: int = l()
    friend: int = l()
    agree: int = t()


# -- the OICQ server to a user (0x81 0x01 0x0a) -----------------------------------------


@_server(0x01)
@dataclass(frozen=True, slots=True)
class RegisterResult(Message):
    ok: int = t()
    uin: int = l()


@_server(0x02)
@dataclass(frozen=True, slots=True)
class LoginResult(Message):
    """Friend status: 1 online, 2 hidden, 3 do not disturb, 4 offline."""

    ok: int = t()
    groups: list[GroupEntry] = repeat(GroupEntry)


@_server(0x03)
@dataclass(frozen=True, slots=True)
class Incoming(Message):
    """A message. ``flag`` 1 system, 2 user (sender 0 is the system); for system messages
    ``kind`` 1 added you, 2 asks your approval, 3 approved yours, 4 refused yours."""

    flag: int = t()
    sender: int = l()
    text: str = s()
    kind: int = t()


@_server(0x04)
@dataclass(frozen=True, slots=True)
class FriendInfo(Message):
    ok: int = t()
    friend: int = l()
    nick: str = s()
    face: int = m()
    gender: int = t()
    age: int = t()
    real_name: str = s()
    country: int = t()
    province: int = t()
    city: str = s()
    address: str = s()
    postcode: str = s()
    education: int = t()
    school: str = s()
    job: int = t()
    phone: str = s()
    pager: str = s()
    email: str = s()
    hobby: str = s()
    intro: str = s()


@_server(0x05)
@dataclass(frozen=True, slots=True)
class AddGroupResult(Message):
    ok: int = t()
    group: int = t()
    name: str = s()


@_server(0x06)
@dataclass(frozen=True, slots=True)
class RenameGroupResult(Message):
    ok: int = t()
    group: int = t()
    name: str = s()


@_server(0x07)
@dataclass(frozen=True, slots=True)
class DeleteGroupResult(Message):
    ok: int = t()
    group: int = t()


@_server(0x08)
@dataclass(frozen=True, slots=True)
class MoveFriendsResult(Message):
    ok: int = t()


@_server(0x09)
@dataclass(frozen=True, slots=True)
class OnlineUsers(Message):
    ok: int = t()
    users: list[UserEntry] = repeat(UserEntry)


@_server(0x0A)
@dataclass(frozen=True, slots=True)
class SearchResult(Message):
    """At most 50 users."""

    ok: int = t()
    users: list[UserEntry] = repeat(UserEntry)


@_server(0x0B)
@dataclass(frozen=True, slots=True)
class AddFriendResult(Message):
    """``flag``: 0 database failure, 1 added, 2 needs approval, 3 refused, 4 needs
    approval and they are offline."""

    flag: int = t()
    friend: int = l()


@_server(0x0C)
@dataclass(frozen=True, slots=True)
class FriendAdded(Message):
    """A friend added for an online user."""

    friend: int = l()
    nick: str = s()
    face: int = m()
    status: int = t()


@_server(0x0E)
@dataclass(frozen=True, slots=True)
class DeleteFriendResult(Message):
    ok: int = t()
    friend: int = l()


@_server(0x10)
@dataclass(frozen=True, slots=True)
class ModeResult(Message):
    uin: int = l()
    mode: int = t()


@_server(0x11)
@dataclass(frozen=True, slots=True)
class UpdateProfileResult(Message):
    """The seed gives no type for 成功/失败 here; a byte, as everywhere else."""

    ok: int = t()


@_server(0x12)
@dataclass(frozen=True, slots=True)
class FileOfferNotice(Message):
    friend: int = l()
    filename: str = s()
    size: int = l()


@_server(0x13)
@dataclass(frozen=True, slots=True)
class FileAnswerNotice(Message):
    """``allow``: 1 accepted, 0 refused."""

    friend: int = l()
    allow: int = t()


@_server(0x14)
@dataclass(frozen=True, slots=True)
class FileDataNotice(Message):
    friend: int = l()
    data: bytes = b()


@_server(0x15)
@dataclass(frozen=True, slots=True)
class FriendStatus(Message):
    """Sent by the system: 1 online, 2 hidden, 3 do not disturb, 4 offline."""

    friend: int = l()
    status: int = t()


@_server(0x16)
@dataclass(frozen=True, slots=True)
class Pong(Message):
    """Connection test answer."""

    uin: int = l()
