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
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from .errors import ProtocolError, UsageError

__all__ = [
    "MAX_PART_BYTES",
    "Content",
    "CustomFace",
    "Face",
    "Font",
    "OfflinePic",
    "Segment",
    "Text",
    "UnknownSegment",
]

MAX_PART_BYTES = 720


@dataclass(frozen=True, slots=True)
class Font:
    name: str = "宋体"
    size: int = 10
    color: str = "000000"
    style: tuple[int, int, int] = (0, 0, 0)

    def to_wire(self) -> list[Any]:
        return [
            "font",
            {"name": self.name, "size": self.size, "style": list(self.style), "color": self.color},
        ]

    @classmethod
    def from_wire(cls, value: Any) -> Font:
        if not isinstance(value, dict):
            return _DEFAULT_FONT
        # Nearly every message repeats one of a handful of fonts: share the instances.
        style = value.get("style")
        try:
            key = (
                value.get("name"),
                value.get("size"),
                value.get("color"),
                tuple(style) if isinstance(style, list) else style,
            )
            cached = _FONTS.get(key)
        except TypeError:  # an unhashable part: build it, do not cache it
            return cls._build(value)
        if cached is None:
            cached = cls._build(value)
            if len(_FONTS) < 256:
                _FONTS[key] = cached
        return cached

    @classmethod
    def _build(cls, value: dict[str, Any]) -> Font:
        style = value.get("style")
        style_t: tuple[int, int, int] = (0, 0, 0)
        if isinstance(style, list) and len(style) == 3:
            try:
                style_t = (int(style[0]), int(style[1]), int(style[2]))
            except (TypeError, ValueError):
                pass
        try:
            size = int(value.get("size", 10))
        except (TypeError, ValueError):
            size = 10
        return cls(
            name=str(value.get("name", "宋体")),
            size=size,
            color=str(value.get("color", "000000")),
            style=style_t,
        )


_DEFAULT_FONT = Font()
_FONTS: dict[tuple[Any, ...], Font] = {}


@dataclass(frozen=True, slots=True)
class Text:
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Face:
    """A built-in emoticon by its protocol face id (e.g. 14 = smile)."""

    id: int

    def __str__(self) -> str:
        return f"[face:{self.id}]"


@dataclass(frozen=True, slots=True)
class CustomFace:
    """A picture in a group/discussion message (receive only)."""

    name: str
    file_id: int = 0
    key: str = ""
    server: str = ""

    def __str__(self) -> str:
        return "[picture]"


@dataclass(frozen=True, slots=True)
class OfflinePic:
    """A picture in a buddy message (receive only)."""

    file_path: str
    success: int = 1

    def __str__(self) -> str:
        return "[picture]"


@dataclass(frozen=True, slots=True)
class UnknownSegment:
    """An element we do not know, kept as received."""

    raw: Any

    def __str__(self) -> str:
        return ""


Segment: TypeAlias = Text | Face | CustomFace | OfflinePic | UnknownSegment
_SENDABLE = (Text, Face)


def _segment(el: Any) -> Segment | Font:
    if isinstance(el, str):
        return Text(el)
    if isinstance(el, list) and el and isinstance(el[0], str):
        kind = el[0]
        arg = el[1] if len(el) > 1 else None
        if kind == "font":
            return Font.from_wire(arg)
        if kind == "face" and isinstance(arg, int | str) and not isinstance(arg, bool):
            try:
                return Face(int(arg))
            except ValueError:
                return UnknownSegment(el)
        if kind == "cface":
            if isinstance(arg, dict):
                try:
                    file_id = int(arg.get("file_id", 0))
                except (TypeError, ValueError):
                    file_id = 0
                return CustomFace(
                    str(arg.get("name", "")),
                    file_id,
                    str(arg.get("key", "")),
                    str(arg.get("server", "")),
                )
            if isinstance(arg, str):
                return CustomFace(el[-1] if isinstance(el[-1], str) else arg)
        if kind == "offpic":
            if isinstance(arg, dict):
                return OfflinePic(str(arg.get("file_path", "")), int(bool(arg.get("success", 1))))
            if isinstance(arg, str):
                return OfflinePic(arg)
    return UnknownSegment(el)


@dataclass(frozen=True, slots=True)
class Content:
    """An immutable sequence of segments with an optional font."""

    segments: tuple[Segment, ...] = ()
    font: Font | None = None
    raw: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)

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
        """Read a received ``content`` array (or its JSON text)."""
        if isinstance(wire, str):
            try:
                wire = json.loads(wire)
            except ValueError:
                raise ProtocolError("content is not JSON", wire[:120]) from None
        if not isinstance(wire, list):
            raise ProtocolError("content is not an array", repr(wire)[:120])
        font: Font | None = None
        segs: list[Segment] = []
        for el in wire:
            # Text, faces and the font are nearly all of the traffic: read them inline.
            kind = type(el)
            if kind is str:
                segs.append(Text(el))
                continue
            if kind is list and len(el) == 2:
                tag, arg = el
                if tag == "font":
                    font = Font.from_wire(arg)
                    continue
                if tag == "face" and type(arg) is int:
                    segs.append(Face(arg))
                    continue
            seg = _segment(el)
            if isinstance(seg, Font):
                font = seg
            else:
                segs.append(seg)
        if strip_trailing_space and segs:
            last = segs[-1]
            if isinstance(last, Text) and last.text.endswith(" "):
                trimmed = last.text[:-1]
                if trimmed:
                    segs[-1] = Text(trimmed)
                else:
                    segs.pop()
        return cls(tuple(segs), font, tuple(wire))

    # -- reading ----------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The text pieces joined (faces and pictures left out)."""
        return "".join(s.text for s in self.segments if isinstance(s, Text))

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
