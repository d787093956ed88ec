"""The OICQ record machinery: typed fields, :class:`Record`, :class:`Message`, the registries.

Fields are declared with their wire type (``t()``, ``l()``, ``s()``, ``m()``, ``b()``,
or ``repeat(Item)`` for the seed's ``count(t) + {...}`` groups); the declaration
order is the wire order. ``message.encode(dialect)`` gives the whole frame;
:func:`decode_message` turns a :class:`~.codec.Frame` back into the record, using
the sender to tell a user's request (``CLIENT_MESSAGES``, filled by
:mod:`.client_messages`) from a server's answer (``SERVER_MESSAGES``, filled by
:mod:`.server_messages`) -- the two directions reuse type numbers. Import
:mod:`.messages` to have both tables filled.
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
    "FriendEntry",
    "GroupEntry",
    "Message",
    "MoveEntry",
    "Record",
    "UserEntry",
    "client_message",
    "decode_message",
    "server_message",
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


def client_message(type_: int) -> Any:
    def register(cls: M) -> M:
        cls.TYPE, cls.SENDER, cls.RECEIVER = type_, Party.USER, Party.OICQ_SERVER
        CLIENT_MESSAGES[type_] = cls
        return cls

    return register


def server_message(type_: int) -> Any:
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
