"""OneBot v11 messages: the array form, CQ-code strings, and SmartQQ content.

Design note: a OneBot message travels either as an array of segments
(``[{"type": "text", "data": {"text": "hi"}}]``, every ``data`` value a string)
or as one string with CQ codes (``hi[CQ:face,id=14]``). Plain text escapes
``& [ ]`` as ``&amp; &#91; &#93;``; values inside a CQ code also escape ``,`` as
``&#44;``. SmartQQ carries only text and built-in faces, so conversion to a
:class:`~smartqq.content.Content` keeps ``text`` and ``face``, renders ``at`` as
``@name`` text (the web client did the same), drops ``reply`` (no quoting in
SmartQQ) and refuses everything else with :class:`MessageError` so a bot is
told instead of silently losing an image. Received custom faces and offline
pictures become ``image`` segments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeAlias

from smartqq.content import Content, CustomFace, Face, OfflinePic, Text, UnknownSegment

__all__ = [
    "MAX_MESSAGE_CHARS",
    "MessageError",
    "Segments",
    "content_to_segments",
    "escape",
    "normalize",
    "parse_cq",
    "segments_to_content",
    "to_cq",
    "unescape",
]

Segments: TypeAlias = list[dict[str, Any]]

# One logical send longer than this is refused: the client would split it into
# dozens of paced parts and a runaway bot could hold the session for minutes.
MAX_MESSAGE_CHARS = 8000

_CQ = re.compile(r"\[CQ:([^\[\],]*)((?:,[^\[\]]*)?)\]")


class MessageError(ValueError):
    """A message a bot sent cannot be read or cannot be carried by SmartQQ."""


def escape(text: str, *, comma: bool = False) -> str:
    """Escape plain text (``comma=True`` for a value inside a CQ code)."""
    text = text.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
    return text.replace(",", "&#44;") if comma else text


def unescape(text: str) -> str:
    # &amp; last, so "&amp;#91;" turns into the text "&#91;", not "[".
    return (
        text.replace("&#44;", ",").replace("&#91;", "[").replace("&#93;", "]").replace("&amp;", "&")
    )


def parse_cq(message: str) -> Segments:
    """A CQ-code string as array segments; ``[CQ:`` text that is no code stays text."""
    out: Segments = []
    pos = 0
    for m in _CQ.finditer(message):
        if m.start() > pos:
            out.append(_text(unescape(message[pos : m.start()])))
        kind = m.group(1).strip()
        if not kind:
            raise MessageError(f"invalid CQ code {m.group(0)[:60]!r}: no type")
        data: dict[str, str] = {}
        params = m.group(2)[1:] if m.group(2) else ""
        if params:
            for part in params.split(","):
                key, eq, value = part.partition("=")
                if not eq or not key:
                    raise MessageError(f"invalid CQ code {m.group(0)[:60]!r}: bad parameter")
                data[key] = unescape(value)
        out.append({"type": kind, "data": data})
        pos = m.end()
    if pos < len(message):
        out.append(_text(unescape(message[pos:])))
    return out


def to_cq(segments: Segments) -> str:
    """Array segments as one CQ-code string."""
    parts: list[str] = []
    for seg in segments:
        kind = seg["type"]
        data = seg.get("data") or {}
        if kind == "text":
            parts.append(escape(str(data.get("text", ""))))
            continue
        params = "".join(f",{k}={escape(_str(v), comma=True)}" for k, v in data.items())
        parts.append(f"[CQ:{kind}{params}]")
    return "".join(parts)


def normalize(message: Any, *, auto_escape: bool = False) -> Segments:
    """What a send action accepts (a string, an array, one segment) as array segments."""
    if isinstance(message, str):
        return [_text(message)] if auto_escape else parse_cq(message)
    if isinstance(message, dict):
        message = [message]
    if not isinstance(message, list):
        raise MessageError("message must be a string, a segment or an array of segments")
    out: Segments = []
    for seg in message:
        if isinstance(seg, str):
            # Some frameworks mix bare strings into arrays; they mean text.
            out.append(_text(seg))
            continue
        if not isinstance(seg, dict) or not isinstance(seg.get("type"), str):
            raise MessageError("every message segment must be an object with a string 'type'")
        data = seg.get("data")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise MessageError(f"segment {seg['type']!r}: 'data' must be an object")
        out.append({"type": seg["type"], "data": {str(k): v for k, v in data.items()}})
    return out


NameOf: TypeAlias = Callable[[str], str]


def segments_to_content(segments: Segments, name_of: NameOf | None = None) -> Content:
    """Array segments as sendable SmartQQ content (see the module note)."""
    parts: list[str | Face] = []
    size = 0
    for seg in segments:
        kind, data = seg["type"], seg["data"]
        if kind == "text":
            text = data.get("text", "")
            if not isinstance(text, str):
                raise MessageError("text segment: 'text' must be a string")
            parts.append(text)
            size += len(text)
        elif kind == "face":
            try:
                face = int(_str(data.get("id", "")))
            except ValueError:
                raise MessageError("face segment: 'id' must be a number") from None
            if not 0 <= face < 1000:
                raise MessageError(f"face segment: no face {face}")
            parts.append(Face(face))
            size += 1
        elif kind == "at":
            qq = _str(data.get("qq", ""))
            name = "全体成员" if qq == "all" else (name_of(qq) if name_of else qq)
            parts.append(f"@{name} ")
            size += len(name) + 2
        elif kind == "reply":
            continue
        else:
            raise MessageError(f"SmartQQ cannot send {kind!r} segments (only text and face)")
        if size > MAX_MESSAGE_CHARS:
            raise MessageError(f"message too long (over {MAX_MESSAGE_CHARS} characters)")
    content = Content.of(*parts)
    if not content.segments:
        raise MessageError("message is empty")
    return content


def content_to_segments(content: Content) -> Segments:
    """Received SmartQQ content as array segments (data values are strings)."""
    out: Segments = []
    for seg in content.segments:
        if isinstance(seg, Text):
            if out and out[-1]["type"] == "text":
                out[-1]["data"]["text"] += seg.text
            else:
                out.append(_text(seg.text))
        elif isinstance(seg, Face):
            out.append({"type": "face", "data": {"id": str(seg.id)}})
        elif isinstance(seg, CustomFace):
            data = {"file": seg.name, "url": ""}
            if seg.server:
                data["url"] = f"http://{seg.server}/{seg.name}"
            out.append({"type": "image", "data": data})
        elif isinstance(seg, OfflinePic):
            out.append({"type": "image", "data": {"file": seg.file_path, "url": ""}})
        elif isinstance(seg, UnknownSegment):
            continue
    return out


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "data": {"text": text}}


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
