"""Message content: typed segments, the wire format both ways, and splitting.

Received ``content`` is a JSON array whose first element is the font
(``["font", {...}]``), followed by text strings and ``["face", N]``,
``["cface", {...}]``, ``["offpic", {...}]`` elements (PROTOCOL §6.4). Servers of
2012–2015 appended one space to the last text piece (or a lone ``" "`` after a
trailing face); :meth:`Content.parse` removes exactly that one space and keeps
the original array in :attr:`Content.raw`, so nothing is lost.

Sent ``content`` is a JSON *string* inside the JSON ``r`` field, with the font
**last** (§7.2); :meth:`Content.encode` produces it.

Long content is split at 720 UTF-8 bytes (the limit clients learnt to respect,
§7.5): breaks prefer a newline, then other whitespace, in the second half of
the window, and never fall inside a character or a face.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from .errors import ProtocolError, UsageError
from .segments import (
    CustomFace,
    Face,
    Font,
    OfflinePic,
    Segment,
    Text,
    UnknownSegment,
    parse_wire,
    wire_text,
)

__all__ = [
    "MAX_PART_BYTES",
    "Content",
    "CustomFace",
    "Face",
    "Font",
    "LazyContent",
    "OfflinePic",
    "ReceivedContent",
    "Segment",
    "Text",
    "UnknownSegment",
    "received_wire",
    "validate_received",
]

MAX_PART_BYTES = 720


_new_content = object.__new__


class Content:
    """An immutable sequence of segments with an optional font.

    Received content is parsed lazily: :meth:`parse` keeps the wire array and
    builds segments on first use of :attr:`segments` or :attr:`font` (cached);
    :attr:`text` reads the array directly, so a handler that looks only at the
    text, or at nothing, never pays for segments.
    """

    # Immutable by interface: the slots are private and every public name is a
    # read-only property. (No __setattr__ guard: it would slow down the lazy path.)
    __slots__ = ("_font", "_segments", "_text", "_wire")
    _segments: tuple[Segment, ...] | None  # None: not parsed yet
    _font: Font | None
    _text: str | None
    _wire: list[Any] | None

    def __init__(
        self,
        segments: tuple[Segment, ...] = (),
        font: Font | None = None,
        raw: tuple[Any, ...] | None = None,
    ) -> None:
        self._segments = tuple(segments)
        self._font = font
        self._text = None
        self._wire = None if raw is None else list(raw)

    @classmethod
    def _lazy(cls, wire: list[Any]) -> Content:
        # The hot path of every received message: one object, nothing parsed.
        obj = _new_content(cls)
        obj._wire = wire
        obj._segments = None
        obj._text = None
        return obj

    def _parse(self) -> tuple[Segment, ...]:
        segments, self._font = parse_wire(self._wire or [])
        self._segments = segments
        return segments

    @property
    def segments(self) -> tuple[Segment, ...]:
        segments = self._segments
        return self._parse() if segments is None else segments

    @property
    def font(self) -> Font | None:
        if self._segments is None:
            self._parse()
        return self._font

    @property
    def raw(self) -> tuple[Any, ...] | None:
        """The received wire array, unchanged (``None`` for content built locally)."""
        return None if self._wire is None else tuple(self._wire)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Content):
            return NotImplemented
        return self.segments == other.segments and self.font == other.font

    def __hash__(self) -> int:
        return hash((self.segments, self.font))

    def __repr__(self) -> str:
        return f"Content(segments={self.segments!r}, font={self.font!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Content, (self.segments, self.font, self.raw))

    # -- construction ---------------------------------------------------------------

    @classmethod
    def of(cls, *parts: str | Segment | Content, font: Font | None = None) -> Content:
        """Build content from strings and segments: ``Content.of("hi ", Face(14))``."""
        segs: list[Segment] = []
        for part in parts:
            if isinstance(part, str):
                if part:
                    segs.append(Text(part))
            elif isinstance(part, Content):
                segs.extend(part.segments)
                font = font or part.font
            elif isinstance(part, Text | Face | CustomFace | OfflinePic | UnknownSegment):
                segs.append(part)
            else:
                raise UsageError(f"cannot build content from {type(part).__name__}")
        return cls(tuple(segs), font)

    @classmethod
    def coerce(cls, value: str | Content | Segment | Sequence[str | Segment]) -> Content:
        """Accept what the send helpers accept: ``str``, ``Content``, a segment or a list of them."""
        if isinstance(value, Content):
            return value
        if isinstance(value, str | Text | Face | CustomFace | OfflinePic | UnknownSegment):
            return cls.of(value)
        if isinstance(value, list | tuple):
            return cls.of(*value)
        raise UsageError(
            f"message content must be str, Content or segments, not {type(value).__name__}"
        )

    @classmethod
    def parse(cls, wire: Any, *, strip_trailing_space: bool = True) -> Content:
        """Read a received ``content`` array (or its JSON text).

        Only the shape is checked here (an array, or JSON text of one); the
        segments are built on first use, and building them never fails: an
        element we cannot read becomes an :class:`UnknownSegment`.
        """
        if isinstance(wire, str):
            try:
                wire = json.loads(wire)
            except (ValueError, RecursionError):
                raise ProtocolError("content is not JSON", wire[:120]) from None
        if not isinstance(wire, list):
            raise ProtocolError("content is not an array", repr(wire)[:120])
        if strip_trailing_space:
            return cls._lazy(wire)
        segments, font = parse_wire(wire, strip=False)
        return cls(segments, font, tuple(wire))

    # -- reading ----------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The text pieces joined (faces and pictures left out)."""
        text = self._text
        if text is None:
            segments = self._segments
            if segments is None:
                text = wire_text(self._wire or [])
            else:
                text = "".join(s.text for s in segments if isinstance(s, Text))
            self._text = text
        return text

    def __str__(self) -> str:
        return "".join(str(s) for s in self.segments)

    def __len__(self) -> int:
        return len(self.segments)

    def __iter__(self) -> Any:
        return iter(self.segments)

    def __add__(self, other: str | Segment | Content) -> Content:
        return Content.of(self, other, font=self.font)

    # -- sending ----------------------------------------------------------------------

    def to_wire(self, font: Font | None = None) -> list[Any]:
        out: list[Any] = []
        for seg in self.segments:
            if isinstance(seg, Text):
                out.append(seg.text)
            elif isinstance(seg, Face):
                out.append(["face", seg.id])
            else:
                raise UsageError(f"{type(seg).__name__} cannot be sent over SmartQQ")
        out.append((font or self.font or Font()).to_wire())
        return out

    def encode(self, font: Font | None = None) -> str:
        """The JSON text for the ``content`` field of a send call (font last)."""
        return json.dumps(self.to_wire(font), ensure_ascii=False, separators=(",", ":"))

    def split(self, max_bytes: int = MAX_PART_BYTES) -> list[Content]:
        """Parts of at most ``max_bytes`` UTF-8 bytes of text (a face counts as its wire size)."""
        if max_bytes < 16:
            raise UsageError("max_bytes must be at least 16")
        parts: list[list[Segment]] = [[]]
        used = 0
        for seg in self.segments:
            if isinstance(seg, Text):
                rest = seg.text
                while rest:
                    room = max_bytes - used
                    size = len(rest.encode("utf-8"))
                    if size <= room:
                        parts[-1].append(Text(rest))
                        used += size
                        break
                    head, rest = _cut(rest, room, fresh=used == 0)
                    if head:
                        parts[-1].append(Text(head))
                    parts.append([])
                    used = 0
            else:
                size = _seg_size(seg)
                if used and used + size > max_bytes:
                    parts.append([])
                    used = 0
                parts[-1].append(seg)
                used += size
        return [Content(tuple(p), self.font) for p in parts if p]


