"""OICQ messages a user sends to the server (引导符 0x81 0x0a 0x01), types 0x01-0x17.

Names follow the seed's descriptions: e.g. client 0x02 "老用户注册" (an existing
user signs on) is :class:`Login`. A declarative table: one record per message type,
its fields in wire order (see :mod:`.records`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import (
    Message,
    MoveEntry,
    b,
    client_message,
    l,
    m,
    repeat,
    s,
    t,
)

__all__ = [
    "AddFriend",
    "AddGroup",
    "AnswerFriendRequest",
    "Broadcast",
    "CustomSearch",
    "DeleteFriend",
    "DeleteGroup",
    "FileAnswer",
    "FileData",
    "FileOffer",
    "GetFriendInfo",
    "Login",
    "Monitor",
    "MoveFriends",
    "Ping",
    "Register",
    "RenameGroup",
    "RequestFriend",
    "SendMessage",
    "SetMode",
    "UpdateProfile",
    "WhoIsOnline",
]


# -- a user to the OICQ server (引导符 0x81 0x0a 0x01) -----------------------------------


@client_message(0x01)
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


@client_message(0x02)
@dataclass(frozen=True, slots=True)
class Login(Message):
    """An existing user signs on; ``mode`` 0 normal, 1 invisible."""

    uin: int = l()
    password: str = s()
    mode: int = t()

    def __repr__(self) -> str:
        return f"Login(uin={self.uin}, password='***', mode={self.mode})"


@client_message(0x03)
@dataclass(frozen=True, slots=True)
class SendMessage(Message):
    uin: int = l()
    to: int = l()
    text: str = s()


@client_message(0x04)
@dataclass(frozen=True, slots=True)
class Broadcast(Message):
    """A message to a friend group; ``group`` 0 means every friend."""

    uin: int = l()
    group: int = l()
    text: str = s()


@client_message(0x05)
@dataclass(frozen=True, slots=True)
class GetFriendInfo(Message):
    uin: int = l()
    friend: int = l()


@client_message(0x06)
@dataclass(frozen=True, slots=True)
class AddGroup(Message):
    uin: int = l()
    name: str = s()


@client_message(0x07)
@dataclass(frozen=True, slots=True)
class RenameGroup(Message):
    uin: int = l()
    group: int = t()
    name: str = s()


@client_message(0x08)
@dataclass(frozen=True, slots=True)
class DeleteGroup(Message):
    uin: int = l()
    group: int = t()


@client_message(0x09)
@dataclass(frozen=True, slots=True)
class MoveFriends(Message):
    uin: int = l()
    moves: list[MoveEntry] = repeat(MoveEntry)


@client_message(0x0A)
@dataclass(frozen=True, slots=True)
class WhoIsOnline(Message):
    """Who is online, from ``start``; ``direction`` 1 towards smaller numbers, 2 larger."""

    uin: int = l()
    start: int = l()
    count: int = t()
    direction: int = t()


@client_message(0x0B)
@dataclass(frozen=True, slots=True)
class CustomSearch(Message):
    """The seed's "自定义查找" carries an SQL statement; servers must not run it as SQL."""

    uin: int = l()
    sql: str = s()


@client_message(0x0C)
@dataclass(frozen=True, slots=True)
class AddFriend(Message):
    uin: int = l()
    friend: int = l()


@client_message(0x0D)
@dataclass(frozen=True, slots=True)
class RequestFriend(Message):
    uin: int = l()
    friend: int = l()
    reason: str = s()


@client_message(0x0E)
@dataclass(frozen=True, slots=True)
class DeleteFriend(Message):
    uin: int = l()
    friend: int = l()


@client_message(0x10)
@dataclass(frozen=True, slots=True)
class SetMode(Message):
    """``mode`` 1 online, 2 hidden, 3 do not disturb, 4 offline."""

    uin: int = l()
    mode: int = t()


@client_message(0x11)
@dataclass(frozen=True, slots=True)
class Monitor(Message):
    """The seed's "监视某人谈话" (watch someone's conversation)."""

    uin: int = l()
    target: int = l()


@client_message(0x12)
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


@client_message(0x13)
@dataclass(frozen=True, slots=True)
class FileOffer(Message):
    uin: int = l()
    friend: int = l()
    filename: str = s()
    size: int = l()


@client_message(0x14)
@dataclass(frozen=True, slots=True)
class FileAnswer(Message):
    """``allow``: 1 accept, 0 refuse (the seed gives no type; a byte here)."""

    uin: int = l()
    friend: int = l()
    allow: int = t()


@client_message(0x15)
@dataclass(frozen=True, slots=True)
class FileData(Message):
    uin: int = l()
    friend: int = l()
    data: bytes = b()


@client_message(0x16)
@dataclass(frozen=True, slots=True)
class Ping(Message):
    """Connection test."""

    uin: int = l()


@client_message(0x17)
@dataclass(frozen=True, slots=True)
class AnswerFriendRequest(Message):
    """``agree``: 0 refuse, 1 agree."""

    uin: int = l()
    friend: int = l()
    agree: int = t()
