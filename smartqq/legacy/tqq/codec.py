"""The tqq wire format, sans-IO: ``KEY=VALUE&...`` bodies, lists, segments.

Every request and answer is one line of UTF-8 ``KEY=VALUE`` pairs joined by ``&``,
POSTed as ``text/plain``; the first four keys of a request are always ``VER``,
``CMD``, ``SEQ`` and ``UIN``. Parallel lists (``UN``, ``ST``, ``NK``, ``FC``, ``MT``,
``MG``) are comma-separated and each item is followed by a comma, so ``ST=10,30,``
holds two items. A malformed request is answered with the bare word ``NULL``.

Choices the seeds leave open, made here and shared by the client and the emulator:

* **Escaping.** A value that contains ``%``, ``&``, ``,``, CR or LF would break the
  framing, so those characters travel as ``%25 %26 %2c %0d %0a`` (lowercase hex, as in
  the seed's ``PR=...%0d%0a``). Values are percent-decoded exactly once on receipt. The
  seed's ``%252c`` shows the real server stored some profile text already escaped;
  decoding once gives back ``%2c`` there, which is what that server meant to say.
* **Lenient splitting.** A piece between ``&``\\ s that does not start with an upper-case
  key and ``=`` is treated as part of the previous value, so a third-party server that
  leaves ``&`` unescaped inside a message still decodes.

Messages: a ``CLTMSG`` body must be under 400 bytes (the server answers ``RES=3`` for
longer ones), so :func:`split_for_send` cuts text into pieces of at most 399 UTF-8
bytes on character boundaries. On receipt the server appends one space to each message
and cuts it into segments of at most 400 bytes: the segment that ends with a space is
the last one. :class:`Reassembler` joins segments per sender.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from smartqq.errors import ProtocolError
from smartqq.legacy.errors import NullAnswerError, TQQLoginError, res_error_for

__all__ = [
    "LC",
    "NULL",
    "RECEIVE_SEGMENT_BYTES",
    "SEND_LIMIT_BYTES",
    "VERSION",
    "Answer",
    "RawValue",
    "Reassembler",
    "decode_answer",
    "encode_answer",
    "encode_request",
    "escape",
    "join_list",
    "parse_pairs",
    "segments_for_receive",
    "split_for_send",
    "split_list",
    "unescape",
]

VERSION = "1.1"
LC = "9326B87B234E7235"
"""The Login ``LC`` value; the server answers NULL to any other."""
NULL = "NULL"
RECEIVE_SEGMENT_BYTES = 400
SEND_LIMIT_BYTES = 399
"""A CLTMSG body must be *under* 400 bytes."""

_ESCAPES = {"%": "%25", "&": "%26", ",": "%2c", "\r": "%0d", "\n": "%0a"}
_ESCAPE_RE = re.compile("[%&,\r\n]")
_KEY = re.compile(r"[A-Z][A-Z0-9_]*\Z")


def escape(value: str) -> str:
    """``value`` safe to place in a field or a list item."""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], value)


def unescape(value: str) -> str:
    """Percent-decode once (UTF-8; undecodable bytes become U+FFFD)."""
    return unquote(value, errors="replace") if "%" in value else value


def join_list(items: Iterable[object]) -> str:
    """``a,b,c,``: every item escaped and followed by a comma."""
    return "".join(f"{escape(str(item))}," for item in items)


def split_list(raw: str) -> list[str]:
    """The items of a comma list (the trailing comma is optional), unescaped."""
    if not raw:
        return []
    parts = raw.split(",")
    if parts[-1] == "":
        parts.pop()
    return [unescape(p) for p in parts]


def parse_pairs(body: str) -> dict[str, str]:
    """``KEY=VALUE&...`` into a dict of still-escaped values (lenient, see above)."""
    out: dict[str, str] = {}
    last: str | None = None
    for piece in body.strip("\r\n").split("&"):
        key, eq, value = piece.partition("=")
        if eq and _KEY.match(key):
            out[key] = value
            last = key
        elif last is not None and piece:
            out[last] += "&" + piece
        elif piece:
            raise ProtocolError("not a tqq KEY=VALUE body", piece[:60])
    return out


def encode_request(
    cmd: str,
    uin: int | str,
    seq: int | str,
    fields: Mapping[str, object] = {},
    ver: str = VERSION,
) -> str:
    """One request body: ``VER``, ``CMD``, ``SEQ``, ``UIN``, then ``fields`` in order.

    Values are escaped unless they are already a joined list (pass lists as
    :func:`join_list` output wrapped in :class:`RawValue`).
    """
    parts = [f"VER={ver}", f"CMD={cmd}", f"SEQ={seq}", f"UIN={uin}"]
    for key, value in fields.items():
        parts.append(f"{key}={value if isinstance(value, RawValue) else escape(str(value))}")
    return "&".join(parts)


class RawValue(str):
    """A field value that is already escaped (a joined list)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A decoded tqq answer; list and text accessors unescape."""

    ver: str
    cmd: str
    seq: str
    uin: str
    res: int
    fields: dict[str, str] = field(default_factory=dict)

    def text(self, key: str, default: str = "") -> str:
        raw = self.fields.get(key)
        return default if raw is None else unescape(raw)

    def number(self, key: str, default: int = 0) -> int:
        raw = self.fields.get(key, "")
        try:
            return int(raw) if raw else default
        except ValueError:
            raise ProtocolError(f"{self.cmd}: {key} is not a number", raw[:40]) from None

    def items(self, key: str) -> list[str]:
        return split_list(self.fields.get(key, ""))

    def numbers(self, key: str) -> list[int]:
        items = self.items(key)
        try:
            return [int(x) for x in items]
        except ValueError:
            raise ProtocolError(
                f"{self.cmd}: {key} is not a list of numbers", str(items)[:60]
            ) from None


def decode_answer(body: str, cmd: str = "") -> Answer:
    """One answer body, or a typed error.

    ``NULL`` raises :class:`NullAnswerError`, a non-zero ``RES``
    :class:`~smartqq.legacy.errors.TQQResError` (a subclass per code), a Login with
    ``RS=1`` :class:`TQQLoginError`; a body without ``RES`` raises ``ProtocolError``.
    """
    text = body.strip()
    if text == NULL:
        raise NullAnswerError(cmd or "tqq")
    pairs = parse_pairs(text)
    name = pairs.get("CMD", cmd)
    if "RES" not in pairs:
        raise ProtocolError(f"{name or 'tqq'}: answer without RES", text[:60])
    try:
        res = int(pairs["RES"])
    except ValueError:
        raise ProtocolError(f"{name}: RES is not a number", pairs["RES"][:20]) from None
    if res != 0:
        raise res_error_for(name, res)
    answer = Answer(
        ver=pairs.pop("VER", ""),
        cmd=pairs.pop("CMD", ""),
        seq=pairs.pop("SEQ", ""),
        uin=pairs.pop("UIN", ""),
        res=int(pairs.pop("RES")),
        fields=pairs,
    )
    if answer.cmd.upper() == "LOGIN" and answer.number("RS") != 0:
        raise TQQLoginError(answer.text("RA"))
    return answer


def encode_answer(
    cmd: str, seq: str, uin: str, res: int, fields: Mapping[str, object] = {}, ver: str = VERSION
) -> str:
    """An answer body (for the emulator); ``fields`` values are escaped unless
    :class:`RawValue`. A key whose value is ``None`` is written bare (``KEY=``)."""
    parts = [f"VER={ver}", f"CMD={cmd}", f"SEQ={seq}", f"UIN={uin}", f"RES={res}"]
    for key, value in fields.items():
        if value is None:
            parts.append(f"{key}=")
        else:
            parts.append(f"{key}={value if isinstance(value, RawValue) else escape(str(value))}")
    return "&".join(parts)


def _cut(data: bytes, limit: int) -> list[bytes]:
    """``data`` in pieces of at most ``limit`` bytes, never inside a UTF-8 sequence."""
    pieces: list[bytes] = []
    while len(data) > limit:
        cut = limit
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # continuation byte: step back
            cut -= 1
        pieces.append(data[:cut])
        data = data[cut:]
    pieces.append(data)
    return pieces


def split_for_send(text: str, limit: int = SEND_LIMIT_BYTES) -> list[str]:
    """``text`` as CLTMSG bodies of at most ``limit`` UTF-8 bytes each."""
    if limit < 4:
        raise ValueError("limit must leave room for one UTF-8 character")
    return [p.decode() for p in _cut(text.encode(), limit)]


def segments_for_receive(text: str, limit: int = RECEIVE_SEGMENT_BYTES) -> list[str]:
    """How the server delivers ``text``: a space appended, cut into ``limit``-byte segments."""
    return [p.decode() for p in _cut((text + " ").encode(), limit)]


@dataclass
class Reassembler:
    """Joins received text segments per sender; a segment ending in a space ends a message.

    ``feed`` returns the completed message (trailing space removed) or ``None`` while
    more segments are due. ``flush`` hands back text left incomplete (a server that
    omitted the closing space), so nothing is lost.
    """

    pending: dict[int, list[str]] = field(default_factory=dict)

    def feed(self, sender: int, segment: str) -> str | None:
        parts = self.pending.setdefault(sender, [])
        parts.append(segment)
        if not segment.endswith(" "):
            return None
        del self.pending[sender]
        return "".join(parts)[:-1]

    def flush(self) -> dict[int, str]:
        out = {sender: "".join(parts) for sender, parts in self.pending.items()}
        self.pending.clear()
        return out