def _seg_size(seg: Segment) -> int:
    if isinstance(seg, Face):
        return len(f'["face",{seg.id}]')
    return 32


def _cut(text: str, room: int, *, fresh: bool) -> tuple[str, str]:
    """Split ``text`` so the head fits ``room`` bytes, at a good boundary."""
    if room <= 0:
        return "", text
    raw = text.encode("utf-8")[:room]
    head = raw.decode("utf-8", errors="ignore")  # drops a partial trailing character
    if not head:
        return "", text
    floor = len(head) // 2
    for seps in ("\n", " \t\r\u3000"):
        idx = max(head.rfind(c) for c in seps)
        if idx >= floor and idx > 0:
            return text[: idx + 1], text[idx + 1 :]
    if not fresh:
        # Something already sits in this part: start the text in a fresh one
        # rather than cut a word.
        return "", text
    return head, text[len(head) :]


# -- the ``content`` field of received events (used by smartqq.events) -------------------


def validate_received(value: Any) -> Content:
    """A ``content`` field value as :class:`Content`; ``ValueError`` for a wrong shape.

    Called once per received message: a wire array is kept as it is and parsed
    on first use; JSON text is decoded now so that a malformed one is reported
    while the event is built.
    """
    if value.__class__ is list:  # Content._lazy, inlined: this runs once per message
        content = _new_content(Content)
        content._wire = value
        content._segments = None
        content._text = None
        return content
    if isinstance(value, Content):
        return value
    try:
        return Content.parse(value)
    except ProtocolError as exc:
        raise ValueError(str(exc)) from None


