"""The OICQ frame and its field types, sans-IO.

A frame is ``header(t) sender(t) receiver(t) type(t) length(l) body``: the header byte
is ``0x81``; sender and receiver name the program kind (:class:`Party`: the OICQ
server 0x01, fax 0x02, web 0x03, print 0x04, chat 0x05, an OICQ user 0x0a), so a user's
request starts ``81 0a 01`` and the server's answer ``81 01 0a``. ``length`` counts the
body's bytes.

Field types, as the seed writes them: ``t`` one byte, ``l`` a 32-bit number, ``s`` a
string, ``m`` the portrait number, ``b`` binary (always the last field: the rest of
the body). The seed leaves four details open; each is a :class:`Dialect` parameter:

* **byte order** of ``l`` and ``m`` -- default big-endian (network order);
* **string termination** -- default NUL-terminated (C strings, as 2004 servers wrote
  them); ``"u8"``/``"u16"`` prefix the length instead;
* **the width of** ``m`` -- default 2 bytes (portrait numbers of the time ran past 255,
  e.g. face 270 in the tqq seeds, so one byte cannot be meant);
* **text encoding** -- default GBK, the encoding of Chinese Windows clients then.

:class:`FrameReader` cuts a byte stream into frames; ``MAX_BODY`` bounds what it accepts.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from smartqq.legacy.errors import FrameError

__all__ = [
    "HEADER",
    "MAX_BODY",
    "Dialect",
    "Frame",
    "FrameReader",
    "Party",
    "Reader",
    "Writer",
]

HEADER = 0x81
MAX_BODY = 1 << 20
_PREFIX = struct.Struct(">BBBB")


class Party(IntEnum):
    """Who sends or receives a frame (the seed's program kinds)."""

    OICQ_SERVER = 0x01
    FAX_SERVER = 0x02
    WEB_SERVER = 0x03
    PRINT_SERVER = 0x04
    CHAT_SERVER = 0x05
    USER = 0x0A


@dataclass(frozen=True, slots=True)
class Dialect:
    """The choices the seed leaves open (see the module notes)."""

    byte_order: Literal["big", "little"] = "big"
    strings: Literal["nul", "u8", "u16"] = "nul"
    m_width: Literal[1, 2, 4] = 2
    encoding: str = "gbk"

    @property
    def _end(self) -> str:
        return ">" if self.byte_order == "big" else "<"


DEFAULT = Dialect()
_WIDTH_CODE = {1: "B", 2: "H", 4: "I"}


class Writer:
    """Appends typed fields to a body."""

    def __init__(self, dialect: Dialect = DEFAULT) -> None:
        self.dialect = dialect
        self.parts: list[bytes] = []

    def byte(self, value: int) -> None:
        if not 0 <= value <= 0xFF:
            raise FrameError(f"{value} does not fit a byte field")
        self.parts.append(bytes((value,)))

    def number(self, value: int) -> None:
        self._fixed("I", value, 0xFFFFFFFF)

    def portrait(self, value: int) -> None:
        width = self.dialect.m_width
        self._fixed(_WIDTH_CODE[width], value, (1 << (8 * width)) - 1)

    def _fixed(self, code: str, value: int, top: int) -> None:
        if not 0 <= value <= top:
            raise FrameError(f"{value} does not fit a {code} field")
        self.parts.append(struct.pack(self.dialect._end + code, value))

    def string(self, value: str) -> None:
        try:
            data = value.encode(self.dialect.encoding)
        except UnicodeEncodeError as exc:
            raise FrameError(f"{value!r} cannot be written in {self.dialect.encoding}") from exc
        mode = self.dialect.strings
        if mode == "nul":
            if b"\0" in data:
                raise FrameError("a NUL-terminated string cannot contain NUL")
            self.parts.append(data + b"\0")
        else:
            width = 1 if mode == "u8" else 2
            self._fixed(_WIDTH_CODE[width], len(data), (1 << (8 * width)) - 1)
            self.parts.append(data)

    def binary(self, value: bytes) -> None:
        self.parts.append(bytes(value))

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


class Reader:
    """Reads typed fields from a body; :class:`FrameError` when the body runs short."""

    def __init__(self, body: bytes, dialect: Dialect = DEFAULT) -> None:
        self.body = body
        self.pos = 0
        self.dialect = dialect

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.body):
            raise FrameError(f"the body ends {self.pos + n - len(self.body)} byte(s) early")
        chunk = self.body[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def _fixed(self, code: str) -> int:
        size = struct.calcsize(code)
        value: int = struct.unpack(self.dialect._end + code, self._take(size))[0]
        return value

    def byte(self) -> int:
        return self._take(1)[0]

    def number(self) -> int:
        return self._fixed("I")

    def portrait(self) -> int:
        return self._fixed(_WIDTH_CODE[self.dialect.m_width])

    def string(self) -> str:
        mode = self.dialect.strings
        if mode == "nul":
            end = self.body.find(b"\0", self.pos)
            if end < 0:
                raise FrameError("a string is not NUL-terminated")
            data = self.body[self.pos : end]
            self.pos = end + 1
        else:
            data = self._take(self._fixed("B" if mode == "u8" else "H"))
        try:
            return data.decode(self.dialect.encoding)
        except UnicodeDecodeError as exc:
            raise FrameError(f"a string is not valid {self.dialect.encoding}") from exc

    def binary(self) -> bytes:
        return self._take(len(self.body) - self.pos)

    def done(self) -> None:
        if self.pos != len(self.body):
            raise FrameError(f"{len(self.body) - self.pos} unexpected byte(s) after the fields")


@dataclass(frozen=True, slots=True)
class Frame:
    sender: int
    receiver: int
    type: int
    body: bytes

    def encode(self, dialect: Dialect = DEFAULT) -> bytes:
        if len(self.body) > MAX_BODY:
            raise FrameError(f"a body of {len(self.body)} bytes is over the {MAX_BODY} limit")
        length = struct.pack(dialect._end + "I", len(self.body))
        return _PREFIX.pack(HEADER, self.sender, self.receiver, self.type) + length + self.body


class FrameReader:
    """Incremental: ``feed(data)`` returns every frame completed so far."""

    def __init__(self, dialect: Dialect = DEFAULT, max_body: int = MAX_BODY) -> None:
        self.dialect = dialect
        self.max_body = max_body
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= 8:
            header, sender, receiver, kind = _PREFIX.unpack_from(self._buf)
            if header != HEADER:
                raise FrameError(f"frame header 0x{header:02x}, expected 0x{HEADER:02x}")
            (length,) = struct.unpack_from(self.dialect._end + "I", self._buf, 4)
            if length > self.max_body:
                raise FrameError(f"a body of {length} bytes is over the {self.max_body} limit")
            if len(self._buf) < 8 + length:
                break
            frames.append(Frame(sender, receiver, kind, bytes(self._buf[8 : 8 + length])))
            del self._buf[: 8 + length]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame waiting for more data."""
        return len(self._buf)
