"""OICQ messages the server sends to a user (0x81 0x01 0x0a), types 0x01-0x16.

Server 0x02 is :class:`LoginResult`, the answer to the client's 0x02 :class:`Login`.
A declarative table: one record per message type, its fields in wire order (see
:mod:`.records`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import (
    GroupEntry,
    Message,
    UserEntry,
    b,
    l,
    m,
    repeat,
    s,
    server_message,
    t,
)

__all__ = [
    "AddFriendResult",
    "AddGroupResult",
    "DeleteFriendResult",
    "DeleteGroupResult",
    "FileAnswerNotice",
    "FileDataNotice",
    "FileOfferNotice",
    "FriendAdded",
    "FriendInfo",
    "FriendStatus",
    "Incoming",
    "LoginResult",
    "ModeResult",
    "MoveFriendsResult",
    "OnlineUsers",
    "Pong",
    "RegisterResult",
    "RenameGroupResult",
    "SearchResult",
    "UpdateProfileResult",
]


# -- the OICQ server to a user (0x81 0x01 0x0a) -----------------------------------------


@server_message(0x01)
@dataclass(frozen=True, slots=True)
class RegisterResult(Message):
    ok: int = t()
    uin: int = l()


@server_message(0x02)
@dataclass(frozen=True, slots=True)
class LoginResult(Message):
    """Friend status: 1 online, 2 hidden, 3 do not disturb, 4 offline."""

    ok: int = t()
    groups: list[GroupEntry] = repeat(GroupEntry)


@server_message(0x03)
@dataclass(frozen=True, slots=True)
class Incoming(Message):
    """A message. ``flag`` 1 system, 2 user (sender 0 is the system); for system messages
    ``kind`` 1 added you, 2 asks your approval, 3 approved yours, 4 refused yours."""

    flag: int = t()
    sender: int = l()
    text: str = s()
    kind: int = t()


@server_message(0x04)
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


@server_message(0x05)
@dataclass(frozen=True, slots=True)
class AddGroupResult(Message):
    ok: int = t()
    group: int = t()
    name: str = s()


@server_message(0x06)
@dataclass(frozen=True, slots=True)
class RenameGroupResult(Message):
    ok: int = t()
    group: int = t()
    name: str = s()


@server_message(0x07)
@dataclass(frozen=True, slots=True)
class DeleteGroupResult(Message):
    ok: int = t()
    group: int = t()


@server_message(0x08)
@dataclass(frozen=True, slots=True)
class MoveFriendsResult(Message):
    ok: int = t()


@server_message(0x09)
@dataclass(frozen=True, slots=True)
class OnlineUsers(Message):
    ok: int = t()
    users: list[UserEntry] = repeat(UserEntry)


@server_message(0x0A)
@dataclass(frozen=True, slots=True)
class SearchResult(Message):
    """At most 50 users."""

    ok: int = t()
    users: list[UserEntry] = repeat(UserEntry)


@server_message(0x0B)
@dataclass(frozen=True, slots=True)
class AddFriendResult(Message):
    """``flag``: 0 database failure, 1 added, 2 needs approval, 3 refused, 4 needs
    approval and they are offline."""

    flag: int = t()
    friend: int = l()


@server_message(0x0C)
@dataclass(frozen=True, slots=True)
class FriendAdded(Message):
    """A friend added for an online user."""

    friend: int = l()
    nick: str = s()
    face: int = m()
    status: int = t()


@server_message(0x0E)
@dataclass(frozen=True, slots=True)
class DeleteFriendResult(Message):
    ok: int = t()
    friend: int = l()


@server_message(0x10)
@dataclass(frozen=True, slots=True)
class ModeResult(Message):
    uin: int = l()
    mode: int = t()


@server_message(0x11)
@dataclass(frozen=True, slots=True)
class UpdateProfileResult(Message):
    """The seed gives no type for 成功/失败 here; a byte, as everywhere else."""

    ok: int = t()


@server_message(0x12)
@dataclass(frozen=True, slots=True)
class FileOfferNotice(Message):
    friend: int = l()
    filename: str = s()
    size: int = l()


@server_message(0x13)
@dataclass(frozen=True, slots=True)
class FileAnswerNotice(Message):
    """``allow``: 1 accepted, 0 refused."""

    friend: int = l()
    allow: int = t()


@server_message(0x14)
@dataclass(frozen=True, slots=True)
class FileDataNotice(Message):
    friend: int = l()
    data: bytes = b()


@server_message(0x15)
@dataclass(frozen=True, slots=True)
class FriendStatus(Message):
    """Sent by the system: 1 online, 2 hidden, 3 do not disturb, 4 offline."""

    friend: int = l()
    status: int = t()


@server_message(0x16)
@dataclass(frozen=True, slots=True)
class Pong(Message):
    """Connection test answer."""

    uin: int = l()