def received_wire(content: Content | list[Any]) -> list[Any]:
    """The received wire form (font first) of ``content``: it validates back.

    A wire array that was never wrapped (see :class:`LazyContent`) is that form already.
    """
    if content.__class__ is list:
        return list(content)
    assert isinstance(content, Content)
    raw = content.raw
    if raw is not None:
        return list(raw)
    out: list[Any] = [content.font.to_wire()] if content.font is not None else []
    for seg in content.segments:
        if isinstance(seg, Text):
            out.append(seg.text)
        elif isinstance(seg, Face):
            out.append(["face", seg.id])
        elif isinstance(seg, CustomFace):
            info = {"name": seg.name, "file_id": seg.file_id, "key": seg.key, "server": seg.server}
            out.append(["cface", info])
        elif isinstance(seg, OfflinePic):
            out.append(["offpic", {"file_path": seg.file_path, "success": seg.success}])
        else:
            out.append(seg.raw)
    return out


class _ReceivedSchema:
    """The core schema of :data:`ReceivedContent`.

    From JSON, a wire array is kept as the plain list pydantic-core builds, with no
    call into Python (a call and a ``Content`` per message were about 4 % of parsing
    a poll answer and dispatching it); :class:`LazyContent` wraps it on first read.
    Anything else, from JSON or Python, goes through :func:`validate_received`.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        careful = core_schema.no_info_plain_validator_function(validate_received)
        return core_schema.json_or_python_schema(
            json_schema=core_schema.union_schema(
                [core_schema.list_schema(), careful], mode="left_to_right"
            ),
            python_schema=careful,
            serialization=core_schema.plain_serializer_function_ser_schema(
                received_wire, return_schema=core_schema.list_schema()
            ),
        )


ReceivedContent = Annotated[Content, _ReceivedSchema()]
"""The type of a received event's ``content`` field: accepts a wire array (kept, parsed
on first use), its JSON text or a :class:`Content`; dumps as the received wire array."""


class LazyContent:
    """The ``content`` attribute of a class with a :data:`ReceivedContent` field.

    A data descriptor, so it is asked before the instance's ``__dict__``: a wire
    array left there by JSON validation becomes a :class:`Content` on first read
    and stays one (same value, so a frozen model may keep it).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            # As for any pydantic field: no class attribute. (Pydantic, building a
            # subclass, would otherwise take this descriptor for the field's default.)
            raise AttributeError(self._name)
        fields = obj.__dict__
        value = fields[self._name]
        if value.__class__ is list:
            value = fields[self._name] = Content._lazy(value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        # Only reached where the model allows assignment; frozen events refuse earlier.
        obj.__dict__[self._name] = value
