"""Segments of message content and the reading of a received ``content`` array.

The segment types (:class:`Text`, :class:`Face`, :class:`CustomFace`,
:class:`OfflinePic`, :class:`UnknownSegment`) and :class:`Font` are small frozen
values; :func:`parse_wire` turns a received array (font first, PROTOCOL §6.4)
into them and is total: an element it cannot read becomes an
:class:`UnknownSegment`, never an exception (a lazily parsed message must not
fail in a handler). :func:`wire_text` gives the text of an array without
building segments. :mod:`smartqq.content` re-exports all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = [
    "CustomFace",
    "Face",
    "Font",
    "OfflinePic",
    "Segment",
    "Text",
    "UnknownSegment",
    "parse_wire",
    "wire_text",
]


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
            except (TypeError, ValueError, OverflowError):  # Infinity is valid JSON to some
                pass
        try:
            size = int(value.get("size", 10))
        except (TypeError, ValueError, OverflowError):
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
                except (TypeError, ValueError, OverflowError):
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


def parse_wire(wire: list[Any], *, strip: bool = True) -> tuple[tuple[Segment, ...], Font | None]:
    """Segments and font of a received array; total (never raises)."""
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
    if strip and segs:
        last = segs[-1]
        if isinstance(last, Text) and last.text.endswith(" "):
            trimmed = last.text[:-1]
            if trimmed:
                segs[-1] = Text(trimmed)
            else:
                segs.pop()
    return tuple(segs), font


def _is_font(el: Any) -> bool:
    return isinstance(el, list) and bool(el) and isinstance(el[0], str) and el[0] == "font"


def wire_text(wire: list[Any]) -> str:
    """What ``"".join`` of the parsed Text segments gives, read straight off the array."""
    parts: list[str] = []
    last_is_text = False
    for el in wire:
        if isinstance(el, str):
            parts.append(el)
            last_is_text = True
        elif not _is_font(el):
            last_is_text = False  # a face, picture or unknown element ends the text run
    if last_is_text and parts[-1].endswith(" "):
        parts[-1] = parts[-1][:-1]
    return "".join(parts)
